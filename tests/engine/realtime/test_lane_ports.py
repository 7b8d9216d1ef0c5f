"""The melody lane on an output of its own, with recording outputs in place of MIDI servers:
which messages go where, on the push path (rtmidi) and the pulling path (sample-accurate JACK),
its note-offs and CC 123 on stop and when it moves, and its port lost alone."""

from __future__ import annotations

import queue
import threading
import time

from engine.errors import PortError
from engine.ports import PortSpec
from engine.ports.fake import RecordingOutput
from engine.realtime.clock_process import ClockConfig, ClockLoop
from engine.realtime.lane_ports import SharedFrameClock, melody_port_spec
from engine.realtime.melody_lane import MelodyControls
from engine.realtime.messages import Close, SetMelody, SetMelodyPort, SetPattern, Start, Stop
from engine.realtime.steps import Controls
from tests.engine.realtime.test_clock_port_change import PullingOutput
from tests.engine.realtime.test_clock_process import beat
from tests.support.jack_server import check_note_pairs
from tests.support.melody import melody_a

MELODY_CH = 2  # channel 3


class TwoPorts:
    """A ClockLoop in a thread whose outputs are recorded by name (``fake``: the drums')."""

    def __init__(self, pulling: bool = False, melody_port: str | None = "mel") -> None:
        self.commands: queue.Queue = queue.Queue()
        self.status: queue.Queue = queue.Queue()
        self.opened: list[tuple[str, RecordingOutput]] = []
        self.pulling = pulling
        self.refuse: set[str] = set()
        config = ClockConfig(port=PortSpec("fake", "jack"), controls=Controls(tempo_bpm=300, groove=0.0),
                             melody_controls=MelodyControls(channel=MELODY_CH), realtime=False,
                             melody_port=None if melody_port is None else SetMelodyPort(melody_port))
        self.loop = ClockLoop(config, self.commands, self.status, open_port=self._open)
        self.thread = threading.Thread(target=self.loop.run, daemon=True)

    def _open(self, spec: PortSpec) -> RecordingOutput:
        if spec.name in self.refuse:
            raise PortError(f"{spec.name} is down")
        out = PullingOutput(self.loop._now) if self.pulling else RecordingOutput()
        self.opened.append((spec.name, out))
        return out

    def sent(self, name: str, index: int = -1) -> list[tuple[int, ...]]:
        return [data for _, _, data in [o for n, o in self.opened if n == name][index].sent]

    def play(self, seconds: float) -> None:
        self.thread.start()
        self.commands.put(SetMelody(melody_a(), "step"))
        self.commands.put(SetPattern(beat(), "step"))
        self.commands.put(Start())
        time.sleep(seconds)

    def finish(self) -> None:
        self.commands.put(Stop())
        self.commands.put(Close())
        self.thread.join(10)
        assert not self.thread.is_alive()

    def reports(self):
        items = []
        while True:
            try:
                items.append(self.status.get_nowait())
            except queue.Empty:
                return items

    def wait_report(self, predicate, timeout_s: float) -> bool:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if any(predicate(r) for r in self.reports()):
                return True
            time.sleep(0.02)
        return False


def channels(msgs: list[tuple[int, ...]]) -> set[int]:
    return {m[0] & 0x0F for m in msgs if 0x80 <= m[0] < 0xF0}


def check_split(h: TwoPorts) -> None:
    drums, melody = h.sent("fake"), h.sent("mel")
    assert channels(drums) == {9} and channels(melody) == {MELODY_CH}
    assert any(m == (0xF8,) for m in drums) and not any(m[0] >= 0xF0 for m in melody)  # clock: drums'
    assert sum(1 for m in melody if m[0] == 0x92 and m[2] > 0) >= 3
    assert check_note_pairs(drums) == [] and check_note_pairs(melody) == []
    # each port's receivers released on its own channel, when it opened and on the stop
    assert melody[0] == (0xB2, 123, 0) and melody[-1] == (0xB2, 123, 0)
    assert drums[0] == (0xB9, 123, 0) and (0xB2, 123, 0) not in drums


def test_push_path_each_lane_on_its_own_port():
    h = TwoPorts()
    h.play(0.8)
    h.finish()
    check_split(h)
    final = next(r for r in h.reports() if r.final)
    assert final.melody_port == "mel" and final.sounding == 0
    assert final.stats["lanes"]["melody"]["count"] > 0


def test_pulling_path_each_output_pulls_its_own_lane():
    h = TwoPorts(pulling=True)
    h.play(0.8)
    h.finish()
    check_split(h)
    # every note-on the clock counted reached one of the two outputs
    ons = sum(1 for name in ("fake", "mel") for m in h.sent(name) if m[0] & 0xF0 == 0x90 and m[2] > 0)
    final = next(r for r in h.reports() if r.final)
    assert final.stats["sent"]["on"] == ons


