"""The scheduler state machine driven by a fake clock (no sleeping, no ports)."""

import numpy as np
import pytest

from engine.music.drums import GM_NOTE_MAP, Voice
from engine.realtime.scheduler import RENDER_MARGIN_NS, Scheduler, estimate_tick_ns
from engine.realtime.steps import Controls, step_ns
from tests.support.patterns import pattern_from_cells

MS = 1_000_000




FOUR_ON_FLOOR = pattern_from_cells({(s, Voice.KICK): (100 / 127, 0.0) for s in range(0, 32, 4)})
HATS = pattern_from_cells({(s, Voice.CLOSED_HAT): (80 / 127, 0.0) for s in range(0, 32, 2)})


class FakeLoop:
    """Drives a scheduler like the clock process does, with a perfect clock."""

    def __init__(self, sched: Scheduler, now: int = 1_000 * MS):
        self.s, self.now, self.sent = sched, now, []

    def run_until(self, t_ns: int) -> None:
        while True:
            wake = self.s.next_wake_ns()
            if wake is None or wake > t_ns:
                break
            self.now = max(self.now, wake)
            batch = self.s.due(self.now)
            # a perfect clock serves each message exactly at its deadline: nothing is late
            assert all(m.deadline_ns >= self.now for m in batch if m.kind in ("on", "clock"))
            self.sent.extend(batch)
        self.now = max(self.now, t_ns)

    def do(self, fn, *args):
        fn(*args, self.now) if args else fn(self.now)
        self.sent.extend(self.s.due(self.now))

    def ons(self):
        return [m for m in self.sent if m.kind == "on"]


def check_pairing(sent):
    """Every note-on ends with a note-off on the same key, none left open, none doubled."""
    open_notes = {}
    for m in sent:
        if m.kind == "on":
            assert m.key not in open_notes, f"note-on while {m.key} still sounding"
            open_notes[m.key] = m
        elif m.kind == "off":
            assert m.key in open_notes, f"note-off without note-on: {m}"
            del open_notes[m.key]
    assert not open_notes


def test_kick_deadlines_are_exact_grid_points():
    sched = Scheduler(Controls(tempo_bpm=120))
    sched.set_pattern(FOUR_ON_FLOOR)
    loop = FakeLoop(sched)
    loop.do(sched.start)
    t0 = sched.step_deadline(0)
    loop.run_until(t0 + 10 * 500 * MS)
    ons = loop.ons()
    assert [m.deadline_ns - t0 for m in ons[:10]] == [k * 500 * MS for k in range(10)]
    assert all(m.data == (0x99, 36, 100) for m in ons)
    loop.do(sched.stop)
    check_pairing(loop.sent)


def test_clock_out_24_ppqn_start_stop():
    sched = Scheduler(Controls(tempo_bpm=100))
    sched.set_pattern(FOUR_ON_FLOOR)
    loop = FakeLoop(sched)
    loop.do(sched.start)
    t0 = sched.step_deadline(0)
    loop.run_until(t0 + 4 * 600 * MS - 1)  # 4 quarters at 100 BPM
    ticks = [m for m in loop.sent if m.kind == "clock"]
    assert len(ticks) == 4 * 24
    assert ticks[0].deadline_ns == t0
    assert ticks[24].deadline_ns - t0 == 600 * MS
    assert loop.sent[0].data == (0xFA,)  # Start precedes the first pulse
    loop.do(sched.stop)
    tail = [m.data for m in loop.sent[-2:]]
    assert tail == [(0xB9, 123, 0), (0xFC,)]


def test_stop_sends_pending_note_off_then_all_notes_off():
    sched = Scheduler(Controls(tempo_bpm=60, gate_steps=2.0))
    sched.set_pattern(FOUR_ON_FLOOR)
    loop = FakeLoop(sched)
    loop.do(sched.start)
    t0 = sched.step_deadline(0)
    loop.run_until(t0 + 10 * MS)  # kick sounding, its note-off 500 ms away
    assert sched.sounding == 1
    loop.do(sched.stop)
    assert sched.sounding == 0
    kinds = [(m.kind, m.data) for m in loop.sent if m.kind != "clock"]
    assert kinds[-3:] == [("off", (0x89, 36, 0)), ("cc", (0xB9, 123, 0)), ("transport", (0xFC,))]
    check_pairing(loop.sent)
    # nothing more is sent after stop
    n = len(loop.sent)
    loop.run_until(loop.now + 5_000 * MS)
    assert len(loop.sent) == n


