"""The melody lane: its pure step logic and the scheduler playing it beside the drums (fake clock)."""

import pickle

import numpy as np
import pytest

from engine.music.drums import Voice
from engine.music.melody import NO_EVENT, NOTE_OFF, Melody
from engine.realtime.melody_lane import MELODY_VOICE, MelodyControls, MelodyTable, melody_note_for_step
from engine.realtime.scheduler import Scheduler
from engine.realtime.steps import Controls
from tests.engine.realtime.test_sequencer_scheduler import FOUR_ON_FLOOR, MS, FakeLoop, check_pairing
from tests.support.melody import melody_a, melody_b
from tests.support.patterns import pattern_from_cells

STEP_MS_120 = 125  # one 16th at 120 BPM


def four_bar_melody() -> Melody:
    """4 bars: a whole-bar C, a rest bar, then quarter notes E F G A, then a tie over the loop."""
    ev = [NO_EVENT] * 64
    ev[0] = 60
    ev[16] = NOTE_OFF
    for i, p in enumerate((64, 65, 67, 69)):
        ev[32 + 4 * i] = p
    ev[48] = 72  # held to the end of the loop
    return Melody(ev)


def melody_ons(sent, channel=0):
    return [m for m in sent if m.kind == "on" and m.data[0] == 0x90 | channel]


# -- the pure part ---------------------------------------------------------------------------

def test_table_lengths_follow_the_hold_events():
    table = MelodyTable.from_melody(melody_a())
    starts = {s: table.start_at(s) for s in range(table.steps) if table.start_at(s) is not None}
    # 67 at 24 is held until the note-off at 28; 69 at 20 lasts until 24
    assert starts == {0: (60, 4), 4: (62, 4), 8: (64, 4), 12: (65, 4), 16: (67, 4), 20: (69, 4),
                      24: (67, 4)}


def test_the_table_crosses_to_the_clock_as_its_notes_and_finds_the_note_sounding():
    table = MelodyTable.from_melody(melody_a())
    copy = pickle.loads(pickle.dumps(table))
    assert copy == table and copy.start_at(4) == (62, 4) and len(pickle.dumps(table)) < 400
    assert table.covering(6) == (4, 62, 8) and table.covering(4) == (4, 62, 8)
    rest = Melody([60, NO_EVENT, NOTE_OFF, NO_EVENT] + [NO_EVENT] * 12)
    assert MelodyTable.from_melody(rest).covering(2) is None  # a rest covers nothing


def test_note_for_step_loops_transposes_and_mutes():
    table = MelodyTable.from_melody(melody_a())
    up = MelodyControls(transpose=7, octave=-1)
    assert melody_note_for_step(table, 32 + 4, up).pitch == 62 + 7 - 12  # second loop, step 4
    assert melody_note_for_step(table, 5, up) is None  # held, not re-struck
    entering = melody_note_for_step(table, 5, up, entering=True)
    assert (entering.pitch, entering.length_steps) == (62 - 5, 3)  # what is left of the note
    assert melody_note_for_step(table, 0, MelodyControls(mute=True)) is None
    assert MelodyControls(octave=3).pitch(120) == 120  # 156 folds back by octaves to 120
    with pytest.raises(ValueError, match="whole bars"):
        MelodyTable.from_melody(Melody([60, NO_EVENT, NOTE_OFF]))


# -- in the scheduler beside the drums -------------------------------------------------------

def play(sched, bars: float, setup=None):
    loop = FakeLoop(sched)
    if setup:
        setup(loop)
    loop.do(sched.start)
    t0 = sched.step_deadline(0)
    loop.run_until(t0 + round(bars * 16 * STEP_MS_120 * MS) - 1)
    return loop, t0


