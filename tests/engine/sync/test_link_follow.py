"""The scheduler on a Link timeline, with one Link peer that never joins a network.

A disabled Link instance keeps its own timeline (tempo, beats, start/stop) and opens no
socket, so the follower's arithmetic is tested here without a session; two peers talking
are tested in a loopback-only network namespace (test_link_peers.py).
"""

from __future__ import annotations

import time

import pytest

pytest.importorskip("link")

from engine.realtime.scheduler import Scheduler  # noqa: E402
from engine.realtime.steps import Controls, step_ns  # noqa: E402
from engine.sync.link_follow import LinkFollower  # noqa: E402
from engine.sync.link_session import QUANTUM_BEATS, LinkSession  # noqa: E402
from tests.support.patterns import pattern_from_cells  # noqa: E402


def four_on_floor():
    """A kick on every beat, on the grid (offset 0): its notes are the beats themselves."""
    return pattern_from_cells({(s, 0): (0.8, 0.0) for s in range(0, 32, 4)})


def offline_pair(bpm: float = 120.0) -> tuple[LinkSession, Scheduler, LinkFollower]:
    session = LinkSession(bpm, enabled=False)
    assert not session.enabled  # never on a network here
    sched = Scheduler(Controls(tempo_bpm=bpm), clock_out=False, source="link")
    sched.set_pattern(four_on_floor())
    return session, sched, LinkFollower(session, sched, to_timeline=lambda wall: wall)


def settle() -> None:
    """Wait out Link's own thread, which applies each commit again a moment after it is made
    (a commit right after another can read the earlier one for a few ms; 5 ms is always enough
    on a quiet machine)."""
    time.sleep(0.05)


def note_on_times(sched: Scheduler, until_ns: int) -> list[int]:
    return [t.deadline_ns for t in sched.due(until_ns) if t.kind == "on"]


def test_snapshot_is_links_own_line():
    session = LinkSession(97.0, enabled=False)
    snap = session.snapshot()
    assert snap.tempo_bpm == pytest.approx(97.0)
    assert snap.ns_per_beat == pytest.approx(60e9 / 97.0, rel=1e-5)
    # beat_at and time_at_beat invert each other, and agree with Link's own beatAtTime
    later = snap.anchor_ns + 3_000_000_000
    assert snap.time_at_beat(snap.beat_at(later)) == pytest.approx(later, abs=2)
    state = session._link.captureAppSessionState()
    link_beat = state.beatAtTime(session.link_us(later), QUANTUM_BEATS)
    assert snap.beat_at(later) == pytest.approx(link_beat, abs=1e-5)


def test_play_starts_on_a_bar_line_and_the_grid_is_links():
    session, sched, follower = offline_pair(120.0)
    now = time.perf_counter_ns()
    follower.play(True, now)
    assert sched.playing and follower.snapshot is not None and follower.snapshot.playing
    snap = follower.snapshot
    # step 0 is beat 0 of the session, a little ahead of now; steps are 16ths of Link's beat
    assert sched.step_deadline(0) == pytest.approx(snap.time_at_beat(0.0), abs=2)
    assert sched.step_deadline(4) == pytest.approx(snap.time_at_beat(1.0), abs=2)
    assert now < sched.step_deadline(0) < now + 50_000_000
    phase = snap.phase_at(sched.step_deadline(16))
    assert min(phase, QUANTUM_BEATS - phase) == pytest.approx(0.0, abs=1e-6)  # a bar line
    kicks = note_on_times(sched, sched.step_deadline(16) - 1)
    assert kicks[0] == sched.step_deadline(0)


def test_a_tempo_change_in_the_session_moves_the_next_steps():
    session, sched, follower = offline_pair(120.0)
    now = time.perf_counter_ns()
    follower.play(True, now)
    session.set_tempo(90.0)  # as a peer would: the session's line turns at the current beat
    settle()
    follower.poll(now + 1)
    assert sched.tempo_bpm == pytest.approx(90.0)
    span = sched.step_deadline(9) - sched.step_deadline(8)
    assert span == pytest.approx(step_ns(90.0), rel=1e-5)
    snap = session.snapshot()  # another reading of Link's µs clock: within a µs of the last
    assert sched.step_deadline(40) == pytest.approx(snap.time_at_beat(10.0), abs=1_500)


def test_a_tempo_set_here_is_proposed_to_the_session_once():
    session, sched, follower = offline_pair(120.0)
    now = time.perf_counter_ns()
    follower.propose_tempo(140.0, now)
    assert session.snapshot().tempo_bpm == pytest.approx(140.0)
    settle()
    session.set_tempo(100.0)  # a peer's change since
    settle()
    follower.poll(now)
    follower.propose_tempo(100.04, now)  # the session's tempo as a display rounds it: not pushed
    assert session.snapshot().tempo_bpm == pytest.approx(100.0)
    assert sched.tempo_bpm == pytest.approx(100.0)
    follower.propose_tempo(140.0, now)  # set here again after a peer's change: the session's
    assert session.snapshot().tempo_bpm == pytest.approx(140.0)


def test_a_stop_in_the_session_stops_the_loop_with_every_note_off():
    session, sched, follower = offline_pair(120.0)
    now = time.perf_counter_ns()
    follower.play(True, now)
    sent = sched.due(sched.step_deadline(0))  # step 0's notes go out
    assert any(t.kind == "on" for t in sent) and sched.sounding > 0
    settle()
    session.set_playing(False)
    settle()
    follower.poll(sched.step_deadline(0))
    assert not sched.playing
    flushed = sched.due(sched.step_deadline(0))
    assert sched.sounding == 0 and any(t.kind == "off" for t in flushed)


def test_joining_a_playing_session_lands_in_phase_not_at_the_top():
    session, sched, follower = offline_pair(120.0)
    start = time.perf_counter_ns() - 2_300_000_000  # the session has played 4.6 beats already
    session.set_playing(True, start)
    now = time.perf_counter_ns()
    follower.poll(now)
    assert sched.playing
    snap = follower.snapshot
    first = sched.current_step(now) + 1
    assert 17 <= first <= 20  # beat 4.6 → step 18.4: the next 16th, not step 0
    # every step still sits on the session's beats
    assert sched.step_deadline(first) == pytest.approx(snap.time_at_beat(first / 4), abs=2)
    times = note_on_times(sched, now + 1_000_000_000)
    assert times and min(times) >= now


def test_play_joins_a_playing_session_without_restarting_it():
    session, sched, follower = offline_pair(120.0)
    start = time.perf_counter_ns() - 1_000_000_000
    session.set_playing(True, start)
    before = session.snapshot()
    follower.play(True, time.perf_counter_ns())  # Play here while the session plays
    after = follower.snapshot
    assert sched.playing and after.playing
    assert after.play_ns == pytest.approx(before.play_ns, abs=2_000)  # the same start
    assert sched.current_step(time.perf_counter_ns()) >= 7  # two beats in, not at the top
