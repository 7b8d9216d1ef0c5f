"""Drums and melody written as one clip with two tracks, read back by both readers."""

import mido
import pytest

from engine.errors import MidiFileError
from engine.music.drums import Voice
from engine.music.lanes_clip import lanes_midifile, melody_midifile, write_midifile
from engine.music.melody import read_melody_file
from engine.music.midifile import read_clip
from tests.support.melody import melody_a
from tests.support.patterns import pattern_from_cells


def test_two_tracks_each_reads_back(tmp_path):
    drums = pattern_from_cells({(s, Voice.SNARE): (0.9, 0.0) for s in range(4, 32, 8)})
    path = write_midifile(tmp_path / "both.mid", lambda: lanes_midifile(drums, melody_a(), 100.0,
                                                                        melody_channel=4))
    midi = mido.MidiFile(path)
    notes = [{m.channel for m in t if m.type == "note_on"} for t in midi.tracks]
    assert notes == [set(), {9}, {4}]
    assert read_melody_file(path) == melody_a()
    assert read_clip(path).hits[:, Voice.SNARE].sum() == 4


def test_melody_alone_on_its_channel_and_errors_are_one_line(tmp_path):
    midi = melody_midifile(melody_a(), 90.0, 11)
    assert {m.channel for m in midi.tracks[1] if not m.is_meta} == {11}
    with pytest.raises(MidiFileError, match="cannot write clip: melody channel must lie in 0..15"):
        write_midifile(tmp_path / "x.mid", lambda: lanes_midifile(
            pattern_from_cells({}), melody_a(), 120.0, melody_channel=16))
    (tmp_path / "a-file").write_text("")
    with pytest.raises(MidiFileError, match="cannot write clip"):
        write_midifile(tmp_path / "a-file" / "x.mid", lambda: melody_midifile(melody_a()))
