"""Transport bar: play/stop, tempo, swing, groove, velocity, quantisation, clock, ports.

Every control reports a user change through one signal; the controller applies it to the
sequencer and the widget never talks to MIDI itself. The status line shows the port state
('ok', 'error', 'closed', 'starting') and the last error in words.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import theme
from app.widgets.audio_controls import AudioControls
from app.widgets.sync_controls import SyncControls

MIDI_APIS = ("auto", "jack", "alsa", "coremidi", "winmm")
VIRTUAL_OUTPUT = "groovefader (virtual)"
VIRTUAL_INPUT = "groovefader-in (virtual)"
NO_INPUT = "(no MIDI input)"
QUANTIZE = ("step", "beat", "bar")
CLOCK_SOURCES = ("internal", "external", "link")


def _percent_slider(maximum: int, tip: str) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(0, maximum)
    s.setToolTip(tip)
    s.setMinimumWidth(90)
    return s


class Transport(QWidget):
    """Signals carry plain values; ``portChosen``/``inputChosen`` carry (name, api, virtual)."""

    playToggled = Signal(bool)
    tempoChanged = Signal(float)
    swingChanged = Signal(float)  # 0..0.75
    grooveChanged = Signal(float)  # 0..1
    velocityScaleChanged = Signal(float)  # 0..2
    quantizeChanged = Signal(str)
    clockSourceChanged = Signal(str)
    portChosen = Signal(str, str, bool)  # name, api ("" = auto), virtual
    inputChosen = Signal(str, str, bool)  # name ("" = none), api, virtual
    refreshRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.play_button = QPushButton("▶ Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play / stop (Space)")
        self.play_button.setMinimumWidth(90)
        self.tempo = QDoubleSpinBox()
        self.tempo.setRange(30.0, 300.0)
        self.tempo.setDecimals(1)
        self.tempo.setValue(120.0)
        self.tempo.setSuffix(" BPM")
        self.tempo.setKeyboardTracking(False)
        self.swing = _percent_slider(75, "Swing: delay of every second 16th, 0–75 %")
        self.groove = _percent_slider(100, "Groove: how much of the micro-timing plays (0 = on the grid)")
        self.groove.setValue(100)
        self.velocity = _percent_slider(200, "Velocity scale, 0–200 %")
        self.velocity.setValue(100)
        self.swing_label, self.groove_label, self.velocity_label = QLabel(), QLabel(), QLabel()
        self.quantize = QComboBox()
        self.quantize.addItems(list(QUANTIZE))
        self.quantize.setToolTip("When a new pattern takes over: next step, beat or bar")
        self.clock = QComboBox()
        self.clock.addItems(list(CLOCK_SOURCES))
        self.clock.setToolTip("internal = groovefader is the clock master; external = follow MIDI clock in; "
                              "link = Ableton Link")
        self.sync = SyncControls()  # Link toggle and tap tempo (app.sync_binding)
        self.audio = AudioControls()  # the built-in kit on/off and volume (app.audio_binding)
        self.api = QComboBox()
        self.api.addItems(list(MIDI_APIS))
        self.api.setToolTip("MIDI backend (JACK, ALSA, CoreMIDI, Windows MM)")
        self.output = QComboBox()
        self.output.setToolTip("Where notes go: a virtual port named 'groovefader' or an existing port")
        self.input = QComboBox()
        self.input.setToolTip("MIDI input for clock and MIDI learn (CC)")
        for box in (self.output, self.input):  # a long port name elides instead of pushing the kit off
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(14)
        self.refresh = QToolButton()
        self.refresh.setText("⟳")
        self.refresh.setToolTip("Rescan MIDI ports")
        self.status = QLabel("MIDI: starting…")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setWordWrap(True)
        self.set_ports([], [])

        grid = QGridLayout()
        row = [("", self.play_button), ("Tempo", self.tempo), ("Swing", self.swing),
               ("", self.swing_label), ("Groove", self.groove), ("", self.groove_label),
               ("Velocity", self.velocity), ("", self.velocity_label), ("Change at", self.quantize),
               ("", self.sync)]
        col = 0
        for label, widget in row:
            if label:
                grid.addWidget(QLabel(label), 0, col)
                col += 1
            grid.addWidget(widget, 0, col)
            col += 1
        ports = [("Clock", self.clock), ("API", self.api), ("Out", self.output), ("In", self.input)]
        prow = QHBoxLayout()
        for label, widget in ports:
            prow.addWidget(QLabel(label))
            prow.addWidget(widget, 1 if widget in (self.output, self.input) else 0)
        prow.addWidget(self.refresh)
        prow.addWidget(self.audio)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(grid)
        lay.addLayout(prow)
        lay.addWidget(self.status)
        self._update_labels()

        self.play_button.toggled.connect(self._play_toggled)
        self.tempo.valueChanged.connect(self.tempoChanged.emit)
        self.swing.valueChanged.connect(lambda v: (self._update_labels(), self.swingChanged.emit(v / 100)))
        self.groove.valueChanged.connect(lambda v: (self._update_labels(), self.grooveChanged.emit(v / 100)))
        self.velocity.valueChanged.connect(
            lambda v: (self._update_labels(), self.velocityScaleChanged.emit(v / 100)))
        self.quantize.currentTextChanged.connect(self.quantizeChanged.emit)
        self.clock.currentTextChanged.connect(self.clockSourceChanged.emit)
        self.api.currentTextChanged.connect(lambda _t: self._emit_output())
        self.api.currentTextChanged.connect(lambda _t: self._emit_input())
        self.api.currentTextChanged.connect(lambda _t: self.refreshRequested.emit())  # other ports there
        self.output.activated.connect(lambda _i: self._emit_output())
        self.input.activated.connect(lambda _i: self._emit_input())
        self.refresh.clicked.connect(self.refreshRequested.emit)

    # -- controller → widget ---------------------------------------------------------------
    def set_playing(self, playing: bool) -> None:
        self.play_button.blockSignals(True)
        self.play_button.setChecked(playing)
        self.play_button.setText("■ Stop" if playing else "▶ Play")
        self.play_button.blockSignals(False)

    def set_ports(self, outputs: list[str], inputs: list[str]) -> None:
        """Fill the selectors, keeping the current choice when it still exists."""
        for box, first, names in ((self.output, [VIRTUAL_OUTPUT], outputs),
                                  (self.input, [NO_INPUT, VIRTUAL_INPUT], inputs)):
            current = box.currentText()
            box.blockSignals(True)
            box.clear()
            box.addItems(first + [n for n in names if n not in first])
            if current:
                idx = box.findText(current)
                if idx < 0:  # a remembered port that is not there now stays selectable
                    box.addItem(current)
                    idx = box.count() - 1
                box.setCurrentIndex(idx)
            box.blockSignals(False)

    def set_status(self, state: str, text: str, detail: str = "") -> None:
        colour = {"ok": theme.OK, "error": theme.ERROR}.get(state, theme.TEXT_DIM)
        self.status.setStyleSheet(f"color: {colour.name()};")
        self.status.setText(text)
        self.status.setToolTip(detail or text)

    def output_choice(self) -> tuple[str, str, bool]:
        name = self.output.currentText()
        virtual = name == VIRTUAL_OUTPUT
        return ("groovefader" if virtual else name), self.api_choice(), virtual

    def input_choice(self) -> tuple[str, str, bool]:
        name = self.input.currentText()
        if name in ("", NO_INPUT):
            return "", self.api_choice(), False
        virtual = name == VIRTUAL_INPUT
        return ("groovefader-in" if virtual else name), self.api_choice(), virtual

    def api_choice(self) -> str:
        api = self.api.currentText()
        return "" if api == "auto" else api

    # -- internals -------------------------------------------------------------------------
    def _play_toggled(self, on: bool) -> None:
        self.play_button.setText("■ Stop" if on else "▶ Play")
        self.playToggled.emit(on)

    def _emit_output(self) -> None:
        self.portChosen.emit(*self.output_choice())

    def _emit_input(self) -> None:
        self.inputChosen.emit(*self.input_choice())

    def _update_labels(self) -> None:
        self.swing_label.setText(f"{self.swing.value():3d} %")
        self.groove_label.setText(f"{self.groove.value():3d} %")
        self.velocity_label.setText(f"{self.velocity.value():3d} %")
