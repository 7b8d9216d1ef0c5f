"""JACK's frame clock as the loop's timeline: deadline → wall send time, on simulated clocks.

Pure (no JACK server): a fake wall clock and a fake frame counter that runs fast by a given
(possibly wandering) number of ppm, read the way the loop reads them — a resync every
100 ms, each deadline converted just before it is due.
"""

from __future__ import annotations

import math
import threading

import pytest

from engine.realtime.steps import deadline_ns, step_ns
from engine.realtime.timebase import (
    DOUBT_LIMIT,
    FRAME_MOD,
    MAX_HOLD_NS,
    MAX_STEP_NS,
    RESYNC_INTERVAL_NS,
    FrameClock,
    WallClock,
    frame_diff,
)

RATE = 48_000
MINUTES_10_NS = 600 * 10**9


class FakeClocks:
    """A wall clock the test moves, and a frame counter following it at ``1 + ppm(t)`` × the
    nominal rate (JACK's estimate: rounded to the nearest frame, mod 2³²)."""

    def __init__(self, ppm: float = 250.0, wander_ppm: float = 0.0, wander_period_s: float = 60.0,
                 start_frame: int = FRAME_MOD - 48_000 * 30) -> None:
        self.wall = 7_000_000_000
        self.start_wall, self.start_frame = self.wall, start_frame
        self.ppm, self.wander_ppm, self.wander_period_s = ppm, wander_ppm, wander_period_s
        self.jump_frames = 0
        self.reads = 0

    def now(self) -> int:
        self.wall += 700  # each reading takes a little wall time
        return self.wall

    def exact_frame(self, wall_ns: int) -> float:
        """Frames since start at ``wall_ns``: the integral of the (wandering) rate."""
        t = (wall_ns - self.start_wall) / 1e9
        w = 2 * math.pi / self.wander_period_s
        drift = self.ppm * 1e-6 * t + self.wander_ppm * 1e-6 * (1 - math.cos(w * t)) / w
        return RATE * (t + drift) + self.jump_frames

    def read_frame(self) -> int:
        self.reads += 1
        return (self.start_frame + round(self.exact_frame(self.wall))) % FRAME_MOD


def play(clocks: FakeClocks, clock: FrameClock, bpm: float, duration_ns: int) -> list[tuple[int, int]]:
    """Simulate the loop: resyncs every 100 ms; each grid deadline converted 5 ms before it
    is due (the loop's last sleep) and sent then. Returns ``(deadline, wall send time)``."""
    length = step_ns(bpm)
    t0 = clock.now_ns() + 5_000_000
    sends = []
    step = 0
    while True:
        deadline = deadline_ns(t0, step, length)
        if deadline - t0 > duration_ns:
            return sends
        while clock.wall_ns(deadline) - clocks.wall > 5_000_000:  # waiting: housekeeping
            clocks.wall = min(clock.wall_ns(deadline) - 5_000_000, clocks.wall + 20_000_000)
            clock.resync()
        send_at = clock.wall_ns(deadline)
        clocks.wall = max(clocks.wall, send_at)
        sends.append((deadline, send_at))
        step += 1


