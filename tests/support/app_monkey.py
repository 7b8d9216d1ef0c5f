"""A seeded monkey for the app: random user gestures against the real window.

Shared by ``tests/app/test_monkey.py`` (a few hundred actions in CI) and
``bench/app_monkey.py`` (minutes of them, with memory figures). Every action goes
through what a user touches — mouse and key events on the widgets, the toolbar's
QActions, the transport's controls — never the controller's methods, so the monkey keeps
working while the code behind the widgets changes. Modal file and export dialogs are
answered by :class:`ScriptedDialogs` (the same static methods the app calls, patched), and
any other modal window that opens is closed and counted as an error (a monkey must not
hang on a dialog nobody answers).

The same seed gives the same sequence of actions; timing (decodes finishing, clock
reports) still differs between runs, so a failure reproduces as the same gestures in the
same order, usually with the same outcome.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import sys
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from PySide6.QtCore import QEventLoop, QPoint, QPointF, Qt, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QLabel, QWidget

from tests.support.jack_server import Recorder, check_note_pairs

LEFT = Qt.MouseButton.LeftButton
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
NO_MOD = Qt.KeyboardModifier.NoModifier
MODAL_CHECK_MS = 250  # how often an unanswered modal window is looked for
MIDI_SOURCE = "groovefader:groovefader"  # the app's virtual JACK output


# -- errors ------------------------------------------------------------------------------------

class ErrorTrap:
    """Records every uncaught exception (GUI thread and other threads), Qt critical/fatal
    messages and ERROR log records while active; Qt warnings and WARNING records are kept
    apart (a MIDI API that does not exist here is a warning, not a failure)."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: deque[str] = deque(maxlen=1000)  # the latest; a long run has many
        self.warning_count = 0
        self.where = ""  # what was going on (the monkey's current action), prefixed to each entry
        self._lock = threading.Lock()

    def _add(self, bucket: list[str] | deque[str], text: str) -> None:
        with self._lock:
            bucket.append(f"[{self.where}] {text}" if self.where else text)
            self.warning_count += bucket is self.warnings

    def __enter__(self) -> ErrorTrap:
        self._old_hook, self._old_thread_hook = sys.excepthook, threading.excepthook
        sys.excepthook = lambda t, e, tb: self._add(
            self.errors, "".join(traceback.format_exception(t, e, tb)))
        threading.excepthook = lambda a: self._add(
            self.errors, f"in thread {a.thread.name if a.thread else '?'}:\n"
            + "".join(traceback.format_exception(a.exc_type, a.exc_value, a.exc_traceback)))

        def on_qt(kind: QtMsgType, _context: Any, text: str) -> None:
            bad = kind in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)
            self._add(self.errors if bad else self.warnings, f"Qt {kind.name}: {text}")

        self._old_qt = qInstallMessageHandler(on_qt)
        trap = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                text = f"log {record.levelname} {record.name}: {record.getMessage()}"
                if record.exc_info:
                    text += "\n" + "".join(traceback.format_exception(*record.exc_info))
                trap._add(trap.errors if record.levelno >= logging.ERROR else trap.warnings, text)

        self._handler = _Handler(logging.WARNING)
        logging.getLogger().addHandler(self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self._handler)
        qInstallMessageHandler(self._old_qt)
        sys.excepthook, threading.excepthook = self._old_hook, self._old_thread_hook


# -- dialogs -----------------------------------------------------------------------------------