def test_moving_the_melody_ends_its_note_where_it_started():
    h = TwoPorts(melody_port=None)
    h.play(0.35)  # melody A's notes last 4 steps (200 ms): one sounds now
    h.commands.put(SetMelodyPort("mel"))
    time.sleep(0.5)
    h.commands.put(SetMelodyPort(None))
    time.sleep(0.4)
    h.finish()
    drums = h.sent("fake")
    melody = h.sent("mel")
    assert check_note_pairs(drums) == [] and check_note_pairs(melody) == []
    assert any(m[0] == 0x92 and m[2] > 0 for m in melody)  # it played there meanwhile
    moved_at = next(i for i, m in enumerate(drums) if m[0] == 0x82)  # its note ended on the drums' port
    back_at = max(i for i, m in enumerate(drums) if m[0] == 0x92 and m[2] > 0)
    assert moved_at < back_at  # and came back to it
    assert melody[0] == (0xB2, 123, 0) and melody[-1] == (0xB2, 123, 0)


def test_the_melody_port_lost_alone_the_drums_play_on_and_it_comes_back():
    h = TwoPorts()
    h.play(0.3)
    h.refuse.add("mel")
    [o for n, o in h.opened if n == "mel"][0].is_alive = False
    assert h.wait_report(lambda r: r.melody_port_state == "error" and r.port_state == "ok"
                         and r.playing, 3)
    drums_then = len(h.sent("fake"))
    time.sleep(0.3)
    assert len(h.sent("fake")) > drums_then  # the drums played on
    h.refuse.clear()
    assert h.wait_report(lambda r: r.melody_port_state == "ok", 3)
    end = time.monotonic() + 5  # its next note-on, however loaded the machine
    while time.monotonic() < end and not any(m[0] == 0x92 and m[2] > 0 for m in h.sent("mel", 1)):
        time.sleep(0.02)
    h.finish()
    assert len([n for n, _ in h.opened if n == "mel"]) == 2
    assert check_note_pairs(h.sent("mel")) == [] and check_note_pairs(h.sent("fake")) == []
    assert not any(m[0] & 0x0F == MELODY_CH for m in h.sent("fake"))  # never sent to the drums' port
    assert any(m[0] == 0x92 and m[2] > 0 for m in h.sent("mel", 1))


def test_the_melody_port_takes_the_drums_api_and_path_and_their_timeline():
    drums = PortSpec("gf", "jack", sample_accurate=True)
    spec = melody_port_spec(drums, SetMelodyPort("synth in", virtual=False))
    assert (spec.name, spec.virtual, spec.api, spec.sample_accurate) == ("synth in", False, "jack", True)
    rt = melody_port_spec(PortSpec("gf", "jack"), SetMelodyPort("mel"))
    assert rt.time_base == "wall" and not rt.sample_accurate  # the loop times its sends

    class Clock:
        timeline, stopped = "map-1", False

        def now_ns(self):
            return 5

        def alive(self):
            return True

        def stop(self):
            self.stopped = True

    clock = Clock()
    shared = SharedFrameClock(clock)
    clock.timeline = "map-2"  # a resync or rebase of the drums' clock
    assert shared.timeline == "map-2" and shared.now_ns() == 5
    shared.stop()
    assert not clock.stopped  # the melody's port closing leaves the drums' clock running


def test_the_drums_port_lost_ends_the_melody_note_on_its_own_port_and_both_come_back():
    h = TwoPorts()
    h.play(0.3)  # a melody note sounds (4 steps of 50 ms each)
    h.refuse.add("fake")
    [o for n, o in h.opened if n == "fake"][0].is_alive = False
    assert h.wait_report(lambda r: r.port_state == "error" and r.melody_port_state == "closed", 3)
    first_melody = h.sent("mel", 0)
    # its sounding note ended on its own port, which closed after CC 123 on its channel
    assert check_note_pairs(first_melody) == [] and first_melody[-1] == (0xB2, 123, 0)
    assert any(m[0] == 0x82 for m in first_melody)
    h.refuse.clear()
    assert h.wait_report(lambda r: r.port_state == "ok" and r.melody_port_state == "ok", 3)
    time.sleep(0.4)
    h.finish()
    assert [n for n, _ in h.opened].count("mel") == 2  # reopened with the drums' port
    assert any(m[0] == 0x92 and m[2] > 0 for m in h.sent("mel", 1))
    assert check_note_pairs(h.sent("mel", 1)) == [] and check_note_pairs(h.sent("fake", 1)) == []