def test_continue_resumes_with_song_position():
    sched = Scheduler(Controls(tempo_bpm=120))
    sched.set_pattern(FOUR_ON_FLOOR)
    loop = FakeLoop(sched)
    loop.do(sched.start)
    t0 = sched.step_deadline(0)
    loop.run_until(t0 + 3 * 125 * MS + 60 * MS)  # inside step 3; step 4 not rendered yet
    loop.do(sched.stop)
    loop.now += 1_000 * MS
    mark = len(loop.sent)
    loop.do(sched.continue_)
    assert [m.data for m in loop.sent[mark:mark + 2]] == [(0xF2, 4, 0), (0xFB,)]
    t1 = sched.step_deadline(4)
    loop.run_until(t1 + 1)
    first = [m for m in loop.sent[mark:] if m.kind == "on"][0]
    assert first.deadline_ns == t1  # step 4's kick, on the new grid
    first_tick = [m for m in loop.sent[mark:] if m.kind == "clock"][0]
    assert first_tick.deadline_ns == t1


def test_pattern_change_quantized_to_bar():
    sched = Scheduler(Controls(tempo_bpm=120))
    sched.set_pattern(FOUR_ON_FLOOR)
    loop = FakeLoop(sched)
    loop.do(sched.start)
    t0 = sched.step_deadline(0)
    loop.run_until(t0 + 5 * 125 * MS)
    sched.set_pattern(HATS, "bar", loop.now)
    loop.run_until(t0 + 40 * 125 * MS)
    ons = loop.ons()
    kick_steps = [round((m.deadline_ns - t0) / (125 * MS)) for m in ons if m.data[1] == 36]
    hat_steps = [round((m.deadline_ns - t0) / (125 * MS)) for m in ons if m.data[1] == 42]
    assert kick_steps == [0, 4, 8, 12]
    assert hat_steps[0] == 16


@pytest.mark.parametrize("quantize,expected_first", [("step", 6), ("beat", 8)])
def test_pattern_change_next_step_or_beat(quantize, expected_first):
    sched = Scheduler(Controls(tempo_bpm=120, groove=0.0))
    sched.set_pattern(FOUR_ON_FLOOR)
    loop = FakeLoop(sched)
    loop.do(sched.start)
    t0 = sched.step_deadline(0)
    loop.run_until(t0 + 5 * 125 * MS + 1)  # step 5 just played, step 6 not rendered
    sched.set_pattern(HATS, quantize, loop.now)
    loop.run_until(t0 + 20 * 125 * MS)
    hat_steps = [round((m.deadline_ns - t0) / (125 * MS)) for m in loop.ons() if m.data[1] == 42]
    assert hat_steps[0] == expected_first
    # the knob-to-note latency at "next step" is at most one step (+ render margin)
    latency = (hat_steps[0] * 125 * MS + t0) - loop.now
    assert latency <= 125 * MS + RENDER_MARGIN_NS if quantize == "step" else True


def test_pattern_change_ends_voices_no_longer_playing():
    sched = Scheduler(Controls(tempo_bpm=60, gate_steps=3.0))
    sched.set_pattern(FOUR_ON_FLOOR)
    loop = FakeLoop(sched)
    loop.do(sched.start)
    t0 = sched.step_deadline(0)
    loop.run_until(t0 + 10 * MS)
    assert sched.sounding == 1
    sched.set_pattern(HATS, "step", loop.now)
    loop.run_until(t0 + 250 * MS + 1)  # next step renders: the swap happens there
    offs = [m for m in loop.sent if m.kind == "off" and m.data[1] == 36]
    assert offs and offs[0].deadline_ns < t0 + 3 * 250 * MS  # ended early, not after its gate
    loop.do(sched.stop)
    check_pairing(loop.sent)