class ScriptedDialogs:
    """Answers the app's file dialogs and the export dialog with what the next action set.

    ``open_path`` / ``save_path``: what the next file dialog returns ("" = cancelled);
    ``export_bars``: what the export dialog's spin box is set to before OK.
    """

    def __init__(self) -> None:
        self.open_path = ""
        self.save_path = ""
        self.export_bars = 4

    @contextlib.contextmanager
    def installed(self) -> Iterator[ScriptedDialogs]:
        from app.dialogs import ExportDialog

        saved = (QFileDialog.__dict__.get("getOpenFileName"), QFileDialog.__dict__.get("getSaveFileName"),
                 ExportDialog.__dict__.get("exec"))
        script = self

        def export_exec(dialog: Any) -> int:
            dialog.bars.setValue(script.export_bars)
            return QDialog.DialogCode.Accepted

        QFileDialog.getOpenFileName = staticmethod(lambda *a, **k: (script.open_path, ""))
        QFileDialog.getSaveFileName = staticmethod(lambda *a, **k: (script.save_path, ""))
        ExportDialog.exec = export_exec
        try:
            yield self
        finally:
            for owner, name, old in ((QFileDialog, "getOpenFileName", saved[0]),
                                     (QFileDialog, "getSaveFileName", saved[1]),
                                     (ExportDialog, "exec", saved[2])):
                if old is None:
                    delattr(owner, name)
                else:
                    setattr(owner, name, old)


# -- measurements --------------------------------------------------------------------------------

def rss_mb(pid: int | None = None, field: str = "VmRSS") -> float:
    """Resident memory of a process in MB from /proc (0.0 where there is none).

    ``field``: "VmRSS" (all resident pages) or "RssAnon" (anonymous pages: the heap, what a
    leak grows). RssFile, the mapped libraries, comes and goes as the kernel reclaims clean
    pages, so RSS alone moves by a hundred MB with no change in the heap.
    """
    try:
        with open(f"/proc/{pid or os.getpid()}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def child_pids(pid: int | None = None) -> list[int]:
    """Direct children of a process (Linux), e.g. the app's clock process."""
    pid = pid or os.getpid()
    kids: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(p) for p in f.read().split()]
    return kids


class StallProbe:
    """The GUI thread's longest gap between 10 ms timer ticks: how long the window froze.

    Every gap of ``long_ms`` or more is also kept in :attr:`long_stalls` (``end`` in
    perf_counter seconds, ``ms``, and ``context(start)``'s words on what was going on when it
    began, where ``context`` is given).
    """

    def __init__(self, interval_ms: int = 10, long_ms: float = 200.0,
                 context: Callable[[float], str] | None = None) -> None:
        self.max_gap_ms = 0.0
        self.max_gap_end = 0.0  # perf_counter seconds when the longest gap ended
        self.long_ms, self.context = long_ms, context
        self.long_stalls: list[dict[str, Any]] = []
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        gap_ms = (now - self._last) * 1000
        if gap_ms > self.max_gap_ms:
            self.max_gap_ms, self.max_gap_end = gap_ms, now
        if gap_ms >= self.long_ms:
            stall: dict[str, Any] = {"end": now, "ms": round(gap_ms, 1)}
            if self.context is not None:
                stall["context"] = self.context(self._last)
            self.long_stalls.append(stall)
        self._last = now

    def reset(self) -> None:
        self.max_gap_ms, self._last = 0.0, time.perf_counter()

    def stop(self) -> None:
        self._timer.stop()


def received_messages(recorder: Any) -> tuple[list[tuple[int, ...]], list[int], int]:
    """What a stopped :class:`~tests.support.jack_server.Recorder` received, without the
    cycles JACK delivered twice; returns (messages, their perf_counter_ns, cycles dropped).

    On an overloaded machine the recorder's process callback now and then runs twice on one
    cycle: the second call reads the same frame counter (a gap of 0 in its cycle log) and
    receives exactly the events of the first, every clock tick and note at the same frames.
    A sender cannot put the same tick into two cycles at one frame, so such a callback is a
    replay and is dropped (only when its events equal the previous callback's exactly).
    """
    rows = recorder.events_with_callbacks()
    replayed = {cb for cb, gap, *_ in recorder.cycles().get("irregular", []) if gap == 0}
    by_callback: dict[int, list[tuple[int, tuple[int, ...]]]] = {}
    for frame, data, _ns, cb in rows:
        by_callback.setdefault(cb, []).append((frame, data))
    dropped = {cb for cb in replayed if cb in by_callback and by_callback[cb] == by_callback.get(cb - 1)}
    kept = [(data, ns) for _f, data, ns, cb in rows if cb not in dropped]
    return [d for d, _ in kept], [ns for _, ns in kept], len(dropped)


