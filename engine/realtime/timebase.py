"""The clock process's time bases: the wall clock, or JACK's frame clock.

A DAW records on its audio (frame) clock. When the MIDI API is JACK, that clock is JACK's
frame counter, and it need not keep wall time: the dummy server's frames once wandered
~250 ppm from ``perf_counter_ns`` (docs/benchmarks.md, "Idle rerun with the new code"), so
notes scheduled on the wall clock drifted against the frames a receiver stamps. So on JACK
the loop's musical timeline *is* the frame clock, in ns (:class:`FrameClock`):

- ``timeline`` (:class:`FrameMap`): timeline ns ↔ frame, fixed and linear at the nominal
  rate (``rate`` frames = 10⁹ ns), so a deadline names an exact frame and the grid cannot
  drift against the frames;
- ``sync`` (:class:`WallSync`): timeline ns ↔ ``perf_counter_ns``, from a pair of readings
  taken back to back (:func:`sample_anchor`) and renewed every :data:`RESYNC_INTERVAL_NS`
  (:meth:`FrameClock.resync`, from the loop's housekeeping), with the wall ns per timeline ns
  measured over :data:`RATE_WINDOW_NS`. ``now_ns`` and ``wall_ns`` are pure arithmetic on it:
  the loop only reads JACK's cycle counter near a deadline (:meth:`FrameClock.hold`), and a
  dead server's clock simply runs on the last mapping (no gap) until the loop changes to the
  wall clock.

rtmidi sends "now": JACK places a message at the start of the first period whose process
callback reads it. So the loop hands each message over a third of a period into the period
before the one its frame falls in, going by JACK's own cycle counter
(:meth:`FrameClock.hold`), not at the wall time its frame comes: sent then, a message due
just after a period boundary raced that period's callback (woken tens of µs late) and
landed at that boundary or a period later by turns, and a server running behind or ahead
of the wall clock's reckoning (an overloaded or dummy one does, by up to tens of ms) had it
land that much early or late. The sample-accurate output
(:mod:`engine.ports.jack_backend`) writes each event at ``timeline.frame_for(deadline)``
itself. Frames are 32-bit and wrap; the timeline's
anchor moves forward by whole seconds long before a wrap could make a difference ambiguous.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

FRAME_MOD = 2**32
REANCHOR_FRAMES = 2**30  # the anchor moves forward once frames are this far from it
ANCHOR_TRIES = 9  # readings per sample: the tightest wall-clock bracket wins
RESYNC_INTERVAL_NS = 100_000_000  # the wall ↔ frame pairing is read again this often
RATE_WINDOW_NS = 2_000_000_000  # the wall/frame rate is measured over at least this long
# A measured rate further than this from nominal is taken for a stall, not a rate. Wide:
# a non-real-time dummy server on this loaded 2-core machine ran 3-7 % slow for seconds.
MAX_SKEW = 0.1
MAX_STEP_NS = 20_000_000  # a resync moving time further than this is doubted once...
DOUBT_LIMIT = 2  # ... and believed the next time (the frame clock did jump: a server stall)
MAX_HOLD_NS = 50_000_000  # longest a send waits for a server running behind (then it goes)
HOLD_POLL_S = 0.0001  # past 3 periods of spinning, the server's cycle is read this often
SETTLE_PARTS = 3  # a message goes a 1/3 period into the period before its own


def frame_diff(a: int, b: int) -> int:
    """``a - b`` for 32-bit wrapping JACK frame counters."""
    return (a - b + 2**31) % FRAME_MOD - 2**31


@dataclass(frozen=True)
class FrameMap:
    """The linear map between timeline ns and JACK frames (mod 2³²).

    Immutable: the JACK thread and the clock thread each read one consistent anchor pair
    (a new map is swapped in as a whole).
    """

    anchor_ns: int
    anchor_frame: int
    rate: int

    def frame_for(self, ns: int) -> int:
        """The frame (mod 2³²) of time ``ns``: the nearest one."""
        return (self.anchor_frame + round((ns - self.anchor_ns) * self.rate / 1e9)) % FRAME_MOD

    def ns_for_frame(self, frame: int) -> int:
        """The time of ``frame`` (within 2³¹ frames of the anchor), rounded to the ns."""
        return self.anchor_ns + round(frame_diff(frame, self.anchor_frame) * 1e9 / self.rate)

    def last_ns_before(self, frame: int) -> int:
        """The latest ns whose :meth:`frame_for` lies before ``frame``: the pull limit of the
        period that ends at ``frame``. Exact, rounding included (checked, not assumed)."""
        offset = frame_diff(frame, self.anchor_frame)
        ns = self.anchor_ns + int((offset - 0.5) * 1e9 / self.rate)
        while frame_diff(self.frame_for(ns), frame) >= 0:
            ns -= 1
        while frame_diff(self.frame_for(ns + 1), frame) < 0:
            ns += 1
        return ns

    def shifted(self, offset_ns: int) -> FrameMap:
        return FrameMap(self.anchor_ns + offset_ns, self.anchor_frame, self.rate)

    def near(self, frame: int) -> FrameMap:
        """The same map anchored within a few seconds of ``frame`` (moved by whole seconds,
        so it maps every time to the same frame as before: ``rate`` frames = 10⁹ ns)."""
        seconds = frame_diff(frame, self.anchor_frame) // self.rate
        if abs(frame_diff(frame, self.anchor_frame)) < REANCHOR_FRAMES or seconds == 0:
            return self
        return FrameMap(self.anchor_ns + seconds * 1_000_000_000,
                        (self.anchor_frame + seconds * self.rate) % FRAME_MOD, self.rate)


@dataclass(frozen=True)
class WallSync:
    """Timeline ns ↔ ``perf_counter_ns``: one point read together and the slope.

    ``wall_per_timeline`` is wall ns per timeline ns: below 1 when the frame clock runs fast
    (a musical second then takes less wall time), 1.0 until it has been measured.
    """

    wall_ns: int
    timeline_ns: int
    wall_per_timeline: float = 1.0

    def wall_for(self, timeline_ns: int) -> int:
        return self.wall_ns + round((timeline_ns - self.timeline_ns) * self.wall_per_timeline)

    def timeline_for(self, wall_ns: int) -> int:
        return self.timeline_ns + round((wall_ns - self.wall_ns) / self.wall_per_timeline)

    def shifted(self, offset_ns: int) -> WallSync:
        return WallSync(self.wall_ns, self.timeline_ns + offset_ns, self.wall_per_timeline)


def sample_anchor(read_frame: Callable[[], int],
                  wall: Callable[[], int] = time.perf_counter_ns) -> tuple[int, int]:
    """``(wall_ns, frame)`` read back to back: the middle of the tightest of
    :data:`ANCHOR_TRIES` brackets (a reading preempted half way is not used)."""
    best: tuple[int, int, int] | None = None
    for _ in range(ANCHOR_TRIES):
        a = wall()
        frame = read_frame()
        b = wall()
        if best is None or b - a < best[0]:
            best = (b - a, (a + b) // 2, frame)
    assert best is not None
    return best[1], best[2]


def cycle_reader(client: Any) -> Callable[[], tuple[int, int, int]]:
    """A reader of ``(frame the current process cycle began at, period in frames, frames
    since it began)`` for ``client`` (JACK-Client): where JACK's period boundaries lie and
    where the server is among them (see :meth:`FrameClock.hold`)."""

    def read() -> tuple[int, int, int]:
        return int(client.last_frame_time), int(client.blocksize), int(client.frames_since_cycle_start)

    return read


def cycle_frame_reader(client: Any) -> Callable[[], int]:
    """A reader of "now" in frames for ``client`` (JACK-Client): where an event sent now
    is placed, as far as a reading can tell.

    JACK's estimate (``frame_time``, from its cycle-time filter) while it lies inside the
    cycle being processed (``last_frame_time`` onwards, one period); when it runs further
    ahead — a server processing its cycles late, as a non-real-time one on a loaded machine
    does (seen here: up to 11 ms) — the middle of the cycle being processed, since a
    receiver stamps an event with the cycle that carried it.
    """
    period = max(1, client.blocksize)

    def read() -> int:
        start = client.last_frame_time
        estimate = client.frame_time
        if client.last_frame_time != start:  # a cycle began between the readings: again
            start = client.last_frame_time
            estimate = client.frame_time
        if 0 <= frame_diff(estimate, start) < period:
            return estimate
        return (start + period // 2) % FRAME_MOD

    return read


class TimeBase(Protocol):
    """What the clock loop keeps time with: its timeline, when on the wall clock a timeline
    instant comes, and (rtmidi sends "now") when to send what is due then: ``send_slot`` and
    ``hold`` (at its deadline on the wall clock; by JACK's cycle counter on the frames)."""

    name: str

    def now_ns(self) -> int: ...

    def wall_ns(self, timeline_ns: int) -> int: ...

    def from_wall_ns(self, wall_ns: int) -> int: ...

    def rebase(self, offset_ns: int) -> None: ...

    def send_slot(self, timeline_ns: int) -> tuple[int, int | None]: ...

    def send_ns(self, timeline_ns: int) -> int: ...

    def hold(self, last_ns: int) -> None: ...

    def alive(self) -> bool: ...

    def resync(self) -> object: ...


class WallClock:
    """``perf_counter_ns`` plus a fixed offset (which keeps time continuous across changes)."""

    name = "wall"

    def __init__(self, offset_ns: int = 0) -> None:
        self.offset_ns = offset_ns

    def now_ns(self) -> int:
        return time.perf_counter_ns() + self.offset_ns

    def wall_ns(self, timeline_ns: int) -> int:
        return timeline_ns - self.offset_ns

    def from_wall_ns(self, wall_ns: int) -> int:
        return wall_ns + self.offset_ns

    def rebase(self, offset_ns: int) -> None:
        self.offset_ns += offset_ns

    def send_slot(self, timeline_ns: int) -> tuple[int, None]:
        """No periods here: a message is sent at its deadline (with whatever is due by then)."""
        return timeline_ns, None

    def send_ns(self, timeline_ns: int) -> int:
        return timeline_ns

    def hold(self, last_ns: int) -> None:
        """Nothing to wait for: the wall clock is the only clock."""

    def alive(self) -> bool:
        return True

    def resync(self) -> None:
        pass


class FrameClock:
    """JACK's frame clock as the loop's timeline (see the module docstring).

    Args:
        read_frame: the server's current frame (:func:`cycle_frame_reader`); only called
            from :meth:`resync` (and here), never once ``dead`` is set or :meth:`stop` was
            called (a dead or closed client's calls can crash libjack).
        rate: the server's sample rate (frames per second).
        dead: set (from JACK's shutdown callback) when the server went away.
        wall: the wall clock (``perf_counter_ns``; a fake in tests).
        cycle: ``(the current cycle's start frame, period, frames since it began)``
            (:func:`cycle_reader`); None: the periods are unknown, messages are sent at their
            deadlines.
    """

    name = "jack"

    def __init__(self, read_frame: Callable[[], int], rate: int, *,
                 dead: threading.Event | None = None,
                 wall: Callable[[], int] = time.perf_counter_ns,
                 cycle: Callable[[], tuple[int, int, int]] | None = None) -> None:
        if rate <= 0:
            raise ValueError(f"sample rate must be positive, got {rate}")
        self._read_frame, self._wall, self._dead = read_frame, wall, dead
        self.rate = rate
        self._stopped = False
        self._read_cycle = cycle
        self.period = 0  # frames per JACK period (0: unknown)
        self.cycle_phase = 0  # frame of every period boundary, modulo the period
        self._read_periods()
        w, frame = sample_anchor(read_frame, wall)
        self.timeline = FrameMap(w, frame, rate)
        self.sync = WallSync(w, w)
        self._reference = self.sync  # the start of the current rate measurement
        self._next_resync = w + RESYNC_INTERVAL_NS
        self._doubted = 0
        self.resyncs = 0
        self.max_correction_ns = 0  # largest |change| a resync made to "now" (how far it had wandered)

    # -- the time base -----------------------------------------------------------------------
    def now_ns(self) -> int:
        return self.sync.timeline_for(self._wall())

    def wall_ns(self, timeline_ns: int) -> int:
        """When, on the wall clock, the frame clock reaches ``timeline_ns``."""
        return self.sync.wall_for(timeline_ns)

    def from_wall_ns(self, wall_ns: int) -> int:
        return self.sync.timeline_for(wall_ns)

    def frame_for(self, timeline_ns: int) -> int:
        return self.timeline.frame_for(timeline_ns)

    def send_slot(self, timeline_ns: int) -> tuple[int, int | None]:
        """For an output that sends "now" (rtmidi on JACK): when the loop should be ready to
        send a message due at ``timeline_ns`` (then :meth:`hold` says when), and the latest
        deadline that goes with it (``(ready_ns, last_ns)``; ``last_ns`` None where the
        periods are unknown: the message goes at its deadline).

        The message is to land at the first period boundary at or after its frame (never
        early, less than a period late): handed over a third of a period into the period
        before (:meth:`send_ns`), when that period's process callback has read what came
        before and the next one is two thirds of a period away. Every deadline whose frame
        lands on the same boundary goes with it. Ready half a period before that period
        begins on the wall clock's reckoning, which a server running unevenly misses by
        up to a few periods.
        """
        if self.period <= 0:
            return timeline_ns, None
        fmap = self.timeline
        land = self._landing(fmap, timeline_ns)
        ready = fmap.ns_for_frame((land - self.period) % FRAME_MOD) - self._frames_ns(self.period) // 2
        return ready, fmap.last_ns_before((land + 1) % FRAME_MOD)

    def send_ns(self, timeline_ns: int) -> int:
        """When a message due at ``timeline_ns`` is handed over, on the wall clock's reckoning
        (see :meth:`send_slot`; the loop's lateness record)."""
        if self.period <= 0:
            return timeline_ns
        fmap = self.timeline
        before = (self._landing(fmap, timeline_ns) - self.period) % FRAME_MOD
        return fmap.ns_for_frame(before) + self._frames_ns(self.period // SETTLE_PARTS)

    def _landing(self, fmap: FrameMap, timeline_ns: int) -> int:
        """The first period boundary at or after ``timeline_ns``'s frame."""
        frame = fmap.frame_for(timeline_ns)
        return (frame + (self.cycle_phase - frame) % self.period) % FRAME_MOD

    def _frames_ns(self, frames: int) -> int:
        return frames * 1_000_000_000 // self.rate

    def hold(self, last_ns: int) -> None:
        """Wait until the server is a third of a period into the period before the boundary
        where a message due at ``last_ns`` lands (that period's process callback has read
        what was sent before it), so what is sent now lands on that boundary: never before
        it when the server runs behind the wall clock's reckoning, nor after it when it runs
        ahead. At once when the server is past that point or the periods are unknown; at
        most :data:`MAX_HOLD_NS` (a stalled server)."""
        period = self.period
        if period <= 0 or self._read_cycle is None or not self.alive():
            return
        before = (self._landing(self.timeline, last_ns) - period) % FRAME_MOD
        settle = period // SETTLE_PARTS
        wall = self._wall
        begin = wall()
        spin_until, end = begin + 3 * self._frames_ns(period), begin + MAX_HOLD_NS
        while self.alive():
            try:
                start, _, since = self._read_cycle()
            except Exception:  # a client going away: send now
                return
            behind = frame_diff(before, start)
            if behind < 0 or (behind == 0 and since >= settle):
                return
            now = wall()
            if now >= end:
                return
            if now >= spin_until:  # a server running far behind: poll, not spin
                time.sleep(HOLD_POLL_S)

    def _read_periods(self) -> None:
        if self._read_cycle is None:
            return
        try:
            start, period, _ = self._read_cycle()
        except Exception:  # a client going away: the last reading stands
            return
        if period > 0:
            self.period, self.cycle_phase = int(period), int(start) % int(period)

    def rebase(self, offset_ns: int) -> None:
        """Shift the timeline by ``offset_ns`` (to continue the loop's time); frames keep
        their wall times."""
        self.timeline = self.timeline.shifted(offset_ns)
        self.sync = self.sync.shifted(offset_ns)
        self._reference = self._reference.shifted(offset_ns)

    def alive(self) -> bool:
        return not self._stopped and not (self._dead is not None and self._dead.is_set())

    def stop(self) -> None:
        """No more calls into JACK (the owner closes its client): the last mapping runs on."""
        self._stopped = True

    def resync(self, force: bool = False) -> bool:
        """Read the frame clock and the wall clock together again (every
        :data:`RESYNC_INTERVAL_NS` unless ``force``); True when the mapping was renewed.

        A reading that moves "now" by more than :data:`MAX_STEP_NS` is doubted (a stale
        reading from a server that just died, a stall) and only believed after
        :data:`DOUBT_LIMIT` in a row; the rate measurement then starts again.
        """
        wall_now = self._wall()
        if (not force and wall_now < self._next_resync) or not self.alive():
            return False
        self._next_resync = wall_now + RESYNC_INTERVAL_NS
        try:
            w, frame = sample_anchor(self._read_frame, self._wall)
        except Exception:  # a client going away under us: keep the last mapping
            return False
        self._read_periods()  # a new buffer size moves the boundaries
        self.timeline = self.timeline.near(frame)
        t = self.timeline.ns_for_frame(frame)  # JACK rounds its estimate to the nearest frame
        correction = t - self.sync.timeline_for(w)
        if abs(correction) > MAX_STEP_NS:
            self._doubted += 1
            if self._doubted < DOUBT_LIMIT:
                return False
            self._reference = WallSync(w, t)  # a jump: the old rate baseline means nothing
        self._doubted = 0
        slope = self.sync.wall_per_timeline
        span = t - self._reference.timeline_ns
        if span >= RATE_WINDOW_NS:
            measured = (w - self._reference.wall_ns) / span
            if abs(measured - 1.0) <= MAX_SKEW:
                slope = measured
            self._reference = WallSync(w, t)
        self.sync = WallSync(w, t, slope)
        self.resyncs += 1
        self.max_correction_ns = max(self.max_correction_ns, abs(correction))
        return True
