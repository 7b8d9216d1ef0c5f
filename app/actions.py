"""The window's menu/toolbar actions and the dialogs behind them.

Each action asks the user what is needed (a file, a length, a strategy) and hands the
request to the controller; results and errors come back as controller signals.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

from app import clips, settings_check
from app.controller import Controller
from app.dialogs import ExportDialog, NoteMapDialog, TransitionDialog, save_path
from app.presets import PresetError, load_preset, save_preset
from engine.music.drums import NOTE_MAP_PRESETS
from models.pathnames import shown

MIDI_FILTER = "MIDI files (*.mid *.midi)"
PRESET_FILTER = "groovefader presets (*.json)"

SHORTCUTS_HELP = """<b>Keyboard and mouse</b><br>
Space — play / stop · T — tap tempo<br>
R — randomize · V — variation · H — hold knobs on / off · Ctrl+0 — reset knobs<br>
Ctrl+Z / Ctrl+Shift+Z — undo / redo pattern changes<br>
Ctrl+O — load a MIDI clip (or drop a .mid on the window) · Ctrl+E — export a clip<br>
Ctrl+Shift+E — export audio (the built-in kit) · F1 — this list<br>
Ctrl+T — transition A → B · Ctrl+S / Ctrl+L — save / load preset<br>
Knobs: drag up/down, Shift = fine, wheel, right-click = MIDI learn;<br>
double-click = reset (the groove decides again); bright arc = set and held<br>
Pad: drag; corners mode blends the patterns in corners A–D<br>
Grid: click toggles a hit, mouse wheel over a hit = velocity (Shift = fine);<br>
brightness = velocity, tick = micro-timing (left = ahead of the beat, right = behind)"""


@dataclass
class Actions:
    randomize: QAction
    variation: QAction
    load_clip: QAction
    export_clip: QAction
    transition: QAction
    save_preset: QAction
    load_preset: QAction
    load_checkpoint: QAction
    undo: QAction
    redo: QAction
    reset_knobs: QAction
    hold_knobs: QAction
    follow_knobs: QAction
    keep_feel: QAction
    keep_hits: QAction
    refresh_ports: QAction
    edit_note_map: QAction
    shortcuts: QAction
    quit: QAction
    note_maps: QActionGroup


class ActionHandlers:
    """Dialog-driven actions; ``settings`` remembers the last folders."""

    def __init__(self, window: QWidget, controller: Controller, settings: QSettings) -> None:
        self.window, self.controller, self.settings = window, controller, settings

    def _dir(self, key: str) -> str:
        return str(self.settings.value(f"dirs/{key}", str(Path.home())))

    def _remember(self, key: str, path: str) -> None:
        self.settings.setValue(f"dirs/{key}", str(Path(path).parent))

    def _error(self, text: str) -> None:
        self.controller.message.emit("error", text)

    def load_clip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Load MIDI clip", self._dir("clips"), MIDI_FILTER)
        if path:
            self._remember("clips", path)
            self.controller.load_clip(path)

    def corner_clip(self, index: int) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, f"MIDI clip for corner {'ABCD'[index]}",
                                              self._dir("clips"), MIDI_FILTER)
        if not path:
            return
        self._remember("clips", path)
        name = Path(path).stem
        self.controller.read_clip(path, lambda pattern: self.controller.set_corner(index, pattern, name))

    def export_clip(self) -> None:
        saved = settings_check.int_value(self.settings.value("export/bars", 8), 8, 1, clips.MAX_EXPORT_BARS)
        dialog = ExportDialog(clips.export_bars(saved, self.controller.pattern.bars), self.window)
        # Deleted once control is back in the main loop (not while its own exec() runs): as
        # a child of the window it would otherwise live as long as the window, one per use.
        dialog.deleteLater()
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        bars = dialog.bars.value()
        self.settings.setValue("export/bars", bars)
        default = str(Path(self._dir("export")) / f"groovefader-{bars}bars.mid")
        path = save_path(self.window, "Export MIDI clip", default, MIDI_FILTER, (".mid", ".midi"))
        if not path:
            return
        self._remember("export", path)
        said = self.controller.message
        self.controller.export_clip_later(
            path, bars, lambda written: said.emit("info", f"Exported {bars} bars to {written}"),
            lambda err: self._error(str(err)))

    def transition(self) -> None:
        dialog = TransitionDialog(list(self.controller.pad_state.labels), self.window)
        dialog.deleteLater()  # see export_clip
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        choice = dialog.choice()
        if choice is None:
            self._error("Transition: choose a corner or a MIDI clip for B.")
            return
        target = choice.target
        if isinstance(target, str):
            self.controller.read_clip(target, lambda b: self.controller.make_transition(b, choice.bars,
                                                                                       choice.strategy))
            return
        self.controller.make_transition(target, choice.bars, choice.strategy)

    def save_preset(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save preset",
                                              str(Path(self._dir("presets")) / "groove.json"), PRESET_FILTER)
        if not path:
            return
        self._remember("presets", path)
        try:
            preset = self.controller.current_preset()
            melody = getattr(self.window, "melody", None)  # the melody dock, when there is one
            if melody is not None:
                preset = dataclasses.replace(preset, melody=melody.lane.settings())
            save_preset(path, preset)
        except PresetError as err:
            self._error(str(err))
            return
        self.controller.message.emit("info", f"Saved preset {path}")

    def load_preset(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Load preset", self._dir("presets"), PRESET_FILTER)
        if not path:
            return
        self._remember("presets", path)
        try:
            preset = load_preset(path)
        except PresetError as err:
            self._error(str(err))
            return
        self.controller.apply_preset(preset)
        melody = getattr(self.window, "melody", None)
        ignored = list(preset.ignored)
        if preset.melody is not None and melody is not None:
            ignored += melody.lane.restore_settings(preset.melody)
        if ignored:  # a hand-edited or cut-short file: what was valid is loaded
            self.controller.message.emit("warning", f"Loaded preset {shown(path)}; ignored: "
                                                    + "; ".join(ignored))
        else:
            self.controller.message.emit("info", f"Loaded preset {shown(path)}")

    def load_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Load model checkpoint", self._dir("checkpoints"),
                                              "Checkpoints (*.pt *.safetensors)")
        if path:
            self._remember("checkpoints", path)
            self.settings.setValue("model/checkpoint", path)
            self.controller.load_model(path)

    def edit_note_map(self) -> None:
        dialog = NoteMapDialog(self.controller.transport["note_map"], self.window)
        dialog.deleteLater()  # see export_clip
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.controller.transport.set(note_map=dialog.note_map())

    def shortcuts(self) -> None:
        QMessageBox.information(self.window, "groovefader shortcuts", SHORTCUTS_HELP)


def build_actions(window: QWidget, controller: Controller, handlers: ActionHandlers) -> Actions:
    def act(text: str, slot, shortcut: str | QKeySequence.StandardKey | None = None,
            tip: str = "") -> QAction:
        a = QAction(text, window)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setToolTip(tip)
            a.setStatusTip(tip)
        a.triggered.connect(lambda _checked=False: slot())
        window.addAction(a)
        return a

    undo = controller.history.stack.createUndoAction(window, "Undo")
    undo.setShortcut(QKeySequence("Ctrl+Z"))
    redo = controller.history.stack.createRedoAction(window, "Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])  # same on every platform
    window.addAction(undo)
    window.addAction(redo)
    group = QActionGroup(window)
    for name, note_map in NOTE_MAP_PRESETS.items():
        a = QAction(name, group)
        a.setCheckable(True)
        a.setChecked(name == "General MIDI")
        a.triggered.connect(lambda _c=False, m=note_map: controller.transport.set(note_map=m))
    binding = controller.knob_binding

    def switch(title: str, on: bool, tip: str, toggled: Any, changed: Any) -> QAction:
        """A checkable action bound both ways to one of the knob binding's switches."""
        action = QAction(title, window)
        action.setCheckable(True)
        action.setChecked(on)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.toggled.connect(toggled)
        changed.connect(action.setChecked)
        window.addAction(action)
        return action

    hold = switch("Hold knobs", binding.holding,
                  "The knobs you set are met on the groove (several decodes per change); off: the "
                  "model alone answers them, closer to the data's drums but reaching less far (H)",
                  controller.set_holding, binding.holdingChanged)
    hold.setShortcut(QKeySequence("H"))
    follow = switch("Other knobs follow the data", binding.following,
                    "While you turn a knob, the knobs you have not set move as the data's drummers "
                    "move them (density up busies the hats); off: they stay where the groove had them",
                    controller.set_following, binding.followingChanged)
    keep = switch("Feel knobs keep the groove", binding.keeping,
                  "Intensity and laid back play the same groove harder or softer, earlier or later; "
                  "off: they move to a recorded groove played that way (more like real drumming: "
                  "drummers who play loud play other grooves, with fewer ghost notes)",
                  controller.set_keeping, binding.keepingChanged)
    keep_hits = switch("Density and hats keep the groove", binding.keeping_hits,
                       "Density and hat busyness add or remove the playing groove's hits, one at a time "
                       "in the order the model gives them (turned back, the same groove); off: they move "
                       "to a recorded groove at their setting",
                       controller.set_keeping_hits, binding.keepingHitsChanged)
    return Actions(
        randomize=act("Randomize", controller.randomize, "R", "A new groove like the data's (R)"),
        variation=act("Variation", controller.variation, "V", "A groove near the current one (V)"),
        load_clip=act("Load clip…", handlers.load_clip, QKeySequence.StandardKey.Open,
                      "Load a drum MIDI clip; the pad and knobs follow it"),
        export_clip=act("Export clip…", handlers.export_clip, "Ctrl+E", "Write N bars as a MIDI clip"),
        transition=act("Transition A→B…", handlers.transition, "Ctrl+T",
                       "Generate a transition from the current pattern to B"),
        save_preset=act("Save preset…", handlers.save_preset, QKeySequence.StandardKey.Save),
        load_preset=act("Load preset…", handlers.load_preset, "Ctrl+L"),
        load_checkpoint=act("Load model checkpoint…", handlers.load_checkpoint),
        undo=undo, redo=redo,
        reset_knobs=act("Reset knobs", controller.reset_knobs, "Ctrl+0"),
        hold_knobs=hold,
        follow_knobs=follow,
        keep_feel=keep,
        keep_hits=keep_hits,
        refresh_ports=act("Rescan MIDI ports", controller.transport.refresh_ports),
        edit_note_map=act("Edit note map…", handlers.edit_note_map, tip="Output MIDI note per voice"),
        shortcuts=act("Keyboard shortcuts", handlers.shortcuts, QKeySequence.StandardKey.HelpContents),
        quit=act("Quit", window.close, QKeySequence.StandardKey.Quit),
        note_maps=group,
    )
