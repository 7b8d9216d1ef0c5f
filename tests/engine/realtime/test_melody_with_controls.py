"""A melody that brings its own key (a clip in G, a preset's tune) takes its controls over with
it: the melody that plays until its boundary keeps its own key and channel."""

from engine.realtime.melody_lane import MelodyControls
from engine.realtime.scheduler import Scheduler
from engine.realtime.steps import Controls
from tests.engine.realtime.test_melody_lane import MS, STEP_MS_120, melody_ons, play
from tests.engine.realtime.test_sequencer_scheduler import check_pairing
from tests.support.melody import melody_a, melody_b


def _ons(loop, t0):
    step = STEP_MS_120 * MS
    return [((m.deadline_ns - t0) // step, m.data[0] & 0x0F, m.data[1]) for m in loop.sent
            if m.kind == "on" and m.data[0] & 0xF0 == 0x90 and m.data[0] != 0x99]


def _playing_a():
    """Melody A in C on channel 1, two steps in: the scheduler, its loop, its start, a step."""
    sched = Scheduler(Controls(tempo_bpm=120))
    sched.set_melody(melody_a())
    loop, t0 = play(sched, 0)
    step = STEP_MS_120 * MS
    loop.run_until(t0 + 2 * step)
    return sched, loop, t0, step


def test_the_controls_a_melody_brings_take_over_with_it_at_its_boundary():
    sched, loop, t0, step = _playing_a()
    in_g = MelodyControls(transpose=7, channel=2)
    loop.do(lambda now: sched.set_melody(melody_b(), "bar", now, in_g))
    loop.run_until(t0 + 32 * step)
    loop.do(sched.stop)
    check_pairing(loop.sent)
    ons = _ons(loop, t0)
    # bar 1: melody A as it was (C, channel 1); from bar 2: melody B (its second bar, as the
    # song position says) in G on channel 3
    assert [o for o in ons if o[0] < 16] == [(s, 0, p) for s, p in [(0, 60), (4, 62), (8, 64), (12, 65)]]
    assert [o for o in ons if o[0] >= 16][:3] == [(16, 2, 62 + 7), (18, 2, 60 + 7), (20, 2, 59 + 7)]
    assert sched.melody_controls == in_g


def test_a_melody_replacing_a_waiting_one_keeps_its_controls_and_a_later_setting_wins():
    sched, loop, t0, step = _playing_a()
    loop.do(lambda now: sched.set_melody(melody_b(), "bar", now, MelodyControls(transpose=7)))
    loop.run_until(t0 + 4 * step)
    loop.do(lambda now: sched.set_melody(melody_b().transpose(-12), "bar", now))  # re-spelled: no controls
    loop.run_until(t0 + 6 * step)
    assert [p for *_, p in _ons(loop, t0)] == [60, 62]  # A in C so far
    later = MelodyControls(transpose=7, octave=1)  # the user's octave, set while B waits
    loop.do(lambda now: sched.set_melody_controls(later, now))
    loop.run_until(t0 + 32 * step)
    loop.do(sched.stop)
    check_pairing(loop.sent)
    assert [o[2] for o in _ons(loop, t0) if o[0] >= 16][:2] == [62 - 12 + 7 + 12, 60 - 12 + 7 + 12]
    assert sched.melody_controls == later
    assert melody_ons(loop.sent)  # all on channel 1