def test_swing_and_groove_in_deadlines():
    p = pattern_from_cells({(1, Voice.SNARE): (1.0, 0.2), (2, Voice.SNARE): (1.0, -0.4)})
    sched = Scheduler(Controls(tempo_bpm=120, swing=0.5, groove=0.5))
    sched.set_pattern(p)
    loop = FakeLoop(sched)
    loop.do(sched.start)
    t0 = sched.step_deadline(0)
    loop.run_until(t0 + 500 * MS)
    ons = loop.ons()
    step = 125 * MS
    assert ons[0].deadline_ns - t0 == step + round((0.5 + 0.1) * step)
    assert ons[1].deadline_ns - t0 == 2 * step - round(0.2 * step)
    loop.do(sched.stop)
    check_pairing(loop.sent)


def test_retrigger_same_drum_keeps_pairs():
    # hits on every step with a long gate: each note must end before the next starts
    p = pattern_from_cells({(s, Voice.KICK): (1.0, 0.3 if s % 2 else -0.3) for s in range(32)})
    sched = Scheduler(Controls(tempo_bpm=150, gate_steps=3.0, swing=0.75))
    sched.set_pattern(p)
    loop = FakeLoop(sched)
    loop.do(sched.start)
    loop.run_until(loop.now + 3_000 * MS)
    loop.do(sched.stop)
    check_pairing(loop.sent)
    times = [m.deadline_ns for m in loop.sent if m.kind in ("on", "off")]
    assert times == sorted(times)


def test_tempo_change_keeps_position():
    sched = Scheduler(Controls(tempo_bpm=120, groove=0.0))
    sched.set_pattern(FOUR_ON_FLOOR)
    loop = FakeLoop(sched)
    loop.do(sched.start)
    t0 = sched.step_deadline(0)
    loop.run_until(t0 + 2 * 125 * MS)  # grid position 2.0 steps
    sched.set_controls(Controls(tempo_bpm=60, groove=0.0), loop.now)
    loop.run_until(t0 + 10_000 * MS)
    kicks = [m.deadline_ns for m in loop.ons()]
    # step 4 is 2 steps after the change, at the new tempo (250 ms per step)
    assert kicks[1] - loop.sent[0].deadline_ns == pytest.approx(
        2 * 125 * MS + 2 * 250 * MS + (t0 - loop.sent[0].deadline_ns), abs=2)
    assert np.diff(kicks[1:]).tolist() == [1_000 * MS] * (len(kicks) - 2)


def test_note_map_change_ends_old_pitches():
    sched = Scheduler(Controls(tempo_bpm=60, gate_steps=3.0))
    sched.set_pattern(FOUR_ON_FLOOR)
    loop = FakeLoop(sched)
    loop.do(sched.start)
    loop.run_until(sched.step_deadline(0) + 10 * MS)
    new_map = GM_NOTE_MAP.with_note(Voice.KICK, 35)
    loop.do(lambda now: sched.set_controls(Controls(tempo_bpm=60, gate_steps=3.0, note_map=new_map), now))
    assert sched.sounding == 0
    loop.run_until(loop.now + 2_000 * MS)
    loop.do(sched.stop)
    check_pairing(loop.sent)
    assert {m.data[1] for m in loop.ons()} == {36, 35}


def test_external_clock_follow():
    sched = Scheduler(Controls(tempo_bpm=120), source="external")
    sched.set_pattern(FOUR_ON_FLOOR)
    loop = FakeLoop(sched)
    tick = round(60e9 / (100 * 24))  # the master plays 100 BPM
    t = loop.now
    sched.external_message([0xFA], t)
    sent = []
    for i in range(24 * 8):  # 8 quarters
        t += tick if i else 0
        # the clock loop serves everything due before the next pulse arrives
        while (w := sched.next_wake_ns()) is not None and w < t:
            sent.extend(sched.due(max(w, loop.now)))
        sched.external_message([0xF8], t)
        sent.extend(sched.due(t))
    assert sched.tempo_bpm == pytest.approx(100, rel=1e-6)
    kicks = [m.deadline_ns for m in sent if m.kind == "on"]
    assert len(kicks) == 8
    # the kick lands on every 24th pulse (one quarter): pulse 0, 24, 48, ...
    first = kicks[0]
    assert [k - first for k in kicks] == pytest.approx([q * 24 * tick for q in range(8)], abs=2)
    assert not [m for m in sent if m.kind == "clock"]  # a follower does not echo the clock
    sched.external_message([0xFC], t + tick)
    sent.extend(sched.due(t + tick))
    check_pairing(sent)