def note_problems(messages: Sequence[tuple[int, ...]], times_ns: Sequence[int] | None = None,
                  t0_s: float = 0.0) -> list[str]:
    """Stuck notes in what a MIDI client received: a note-on never followed by its note-off
    (or released only by CC 123), or struck again while still sounding. A note-off without a
    note-on is not counted: it happens when a port is re-created and the client reconnects
    after a note-on went out unheard, and it leaves nothing sounding.

    With ``times_ns`` (perf_counter_ns of each message) each problem says when it happened,
    in seconds since ``t0_s`` (perf_counter seconds; the monkey's log uses the same clock).
    """
    problems = [p for p in check_note_pairs(list(messages)) if "without note-on" not in p]
    if times_ns is None:
        return problems
    timed = []
    for p in problems:
        index = int(p[1:p.index(":")])
        timed.append(f"{p} (at {times_ns[index] / 1e9 - t0_s:.2f}s)")
    return timed


def qwait(ms: int) -> None:
    """Process Qt events for ``ms`` milliseconds in a QEventLoop, which lets other Python
    threads run meanwhile; PySide6's ``QTest.qWait`` holds the GIL for the whole wait, so the
    model's worker thread starved behind it (a model load took minutes)."""
    loop = QEventLoop()
    QTimer.singleShot(max(0, int(ms)), loop.quit)
    loop.exec()


