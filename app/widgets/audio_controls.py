"""The transport's kit controls: the drum kit on or off, its volume, and its sounds (the
built-in kit or an SF2 soundfont's drum kit).

Plain signals out; :mod:`app.audio_binding` sends them to the sequencer and shows back
where the kit plays (or in one line why it cannot).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QMenu, QPushButton, QSlider, QToolButton, QWidget

KIT_TIP = ("Kit: hear the groove on the built-in drum kit, no DAW or synth needed (on JACK: a client "
           "of its own fed by the MIDI port, each hit on its note's frame; else the system's audio "
           "device); right-click: kit mix (level and pan per voice)")
SOUNDS_TIP = "The kit's sounds: the built-in kit, or the drum kit of an SF2 soundfont you choose"
SF2_FILTER = "SoundFont (*.sf2 *.sf3);;All files (*)"


class AudioControls(QWidget):
    """Signals:
        enabledChanged(bool): the user turned the kit on or off.
        volumeChanged(float): the kit's volume, 0..1.
        mixRequested(): right-click on Kit: open the kit mix.
        soundfontChosen(str): the kit's sounds: an SF2 file, or "" for the built-in kit.
    """

    enabledChanged = Signal(bool)
    volumeChanged = Signal(float)
    mixRequested = Signal()
    soundfontChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kit = QPushButton("Kit")
        self.kit.setCheckable(True)
        self.kit.setToolTip(KIT_TIP)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(80)
        self.volume.setMaximumWidth(90)
        self.volume.setToolTip("Kit volume")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.kit)
        lay.addWidget(self.volume)
        self.sounds = QToolButton()
        self.sounds.setText("Built-in")
        self.sounds.setToolTip(SOUNDS_TIP)
        self.sounds.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.sounds)
        self.builtin_action = menu.addAction("Built-in kit", lambda: self.soundfontChosen.emit(""))
        self.choose_action = menu.addAction("Soundfont (SF2)…", self.choose_soundfont)
        self.sounds.setMenu(menu)
        lay.addWidget(self.sounds)
        self.kit.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.kit.customContextMenuRequested.connect(lambda _pos: self.mixRequested.emit())
        self.kit.toggled.connect(self.enabledChanged.emit)
        self.volume.valueChanged.connect(lambda v: self.volumeChanged.emit(v / 100))

    def set_state(self, enabled: bool, volume: float) -> None:
        """Show settings without echoing them back as signals."""
        for widget, apply in ((self.kit, lambda: self.kit.setChecked(enabled)),
                              (self.volume, lambda: self.volume.setValue(round(volume * 100)))):
            widget.blockSignals(True)
            apply()
            widget.blockSignals(False)

    def choose_soundfont(self) -> None:
        """Ask for an SF2 file; a chosen one is emitted (a cancel changes nothing)."""
        path, _ = QFileDialog.getOpenFileName(self, "Kit sounds from a soundfont", "", SF2_FILTER)
        if path:
            self.soundfontChosen.emit(path)

    def set_soundfont(self, path: str | None) -> None:
        """Show which sounds the kit plays (the file's name; the path in the tooltip)."""
        self.sounds.setText(Path(path).stem[:14] if path else "Built-in")
        self.sounds.setToolTip(f"{SOUNDS_TIP}\nNow: {Path(path).name}" if path else SOUNDS_TIP)

    def set_report(self, line: str) -> None:
        """Where the kit plays, or why it cannot (tooltip; "" = off)."""
        self.kit.setToolTip(f"{KIT_TIP}\n{line}" if line else KIT_TIP)
