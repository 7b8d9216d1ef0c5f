"""Small dialogs: export length, the A → B transition settings, the output note map, and the
file to save to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.clips import MAX_EXPORT_BARS
from engine.music.drums import NOTE_MAP_PRESETS, VOICE_LABELS, NoteMap
from models.pathnames import shown

_OK_CANCEL = QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel


def save_path(parent: QWidget, title: str, default: str, name_filter: str, suffixes: tuple[str, ...]) -> str:
    """The file the user chose to save to, with ``suffixes[0]`` added where it has none of
    them ("" when cancelled). The save dialog asks before replacing the name it returns, not
    that name with a suffix added after it, so that is asked here."""
    path, _ = QFileDialog.getSaveFileName(parent, title, default, name_filter)
    if not path or path.lower().endswith(suffixes):
        return path
    full = path + suffixes[0]
    if Path(full).exists():
        answer = QMessageBox.question(parent, title, f"{shown(Path(full).name)} already exists. Replace it?")
        if answer != QMessageBox.StandardButton.Yes:
            return ""
    return full


STRATEGY_TEXT = {
    1: "1 · a path bar by bar (through real grooves, or the latent line without a map)",
    2: "2 · teacher forcing with a Bernoulli mix of A and B",
    3: "3 · both together",
}


class ExportDialog(QDialog):
    """How many bars to export (the pattern loops to fill them)."""

    def __init__(self, default_bars: int = 8, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export MIDI clip")
        self.bars = QSpinBox()
        self.bars.setRange(1, MAX_EXPORT_BARS)
        self.bars.setValue(default_bars)
        self.bars.setSuffix(" bars")
        form = QFormLayout(self)
        form.addRow("Length", self.bars)
        buttons = QDialogButtonBox(_OK_CANCEL)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


@dataclass(frozen=True)
class TransitionChoice:
    """``target`` is a corner index 0–3 or a MIDI file path."""

    target: int | str
    bars: int
    strategy: int


class TransitionDialog(QDialog):
    """A = the current pattern; B = a corner or a MIDI clip; strategy; length in bars."""

    def __init__(self, corner_labels: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Transition A → B")
        self.source = QComboBox()
        for i, label in enumerate(corner_labels):
            if label:
                self.source.addItem(f"Corner {'ABCD'[i]} ({label})", i)
        self.source.addItem("A MIDI clip…", "file")
        self.path = QLineEdit()
        self.path.setPlaceholderText("path to a .mid file")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        file_row = QHBoxLayout()
        file_row.addWidget(self.path, 1)
        file_row.addWidget(browse)
        self.strategy = QComboBox()
        for k, text in STRATEGY_TEXT.items():
            self.strategy.addItem(text, k)
        self.strategy.setCurrentIndex(2)
        self.bars = QSpinBox()
        self.bars.setRange(2, 64)
        self.bars.setValue(8)
        self.bars.setSuffix(" bars")
        form = QFormLayout(self)
        form.addRow("A", QLabel("the current pattern"))
        form.addRow("B", self.source)
        form.addRow("Clip for B", file_row)
        form.addRow("Strategy", self.strategy)
        form.addRow("Length", self.bars)
        buttons = QDialogButtonBox(_OK_CANCEL)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Pattern B", "", "MIDI files (*.mid *.midi)")
        if path:
            self.path.setText(path)
            self.source.setCurrentIndex(self.source.count() - 1)

    def choice(self) -> TransitionChoice | None:
        data = self.source.currentData()
        if data == "file":
            if not self.path.text().strip():
                return None
            target: int | str = self.path.text().strip()
        else:
            target = int(data)
        return TransitionChoice(target, self.bars.value(), int(self.strategy.currentData()))


class NoteMapDialog(QDialog):
    """Output MIDI note per voice (match your DAW's drum rack); starts from a preset."""

    def __init__(self, current: NoteMap, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Note map")
        self.preset = QComboBox()
        self.preset.addItem("(custom)", None)
        for name in NOTE_MAP_PRESETS:
            self.preset.addItem(name, name)
        self.notes: list[QSpinBox] = []
        form = QFormLayout(self)
        form.addRow("Start from", self.preset)
        for label, note in zip(VOICE_LABELS, current.notes, strict=True):
            box = QSpinBox()
            box.setRange(0, 127)
            box.setValue(note)
            self.notes.append(box)
            form.addRow(label, box)
        self.preset.currentIndexChanged.connect(self._load_preset)
        buttons = QDialogButtonBox(_OK_CANCEL)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _load_preset(self, _index: int) -> None:
        name = self.preset.currentData()
        if name:
            for box, note in zip(self.notes, NOTE_MAP_PRESETS[name].notes, strict=True):
                box.setValue(note)

    def note_map(self) -> NoteMap:
        notes = tuple(b.value() for b in self.notes)
        for name, preset in NOTE_MAP_PRESETS.items():
            if preset.notes == notes:
                return NoteMap(notes, name)
        return NoteMap(notes, "Custom")