def wait_until(predicate: Callable[[], bool], timeout_s: float, poll_ms: int = 20) -> bool:
    """Process Qt events until ``predicate()`` or the timeout; returns the last answer."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        qwait(poll_ms)
    return predicate()


# -- the monkey --------------------------------------------------------------------------------

@dataclass
class MonkeyReport:
    seed: int
    actions: int = 0
    counts: Counter = field(default_factory=Counter)
    log: deque = field(default_factory=lambda: deque(maxlen=100_000))


class AppMonkey:
    """Random user actions on a ready ``MainWindow``.

    Args:
        window: the shown window with its model loaded.
        seed: the random seed (the whole action sequence follows from it).
        work_dir: where exported clips, presets and written test clips go.
        clip_files: real MIDI files to load now and then (may be empty).
        log_size: how many of the latest actions the log keeps.
        midi_apis: the MIDI APIs the API selector is switched between (the first is where
            the monkey returns to, e.g. "jack").
        trap: an active :class:`ErrorTrap`; each error it records is then labelled with the
            action it happened in (or shortly after).
        log_to: a text file every action is also written to as it starts and ends (flushed),
            so a crash of the process leaves the log behind.
        avoid_outputs: listed output ports never chosen (a recorder already listening to the
            virtual port, which would then hear two senders).
    """

    def __init__(self, window: Any, seed: int, work_dir: Path, clip_files: Sequence[Path] = (),
                 log_size: int = 100_000,
                 midi_apis: Sequence[str] = ("jack", "auto", "alsa", "coremidi", "winmm"),
                 trap: ErrorTrap | None = None, log_to: TextIO | None = None,
                 avoid_outputs: Sequence[str] = ()) -> None:
        self.w = window
        self.avoid_outputs = set(avoid_outputs)
        self.trap = trap
        self.log_to = log_to
        self.rng = random.Random(seed)
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.clip_files = sorted(Path(p) for p in clip_files)
        self.midi_apis = list(midi_apis)
        self.report = MonkeyReport(seed, log=deque(maxlen=log_size))
        self.dialogs = ScriptedDialogs()
        self.modal_errors: list[str] = []
        self._presets: list[Path] = []
        self._exports: dict[Path, int] = {}  # the bars last exported to each file
        self._written = 0
        self._shown = ("", "")
        self.t0 = time.perf_counter()  # the log's times are seconds since this
        self._modal_timer = QTimer()
        self._modal_timer.setInterval(MODAL_CHECK_MS)
        self._modal_timer.timeout.connect(self._close_modals)
        self.actions: list[tuple[str, float, Callable[[], str]]] = [
            ("pad_drag", 8, self.pad_drag), ("knob_drag", 8, self.knob_drag),
            ("knob_wheel", 3, self.knob_wheel), ("knob_keys", 2, self.knob_keys),
            ("knob_double_click", 3, self.knob_double_click), ("randomize", 5, self.randomize),
            ("variation", 5, self.variation), ("undo", 4, self.undo), ("redo", 3, self.redo),
            ("grid_click", 6, self.grid_click), ("grid_wheel", 2, self.grid_wheel),
            ("tempo", 4, self.tempo), ("sliders", 3, self.sliders), ("quantize", 1, self.quantize),
            ("clock_source", 1, self.clock_source), ("play_stop", 5, self.play_stop),
            ("output_port", 2, self.output_port), ("input_port", 1, self.input_port),
            ("midi_api", 2, self.midi_api),
            ("refresh_ports", 1, self.refresh_ports), ("load_clip", 2, self.load_clip),
            ("export_clip", 2, self.export_clip), ("save_preset", 2, self.save_preset),
            ("load_preset", 2, self.load_preset), ("hold_toggle", 1, self.hold_toggle),
            ("reset_knobs", 1, self.reset_knobs), ("note_map", 1, self.note_map),
            ("pad_mode", 1, self.pad_mode), ("heatmap", 1, self.heatmap),
            ("corner", 1, self.corner), ("idle", 3, self.idle),
        ]

    # -- running ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def running(self) -> Iterator[AppMonkey]:
        """Dialogs answered and stray modal windows closed while inside."""
        with self.dialogs.installed():
            self._modal_timer.start()
            try:
                yield self
            finally:
                self._modal_timer.stop()

    def step(self) -> str:
        """One random action and a short random pause (0-60 ms of event processing)."""
        names = [a[0] for a in self.actions]
        weights = [a[1] for a in self.actions]
        index = self.rng.choices(range(len(names)), weights)[0]
        name, _weight, action = self.actions[index]
        n = self.report.actions
        entry = f"{n:5d} {time.perf_counter() - self.t0:8.2f}s {name}"
        self.report.log.append(entry + " …")
        self._write(entry + " …")
        if self.trap is not None:
            self.trap.where = f"action {n} {name}"
        detail = action()
        entry += f" {detail}" if detail else ""
        self.report.actions += 1
        self.report.counts[name] += 1
        qwait(self.rng.randint(0, 60))
        entry += self._news()
        self.report.log[-1] = entry
        self._write(entry)
        return entry

    def _write(self, line: str) -> None:
        if self.log_to is not None:
            self.log_to.write(line + "\n")
            self.log_to.flush()

    def _news(self) -> str:
        """What the status bar and the MIDI status line say now, where it changed."""
        labels = self.w.statusBar().findChildren(QLabel)
        shown = (labels[0].text() if labels else "", self.w.transport.status.text())
        news = [f"{who}: {text}" for who, text, old
                in zip(("status", "midi"), shown, self._shown, strict=True) if text != old]
        self._shown = shown
        return "".join(f"\n        {n}" for n in news)

    def run(self, n: int) -> None:
        for _ in range(n):
            self.step()

    def format_log(self, last: int | None = None) -> str:
        rows = list(self.report.log)[-last:] if last else list(self.report.log)
        return "\n".join(rows)

    # -- helpers ---------------------------------------------------------------------------
    def _key(self, key: Qt.Key, modifiers: Qt.KeyboardModifier = NO_MOD) -> None:
        """A key press where the keyboard focus is, as a user's keyboard sends it."""
        target = QApplication.focusWidget() or self.w
        QTest.keyClick(target, key, modifiers)

    def _knob(self) -> Any:
        knobs = self.w.knobs.knobs
        return knobs[self.rng.choice(sorted(knobs))] if knobs else None

    def _close_modals(self) -> None:
        for widget in (QApplication.activeModalWidget(), QApplication.activePopupWidget()):
            if widget is not None and widget.isVisible():
                title = widget.windowTitle() or type(widget).__name__
                self.modal_errors.append(f"after action {self.report.actions}: a modal window "
                                         f"'{title}' opened and nobody answered it")
                if isinstance(widget, QDialog):
                    widget.reject()
                else:
                    widget.close()

    def _write_clip(self) -> Path:
        """A random drum clip written by the engine's MIDI writer (1-8 bars)."""
        from engine.music.drums import NUM_VOICES
        from engine.music.midifile import write_clip
        from engine.music.pattern import Pattern

        bars = self.rng.choice([1, 2, 3, 4, 8])
        p = Pattern.empty(bars=bars)
        for _ in range(self.rng.randint(0, 12 * bars)):
            p = p.with_hit(self.rng.randrange(p.steps), self.rng.randrange(NUM_VOICES), True,
                           velocity=self.rng.uniform(0.1, 1.0))
        self._written += 1
        return write_clip(self.work_dir / f"written-{self._written % 8}.mid", p,
                          tempo_bpm=self.rng.uniform(60, 180), force=True)

    # -- actions (each returns a short description for the log) -----------------------------------
    def pad_drag(self) -> str:
        pad = self.w.pad_panel.pad
        pts = [(self.rng.uniform(-1.1, 1.1), self.rng.uniform(-1.1, 1.1))
               for _ in range(self.rng.randint(2, 6))]
        widget_pts = [pad.to_widget(x, y).toPoint() for x, y in pts]
        QTest.mousePress(pad, LEFT, NO_MOD, widget_pts[0])
        for p in widget_pts[1:]:
            QTest.mouseMove(pad, p)
            qwait(self.rng.randint(0, 30))
        QTest.mouseRelease(pad, LEFT, NO_MOD, widget_pts[-1])
        return f"{len(pts)} points to ({pts[-1][0]:+.2f}, {pts[-1][1]:+.2f})"

    def knob_drag(self) -> str:
        knob = self._knob()
        if knob is None:
            return "(no knobs)"
        c = knob.rect().center()
        dy = self.rng.randint(-300, 300)
        moves = self.rng.randint(1, 12)
        fine = self.rng.random() < 0.2
        QTest.mousePress(knob, LEFT, NO_MOD, c)
        for i in range(1, moves + 1):
            to = c + QPoint(0, round(dy * i / moves))
            if fine:  # Shift held: a move event carrying the modifier (QTest.mouseMove sends none)
                QApplication.sendEvent(knob, _mouse_move(knob, to, SHIFT))
            else:
                QTest.mouseMove(knob, to)
            qwait(self.rng.randint(0, 20))
        QTest.mouseRelease(knob, LEFT, NO_MOD, c + QPoint(0, dy))
        return f"{knob.name} dy={dy} in {moves}{' fine' if fine else ''}"

    def knob_wheel(self) -> str:
        knob = self._knob()
        if knob is None:
            return "(no knobs)"
        notches = self.rng.choice([-3, -1, 1, 2, 5])
        mods = SHIFT if self.rng.random() < 0.3 else NO_MOD
        QApplication.sendEvent(knob, _wheel(knob, notches, mods))
        return f"{knob.name} {notches:+d}{' fine' if mods == SHIFT else ''}"

    def knob_keys(self) -> str:
        knob = self._knob()
        if knob is None:
            return "(no knobs)"
        knob.setFocus()
        keys = [self.rng.choice([Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Home])
                for _ in range(self.rng.randint(1, 5))]
        for k in keys:
            QTest.keyClick(knob, k)
        return f"{knob.name} {[Qt.Key(k).name.removeprefix('Key_') for k in keys]}"

    def knob_double_click(self) -> str:
        knob = self._knob()
        if knob is None:
            return "(no knobs)"
        QTest.mouseDClick(knob, LEFT, NO_MOD, knob.rect().center())
        return knob.name

    def randomize(self) -> str:
        if self.rng.random() < 0.5:
            self.w.actions.randomize.trigger()
            return "toolbar"
        self._key(Qt.Key.Key_R)
        return "key R"

    def variation(self) -> str:
        if self.rng.random() < 0.5:
            self.w.actions.variation.trigger()
            return "toolbar"
        self._key(Qt.Key.Key_V)
        return "key V"

    def undo(self) -> str:
        if self.rng.random() < 0.5:
            self.w.actions.undo.trigger()
            return "action"
        self._key(Qt.Key.Key_Z, CTRL)
        return "Ctrl+Z"

    def redo(self) -> str:
        if self.rng.random() < 0.5:
            self.w.actions.redo.trigger()
            return "action"
        self._key(Qt.Key.Key_Z, CTRL | SHIFT)
        return "Ctrl+Shift+Z"

    def grid_click(self) -> str:
        grid = self.w.grid
        clicks = []
        for _ in range(self.rng.randint(1, 4)):
            step, voice = self.rng.randrange(grid.pattern.steps), self.rng.randrange(9)
            QTest.mouseClick(grid, LEFT, NO_MOD, grid.cell_rect(step, voice).center().toPoint())
            clicks.append((step, voice))
        return str(clicks)

    def grid_wheel(self) -> str:
        grid = self.w.grid
        step, voice = self.rng.randrange(grid.pattern.steps), self.rng.randrange(9)
        notches = self.rng.choice([-2, -1, 1, 3])
        mods = SHIFT if self.rng.random() < 0.3 else NO_MOD
        QApplication.sendEvent(grid, _wheel(grid, notches, mods, grid.cell_rect(step, voice).center()))
        return f"({step}, {voice}) {notches:+d}"

    def tempo(self) -> str:
        t = self.w.transport.tempo
        if self.rng.random() < 0.3:  # arrow keys on the spin box
            t.setFocus()
            key = self.rng.choice([Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown])
            QTest.keyClick(t, key)
            return f"key {Qt.Key(key).name.removeprefix('Key_')} -> {t.value():.1f}"
        bpm = round(self.rng.uniform(30.0, 300.0), 1)
        t.setValue(bpm)
        return f"{bpm}"

    def sliders(self) -> str:
        t = self.w.transport
        name, slider = self.rng.choice([("swing", t.swing), ("groove", t.groove), ("velocity", t.velocity)])
        value = self.rng.randint(slider.minimum(), slider.maximum())
        slider.setValue(value)
        return f"{name}={value}"

    def quantize(self) -> str:
        box = self.w.transport.quantize
        box.setCurrentIndex(self.rng.randrange(box.count()))
        return box.currentText()

    def clock_source(self) -> str:
        box = self.w.transport.clock
        # external clock waits for a master that is not there: mostly go back to internal
        box.setCurrentText("external" if self.rng.random() < 0.3 else "internal")
        return box.currentText()

    def play_stop(self) -> str:
        if self.rng.random() < 0.5:
            self.w.transport.play_button.click()
            return "button"
        self._key(Qt.Key.Key_Space)
        return "Space"

    def output_port(self) -> str:
        box = self.w.transport.output
        # mostly the virtual port; sometimes a port listed (e.g. a recorder's input)
        others = [i for i in range(1, box.count()) if box.itemText(i) not in self.avoid_outputs]
        index = self.rng.choice(others) if others and self.rng.random() < 0.6 else 0
        box.setCurrentIndex(index)
        box.activated.emit(index)  # what choosing an entry with the mouse emits
        return f"{box.currentText()} ({index + 1} of {box.count()})"

    def input_port(self) -> str:
        box = self.w.transport.input  # none, the virtual input, or a port listed
        index = self.rng.randrange(box.count())
        box.setCurrentIndex(index)
        box.activated.emit(index)
        return f"{box.currentText()} ({index + 1} of {box.count()})"

    def midi_api(self) -> str:
        api = self.midi_apis[0] if self.rng.random() < 0.5 else self.rng.choice(self.midi_apis)
        self.w.transport.api.setCurrentText(api)
        return api

    def refresh_ports(self) -> str:
        self.w.transport.refresh.click()
        return ""

    def load_clip(self) -> str:
        roll = self.rng.random()
        if roll < 0.4 and self.clip_files:
            path = self.rng.choice(self.clip_files)
        elif roll < 0.85:
            path = self._write_clip()
        elif roll < 0.93:
            path = self.work_dir / "not-midi.mid"
            path.write_bytes(b"this is not a MIDI file\n" * self.rng.randint(0, 3))
        else:
            path = Path("")  # the user cancels the dialog
        self.dialogs.open_path = str(path) if str(path) != "." else ""
        self.w.actions.load_clip.trigger()
        return path.name or "(cancelled)"

    def export_clip(self) -> str:
        bars = self.rng.choice([1, 2, 4, 8, 16])
        path = self.work_dir / f"export-{self.rng.randrange(4)}.mid"
        self.dialogs.export_bars, self.dialogs.save_path = bars, str(path)
        self.w.actions.export_clip.trigger()
        self._exports[path] = bars
        return f"{bars} bars to {path.name}"

    def save_preset(self) -> str:
        path = self.work_dir / f"preset-{self.rng.randrange(3)}.json"
        self.dialogs.save_path = str(path)
        self.w.actions.save_preset.trigger()
        if path not in self._presets:
            self._presets.append(path)
        return path.name

    def load_preset(self) -> str:
        roll = self.rng.random()
        if self._presets and roll < 0.8:
            path = self.rng.choice(self._presets)
        elif roll < 0.9:
            path = self.work_dir / "broken-preset.json"
            path.write_text(self.rng.choice(['{"format": "groovefader-preset", "version": 1, "knobs": 3}',
                                             "{", "[]", ""]))
        else:
            path = self.work_dir / "missing-preset.json"
        self.dialogs.open_path = str(path)
        self.w.actions.load_preset.trigger()
        return path.name

    def hold_toggle(self) -> str:
        if self.rng.random() < 0.5:
            self.w.actions.hold_knobs.trigger()
            return f"action -> {self.w.actions.hold_knobs.isChecked()}"
        self._key(Qt.Key.Key_H)
        return "key H"

    def reset_knobs(self) -> str:
        self.w.actions.reset_knobs.trigger()
        return ""

    def note_map(self) -> str:
        action = self.rng.choice(self.w.actions.note_maps.actions())
        action.trigger()
        return action.text()

    def pad_mode(self) -> str:
        box = self.w.pad_panel.mode_box
        box.setCurrentIndex(self.rng.randrange(box.count()))
        return str(box.currentData())

    def heatmap(self) -> str:
        box = self.w.pad_panel.heat_box
        # mostly none: a heat-map is a batch decode, the costliest request there is
        box.setCurrentIndex(0 if self.rng.random() < 0.6 else self.rng.randrange(box.count()))
        return str(box.currentData()) or "none"

    def corner(self) -> str:
        index = self.rng.randrange(4)
        button = self.w.pad_panel.corner_buttons[index]
        if self.rng.random() < 0.7:
            button.click()
            return f"{'ABCD'[index]} <- current"
        path = self._write_clip()
        self.dialogs.open_path = str(path)
        button.menu().actions()[1].trigger()
        return f"{'ABCD'[index]} <- {path.name}"

    def idle(self) -> str:
        ms = self.rng.randint(50, 400)
        qwait(ms)
        return f"{ms} ms"

    # -- checks ----------------------------------------------------------------------------
    def check_exports(self) -> list[str]:
        """Every exported clip that exists reads back with the length asked for."""
        from engine.music.midifile import read_clip

        problems = []
        for path, bars in self._exports.items():
            if not path.exists():
                problems.append(f"export {path.name}: not written")
                continue
            try:
                got = read_clip(path).bars
            except Exception as err:  # noqa: BLE001 - reported as a finding
                problems.append(f"export {path.name}: unreadable: {err}")
                continue
            if got != bars:
                problems.append(f"export {path.name}: {got} bars read back, {bars} asked")
        return problems