def test_play_pressed_here_while_the_master_only_sends_clock_starts_on_the_next_pulse():
    """Most masters send clock while stopped. Play pressed here (not by the master's Start)
    starts the pattern at the next pulse, at the master's tempo: it had put the grid's start
    where the clock began, and every step since (hundreds of notes) went out at once."""
    sched = Scheduler(Controls(tempo_bpm=120, groove=0.0), source="external")
    sched.set_pattern(FOUR_ON_FLOOR)
    tick = round(60e9 / (100 * 24))  # the master's clock at 100 BPM
    t = 1_000 * MS
    for _ in range(24 * 40):  # 40 beats of clock while nobody plays
        sched.external_message([0xF8], t)
        assert sched.due(t) == []
        t += tick
    press = t - tick // 2
    sched.start(press)
    sent = []
    for i in range(24 * 4):  # 4 beats
        sched.external_message([0xF8], t + i * tick)
        sent.extend(sched.due(t + i * tick))
    kicks = [m.deadline_ns for m in sent if m.kind == "on"]
    assert len(kicks) == 4 and kicks[0] == pytest.approx(t, abs=2)  # the first pulse after Play
    assert [k - kicks[0] for k in kicks] == pytest.approx([q * 24 * tick for q in range(4)], abs=2)
    assert sched.tempo_bpm == pytest.approx(100, rel=1e-6)


def test_a_master_that_stops_sending_clock_without_a_stop_is_reported_silent():
    """The step shown stops at the last pulse's, nothing new is rendered, every note ends, and
    the report says the clock went silent (it had shown 'playing' with the step counting on)."""
    sched = Scheduler(Controls(tempo_bpm=120, groove=0.0), source="external")
    sched.set_pattern(FOUR_ON_FLOOR)
    tick = round(60e9 / (100 * 24))
    t = 1_000 * MS
    sched.external_message([0xFA], t)
    sent = []
    for i in range(24 * 2):  # 2 beats, then silence
        sched.external_message([0xF8], t + i * tick)
        sent.extend(sched.due(t + i * tick))
    last = t + 47 * tick
    assert sched.playing and not sched.clock_silent(last + tick)
    step = sched.current_step(last)
    later = last + 2_000 * MS
    sent.extend(sched.due(later))
    assert sched.clock_silent(later) and sched.current_step(later) == step
    assert not [m for m in sent if m.kind == "on" and m.deadline_ns > last + 150 * MS]  # nothing new
    assert sched.sounding == 0  # the last notes ended
    sched.external_message([0xF8], later)  # the master comes back
    assert not sched.clock_silent(later)
    check_pairing(sent)


@pytest.mark.parametrize("before, after", [(120, 60), (120, 180), (90, 180)])
def test_notes_stay_on_their_pulses_through_a_tempo_change_of_the_master(before, after):
    """The 2-beat tempo fit had laid the grid off the pulses for about as long after a tempo
    change (notes up to 238 ms early after 120 -> 60 BPM): it starts again on a jump."""
    sched = Scheduler(Controls(tempo_bpm=120, groove=0.0), clock_out=False, source="external")
    sched.set_pattern(pattern_from_cells({(s, 0): (0.8, 0.0) for s in range(32)}))  # every 16th
    t, now, index = 1_000 * MS, 1_000 * MS, 0
    sched.external_message([0xFA], t)
    pulses, sent = {}, []
    for bpm in (before, after):
        period = 60e9 / bpm / 24
        for _ in range(24 * 4):
            while now < t:  # the clock loop, a quarter of a millisecond at a time
                now += MS // 4
                sent.extend((now, m) for m in sched.due(now) if m.kind == "on")
            sched.external_message([0xF8], int(t))
            pulses[index] = int(t)
            index, t = index + 1, t + period
    errors = [(when - pulses[6 * k]) / MS for k, (when, _m) in enumerate(sent) if 6 * k in pulses]
    assert len(errors) >= 30
    assert max(abs(e) for e in errors[17:]) < 2.0, errors[14:24]  # every note after the change


