"""*Export audio…* of a long groove (256 bars of a 64-bar transition) keeps the window
responsive: the render thread never holds the GIL for long (a GUI-thread gap over 50 ms is a
stall the user sees; the bound below leaves room for a busy test machine)."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer

from engine.audio import render
from engine.realtime import steps


class GapProbe:
    """A 5 ms timer on the GUI thread: the longest time between two of its ticks."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.worst = 0.0
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst, self.last = max(self.worst, now - self.last), now

    def stop(self) -> float:
        self.timer.stop()
        return self.worst


def test_a_long_audio_export_leaves_the_gui_thread_free(ready_window, qtbot, tmp_path) -> None:
    w = ready_window
    c = w.controller
    with qtbot.waitSignal(c.transitionReady, timeout=60_000):
        c.make_transition(c.pattern, 64, 2)
    assert c.pattern.bars == 64
    qtbot.wait(300)  # the new pattern painted
    probe = GapProbe()
    with qtbot.waitSignal(w.audio_export.finished, timeout=120_000) as done:
        w.audio_export.export(tmp_path / "long.wav", 256)
    worst = probe.stop()
    assert done.args[0] == "info", done.args
    assert worst < 0.1, f"the GUI thread stalled {worst * 1000:.0f} ms"


def test_a_render_flattens_the_pattern_once(monkeypatch) -> None:
    from engine.music.drums import Voice
    from engine.music.pattern import Pattern

    built = []
    real = steps.StepTable.from_pattern.__func__
    monkeypatch.setattr(steps.StepTable, "from_pattern",
                        classmethod(lambda cls, p: built.append(p) or real(cls, p)))
    pattern = Pattern.empty(bars=4).with_hit(0, Voice.KICK, True, velocity=0.8)
    hits = render.hits_for(pattern, steps.Controls(), 8, 48_000)
    assert len(hits) == 2 and len(built) == 1
