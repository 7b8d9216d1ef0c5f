"""A port change while the clock is behind: every note-on gets its note-off on the port that
sent it, on the push path (rtmidi) and on the pulling path (the sample-accurate JACK output),
with recording outputs in place of MIDI servers."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from engine.music.drums import NUM_VOICES, Voice
from engine.music.pattern import Pattern
from engine.ports import PortSpec
from engine.ports.fake import RecordingOutput
from engine.realtime.clock_process import ClockConfig, ClockLoop
from engine.realtime.messages import Close, SetPattern, SetPort, Start
from engine.realtime.steps import Controls
from tests.support.jack_server import check_note_pairs

STEP_S = 0.05  # 300 BPM: 50 ms per 16th


def every_step() -> Pattern:
    """A hit on every step (kick and hat taking turns), so any stall leaves notes overdue."""
    hits = np.zeros((16, NUM_VOICES), bool)
    hits[0::2, Voice.KICK] = True
    hits[1::2, Voice.CLOSED_HAT] = True
    return Pattern(hits)


class StallingOutput(RecordingOutput):
    """Stalls in its first note-on, as a loaded machine stalls the clock: the steps after it
    come due meanwhile and are still unsent when the next command is read."""

    def __init__(self, stall_s: float) -> None:
        super().__init__()
        self.stall_s = stall_s
        self.stalled = threading.Event()

    def _send(self, data: Sequence[int], deadline_ns: int | None) -> None:
        super()._send(data, deadline_ns)
        if data[0] == 0x99 and not self.stalled.is_set():
            self.stalled.set()
            time.sleep(self.stall_s)


class PullingOutput(RecordingOutput):
    """Pulls what is due each 2 ms "period" in a thread of its own, as the sample-accurate
    JACK output's process callback does; what it pulls is recorded as sent on this port.

    ``detach_s``: ``set_pull(None)`` returns this late (a server running its cycles late).
    ``late_pull_s``: a callback that read the old ``pull`` just before the detach calls it once
    more while the port closes, this long after the close began (an asynchronous server does
    not wait for a late client; closing waits for the client's cycles).
    """

    PERIOD_S = 0.002

    def __init__(self, clock: Callable[[], int], detach_s: float = 0.0, late_pull_s: float = 0.0) -> None:
        super().__init__(lookahead_ns=4_000_000)
        self.clock, self.detach_s, self.late_pull_s = clock, detach_s, late_pull_s
        self._fn: Callable[[int], list[Any]] | None = None
        self._detached: Callable[[int], list[Any]] | None = None
        self.pulling = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def set_pull(self, pull: Callable[[int], list[Any]] | None) -> None:
        old, self._fn = self._fn, pull
        if pull is None and old is not None:
            self._detached = old
            time.sleep(self.detach_s)

    def _take(self, pull: Callable[[int], list[Any]]) -> None:
        for item in pull(self.clock() + round(self.PERIOD_S * 1e9)):
            self.sent.append((time.perf_counter_ns(), item.deadline_ns, tuple(item.data)))

    def _run(self) -> None:
        while not self._stop.wait(self.PERIOD_S):
            pull = self._fn
            if pull is not None:
                self.pulling.set()
                self._take(pull)

    def _close(self) -> None:
        self._stop.set()
        if self.late_pull_s and self._detached is not None:
            time.sleep(self.late_pull_s)
            self._take(self._detached)


class Harness:
    """A ClockLoop in a thread; ``make(n)`` builds the n-th output it opens."""

    def __init__(self, make: Callable[[int], RecordingOutput]) -> None:
        self.commands: queue.Queue = queue.Queue()
        self.outputs: list[RecordingOutput] = []
        self.make = make
        config = ClockConfig(port=PortSpec("fake", "jack"), controls=Controls(tempo_bpm=300, groove=0.0),
                             realtime=False)
        self.loop = ClockLoop(config, self.commands, queue.Queue(), open_port=self._open)
        self.thread = threading.Thread(target=self.loop.run, daemon=True)

    def _open(self, spec: PortSpec) -> RecordingOutput:
        out = self.make(len(self.outputs))
        self.outputs.append(out)
        return out

    def play(self) -> None:
        self.thread.start()
        self.commands.put(SetPattern(every_step(), "step"))
        self.commands.put(Start())

    def close(self, after_s: float) -> None:
        time.sleep(after_s)
        self.commands.put(Close())
        self.thread.join(5)
        assert not self.thread.is_alive()


def _notes(out: RecordingOutput) -> list[tuple[int, ...]]:
    return [data for _, _, data in out.sent if data[0] & 0xF0 in (0x80, 0x90) or data[:2] == (0xB9, 123)]


def _assert_every_note_ends_where_it_began(outputs: list[RecordingOutput]) -> None:
    old, new = _notes(outputs[0]), _notes(outputs[1])
    assert any(m[0] == 0x99 for m in old) and any(m[0] == 0x99 for m in new)
    assert check_note_pairs(old) == []  # none released only by the close's CC 123
    assert [p for p in check_note_pairs(new) if "without note-on" in p] == []  # none owed to the old port


def test_a_port_change_after_a_stall_ends_every_note_on_the_port_that_sent_it():
    h = Harness(lambda n: StallingOutput(stall_s=5 * STEP_S) if n == 0 else RecordingOutput())
    h.play()
    assert h.outputs and h.outputs[0].stalled.wait(5)  # type: ignore[attr-defined]
    h.commands.put(SetPort(PortSpec("other", "jack")))  # read once the stall is over
    h.close(after_s=0.6)
    _assert_every_note_ends_where_it_began(h.outputs)


@pytest.mark.parametrize(("detach_s", "late_pull_s"), [(3 * STEP_S, 0.0), (0.0, 3 * STEP_S)],
                         ids=["slow-detach", "late-callback"])
def test_a_pulling_port_change_ends_every_note_on_the_port_that_sent_it(detach_s, late_pull_s):
    h = Harness(lambda n: PullingOutput(lambda: h.loop.time_base.now_ns(), *((detach_s, late_pull_s)
                                                                            if n == 0 else (0.0, 0.0))))
    h.play()
    deadline = time.monotonic() + 5
    while not (h.outputs and any(m[0] == 0x99 for m in _notes(h.outputs[0]))) and time.monotonic() < deadline:
        time.sleep(0.005)
    h.commands.put(SetPort(PortSpec("other", "jack")))
    h.close(after_s=0.6)
    _assert_every_note_ends_where_it_began(h.outputs)


@pytest.mark.jack
def test_reopening_the_sample_accurate_output_while_notes_sound_ends_each_at_the_receiver(
        jack_server, recorder_factory, port_name):
    """The app's kit path reopens its sample-accurate output while notes sound (output, API
    and kit changes): at a real JACK client no note is left to the CC 123 that follows."""
    from engine.realtime.sequencer import Sequencer

    seq = Sequencer(port_name=port_name, api="jack", virtual=True, sample_accurate=True,
                    controls=Controls(tempo_bpm=300, groove=0.0, gate_steps=3.0))
    try:
        assert jack_server.wait_port(f"{port_name}:{port_name}", 10)
        rec = recorder_factory(jack_server, f"{port_name}:{port_name}")
        assert rec.wait_connected()
        seq.set_pattern(every_step(), "step")
        seq.play()
        for _ in range(10):
            time.sleep(0.25)
            seq.set_port(port_name, "jack", True, sample_accurate=True)
        time.sleep(0.3)
        seq.stop()
        time.sleep(0.3)
    finally:
        seq.close()
    messages = [m for _f, m, _ns in rec.stop()]
    assert sum(1 for m in messages if m[0] == 0x99 and m[2] > 0) >= 10  # heard between the reopens
    # (a note-off without its note-on is a note-on sent before the recorder reconnected)
    assert [p for p in check_note_pairs(messages) if "CC 123" in p or "stuck" in p] == []