@pytest.mark.parametrize("ppm,wander", [(250.0, 0.0), (250.0, 60.0), (-180.0, 40.0), (0.0, 0.0)])
def test_sends_follow_a_frame_clock_that_runs_fast_with_no_drift_over_10_minutes(ppm, wander):
    clocks = FakeClocks(ppm=ppm, wander_ppm=wander)
    clock = FrameClock(clocks.read_frame, RATE, wall=clocks.now)
    sends = play(clocks, clock, 120.0, MINUTES_10_NS)
    assert len(sends) == 4801  # 10 minutes of 16ths at 120 BPM
    timeline = clock.timeline  # deadline → frame: fixed (10 minutes is far from a re-anchoring)
    errors = []
    for deadline, send_at in sends:
        frame = clock.frame_for(deadline)  # the frame the deadline names, and its fraction:
        want = frame + (deadline - timeline.ns_for_frame(frame)) * RATE / 1e9
        got = clocks.start_frame + clocks.exact_frame(send_at)  # where the frames are at the send
        errors.append(frame_diff(math.floor(got), math.floor(want)) + (got % 1) - (want % 1))
    # until the rate is measured (2 s) the nominal one is extrapolated for up to 100 ms:
    # 250 ppm of that is 25 µs; afterwards within JACK's rounding of its frame estimate (±
    # half a frame per reading) to the end: ≤ 1 frame = 21 µs; the bias under a quarter frame
    assert max(abs(e) for e in errors[:24]) <= 2.0, max(errors[:24], key=abs)
    assert max(abs(e) for e in errors[24:]) <= 1.0, max(errors[24:], key=abs)
    assert abs(sum(errors[-600:]) / 600) < 0.25 and abs(sum(errors[:600]) / 600) < 0.25
    # the wall send times moved with the frames: 10 musical minutes took 600 s / (1 + drift)
    first, last = sends[0][1], sends[-1][1]
    frames_elapsed = clocks.exact_frame(last) - clocks.exact_frame(first)
    assert frames_elapsed == pytest.approx(600 * RATE, abs=1.0)
    if ppm and not wander:
        expected_wall = 600e9 / (1 + ppm * 1e-6)
        assert last - first == pytest.approx(expected_wall, abs=50_000)  # e.g. 150 ms shorter at +250 ppm
        assert 1 / clock.sync.wall_per_timeline - 1 == pytest.approx(ppm * 1e-6, abs=20e-6)  # measured rate
    assert clock.max_correction_ns < 100_000  # each resync moved "now" by < 0.1 ms


def test_the_wall_clock_would_have_drifted_150_ms():
    """The same grid on the wall clock misses a 250 ppm frame clock by 150 ms in 10 minutes
    (what the frame clock is for)."""
    clocks = FakeClocks(ppm=250.0)
    wall = WallClock()
    t0 = clocks.wall
    deadline = t0 + MINUTES_10_NS
    assert wall.wall_ns(deadline) - t0 == MINUTES_10_NS
    frames = clocks.exact_frame(wall.wall_ns(deadline)) - clocks.exact_frame(t0)
    assert frames / RATE * 1e3 - 600_000 == pytest.approx(150.0, abs=0.01)  # ms ahead on the frames


def test_conversions_are_inverse_and_rebase_keeps_each_frame_at_its_wall_time():
    clocks = FakeClocks(ppm=250.0)
    clock = FrameClock(clocks.read_frame, RATE, wall=clocks.now)
    for _ in range(30):  # 3 s: the rate is measured
        clocks.wall += RESYNC_INTERVAL_NS
        assert clock.resync()
    t = clock.now_ns() + 12_345_678
    w = clock.wall_ns(t)
    assert abs(clock.from_wall_ns(w) - t) <= 1
    frame = clock.frame_for(t)
    clock.rebase(-3_000_000_000)
    assert clock.frame_for(t - 3_000_000_000) == frame
    assert abs(clock.wall_ns(t - 3_000_000_000) - w) <= 1


def test_a_dead_frame_clock_runs_on_without_a_gap_and_never_reads_jack_again():
    clocks = FakeClocks(ppm=250.0)
    dead = threading.Event()
    clock = FrameClock(clocks.read_frame, RATE, dead=dead, wall=clocks.now)
    for _ in range(25):
        clocks.wall += RESYNC_INTERVAL_NS
        clock.resync()
    before = clock.now_ns()
    dead.set()
    reads = clocks.reads
    clocks.wall += 10 * RESYNC_INTERVAL_NS
    assert not clock.resync() and not clock.alive()
    assert clocks.reads == reads  # a dead server's client is never called
    after = clock.now_ns()
    assert after - before == pytest.approx(10 * RESYNC_INTERVAL_NS * (1 + 250e-6), abs=5_000)
    clock.stop()
    assert not clock.resync(force=True) and clocks.reads == reads


