"""The clock loop where Link cannot run: one line says why, and the internal clock plays on."""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time

from engine.ports import PortSpec
from engine.ports.fake import RecordingOutput
from engine.realtime.clock_process import ClockConfig, ClockLoop
from engine.realtime.messages import Close, Ping, SetClockSource, SetPattern, Start, Stop
from engine.realtime.steps import Controls
from tests.support.patterns import pattern_from_cells


def test_without_the_binding_the_loop_says_so_and_stays_on_its_own_clock(monkeypatch):
    monkeypatch.setitem(sys.modules, "link", None)  # import link → ImportError: nothing on a network
    commands: queue.Queue = queue.Queue()
    status: queue.Queue = queue.Queue()
    out = RecordingOutput()
    loop = ClockLoop(ClockConfig(port=PortSpec("fake"), controls=Controls(tempo_bpm=240), realtime=False),
                     commands, status, open_port=lambda spec: out)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    commands.put(SetPattern(pattern_from_cells({(s, 0): (0.8, 0.0) for s in range(0, 32, 4)})))
    commands.put(SetClockSource("link"))
    commands.put(Ping())
    reports = []
    end = time.monotonic() + 5
    while time.monotonic() < end and not any(r.error for r in reports):
        with contextlib.suppress(queue.Empty):
            reports.append(status.get(timeout=0.05))
    report = next(r for r in reports if r.error)
    assert "LinkPython-extern" in report.error and "\n" not in report.error
    assert report.clock_source == "internal" and report.link_peers is None
    assert loop.link is None
    commands.put(Start())
    time.sleep(0.4)  # 240 BPM: a kick every 250 ms
    commands.put(Stop())
    commands.put(Close())
    thread.join(5)
    assert sum(1 for _, _, data in out.sent if data[0] == 0x99 and data[2] > 0) >= 1
