"""The step grid's edits, without a window."""

from __future__ import annotations

import pytest

from app.grid_edits import MIN_VELOCITY, nudged, toggled
from engine.music.drums import Voice
from engine.music.pattern import Pattern

SNARE = int(Voice.SNARE)


def test_toggle_adds_then_removes_a_hit() -> None:
    added, text = toggled(Pattern.empty(), 4, SNARE)
    assert added.hits[4, SNARE] and added.num_hits == 1 and text == "Add hit"
    removed, text = toggled(added, 4, SNARE)
    assert removed.num_hits == 0 and text == "Remove hit"


def test_nudges_stay_within_a_hits_velocities() -> None:
    p = Pattern.empty().with_hit(4, SNARE, True, velocity=0.5)
    assert nudged(p, 4, SNARE, 0.1).velocities[4, SNARE] == pytest.approx(0.6)
    low = nudged(p, 4, SNARE, -2.0)
    assert low.hits[4, SNARE] and low.velocities[4, SNARE] == pytest.approx(MIN_VELOCITY)
    high = nudged(p, 4, SNARE, 2.0)
    assert high.velocities[4, SNARE] == 1.0
    assert nudged(high, 4, SNARE, 0.1) is None  # already at the top: nothing changes
    assert nudged(p, 5, SNARE, 0.1) is None  # no hit there
