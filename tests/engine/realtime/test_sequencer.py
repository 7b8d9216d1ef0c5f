"""Pure sequencer logic: notes per step, grid arithmetic, quantised changes, MIDI bytes."""

import pytest

from engine.music.drums import GM_NOTE_MAP, NoteMap, Voice
from engine.music.midi_messages import all_notes_off, parse_song_position, song_position
from engine.realtime.steps import (
    Controls,
    NoteEvent,
    StepTable,
    boundary_step,
    deadline_ns,
    earliest_shift,
    notes_for_step,
    step_ns,
    tick_ns,
)
from tests.support.patterns import pattern_from_cells

PATTERN = pattern_from_cells({
    (0, Voice.KICK): (100 / 127, 0.0),
    (0, Voice.CLOSED_HAT): (64 / 127, -0.2),
    (3, Voice.SNARE): (50 / 127, 0.3),
    (4, Voice.SNARE): (120 / 127, 0.4),
})


def test_notes_for_step_plain():
    events = notes_for_step(PATTERN, 0, Controls())
    # sorted by time: the early hat first, then the kick on the grid
    assert events == (NoteEvent(pytest.approx(-0.2), Voice.CLOSED_HAT, 42, 64),
                      NoteEvent(0.0, Voice.KICK, 36, 100))
    assert notes_for_step(PATTERN, 1, Controls()) == ()


def test_pattern_loops():
    assert notes_for_step(PATTERN, 32, Controls()) == notes_for_step(PATTERN, 0, Controls())
    assert notes_for_step(PATTERN, 36 + 32 * 5, Controls()) == notes_for_step(PATTERN, 4, Controls())


def test_velocity_scale_clips_and_drops_silent():
    loud = notes_for_step(PATTERN, 4, Controls(velocity_scale=2.0))
    assert [e.velocity for e in loud] == [127]
    half = notes_for_step(PATTERN, 0, Controls(velocity_scale=0.5))
    assert sorted(e.velocity for e in half) == [32, 50]
    assert notes_for_step(PATTERN, 0, Controls(velocity_scale=0.0)) == ()


def test_groove_scales_micro_timing():
    shifts = {g: notes_for_step(PATTERN, 4, Controls(groove=g))[0].shift_steps for g in (0.0, 0.5, 1.0)}
    assert shifts[0.0] == 0.0
    assert shifts[0.5] == pytest.approx(0.2)
    assert shifts[1.0] == pytest.approx(0.4)


def test_swing_delays_only_odd_sixteenths():
    c = Controls(groove=0.0, swing=0.5)
    assert notes_for_step(PATTERN, 3, c)[0].shift_steps == pytest.approx(0.5)
    assert notes_for_step(PATTERN, 4, c)[0].shift_steps == 0.0
    # swing adds to the (groove-scaled) offset
    both = notes_for_step(PATTERN, 3, Controls(groove=1.0, swing=0.25))[0].shift_steps
    assert both == pytest.approx(0.55)


def test_note_map_applies():
    custom = GM_NOTE_MAP.with_note(Voice.KICK, 24)
    notes = {e.voice: e.note for e in notes_for_step(PATTERN, 0, Controls(note_map=custom))}
    assert notes[Voice.KICK] == 24 and notes[Voice.CLOSED_HAT] == 42


def test_step_table_matches_pattern_and_lists_voices():
    table = StepTable.from_pattern(PATTERN)
    for step in range(40):
        assert notes_for_step(table, step, Controls(swing=0.1)) == notes_for_step(
            PATTERN, step, Controls(swing=0.1))
    assert table.voices_used == {Voice.KICK, Voice.CLOSED_HAT, Voice.SNARE}


def test_earliest_shift():
    assert earliest_shift(PATTERN, 0, Controls()) == pytest.approx(-0.2)
    assert earliest_shift(PATTERN, 0, Controls(groove=0.0)) == 0.0
    assert earliest_shift(PATTERN, 4, Controls()) == 0.0  # late notes need no early start
    assert earliest_shift(PATTERN, 1, Controls()) == 0.0


@pytest.mark.parametrize("kwargs", [
    {"tempo_bpm": 29.0}, {"tempo_bpm": 301.0}, {"swing": 0.8}, {"swing": -0.1},
    {"groove": 1.5}, {"velocity_scale": 2.5}, {"channel": 16}, {"tempo_bpm": "fast"},
])
def test_controls_reject_out_of_range(kwargs):
    with pytest.raises(ValueError):
        Controls(**kwargs)


def test_controls_reject_wrong_note_map_type():
    with pytest.raises(TypeError):
        Controls(note_map=(36,) * 9)


def test_grid_lengths():
    assert step_ns(120) == 125_000_000
    assert tick_ns(120) * 24 == pytest.approx(500_000_000)
    assert step_ns(174) == pytest.approx(60e9 / 174 / 4)


def test_deadlines_do_not_drift():
    # One hour of 16ths at 174 BPM: the deadline is the exact product, not a sum of roundings.
    length = step_ns(174)
    steps = 174 * 4 * 60
    assert deadline_ns(1_000, steps, length) == 1_000 + round(steps * 60e9 / 174 / 4)
    summed = 1_000
    for _ in range(steps):
        summed += round(length)  # what summing rounded sleeps would give
    assert abs(summed - deadline_ns(1_000, steps, length)) > 1_000  # sums drift, deadlines don't


@pytest.mark.parametrize("first,quantize,spb,expected", [
    (5, "step", 16, 5), (5, "beat", 16, 8), (8, "beat", 16, 8), (5, "bar", 16, 16),
    (16, "bar", 16, 16), (17, "bar", 16, 32), (0, "bar", 16, 0), (13, "bar", 12, 24),
])
def test_boundary_step(first, quantize, spb, expected):
    assert boundary_step(first, quantize, spb) == expected


def test_boundary_rejects_unknown():
    with pytest.raises(ValueError):
        boundary_step(3, "verse", 16)


def test_phrase_boundary_is_the_top_of_both_loops():
    assert boundary_step(33, "phrase", 16, 64) == 64
    assert boundary_step(64, "phrase", 16, 64) == 64
    assert boundary_step(3, "phrase", 16) == 16  # no phrase known: a bar


def test_midi_bytes():
    assert all_notes_off() == (0xB9, 123, 0)
    assert song_position(0) == (0xF2, 0, 0)
    assert song_position(300) == (0xF2, 300 & 0x7F, 300 >> 7)
    assert parse_song_position(*song_position(300)[1:]) == 300
    assert parse_song_position(*song_position(10**6)[1:]) == 0x3FFF


def test_note_map_roundtrip_in_controls_is_value_equal():
    a = Controls(note_map=NoteMap(tuple(range(36, 45))))
    b = Controls(note_map=NoteMap(tuple(range(36, 45))))
    assert a == b