def _wheel(widget: QWidget, notches: int, modifiers: Qt.KeyboardModifier,
           pos: QPointF | None = None) -> QWheelEvent:
    at = QPointF(pos) if pos is not None else QPointF(widget.rect().center())
    return QWheelEvent(at, QPointF(widget.mapToGlobal(at.toPoint())), QPoint(0, 0), QPoint(0, 120 * notches),
                       Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)


def _mouse_move(widget: QWidget, pos: QPoint, modifiers: Qt.KeyboardModifier) -> Any:
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent

    at = QPointF(pos)
    return QMouseEvent(QEvent.Type.MouseMove, at, QPointF(widget.mapToGlobal(pos)), Qt.MouseButton.NoButton,
                       LEFT, modifiers)


# -- a whole session against JACK ------------------------------------------------------------------

class Listeners:
    """Two recording JACK clients: ``virtual`` follows the app's virtual port, ``direct`` is
    a port the app's output can be pointed at by name.

    Why two: a recorder hearing two senders (the virtual port and a direct connection, both
    sending the note-offs and panic of a port change in one burst) gets their events of one
    frame merged in no defined order, which can put a note-off before its note-on. Each
    recorder hears one sender at a time, so its stream keeps the sender's order, and a note
    left sounding at either is a note left sounding at that receiver.
    """

    def __init__(self, server: Any, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.virtual = Recorder(server, MIDI_SOURCE, folder / "virtual.jsonl")
        self.direct = Recorder(server, None, folder / "direct.jsonl")
        self.recorders = {"virtual": self.virtual, "direct": self.direct}

    @property
    def pids(self) -> set[int]:
        return {r.proc.pid for r in self.recorders.values()}

    def note_ons_since(self, mark_ns: int) -> int:
        return sum(1 for r in self.recorders.values() for _f, m, ns in r.events()
                   if ns >= mark_ns and (m[0] & 0xF0) == 0x90 and m[2] > 0)

    def stop(self) -> None:
        for r in self.recorders.values():
            r.stop()

    def check(self, t0_s: float) -> dict[str, Any]:
        """After :meth:`stop`: stuck notes per receiver (timed from ``t0_s``), note-ons
        heard and replayed cycles left out."""
        out: dict[str, Any] = {"problems": [], "note_ons": {}, "replayed_cycles": 0}
        for name, r in self.recorders.items():
            messages, times_ns, replayed = received_messages(r)
            out["problems"] += [f"{name}: {p}" for p in note_problems(messages, times_ns, t0_s)]
            out["note_ons"][name] = sum(1 for m in messages if (m[0] & 0xF0) == 0x90 and m[2] > 0)
            out["replayed_cycles"] += replayed
        return out


def point_at_jack(window: Any, api: str = "jack", timeout_s: float = 30.0) -> bool:
    """Through the transport's widgets: internal clock, ``api``, the virtual output; True once
    the status line says the port is open."""
    t = window.transport
    t.clock.setCurrentText("internal")
    if t.api.currentText() != api:
        t.api.setCurrentText(api)
    if t.output.currentIndex() != 0:
        t.output.setCurrentIndex(0)
        t.output.activated.emit(0)
    return wait_until(lambda: t.status.text().startswith("MIDI out"), timeout_s)


def responds(window: Any, timeout_s: float = 30.0) -> bool:
    """Randomize (the toolbar action) still gives a new pattern on the grid."""
    before = window.grid.pattern
    window.actions.randomize.trigger()
    return wait_until(lambda: window.grid.pattern is not before, timeout_s)
