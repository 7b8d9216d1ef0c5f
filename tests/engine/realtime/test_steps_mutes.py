"""Muted voices play no note: in the step logic, the scheduler's MIDI and the rendered audio."""

from __future__ import annotations

import numpy as np
import pytest

from engine.audio.render import render
from engine.music.drums import Voice
from engine.music.voice_mutes import VoiceMutes
from engine.realtime.scheduler import Scheduler
from engine.realtime.steps import Controls, notes_for_step
from tests.support.patterns import pattern_from_cells

PATTERN = pattern_from_cells({(0, Voice.KICK): (0.9, 0.0), (0, Voice.CLOSED_HAT): (0.7, -0.1),
                              (4, Voice.SNARE): (0.8, 0.05)})


def test_controls_take_the_silenced_set_and_check_it() -> None:
    c = Controls(muted_voices=VoiceMutes(soloed=frozenset({Voice.KICK})).silenced())
    assert [e.voice for e in notes_for_step(PATTERN, 0, c)] == [Voice.KICK]
    assert notes_for_step(PATTERN, 4, c) == ()
    assert Controls(muted_voices=[1, 2]).muted_voices == frozenset({1, 2})
    with pytest.raises(ValueError, match="0..8"):
        Controls(muted_voices=frozenset({12}))


def test_the_scheduler_sends_no_note_of_a_muted_voice() -> None:
    sched = Scheduler(Controls(muted_voices=frozenset({Voice.CLOSED_HAT})), clock_out=False)
    sched.set_pattern(PATTERN)
    sched.start(0)
    sent = sched.due(2_000_000_000)
    notes = {m.data[1] for m in sent if m.kind == "on"}
    assert notes == {36, 38}  # kick and snare, no closed hat (42)
    sched.set_controls(Controls(), 2_000_000_000)
    later = sched.due(4_000_000_000)
    assert 42 in {m.data[1] for m in later if m.kind == "on"}


def test_muted_voices_are_silent_in_the_rendered_audio_too() -> None:
    full = render(PATTERN, Controls(), 2, normalize=False)
    muted = render(PATTERN, Controls(muted_voices=frozenset({Voice.KICK, Voice.CLOSED_HAT})), 2,
                   normalize=False)
    only_snare = render(pattern_from_cells({(4, Voice.SNARE): (0.8, 0.05)}), Controls(), 2, normalize=False)
    assert np.array_equal(muted, only_snare) and not np.array_equal(full, muted)