def test_a_jittery_steady_clock_keeps_its_tempo_fit():
    """Pulses jittered by up to ±3 ms (a USB or network cable) are no tempo change: the fit
    over 2 beats keeps averaging them."""
    rng = np.random.default_rng(0)
    sched = Scheduler(Controls(tempo_bpm=90, groove=0.0), clock_out=False, source="external")
    sched.set_pattern(FOUR_ON_FLOOR)
    t = 1_000 * MS
    sched.external_message([0xFA], t)
    period = 60e9 / 120 / 24
    readings = []
    for i in range(24 * 16):
        sched.external_message([0xF8], int(t + i * period + rng.uniform(-3, 3) * MS))
        sched.due(int(t + i * period))
        if i >= 24 * 4:
            readings.append(sched.tempo_bpm)
    assert max(abs(r - 120) for r in readings) < 1.0


def test_external_clock_on_a_timeline_drifting_from_the_wall():
    """Pulses stamped on the wall clock, the grid on a timeline running 5 % slow and
    stepping 40 ms (a JACK server that stalled): the tempo is the master's, and every kick
    lands on the timeline where its pulse's wall time maps."""
    offset = [7 * MS]  # renewed as a frame clock's resync renews it: +40 ms after 1 s

    def to_timeline(wall: int) -> int:  # 0.95 ns of timeline per wall ns
        return round(offset[0] + 0.95 * wall)

    sched = Scheduler(Controls(tempo_bpm=120), source="external")
    sched.wall_to_timeline = to_timeline
    sched.set_pattern(FOUR_ON_FLOOR)
    tick = round(60e9 / (150 * 24))  # the master plays 150 BPM on the wall clock
    sent, t = [], 0
    sched.external_message([0xFA], t)
    for i in range(24 * 8):
        t = i * tick
        if t >= 1_000 * MS:
            offset[0] = 47 * MS
        now = to_timeline(t)
        while (w := sched.next_wake_ns()) is not None and w < now:
            sent.extend(sched.due(w))
        sched.external_message([0xF8], t)
        sent.extend(sched.due(now))
        # 150 BPM read on the wall clock however the timeline runs (on it: 150 / 0.95)
        assert i < 2 or sched.tempo_bpm == pytest.approx(150, rel=1e-6)
    kicks = [m.deadline_ns for m in sent if m.kind == "on"]
    assert len(kicks) == 8
    # each kick on its quarter's pulse, mapped onto the timeline (within a fit's rounding):
    # past the step, the grid follows the new anchor within the 2 beats the fit spans
    assert kicks[:3] == pytest.approx([7 * MS + 0.95 * q * 24 * tick for q in range(3)], abs=2)
    assert kicks[-3:] == pytest.approx([47 * MS + 0.95 * q * 24 * tick for q in range(5, 8)], abs=2)


def test_external_song_position_and_continue():
    sched = Scheduler(Controls(), source="external")
    sched.set_pattern(HATS)
    sched.external_message([0xF2, 3, 0], 0)  # position 3 (16ths)
    sched.external_message([0xFB], 0)
    sched.external_message([0xF8], 10 * MS)
    # pulse 18 = step 3; the next hat is step 4, rendered one step ahead
    assert sched.current_step(10 * MS) == 3


# every step a kick whose MIDI velocity is its step + 1: a note-on says which step played
NUMBERED = pattern_from_cells({(s, Voice.KICK): ((s + 1) / 127, 0.0) for s in range(32)})


def follow(sched, t, pulses, tick, sent, messages=None):
    """Serve ``pulses`` clock pulses ``tick`` apart from ``t`` as the clock loop does;
    ``messages[i]`` (optional) arrives just before pulse ``i``. Returns the next pulse time."""
    for i in range(pulses):
        while (w := sched.next_wake_ns()) is not None and w < t:
            sent.extend(sched.due(w))
        for message in (messages or {}).get(i, ()):
            sched.external_message(message, t - MS)
        sched.external_message([0xF8], t)
        sent.extend(sched.due(t))
        t += tick
    return t


