"""The clock loop on Link's timeline: the grid, the tempo and the transport follow the session.

The loop's own clock puts step ``s`` at ``t0 + s × step_len`` and waits for each deadline
absolutely. Following Link keeps exactly that scheme; only ``t0`` and ``step_len`` come from
the session: every :data:`POLL_INTERVAL_NS` the follower takes a :class:`LinkSnapshot` (a
straight line beat ↔ time) and hands the scheduler the grid it implies
(:meth:`~engine.realtime.scheduler.Scheduler.follow_grid`). Step ``s`` is Link beat
``s / 4``; beat 0 is a bar line of the session, set where the transport started (Link's
convention: each peer asks for beat 0 at the start, quantized to the session's bar), so the
pattern's bars fall on the session's bars and a peer that joins mid-song lands in phase.

Start/stop is shared: Play here starts the session (quantized to its next bar when others
play), Stop stops it, and a start or stop from any peer starts or stops this loop. A tempo
set here is proposed to the session; a tempo set anywhere is followed from the next step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from engine.realtime.scheduler import RENDER_MARGIN_NS, START_LEAD_NS, Scheduler
from engine.realtime.steps import STEPS_PER_QUARTER
from engine.sync.link_session import LinkSession, LinkSnapshot

POLL_INTERVAL_NS = 5_000_000  # a new snapshot this often (a few µs each): the grid follows within it
TEMPO_EPS_BPM = 0.05  # tempos closer than this are one tempo (a display's rounding of Link's)
GRID_SPAN_STEPS = 64  # the grid's slope is read between points this many steps apart
# Play here starts the session this far ahead, so beat 0 (step 0) is not already late
START_AHEAD_NS = START_LEAD_NS + RENDER_MARGIN_NS + 3_000_000


class LinkFollower:
    """Keeps a :class:`Scheduler` (source ``link``) on a :class:`LinkSession`'s timeline.

    Args:
        session: the Link peer (enabled).
        sched: the scheduler to steer (its source set to ``link``).
        to_timeline: perf_counter ns → the loop's timeline ns (its time base's
            ``from_wall_ns``, which may be JACK's frame clock).
        wall: perf_counter_ns.
    """

    def __init__(self, session: LinkSession, sched: Scheduler, to_timeline: Callable[[int], int],
                 wall: Callable[[], int] = time.perf_counter_ns) -> None:
        self.session = session
        self.sched = sched
        self._to_timeline = to_timeline
        self._wall = wall
        self._next_poll = 0
        # the tempo this side last knew: what it proposed, or the session's latest. A control
        # change that leaves the tempo as it was (swing, groove) must not push it over a
        # tempo a peer has set since
        self._known_bpm = sched.controls.tempo_bpm
        self._session_bpm: float | None = None
        self.snapshot: LinkSnapshot | None = None
        self.polls = 0

    @property
    def peers(self) -> int:
        return self.snapshot.peers if self.snapshot is not None else 0

    def due(self, now_ns: int) -> bool:
        """A poll is due at loop time ``now_ns``."""
        return now_ns >= self._next_poll

    def poll(self, now_ns: int) -> None:
        """Follow the session: start or stop with it, and put the grid where its beats are."""
        self._next_poll = now_ns + POLL_INTERVAL_NS
        self.polls += 1
        snap = self.session.snapshot()
        sched = self.sched
        if snap.playing and not sched.playing:
            # beat 0 where the session started (quantized to its bar); a no-op when stopped
            self.session.request_bar_at_start()
            snap = self.session.snapshot()
            self._grid(snap)
            # the first step whose time has not come (beat 0 = step 0 when starting afresh)
            lead = snap.beat_at(snap.anchor_ns + START_LEAD_NS) * STEPS_PER_QUARTER
            sched.join(max(0, math.ceil(lead - 1e-6)), now_ns)
        elif not snap.playing and sched.playing:
            sched.stop(now_ns)
        self.snapshot = snap
        if snap.tempo_bpm != self._session_bpm:  # a change in the session (anyone's)
            self._session_bpm = self._known_bpm = snap.tempo_bpm
        self._grid(snap)

    def _grid(self, snap: LinkSnapshot) -> None:
        """Hand the scheduler the grid of ``snap``, anchored at the step playing now (so the
        line's rounding stays small however long the session has run)."""
        here = math.floor(snap.beat_at(snap.anchor_ns) * STEPS_PER_QUARTER)
        a = self._to_timeline(snap.time_at_beat(here / STEPS_PER_QUARTER))
        b = self._to_timeline(snap.time_at_beat((here + GRID_SPAN_STEPS) / STEPS_PER_QUARTER))
        step_len = (b - a) / GRID_SPAN_STEPS
        self.sched.follow_grid(a - round(here * step_len), step_len, snap.tempo_bpm)

    # -- what this app asks of the session ---------------------------------------------------
    def play(self, playing: bool, now_ns: int) -> None:
        """Start or stop the session (and so this loop, at once: the poll follows). A session
        already playing is joined where it is, not started again."""
        if not (playing and self.session.snapshot().playing):
            self.session.set_playing(playing, self._wall() + START_AHEAD_NS if playing else None)
        self.poll(now_ns)

    def propose_tempo(self, tempo_bpm: float, now_ns: int) -> None:
        """A tempo set here goes to the session (only when it differs from the last one this
        side knew: proposed here, or followed from the session)."""
        if abs(tempo_bpm - self._known_bpm) < TEMPO_EPS_BPM:
            return
        self._known_bpm = tempo_bpm
        self.session.set_tempo(tempo_bpm)
        self.poll(now_ns)

    def close(self, now_ns: int) -> None:
        """Leave the session; the loop stops (it no longer has a timeline to follow)."""
        if self.sched.playing:
            self.sched.stop(now_ns)
        self.session.close()