def test_both_lanes_on_their_channels_with_note_lengths_from_the_encoding():
    sched = Scheduler(Controls(tempo_bpm=120), melody_controls=MelodyControls(channel=0))
    sched.set_pattern(FOUR_ON_FLOOR)
    sched.set_melody(melody_a())
    loop, t0 = play(sched, 2)
    loop.do(sched.stop)
    check_pairing(loop.sent)
    drums = [m for m in loop.sent if m.kind == "on" and m.data[0] == 0x99]
    assert [m.data[1] for m in drums] == [36] * 8
    notes = melody_ons(loop.sent)
    assert [m.data[1] for m in notes] == [60, 62, 64, 65, 67, 69, 67]
    assert all(m.voice == MELODY_VOICE for m in notes)
    step = STEP_MS_120 * MS
    assert [(m.deadline_ns - t0) // step for m in notes] == [0, 4, 8, 12, 16, 20, 24]
    offs = {m.pair: m.deadline_ns for m in loop.sent if m.kind == "off"}
    # each note sounds until the next event (hold = the note goes on): 4 steps each
    assert [(offs[m.seq] - m.deadline_ns) // step for m in notes] == [4] * 7
    # on the common steps the lanes share the grid deadline exactly
    kicks = {m.deadline_ns for m in drums}
    assert {m.deadline_ns for m in notes if (m.deadline_ns - t0) // step % 4 == 0} <= kicks


def test_a_four_bar_melody_loops_at_its_length_against_two_bar_drums():
    sched = Scheduler(Controls(tempo_bpm=120))
    sched.set_pattern(FOUR_ON_FLOOR)
    sched.set_melody(four_bar_melody())
    loop, t0 = play(sched, 8)
    loop.do(sched.stop)
    check_pairing(loop.sent)
    step = STEP_MS_120 * MS
    starts = [((m.deadline_ns - t0) // step, m.data[1]) for m in melody_ons(loop.sent)]
    one = [(0, 60), (32, 64), (36, 65), (40, 67), (44, 69), (48, 72)]
    assert starts == one + [(s + 64, p) for s, p in one]
    offs = {m.pair: m for m in loop.sent if m.kind == "off"}
    whole = next(m for m in melody_ons(loop.sent) if m.data[1] == 60)
    assert (offs[whole.seq].deadline_ns - whole.deadline_ns) // step == 16  # a whole bar
    tie = next(m for m in melody_ons(loop.sent) if m.data[1] == 72)
    assert offs[tie.seq].deadline_ns - t0 == 64 * step  # held to the loop's end, then struck again


def test_melody_change_waits_for_its_own_quantize_and_cuts_the_held_note():
    sched = Scheduler(Controls(tempo_bpm=120))
    sched.set_pattern(FOUR_ON_FLOOR)
    sched.set_melody(melody_a())
    loop, t0 = play(sched, 0)
    step = STEP_MS_120 * MS
    loop.run_until(t0 + 5 * step + step // 2)  # in the middle of 62 (steps 4..8)
    loop.do(lambda now: sched.set_melody(melody_b(), "beat", now))
    loop.do(lambda now: sched.set_pattern(pattern_from_cells({(0, Voice.SNARE): (1.0, 0.0)}), "phrase", now))
    loop.run_until(t0 + 40 * step)
    loop.do(sched.stop)
    check_pairing(loop.sent)
    notes = [((m.deadline_ns - t0) // step, m.data[1]) for m in melody_ons(loop.sent)]
    # melody B from the next beat (step 8), where B starts 65
    assert notes[:2] == [(0, 60), (4, 62)]
    assert notes[2] == (8, 65)
    off_62 = next(m for m in loop.sent if m.kind == "off" and m.data[1] == 62 and m.data[0] == 0x80)
    assert (off_62.deadline_ns - t0) // step == 8
    # the drums waited for the phrase (step 32): kicks until then, the snare after
    drum_ons = [((m.deadline_ns - t0) // step, m.data[1]) for m in loop.sent if m.kind == "on"
                and m.data[0] == 0x99]
    assert [s for s, n in drum_ons if n == 36] == [0, 4, 8, 12, 16, 20, 24, 28]
    assert (32, 38) in drum_ons


def test_a_melody_taking_over_mid_note_strikes_what_is_left():
    held = Melody([NO_EVENT] * 2 + [67] + [NO_EVENT] * 13)  # 67 held from step 2 to the bar's end
    sched = Scheduler(Controls(tempo_bpm=120))
    sched.set_melody(melody_a())
    loop, t0 = play(sched, 0)
    step = STEP_MS_120 * MS
    loop.run_until(t0 + 2 * step)
    loop.do(lambda now: sched.set_melody(held, "beat", now))
    loop.run_until(t0 + 16 * step)
    loop.do(sched.stop)
    check_pairing(loop.sent)
    notes = [((m.deadline_ns - t0) // step, m.data[1]) for m in melody_ons(loop.sent)]
    assert notes == [(0, 60), (4, 67)]  # entered at the beat with what is left of 67


def test_transpose_octave_and_mute_at_play_time():
    sched = Scheduler(Controls(tempo_bpm=120))
    sched.set_melody(melody_a())
    loop, t0 = play(sched, 0)
    step = STEP_MS_120 * MS
    loop.run_until(t0 + 2 * step)  # 60 sounds
    loop.do(lambda now: sched.set_melody_controls(MelodyControls(transpose=5, octave=1, channel=3), now))
    assert sched.sounding == 0  # the note sent on channel 1 at its old pitch ended at once
    loop.run_until(t0 + 9 * step)
    loop.do(lambda now: sched.set_melody_controls(MelodyControls(mute=True), now))
    loop.run_until(t0 + 32 * step)
    loop.do(sched.stop)
    check_pairing(loop.sent)
    ons = [(m.data[0], m.data[1]) for m in loop.sent if m.kind == "on"]
    assert ons == [(0x90, 60), (0x93, 62 + 17), (0x93, 64 + 17)]


@pytest.mark.parametrize("change, expect", [
    (MelodyControls(mute=True), []),
    (MelodyControls(transpose=5), [(0x90, 69), (0x90, 72)]),
    (MelodyControls(channel=1), [(0x91, 64), (0x91, 67)]),
])
def test_a_swung_note_rendered_before_a_change_is_played_as_the_change_says(change, expect):
    """Swing delays an off-beat 16th by up to 3/4 of a step, and the note is rendered before
    its grid time: a mute, key or channel change that lands between the two must hold for it
    too (it went out under the old settings, held for its whole length)."""
    ev = [NO_EVENT] * 16
    ev[1], ev[9] = 64, 67  # off-beat 16ths: swing delays them
    sched = Scheduler(Controls(tempo_bpm=120, swing=0.6))
    sched.set_melody(Melody(ev))
    loop, t0 = play(sched, 0)
    grid_1 = sched.step_deadline(1)
    loop.run_until(grid_1 - MS)  # step 1 rendered (its note due ~75 ms later), nothing sent yet
    assert melody_ons(loop.sent) == []
    loop.do(lambda now: sched.set_melody_controls(change, now))
    loop.run_until(t0 + 16 * STEP_MS_120 * MS - 1)
    loop.do(sched.stop)
    check_pairing(loop.sent)
    assert [(m.data[0], m.data[1]) for m in loop.sent if m.kind == "on"] == expect


def test_stop_ends_both_lanes_with_all_notes_off_on_each_channel():
    sched = Scheduler(Controls(tempo_bpm=120, gate_steps=4.0), melody_controls=MelodyControls(channel=1))
    sched.set_pattern(pattern_from_cells({(s, Voice.CRASH): (1.0, 0.0) for s in range(0, 32, 8)}))
    sched.set_melody(four_bar_melody())
    loop, t0 = play(sched, 0)
    loop.run_until(t0 + 3 * STEP_MS_120 * MS)
    assert sched.sounding == 2  # the crash (a 4-step gate) and the whole-bar C
    loop.do(sched.stop)
    tail = [m.data for m in loop.sent[-5:]]
    assert (0x81, 60, 0) in tail and (0xB9, 123, 0) in tail and (0xB1, 123, 0) in tail
    check_pairing(loop.sent)
    assert sched.sounding == 0


def test_both_lanes_on_one_channel_keep_their_own_notes():
    same = MelodyControls(channel=9)
    sched = Scheduler(Controls(tempo_bpm=120), melody_controls=same)
    sched.set_pattern(pattern_from_cells({(0, Voice.KICK): (1.0, 0.0)}))
    sched.set_melody(Melody([36] + [NO_EVENT] * 15))  # the melody plays a kick's pitch
    loop, _ = play(sched, 1)
    loop.do(sched.stop)
    on = [m for m in loop.sent if m.kind == "on"]
    assert len(on) == 2 and {m.key for m in on} == {36 | 9 << 7, 36 | 9 << 7 | 1 << 11}
    assert np.count_nonzero([m.kind == "off" for m in loop.sent]) == 2


def test_each_lane_can_be_asked_for_its_own_messages():
    """Two outputs, one per lane (each pulls its own period): every message goes to exactly one
    of them, the clock and transport with the drums, and each lane's at its own deadlines."""
    both = Scheduler(Controls(tempo_bpm=120), melody_controls=MelodyControls(channel=1))
    split = Scheduler(Controls(tempo_bpm=120), melody_controls=MelodyControls(channel=1))
    for sched in (both, split):
        sched.set_pattern(FOUR_ON_FLOOR)
        sched.set_melody(four_bar_melody())
    whole, _ = play(both, 2)
    t, lanes = 1_000 * MS, {"drums": [], "melody": []}
    split.start(t)
    end = split.step_deadline(0) + round(2 * 16 * STEP_MS_120 * MS) - 1
    while t <= end:
        for lane in ("melody", "drums"):  # the melody's output is asked first, as may happen
            lanes[lane] += split.due(t, lane=lane)
        t += MS // 2
    assert lanes["melody"] and all(m.voice == MELODY_VOICE for m in lanes["melody"])
    assert all(m.voice != MELODY_VOICE for m in lanes["drums"])
    assert any(m.kind == "clock" for m in lanes["drums"]) and (0xFA,) in [m.data for m in lanes["drums"]]
    key = [(m.deadline_ns, m.data) for m in whole.sent if not m.immediate]
    merged = sorted((m.deadline_ns, m.data) for m in lanes["drums"] + lanes["melody"] if not m.immediate)
    assert merged == sorted(key)


def test_a_melody_on_its_own_output_gets_its_own_all_notes_off_on_stop():
    sched = Scheduler(Controls(tempo_bpm=120), melody_controls=MelodyControls(channel=9))
    sched.melody_apart = True  # same channel as the drums, another output
    sched.set_pattern(FOUR_ON_FLOOR)
    sched.set_melody(four_bar_melody())
    loop, t0 = play(sched, 0)
    loop.run_until(t0 + 3 * STEP_MS_120 * MS)
    loop.do(sched.stop)
    cc = [m for m in loop.sent if m.data == (0xB9, 123, 0)]
    assert len(cc) == 2 and {m.voice == MELODY_VOICE for m in cc} == {True, False}
    off = [m for m in loop.sent if m.kind == "off" and m.voice == MELODY_VOICE]
    assert off and off[-1].data == (0x89, 60, 0)
