"""The melody value object, its class codec and MIDI files."""

from __future__ import annotations

import mido
import numpy as np
import pytest

from engine.errors import MidiFileError
from engine.music.melody import (
    MAX_PITCH,
    MIN_PITCH,
    NO_EVENT,
    NOTE_OFF,
    NUM_CLASSES,
    Melody,
    classes_to_events,
    events_to_classes,
    notes_to_events,
    read_melody_file,
    transpose_to_key,
)
from tests.support.melody import melody_a, melody_b


def test_classes_round_trip_and_layout() -> None:
    m = melody_a()
    c = m.to_classes()
    assert c.shape == (32,) and c.dtype == np.int64
    assert c[0] == 2 + 60 - MIN_PITCH and c[1] == 1 and c[28] == 0
    assert Melody.from_classes(c) == m
    every = np.arange(NUM_CLASSES)
    assert np.array_equal(events_to_classes(classes_to_events(every)), every)


def test_out_of_range_pitch_is_refused_until_fitted() -> None:
    m = Melody([40, NO_EVENT, 90, NOTE_OFF])
    with pytest.raises(ValueError, match="outside"):
        m.to_classes()
    fitted = m.fit_range()
    lo, hi = fitted.pitch_range()
    assert lo >= MIN_PITCH and hi <= MAX_PITCH
    assert Melody([60, 67]).fit_range() == Melody([60, 67])  # already inside: untouched
    assert Melody([96, 100]).fit_range() == Melody([72, 76])  # shifted by whole octaves, shape kept


def test_bad_values_raise_at_construction() -> None:
    with pytest.raises(ValueError, match="-2..127"):
        Melody([60, -3])
    with pytest.raises(ValueError, match="1-D"):
        Melody(np.zeros((2, 2)))


def test_notes_and_chord_arpeggiation() -> None:
    ev = notes_to_events([(0, 4, 60), (4, 8, (64, 67)), (8, 10, (60, 64, 67, 72)), (12, 16, 65)], 16)
    # the 2-pitch chord over 4 steps: 64 for 2 steps, 67 for 2; the 4-pitch chord over 2
    # steps keeps its top two; a gap after step 10 gets a note-off
    assert ev.tolist() == [60, -2, -2, -2, 64, -2, 67, -2, 67, 72, -1, -2, 65, -2, -2, -2]
    assert Melody(ev).notes() == [(0, 4, 60), (4, 6, 64), (6, 8, 67), (8, 9, 67), (9, 10, 72),
                                  (12, 16, 65)]


def test_midi_round_trip(tmp_path) -> None:
    m = melody_b()
    path = m.write_midi(tmp_path / "b.mid", 100.0)
    assert read_melody_file(path) == m
    with pytest.raises(MidiFileError, match="exists"):
        m.write_midi(path)


def test_most_melodic_track_is_read_and_chords_arpeggiated(tmp_path) -> None:
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    chords, tune, drums = mido.MidiTrack(), mido.MidiTrack(), mido.MidiTrack()
    for pitch in (48, 52, 55):  # one whole-note triad: an accompaniment
        chords.append(mido.Message("note_on", channel=1, note=pitch, velocity=80, time=0))
    for i, pitch in enumerate((48, 52, 55)):
        chords.append(mido.Message("note_off", channel=1, note=pitch, velocity=0, time=1920 if i == 0 else 0))
    for pitch in (72, 74, 76, 77):  # four quarter notes: the tune
        tune.append(mido.Message("note_on", channel=0, note=pitch, velocity=80, time=0))
        tune.append(mido.Message("note_off", channel=0, note=pitch, velocity=0, time=480))
    for _ in range(8):  # drums on channel 10 are never the melody
        drums.append(mido.Message("note_on", channel=9, note=36, velocity=100, time=0))
        drums.append(mido.Message("note_off", channel=9, note=36, velocity=0, time=240))
    midi.tracks.extend([chords, tune, drums])
    midi.save(tmp_path / "x.mid")
    m = read_melody_file(tmp_path / "x.mid")
    assert [n[2] for n in m.notes()] == [72, 74, 76, 77] and m.steps == 16


def test_unreadable_or_empty_midi_is_one_line(tmp_path) -> None:
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi")
    with pytest.raises(MidiFileError, match="not a readable MIDI file"):
        read_melody_file(bad)
    empty = mido.MidiFile()
    empty.tracks.append(mido.MidiTrack([mido.MetaMessage("end_of_track", time=0)]))
    empty.save(tmp_path / "empty.mid")
    with pytest.raises(MidiFileError, match="no melodic"):
        read_melody_file(tmp_path / "empty.mid")


def test_transpose_to_key_and_bar_slice() -> None:
    m = melody_a()
    assert transpose_to_key(m, "G").pitch_range() == (55, 64)  # down a fourth: the nearest G
    assert transpose_to_key(m, "D").pitch_range() == (62, 71)
    with pytest.raises(ValueError, match="unknown key"):
        transpose_to_key(m, "H")
    second = m.bar_slice(1, 2)
    assert second.steps == 16 and second.events[0] == 67
    held = Melody([60] + [NO_EVENT] * 31).bar_slice(1, 2)
    assert held.events[0] == 60  # a note held over the bar line is struck again
