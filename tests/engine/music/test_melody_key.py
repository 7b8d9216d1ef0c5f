"""Keys of melodies: the shift from C to a key, and the key a melody is written in."""

from __future__ import annotations

import pytest

from engine.music.melody import (
    KEY_NAMES,
    NO_EVENT,
    Melody,
    estimate_key,
    key_shift,
    moved_to_c,
    transpose_to_key,
)
from tests.support.melody import melody_a, melody_b


@pytest.mark.parametrize(("key", "shift"), [("C", 0), ("G", -5), ("D", 2), ("Eb", 3), ("F#", 6 - 12),
                                            ("Gb", -6), ("b", -1), (" F ", 5), ("eb", 3), ("f#", -6),
                                            ("BB", -2), ("db", 1)])
def test_key_shift_is_the_smallest_move_from_c(key, shift) -> None:
    assert key_shift(key) == shift
    assert transpose_to_key(melody_a(), key) == melody_a().transpose(shift)


def test_an_unknown_key_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown key 'H'"):
        key_shift("H")


@pytest.mark.parametrize("tune", [melody_a, melody_b], ids=["a", "b"])
@pytest.mark.parametrize("key", KEY_NAMES)
def test_a_c_major_tune_moved_to_a_key_is_found_in_it(tune, key) -> None:
    assert estimate_key(transpose_to_key(tune(), key)) == key


def _line(notes: list[tuple[int, int]]) -> Melody:
    """``[(pitch, 16ths)]`` one after another, as a melody of whole bars."""
    ev, step = [], 0
    for pitch, length in notes:
        ev += [pitch] + [NO_EVENT] * (length - 1)
        step += length
    return Melody(ev + [NO_EVENT] * (-step % 16))


@pytest.mark.parametrize("key", KEY_NAMES)
def test_a_line_from_c_to_c_is_in_c_however_long_its_g(key) -> None:
    # no F and no F#: C or G major by its notes; it begins and ends on C
    c_to_c = _line([(60, 8), (62, 4), (64, 4), (67, 20), (69, 8), (71, 8), (72, 12)])
    assert estimate_key(transpose_to_key(c_to_c, key)) == key


def test_a_minor_tune_gives_its_relative_major() -> None:
    # A harmonic minor, leading tone G# included: the key signature is C's
    a_minor = _line([(69, 4), (72, 2), (76, 2), (74, 2), (72, 2), (71, 4), (68, 2), (69, 6), (64, 4),
                     (69, 4)])
    assert estimate_key(a_minor) == "C"
    assert estimate_key(a_minor.transpose(-2)) == "Bb"  # G minor


def test_a_melody_without_notes_is_in_c() -> None:
    assert estimate_key(Melody([NO_EVENT] * 16)) == "C"



@pytest.mark.parametrize(("key", "line", "in_c"), [
    ("G", [115, 119, 122, 127, 122, 115], [120, 124, 127, 120, 127, 120]),  # G9 would be C10
    ("F", [5, 9, 12, 0, 9, 5], [0, 4, 7, 7, 4, 0]),  # C0 would be G-1
])
def test_a_clip_at_an_end_of_the_midi_range_moves_to_c(key, line, in_c) -> None:
    """A clip moves to C at its own octave; a note the move would take past MIDI's 0..127 folds
    back an octave, as the lane folds the notes it plays, instead of the clip being refused."""
    moved, found = moved_to_c(_line([(p, 4) for p in line]))
    assert found == key
    assert moved == _line([(p, 4) for p in in_c])