def following_numbered():
    """A follower of an external clock at 100 BPM playing :data:`NUMBERED`: the scheduler,
    the pulse spacing and the first pulse's time."""
    sched = Scheduler(Controls(tempo_bpm=120, groove=0.0), clock_out=False, source="external")
    sched.set_pattern(NUMBERED)
    return sched, round(60e9 / (100 * 24)), 1_000 * MS


def test_a_song_position_while_playing_relocates_at_the_next_pulse():
    """A DAW's loop jump or locate sends a Song Position Pointer while it plays: the next
    pulse plays the step it points to, the tempo fit carries on, and no note of the old
    position sounds after it."""
    sched, tick, t = following_numbered()
    sched.external_message([0xFA], t)
    sent = []
    t = follow(sched, t, 24 * 2, tick, sent)  # steps 0-7
    jump_at = t
    t = follow(sched, t, 6 * 4, tick, sent, {0: [[0xF2, 20, 0]]})  # to step 20, 4 steps
    played = [(m.deadline_ns, m.data[2] - 1) for m in sent if m.kind == "on"]
    assert [s for _, s in played] == [*range(8), 20, 21, 22, 23]
    assert [d for d, s in played if s >= 20] == pytest.approx(
        [jump_at + k * 6 * tick for k in range(4)], abs=2)
    assert sched.tempo_bpm == pytest.approx(100, rel=1e-6)
    check_pairing([*sent, *sched.due(t + 200 * MS)])


def test_a_song_position_while_playing_at_the_place_already_due_changes_nothing():
    """Some masters send Song Position now and then as they play: where the next pulse falls
    anyway it cuts no note and moves nothing."""
    sched, tick, t = following_numbered()
    sched.external_message([0xFA], t)
    sent = []
    t = follow(sched, t, 24 * 4, tick, sent, {48: [[0xF2, 8, 0]]})
    assert [m.data[2] - 1 for m in sent if m.kind == "on"] == list(range(16))
    assert not [m for m in sent if m.kind in ("off", "cc") and m.immediate]


def test_a_continue_while_playing_is_ignored():
    """Continue means "play on from here" to a follower that is stopped; one that arrives
    while playing (a master's double send, a DAW's locate) neither re-arms at the last stop
    nor cuts the notes."""
    sched, tick, t = following_numbered()
    sched.external_message([0xF2, 24, 0], t)  # the master located to step 24 while stopped
    sched.external_message([0xFB], t)
    sent = []
    t = follow(sched, t, 24 * 4, tick, sent, {30: [[0xFB]]})
    assert [m.data[2] - 1 for m in sent if m.kind == "on"] == [s % 32 for s in range(24, 40)]
    assert sched.tempo_bpm == pytest.approx(100, rel=1e-6)


def test_song_position_then_continue_while_playing_relocates_once():
    """A master that locates with Song Position + Continue and no Stop between them."""
    sched, tick, t = following_numbered()
    sched.external_message([0xFA], t)
    sent = []
    t = follow(sched, t, 24 * 3, tick, sent, {24: [[0xF2, 0, 0], [0xFB]]})
    assert [m.data[2] - 1 for m in sent if m.kind == "on"] == [0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7]
    check_pairing([*sent, *sched.due(t + 200 * MS)])


def test_estimate_tick_ns_least_squares():
    samples = [(i, 1_000 + i * 25_000_000 + (300_000 if i % 2 else -300_000)) for i in range(48)]
    assert estimate_tick_ns(samples) == pytest.approx(25_000_000, rel=1e-3)
    assert estimate_tick_ns(samples[:1]) is None


def test_step_ns_used_for_render_margin():
    # early notes are rendered before their grid point so they are not late
    p = pattern_from_cells({(4, Voice.SNARE): (1.0, -0.5)})
    sched = Scheduler(Controls(tempo_bpm=120, groove=1.0))
    sched.set_pattern(p)
    loop = FakeLoop(sched)
    loop.do(sched.start)
    loop.run_until(loop.now + 1_000 * MS)
    on = loop.ons()[0]
    assert on.deadline_ns == sched.step_deadline(4) - round(0.5 * step_ns(120))
