"""Mute and solo resolve to the voices that play no note."""

from __future__ import annotations

import pytest

from engine.music.drums import NUM_VOICES, Voice
from engine.music.voice_mutes import VoiceMutes


def test_mute_and_solo_like_a_mixing_desk() -> None:
    m = VoiceMutes()
    assert m.silenced() == frozenset()
    m = m.toggle_mute(Voice.SNARE)
    assert m.silenced() == {Voice.SNARE}
    m = m.toggle_solo(Voice.KICK).toggle_solo(Voice.SNARE)
    # soloed kick and snare: everything else silent, and the muted snare stays muted
    assert m.silenced() == frozenset(range(NUM_VOICES)) - {Voice.KICK}
    m = m.toggle_solo(Voice.KICK).toggle_solo(Voice.SNARE).toggle_mute(Voice.SNARE)
    assert m == VoiceMutes()


def test_bad_voices_and_old_settings() -> None:
    with pytest.raises(ValueError, match="0..8"):
        VoiceMutes(frozenset({9}))
    with pytest.raises(ValueError, match="0..8"):
        VoiceMutes(soloed=frozenset({True}))
    m = VoiceMutes(frozenset({1, 2}), frozenset({0}))
    assert VoiceMutes.from_json(m.to_json()) == m
    assert VoiceMutes.from_json({"muted": [42]}) == VoiceMutes()
    assert VoiceMutes.from_json(None) == VoiceMutes()
