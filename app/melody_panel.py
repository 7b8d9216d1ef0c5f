"""The melody panel: the melody lane's pad, buttons, key and scale, and its piano roll.

A widget bound to a :class:`~app.melody_lane.MelodyLane` through signals; it holds no musical
logic. :func:`attach_melody_panel` builds the lane and the panel for the main window (a dock
at the bottom), loads the melody model once the drum model is in (so the window comes up as
fast as before), and keeps the lane's settings with the window's.

The pad is a map of the melody model's training tunes, like the groove pad: neighbouring
points hold related tunes (see :mod:`engine.generation.melody_pad`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app import theme
from app.melody_lane import (
    BARS_CHOICES,
    MAX_PORT_NAME,
    MIX_SCALES,
    STRATEGIES,
    TEMPERATURE_RANGE,
    LaneSettings,
    MelodyLane,
    takes_drums_channel,
)
from app.widgets.piano_roll import PianoRoll
from app.widgets.xy_pad import XYPad
from engine.errors import MidiFileError
from engine.music.melody import KEY_NAMES
from engine.music.scales import MAX_DEGREES, SCALES
from engine.realtime.melody_lane import MAX_OCTAVE
from engine.realtime.steps import QUANTIZE_CHOICES
from models.pathnames import shown

if TYPE_CHECKING:
    from app.controller import Controller

SETTINGS_KEY = "melody/state"
MELODY_LOAD_DELAY_MS = 500  # after the drum model is ready: its first decode and paint come first
MIDI_FILTER = "MIDI clips (*.mid *.midi)"
# the melody pad's heat-maps (app.melody_jobs.pad_heat): register by default, the pad's main axis
# for a player looking for a higher or lower line
HEAT_CHOICES = (("Register", "register"), ("Notes per bar", "notes"), ("No heat-map", ""))


def _combo(items: tuple | list, current: object) -> QComboBox:
    box = QComboBox()
    for item in items:
        box.addItem(str(item), item)
    box.setCurrentIndex(list(items).index(current))
    return box


class ChannelBox(QSpinBox):
    """MIDI channel 1-16 whose arrows step over a channel ``refused(channel)`` says is taken
    (the drums' on their port), so 9 -> 11 is one press rather than a dead end at 10. A typed
    channel counts once entered: typing "16" would otherwise play on channel 1 meanwhile."""

    def __init__(self, refused: Callable[[int], bool]) -> None:
        super().__init__()
        self.setRange(1, 16)
        self.setKeyboardTracking(False)
        self._refused = refused

    def stepBy(self, steps: int) -> None:
        way = (steps > 0) - (steps < 0)
        if way and self._refused(self.value() + steps) \
                and self.minimum() <= self.value() + steps + way <= self.maximum():
            steps += way
        super().stepBy(steps)


class MelodyPanel(QWidget):
    """Controls of the melody lane; every change goes to ``lane``; the lane's signals update it."""

    def __init__(self, lane: MelodyLane, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lane = lane
        s = lane.settings_
        self.status = QLabel("Melody model: loading…")
        self.status.setWordWrap(True)
        self.status.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        self.pad = XYPad()
        self.pad.setFixedSize(150, 150)
        self.pad.set_overlay_text("No melody model")
        self.heat = QComboBox()
        for text, name in HEAT_CHOICES:
            self.heat.addItem(text, name)
        self.heat.setToolTip("Colour the melody pad by the tunes it plays: their register (dark = "
                             "low, bright = high) or how many notes they play per bar")
        self.heat.setFixedWidth(150)
        self._heat_values: dict[str, np.ndarray] = {}
        self.roll = PianoRoll()
        self.randomize_button = QPushButton("Randomize")
        self.variation_button = QPushButton("Variation")
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(*TEMPERATURE_RANGE)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(s.temperature)
        self.bars = _combo(BARS_CHOICES, s.bars)
        self.quantize = _combo(QUANTIZE_CHOICES, s.quantize)
        self.key = _combo(KEY_NAMES, s.key)
        self.scale = _combo(tuple(SCALES), s.scale)
        self.degrees = QSpinBox()
        self.degrees.setRange(-MAX_DEGREES, MAX_DEGREES)
        self.octave = QSpinBox()
        self.octave.setRange(-MAX_OCTAVE, MAX_OCTAVE)
        self.channel = ChannelBox(lambda channel: takes_drums_channel(channel - 1, self.lane.settings_.port))
        self.channel.setValue(s.channel + 1)
        self.channel.setToolTip("MIDI channel of the melody. Channel 10 is the drums': the melody "
                                "takes it only on a port of its own.")
        self.mute = QCheckBox("Mute")
        self.port = QLineEdit(s.port)  # the lane's own MIDI port ("": the drums')
        self.port.setPlaceholderText("drums' port")
        self.port.setMaxLength(MAX_PORT_NAME)
        self.port.setToolTip("Play the melody on a MIDI port of its own: a virtual port of this name "
                             "beside the drums' (MIDI clock stays there). Empty: the drums' port.")
        self.port_status = QLabel("")
        self.port_status.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        self.load_button = QPushButton("Load clip…")
        self.export_button = QPushButton("Export melody…")
        self.export_both_button = QPushButton("Export drums + melody…")
        # strategy 1: the most tune-like middles on validation pairs (docs/melody.md, the lane)
        self.strategy = _combo(STRATEGIES, 1)
        self.mix = _combo(MIX_SCALES, "bar")
        self.transition_bars = _combo(BARS_CHOICES, 4)
        self.transition_new = QPushButton("A→B: new")
        self.transition_clip = QPushButton("A→B: clip…")
        self._layout()
        self._wire()
        self._model_ready(False)

    def _layout(self) -> None:
        controls = QGridLayout()
        rows = [
            [self.randomize_button, self.variation_button, QLabel("Temperature"), self.temperature,
             QLabel("Bars"), self.bars, QLabel("Change at"), self.quantize],
            [QLabel("Key"), self.key, QLabel("Scale"), self.scale, QLabel("Degrees"), self.degrees,
             QLabel("Octave"), self.octave, QLabel("Channel"), self.channel, self.mute],
            [self.load_button, self.export_button, self.export_both_button, QLabel("Transition"),
             self.strategy, self.mix, self.transition_bars, self.transition_new, self.transition_clip],
            [QLabel("Port"), self.port],
        ]
        for r, row in enumerate(rows):
            for c, widget in enumerate(row):
                controls.addWidget(widget, r, c)
        controls.addWidget(self.port_status, len(rows) - 1, 2, 1, 6)
        right = QVBoxLayout()
        right.addWidget(self.status)
        right.addWidget(self.roll, 1)
        right.addLayout(controls)
        left = QVBoxLayout()
        left.addWidget(self.pad)
        left.addWidget(self.heat)
        left.addStretch(1)
        top = QHBoxLayout(self)
        top.addLayout(left)
        top.addLayout(right, 1)

    def _wire(self) -> None:
        lane = self.lane
        self.randomize_button.clicked.connect(lane.randomize)
        self.variation_button.clicked.connect(lane.variation)
        self.pad.moved.connect(lane.move_pad)
        self.temperature.valueChanged.connect(lambda v: lane.update(temperature=float(v)))
        for name in ("bars", "quantize", "key", "scale"):
            box: QComboBox = getattr(self, name)
            box.currentIndexChanged.connect(lambda _i, n=name, b=box: lane.update(**{n: b.currentData()}))
        self.degrees.valueChanged.connect(lambda v: lane.update(degrees=int(v)))
        self.octave.valueChanged.connect(lambda v: lane.update(octave=int(v)))
        self.channel.valueChanged.connect(self._channel_changed)
        self.mute.toggled.connect(lambda on: lane.update(mute=bool(on)))
        self.port.editingFinished.connect(self._port_edited)
        self.load_button.clicked.connect(self._ask_clip)
        self.export_button.clicked.connect(lambda: self._ask_export(with_drums=False))
        self.export_both_button.clicked.connect(lambda: self._ask_export(with_drums=True))
        self.transition_new.clicked.connect(lambda: self.transition(None))
        self.transition_clip.clicked.connect(self._ask_transition_clip)
        lane.melodyChanged.connect(self.roll.set_melody)
        lane.settingsChanged.connect(self.show_settings)
        lane.padMoved.connect(self.pad.set_position)
        lane.heatReady.connect(self._heat_ready)
        self.heat.currentIndexChanged.connect(lambda _i: self._show_heat())
        # the file's name (the full path, a machine's, is the tooltip's)
        lane.modelReady.connect(lambda path: (
            self._model_ready(True, f"Melody model: {shown(Path(path).name)}"),
            self.status.setToolTip(str(path))))
        lane.modelFailed.connect(lambda text: self._model_ready(False, text))

    # -- lane → view -----------------------------------------------------------------------
    def _heat_ready(self, values: dict[str, np.ndarray]) -> None:
        self._heat_values = dict(values)
        self._show_heat()

    def _show_heat(self) -> None:
        name = self.heat.currentData()
        values = self._heat_values.get(name) if name else None
        self.pad.set_heatmap(values, self.heat.currentText().lower() if values is not None else "")

    def _model_ready(self, ready: bool, text: str = "") -> None:
        for widget in (self.randomize_button, self.variation_button, self.transition_new,
                       self.transition_clip, self.pad):
            widget.setEnabled(ready)
        self.pad.set_overlay_text("" if ready else "No melody model")
        if text:
            self.status.setText(text)
            colour = theme.TEXT_DIM if ready else theme.ERROR
            self.status.setStyleSheet(f"color: {colour.name()};")

    def show_settings(self, s: LaneSettings) -> None:
        for widget, setter in ((self.temperature, lambda: self.temperature.setValue(s.temperature)),
                               (self.bars, lambda: self.bars.setCurrentIndex(BARS_CHOICES.index(s.bars))),
                               (self.quantize, lambda: self.quantize.setCurrentIndex(
                                   QUANTIZE_CHOICES.index(s.quantize))),
                               (self.key, lambda: self.key.setCurrentIndex(KEY_NAMES.index(s.key))),
                               (self.scale, lambda: self.scale.setCurrentIndex(list(SCALES).index(s.scale))),
                               (self.degrees, lambda: self.degrees.setValue(s.degrees)),
                               (self.octave, lambda: self.octave.setValue(s.octave)),
                               (self.channel, lambda: self.channel.setValue(s.channel + 1)),
                               (self.mute, lambda: self.mute.setChecked(s.mute)),
                               (self.port, lambda: self.port.setText(s.port))):
            widget.blockSignals(True)
            setter()
            widget.blockSignals(False)
        self.roll.set_shift(s.controls().shift)

    def _channel_changed(self, value: int) -> None:
        try:
            self.lane.update(channel=int(value) - 1)
        except ValueError as err:  # the drums' channel on their port: said, and the box goes back
            self.lane.message.emit("warning", str(err))
            self.show_settings(self.lane.settings_)

    def _port_edited(self) -> None:
        name = self.port.text().strip()
        if name != self.lane.settings_.port:
            try:
                self.lane.update(port=name)
            except ValueError as err:  # back to the drums' port while on their channel
                self.lane.message.emit("warning", str(err))
                self.show_settings(self.lane.settings_)
                return
        if not name:
            self.port_status.setText("")

    def show_port_status(self, text: str) -> None:
        """The lane's own port as the sequencer reports it ("" = it shares the drums')."""
        if text != self.port_status.text():
            self.port_status.setText(text)
            bad = bool(text) and not text.endswith(" ok")
            self.port_status.setStyleSheet(f"color: {(theme.ERROR if bad else theme.TEXT_DIM).name()};")

    # -- actions with a file -----------------------------------------------------------------
    def transition(self, target_path: str | None) -> None:
        bars, strategy, mix = (self.transition_bars.currentData(), self.strategy.currentData(),
                               self.mix.currentData())
        if target_path:  # read first (a large file off the GUI thread), then the transition
            self.lane.read_clip(target_path, lambda target: self.lane.transition(target, bars, strategy, mix))
            return
        self.lane.transition(None, bars, strategy, mix)

    def export(self, path: str, with_drums: bool) -> Path | None:
        """Write the melody looped to its length (or drums + melody, two tracks, until both
        loops end together: :meth:`MelodyLane.export_bars`), here and now."""
        bars = self.lane.export_bars(with_drums)
        try:
            written = self.lane.export(path, bars, with_drums)
        except MidiFileError as err:
            self.lane.message.emit("error", str(err))
            return None
        self._exported(written, bars, with_drums)
        return written

    def export_later(self, path: str, with_drums: bool) -> None:
        """:meth:`export` written on a thread; the status line says when it is written."""
        bars = self.lane.export_bars(with_drums)
        self.lane.export_later(path, bars, with_drums,
                               lambda written: self._exported(written, bars, with_drums),
                               lambda err: self.lane.message.emit("error", str(err)))

    def _exported(self, written: Path, bars: int, with_drums: bool) -> None:
        self.lane.message.emit("info", f"Exported {'drums + melody' if with_drums else 'melody'} "
                                       f"({bars} bars) to {shown(written)}")

    def _ask_clip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a melody from a MIDI clip", "", MIDI_FILTER)
        if path:
            self.lane.load_clip(path)

    def _ask_transition_clip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Melody B for the transition", "", MIDI_FILTER)
        if path:
            self.transition(path)

    def _ask_export(self, with_drums: bool) -> None:
        name = "groovefader-drums-melody.mid" if with_drums else "groovefader-melody.mid"
        path, _ = QFileDialog.getSaveFileName(self, "Export", name, MIDI_FILTER)
        if path:
            self.export_later(path, with_drums)


class MelodyDock(QDockWidget):
    """The panel in a dock of the main window, with its lane's life cycle and settings."""

    def __init__(self, window: QWidget, controller: Controller, settings: QSettings,
                 load_model: Callable[[MelodyLane], None] | None = None) -> None:
        super().__init__("Melody", window)
        self.setObjectName("melody-dock")
        transport = controller.transport
        link = transport.link
        self.lane = MelodyLane(link.post_melody if link is not None else None,
                               lambda: (controller.pattern, transport["tempo_bpm"], transport["note_map"]),
                               self)
        self.panel = MelodyPanel(self.lane)
        self.setWidget(self.panel)
        transport.playhead.connect(self.panel.roll.set_playhead)
        if link is not None:
            link.statusChanged.connect(lambda status: self.panel.show_port_status(status.melody_port))
        self.lane.message.connect(controller.message)
        self._load = load_model or (lambda lane: lane.load_model())
        self._load_started = False
        # after the drum model (or its failure): the window comes up as fast as without a lane
        controller.modelReady.connect(lambda _info: QTimer.singleShot(MELODY_LOAD_DELAY_MS, self._load_once))
        controller.modelFailed.connect(lambda _text: QTimer.singleShot(0, self._load_once))
        try:
            values = json.loads(str(settings.value(SETTINGS_KEY, "{}")))
        except ValueError:
            values = {}
        if isinstance(values, dict):
            skipped = self.lane.restore_settings(values)
            if skipped:  # a settings file edited by hand: the rest is restored
                self.lane.message.emit("warning", "Settings: ignored " + ", ".join(skipped))

    def _load_once(self) -> None:
        if not self._load_started:
            self._load_started = True
            self._load(self.lane)

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue(SETTINGS_KEY, json.dumps(self.lane.settings()))

    def close_lane(self) -> None:
        self.lane.close()