def test_a_jump_of_the_frame_clock_is_doubted_then_followed():
    clocks = FakeClocks(ppm=0.0)
    clock = FrameClock(clocks.read_frame, RATE, wall=clocks.now)
    clocks.jump_frames = RATE // 10  # 100 ms of frames at once (a stale reading, a stall)
    for _ in range(DOUBT_LIMIT - 1):
        clocks.wall += RESYNC_INTERVAL_NS
        assert not clock.resync()
    clocks.wall += RESYNC_INTERVAL_NS
    before = clock.now_ns()
    assert clock.resync()
    assert clock.now_ns() - before == pytest.approx(100_000_000, abs=50_000) and MAX_STEP_NS < 100_000_000


def test_a_frame_clock_that_cannot_be_read_is_refused():
    with pytest.raises(ValueError):
        FrameClock(lambda: 0, 0)


class FakeCycles:
    """A server's period boundaries every 32 frames (at frames ≡ 5 mod 32), with the cycle it
    is in set by the test; reading it moves the fake wall clock on by 1 µs."""

    PERIOD = 32

    def __init__(self, clocks: FakeClocks) -> None:
        self.clocks = clocks
        self.start = 5 + self.PERIOD * 1000
        self.since = 0
        self.script: list[tuple[int, int]] = []  # (cycle start, frames since) per later read
        self.read_ns = 1_000

    def read(self) -> tuple[int, int, int]:
        self.clocks.wall += self.read_ns
        if self.script:
            self.start, self.since = self.script.pop(0)
        return self.start, self.PERIOD, self.since


def test_send_slot_lands_each_deadline_on_the_first_boundary_at_or_after_its_frame():
    clocks = FakeClocks(ppm=0.0)
    cycles = FakeCycles(clocks)
    clock = FrameClock(clocks.read_frame, RATE, wall=clocks.now, cycle=cycles.read)
    assert (clock.period, clock.cycle_phase) == (32, 5)
    fmap = clock.timeline
    base = 5 + 32 * 2000  # a boundary
    for frame in (base, base + 1, base + 16, base + 31, base + 32):
        ready, last = clock.send_slot(fmap.ns_for_frame(frame))
        land = base if frame == base else base + 32 if frame <= base + 32 else base + 64
        assert fmap.frame_for(last) == land and fmap.frame_for(last + 1) == land + 1
        # ready half a period before the period that precedes the landing one begins...
        assert fmap.frame_for(ready) == land - 32 - 16
        # ... handed over a third of the way into it (the lateness record's reference)
        assert fmap.frame_for(clock.send_ns(fmap.ns_for_frame(frame))) == land - 32 + 10
    assert WallClock().send_slot(123) == (123, None)


def test_hold_waits_for_the_server_to_reach_the_period_before_and_no_longer():
    clocks = FakeClocks(ppm=0.0)
    cycles = FakeCycles(clocks)
    clock = FrameClock(clocks.read_frame, RATE, wall=clocks.now, cycle=cycles.read)
    land = 5 + 32 * 3000
    last = clock.timeline.ns_for_frame(land)
    # a server running behind: two periods to go, then the period before, early in it
    cycles.script = [(land - 96, 20), (land - 64, 3), (land - 32, 2), (land - 32, 6), (land - 32, 11)]
    clock.hold(last)
    assert cycles.script == [] and cycles.since == 11
    # a server already past that point (running ahead, or the loop late): at once
    cycles.script = [(land, 1), (land + 32, 0)]
    clock.hold(last)
    assert cycles.script == [(land + 32, 0)]
    # a server that stalls: released after MAX_HOLD_NS on the wall clock
    cycles.script = []
    cycles.start, cycles.since, cycles.read_ns = land - 64, 0, 1_000_000
    t = clocks.wall
    clock.hold(last)
    assert MAX_HOLD_NS <= clocks.wall - t < MAX_HOLD_NS + 3_000_000
