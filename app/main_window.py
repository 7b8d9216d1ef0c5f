"""The main window: composes the widgets and wires them to the controller. No musical logic.

Layout: a banner for model problems, the XY pad on the left, the knobs above the step grid
on the right, the transport below, a toolbar of actions and a status bar for messages.
Drop a ``.mid`` file anywhere on the window to load it.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app import settings_check, theme
from app.actions import ActionHandlers, build_actions
from app.audio_binding import AudioBinding
from app.audio_export import AudioExport
from app.controller import Controller
from app.file_urls import local_path
from app.knob_binding import TEMPERATURE
from app.melody_panel import MelodyDock
from app.model_worker import ModelInfo
from app.sequencer_link import LinkStatus
from app.sync_binding import SyncBinding
from app.voice_mute_binding import VoiceMuteBinding
from app.widgets.clip_drag import ClipDragHandle
from app.widgets.knob import KnobPanel
from app.widgets.step_grid import StepGrid
from app.widgets.transport import CLOCK_SOURCES, MIDI_APIS, QUANTIZE, Transport
from app.widgets.voice_strip import VoiceStrip
from app.widgets.xy_pad import PadPanel
from engine.generation.knobs import TEMPERATURE_DEFAULT, TEMPERATURE_RANGE
from engine.music.pattern import Pattern
from models.pathnames import one_line

SETTINGS_VERSION = 1  # bump when saved window state stops fitting the layout
DRAG_CLIP_BARS = 4  # at least: a 2-bar groove is dragged out as two loops


def drag_clip_bars(pattern_bars: int) -> int:
    """Bars of a dragged-out clip: whole loops of the pattern, at least :data:`DRAG_CLIP_BARS`
    (an 8-bar transition leaves whole, a 3-bar one as 6 bars)."""
    return pattern_bars * -(-DRAG_CLIP_BARS // max(1, pattern_bars))


def _is_midi(path: str) -> bool:
    return path.lower().endswith((".mid", ".midi"))


class MainWindow(QMainWindow):
    def __init__(self, controller: Controller, settings: QSettings) -> None:
        super().__init__()
        self.controller, self.settings = controller, settings
        self.setWindowTitle("groovefader")
        self.setAcceptDrops(True)

        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.pad_panel = PadPanel()
        self.knobs = KnobPanel()
        self.grid = StepGrid()
        self.voice_strip = VoiceStrip()  # mute / solo per voice (app.voice_mute_binding)
        self.measured = QLabel()
        self.measured.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        self.transport = Transport()
        self.drag_handle = ClipDragHandle(
            lambda: controller.export_temp_clip(drag_clip_bars(controller.pattern.bars)))
        self._status_text = QLabel()
        self.statusBar().addWidget(self._status_text, 1)

        pad_box = QGroupBox("Groove pad")
        pad_box.setMinimumWidth(340)
        QVBoxLayout(pad_box).addWidget(self.pad_panel)
        knob_box = QGroupBox("Knobs")
        QVBoxLayout(knob_box).addWidget(self.knobs)
        grid_box = QGroupBox("Pattern")
        gl = QVBoxLayout(grid_box)
        grid_row = QHBoxLayout()
        grid_row.setSpacing(0)
        grid_row.addWidget(self.voice_strip)
        grid_row.addWidget(self.grid, 1)
        gl.addLayout(grid_row, 1)
        gl.addWidget(self.measured)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(knob_box)
        rl.addWidget(grid_box, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(pad_box)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 5)
        transport_box = QGroupBox("Transport · MIDI")
        QVBoxLayout(transport_box).addWidget(self.transport)
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.addWidget(self.banner)
        cl.addWidget(self.splitter, 1)
        cl.addWidget(transport_box)
        self.setCentralWidget(central)
        self.banner.hide()

        self.handlers = ActionHandlers(self, controller, settings)
        self.voice_mutes = VoiceMuteBinding(self.voice_strip, controller.transport, self)
        self.voice_strip.lockClicked.connect(controller.toggle_lock)
        controller.lockChanged.connect(self.voice_strip.set_locked)
        self.audio_export = AudioExport(self, controller, settings, self.voice_mutes.silenced)
        self.actions = build_actions(self, controller, self.handlers)
        self._build_menus_and_toolbar()
        self.play_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Space), self)
        self.play_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        self.play_shortcut.activated.connect(controller.transport.toggle_playing)
        self._wire()
        self.melody = MelodyDock(self, controller, settings)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.melody)
        self.restore_settings()

    # -- composition -------------------------------------------------------------------------
    def _build_menus_and_toolbar(self) -> None:
        a = self.actions
        file_menu = self.menuBar().addMenu("&File")
        for action in (a.load_clip, a.export_clip, self.audio_export.action, None, a.load_preset,
                       a.save_preset, None,
                       a.load_checkpoint, None, a.quit):
            file_menu.addSeparator() if action is None else file_menu.addAction(action)
        edit = self.menuBar().addMenu("&Edit")
        for action in (a.undo, a.redo, None, a.randomize, a.variation, a.transition, a.reset_knobs,
                       a.hold_knobs, a.follow_knobs, a.keep_feel, a.keep_hits):
            edit.addSeparator() if action is None else edit.addAction(action)
        midi = self.menuBar().addMenu("&MIDI")
        notes = midi.addMenu("Note map")
        notes.addActions(a.note_maps.actions())
        notes.addSeparator()
        notes.addAction(a.edit_note_map)
        midi.addAction(a.refresh_ports)
        self.menuBar().addMenu("&Help").addAction(a.shortcuts)
        bar = QToolBar("Actions")
        bar.setObjectName("actions-toolbar")
        for action in (a.randomize, a.variation, None, a.undo, a.redo, None, a.load_clip,
                       a.export_clip, a.transition):
            bar.addSeparator() if action is None else bar.addAction(action)
        bar.addSeparator()
        bar.addWidget(self.drag_handle)
        self.addToolBar(bar)

    def _wire(self) -> None:
        c, t, ts = self.controller, self.transport, self.controller.transport
        # widgets → controller
        self.pad_panel.pad.moved.connect(c.move_pad)
        self.pad_panel.modeChanged.connect(c.pad_jobs.set_mode)
        self.pad_panel.heatmapRequested.connect(c.pad_jobs.show_heatmap)
        self.pad_panel.cornerSetRequested.connect(c.set_corner)
        self.pad_panel.cornerClipRequested.connect(self.handlers.corner_clip)
        self.knobs.knobEdited.connect(c.set_knob)
        self.knobs.knobReset.connect(c.release_knob)
        self.knobs.learnRequested.connect(ts.learn)
        self.knobs.forgetRequested.connect(ts.forget)
        self.grid.cellClicked.connect(c.toggle_cell)
        self.grid.velocityNudged.connect(c.nudge_velocity)
        t.playToggled.connect(ts.set_playing)
        t.tempoChanged.connect(lambda v: ts.set(tempo_bpm=float(v)))
        t.swingChanged.connect(lambda v: ts.set(swing=float(v)))
        t.grooveChanged.connect(lambda v: ts.set(groove=float(v)))
        t.velocityScaleChanged.connect(lambda v: ts.set(velocity_scale=float(v)))
        t.quantizeChanged.connect(lambda v: ts.set(quantize=v))
        t.clockSourceChanged.connect(lambda v: ts.set(clock_source=v))
        t.portChosen.connect(ts.set_output)
        t.inputChosen.connect(ts.set_input)
        t.refreshRequested.connect(ts.refresh_ports)
        self.sync_binding = SyncBinding(t.sync, ts, self)  # Link toggle, tap tempo
        self.audio_binding = AudioBinding(t.audio, ts, self.settings, self)  # the built-in kit
        self.drag_handle.failed.connect(lambda text: c.message.emit("error", text))
        # controller → widgets
        c.modelLoading.connect(self._on_model_loading)
        c.modelReady.connect(self._on_model_ready)
        c.modelFailed.connect(self._on_model_failed)
        c.model.refused.connect(self._on_model_refused)
        c.patternChanged.connect(self.grid.set_pattern)
        c.measuredChanged.connect(self._show_measured)
        c.measuredChanged.connect(self.knobs.set_measured)
        c.detentsChanged.connect(self.knobs.set_detents)
        c.pad_state.padMoved.connect(self.pad_panel.pad.set_position)
        c.pad_state.padModeChanged.connect(self.pad_panel.set_mode)
        c.knob_binding.knobChanged.connect(self.knobs.set_value)
        c.knob_binding.heldChanged.connect(self.knobs.set_held)
        c.pad_jobs.heatmapReady.connect(self._on_heatmap)
        c.pad_state.cornersChanged.connect(self.pad_panel.pad.set_corner_labels)
        ts.settingsChanged.connect(self._show_transport_settings)
        ts.status.connect(self._on_transport_status)
        ts.playhead.connect(self.grid.set_playhead)
        ts.portsListed.connect(t.set_ports)
        ts.learnChanged.connect(self.knobs.set_learning)
        ts.bindingsChanged.connect(self.knobs.set_bindings)
        ts.message.connect(self.show_message)
        c.message.connect(self.show_message)

    # -- controller → view -------------------------------------------------------------------
    def _on_model_loading(self, path: str) -> None:
        self.pad_panel.pad.set_overlay_text("Loading model…")
        self.show_message("info", f"Loading model {path}…")

    def _on_model_ready(self, info: ModelInfo) -> None:
        self.banner.hide()
        self.pad_panel.pad.set_overlay_text("")
        specs = [(n, *info.ranges[n], info.defaults[n]) for n in info.attribute_names]
        specs.append((TEMPERATURE, *TEMPERATURE_RANGE, TEMPERATURE_DEFAULT))
        self.knobs.build(specs)
        self.knobs.set_value(TEMPERATURE, self.controller.knob_binding.temperature)
        self.knobs.set_held(self.controller.knob_binding.held)
        self.pad_panel.set_attributes(list(info.attribute_names))
        self.pad_panel.pad.set_style_labels(list(info.pad_labels))
        self._select_heatmap(str(self.controller.settings().get("heatmap", "")))
        self.show_message("info", f"Model ready: {info.path} ({info.kind}, z={info.z_dim}, "
                                  f"{len(info.attribute_names)} knobs)")

    def _select_heatmap(self, name: str) -> None:
        box = self.pad_panel.heat_box
        idx = box.findData(name)
        if idx >= 0:
            box.setCurrentIndex(idx)

    def _on_model_refused(self, text: str) -> None:
        """A checkpoint that would not load while another plays: the status line says why."""
        self.pad_panel.pad.set_overlay_text("")
        self.show_message("error", text)

    def _on_model_failed(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.show()
        self.pad_panel.pad.set_overlay_text("No model loaded")
        self.show_message("error", text)

    def _on_heatmap(self, name: str, values: object) -> None:
        label = f"{name.replace('_', ' ')} (dark = low, bright = high)" if name else ""
        self.pad_panel.pad.set_heatmap(values if name else None, label)  # type: ignore[arg-type]

    def _show_measured(self, values: dict) -> None:
        pattern: Pattern = self.controller.pattern
        parts = [f"{k.replace('_', ' ')} {v:.2f}" for k, v in values.items()]
        self.measured.setText(f"{pattern.bars} bars · {pattern.num_hits} hits · measured: "
                              + " · ".join(parts))

    def _show_transport_settings(self, changed: dict) -> None:
        t = self.transport
        for widget, key, value in (
                (t.tempo, "tempo_bpm", lambda v: t.tempo.setValue(v)),
                (t.swing, "swing", lambda v: t.swing.setValue(round(v * 100))),
                (t.groove, "groove", lambda v: t.groove.setValue(round(v * 100))),
                (t.velocity, "velocity_scale", lambda v: t.velocity.setValue(round(v * 100))),
                (t.quantize, "quantize", lambda v: t.quantize.setCurrentIndex(QUANTIZE.index(v))),
                (t.clock, "clock_source", lambda v: t.clock.setCurrentIndex(CLOCK_SOURCES.index(v)))):
            if key in changed:
                widget.blockSignals(True)
                value(changed[key])
                widget.blockSignals(False)
        t._update_labels()
        if "note_map" in changed:
            for action in self.actions.note_maps.actions():
                action.setChecked(action.text() == changed["note_map"].name)

    def _on_transport_status(self, status: LinkStatus) -> None:
        self.transport.set_playing(status.playing)
        self.transport.set_status(status.state, status.message or f"MIDI: {status.state}", status.detail)

    def show_message(self, level: str, text: str) -> None:
        text = one_line(text)  # a file name of any bytes: escaped, and the line stays one line
        colour = {"error": theme.ERROR, "warning": theme.ACCENT}.get(level, theme.TEXT)
        self._status_text.setStyleSheet(f"color: {colour.name()};")
        self._status_text.setText(text)
        self._status_text.setToolTip(text)

    # -- drag and drop of clips --------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and all(u.isLocalFile() and _is_midi(u.toLocalFile()) for u in urls):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls()[:1]:
            self.controller.load_clip(local_path(url))
        event.acceptProposedAction()

    # -- settings ----------------------------------------------------------------------------
    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/version", SETTINGS_VERSION)
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState(SETTINGS_VERSION))
        s.setValue("window/splitter", self.splitter.saveState())
        s.setValue("transport/api", self.transport.api.currentText())
        s.setValue("engine/state", json.dumps(self.controller.settings()))
        self.melody.save_settings(s)
        s.sync()

    def restore_settings(self) -> None:
        s = self.settings
        if settings_check.int_value(s.value("window/version", 0), 0, 0, 1 << 30) == SETTINGS_VERSION:
            for key, restore in (("window/geometry", self.restoreGeometry),
                                 ("window/splitter", self.splitter.restoreState)):
                value = s.value(key)
                if isinstance(value, QByteArray):
                    restore(value)
            state = s.value("window/state")
            if isinstance(state, QByteArray):
                self.restoreState(state, SETTINGS_VERSION)
        values, notes = settings_check.engine_state(s.value("engine/state"))
        self.controller.restore_settings(values)
        notes += settings_check.ignored_entries(values, self.controller.settings())
        self.settings_notes = settings_check.summary(notes)  # a hand-edited or cut-short file
        if self.settings_notes:
            self.show_message("warning", self.settings_notes)
        t = self.transport
        api = str(s.value("transport/api", "auto"))
        if api in MIDI_APIS:
            t.api.blockSignals(True)
            t.api.setCurrentText(api)
            t.api.blockSignals(False)
        ts = self.controller.transport
        out, inp = ts["output"], ts["input"]
        names_out = [] if out[2] else [out[0]]
        names_in = [inp[0]] if inp[0] and not inp[2] else []
        t.set_ports(names_out, names_in)
        if not out[2]:
            t.output.setCurrentText(out[0])
        if inp[0]:
            t.input.setCurrentText(inp[0] if not inp[2] else t.input.itemText(1))
        self._show_transport_settings(ts.values)
        if not out[2] or out[1]:  # not the default virtual port on the default API
            ts.set_output(*out)
        if inp[0]:
            ts.set_input(*inp)
        ts.refresh_ports()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_settings()
        self.melody.close_lane()
        self.controller.close()
        super().closeEvent(event)

