"""The GM drum table and the note map."""

import pytest

from engine.music.drums import GM_NOTE_MAP, NOTE_MAP_PRESETS, PITCH_TO_VOICE, NoteMap, Voice, voice_for_pitch


def test_every_gm_drum_pitch_maps_to_a_voice():
    for pitch in range(35, 82):
        assert voice_for_pitch(pitch) is not None, pitch


def test_known_pitches():
    assert voice_for_pitch(36) is Voice.KICK and voice_for_pitch(35) is Voice.KICK
    assert voice_for_pitch(38) is Voice.SNARE and voice_for_pitch(40) is Voice.SNARE
    assert voice_for_pitch(42) is Voice.CLOSED_HAT and voice_for_pitch(44) is Voice.CLOSED_HAT
    assert voice_for_pitch(46) is Voice.OPEN_HAT
    assert voice_for_pitch(49) is Voice.CRASH and voice_for_pitch(51) is Voice.RIDE
    assert voice_for_pitch(0) is None and voice_for_pitch(100) is None


def test_default_note_map_plays_back_onto_its_own_voice():
    for voice in Voice:
        assert PITCH_TO_VOICE[GM_NOTE_MAP.note(voice)] is voice
    for preset in NOTE_MAP_PRESETS.values():
        assert len(set(preset.notes)) == len(Voice)


def test_note_map_edit_and_json():
    edited = GM_NOTE_MAP.with_note(Voice.KICK, 35)
    assert edited.note(Voice.KICK) == 35 and GM_NOTE_MAP.note(Voice.KICK) == 36
    assert NoteMap.from_json(edited.to_json()) == edited
    with pytest.raises(ValueError):
        NoteMap((36,) * 8)
    with pytest.raises(ValueError):
        GM_NOTE_MAP.with_note(Voice.KICK, 128)
    with pytest.raises(ValueError):
        NoteMap.from_json("{not json")
    # a hand-edited file: no int(inf) overflow, no 36.0 or true taken for a note
    for notes in ("[1e999, 38, 42, 46, 43, 47, 50, 49, 51]", "[36.0, 38, 42, 46, 43, 47, 50, 49, 51]",
                  "[true, 38, 42, 46, 43, 47, 50, 49, 51]", "7"):
        with pytest.raises(ValueError, match="not a note map"):
            NoteMap.from_json(f'{{"notes": {notes}}}')
