"""Feel knobs met by editing how a groove is played (:mod:`engine.generation.expression_edit`)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.generation.expression_edit import MAX_OFFSET, MIN_VELOCITY, meet_feel
from engine.music import attributes as attr_lib


def _batch(seed: int, rows: int = 6, steps: int = 32, voices: int = 9, share: float = 0.3):
    rng = np.random.default_rng(seed)
    hits = rng.random((rows, steps, voices)) < share
    vel = rng.uniform(0.1, 0.9, (rows, steps, voices))
    off = rng.uniform(-0.25, 0.25, (rows, steps, voices))
    return hits, vel, off


def _measure(hits, vel, off, knob: str) -> np.ndarray:
    h = hits.astype(np.float64)
    arr = np.concatenate([h, vel * h, off * h], axis=2)
    return getattr(attr_lib, knob)(arr)


def test_intensity_meets_the_knob_and_keeps_the_accents() -> None:
    hits, vel, off = _batch(0)
    goal = np.linspace(0.2, 0.75, len(hits))
    new_vel, new_off = meet_feel(hits, vel, off, "intensity", goal)
    assert np.allclose(_measure(hits, new_vel, off, "intensity"), goal, atol=1e-6)
    assert np.array_equal(new_off, off)  # the timing is not touched
    for b in range(len(hits)):  # louder hits stay louder: the accents keep their order
        before, after = vel[b][hits[b]], new_vel[b][hits[b]]
        order = np.argsort(before, kind="stable")
        assert np.all(np.diff(after[order]) >= -1e-12)
    assert np.array_equal(new_vel[~hits], vel[~hits])  # cells without a hit are left alone


def test_laid_back_shifts_every_hit_alike() -> None:
    hits, vel, off = _batch(1)
    goal = np.linspace(-0.2, 0.2, len(hits))
    new_vel, new_off = meet_feel(hits, vel, off, "laid_back", goal)
    assert np.allclose(_measure(hits, vel, new_off, "laid_back"), goal, atol=1e-6)
    assert np.array_equal(new_vel, vel)
    for b in range(len(hits)):  # no clipping here: one shift, the push and drag kept
        shift = new_off[b][hits[b]] - off[b][hits[b]]
        assert np.ptp(shift) < 1e-9
        assert np.isclose(shift[0], goal[b] - _measure(hits[b:b + 1], vel[b:b + 1], off[b:b + 1],
                                                         "laid_back")[0])


def test_unset_rows_rows_without_hits_and_out_of_reach_targets() -> None:
    hits, vel, off = _batch(2, rows=4)
    hits[1] = False
    goal = np.array([np.nan, 0.5, 5.0, -5.0])
    new_vel, _ = meet_feel(hits, vel, off, "intensity", goal)
    assert np.array_equal(new_vel[:2], vel[:2])              # no target / no hit: as it was
    assert np.allclose(new_vel[2][hits[2]], 1.0)             # as loud as a hit goes
    assert np.allclose(new_vel[3][hits[3]], MIN_VELOCITY)    # quiet, still sounding
    _, new_off = meet_feel(hits, vel, off, "laid_back", np.array([np.nan, 0.0, 3.0, -3.0]))
    assert np.allclose(new_off[2][hits[2]], MAX_OFFSET) and np.allclose(new_off[3][hits[3]], -MAX_OFFSET)


def test_only_feel_knobs_are_edited() -> None:
    hits, vel, off = _batch(3)
    with pytest.raises(ValueError, match="not a feel knob"):
        meet_feel(hits, vel, off, "density", np.zeros(len(hits)))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), share=st.floats(0.02, 0.9), goal=st.floats(0.02, 0.98),
       shift=st.floats(-0.45, 0.45))
def test_any_groove_meets_a_reachable_setting(seed: int, share: float, goal: float, shift: float) -> None:
    hits, vel, off = _batch(seed, rows=1, share=share)
    if not hits.any():
        hits[0, 0, 0] = True
    new_vel, _ = meet_feel(hits, vel, off, "intensity", np.array([goal]))
    assert abs(_measure(hits, new_vel, off, "intensity")[0] - goal) < 1e-6
    _, new_off = meet_feel(hits, vel, off, "laid_back", np.array([shift]))
    assert abs(_measure(hits, vel, new_off, "laid_back")[0] - shift) < 1e-6


def test_the_switches_add_the_knobs_the_model_has_to_the_shipped_ones() -> None:
    from engine.generation.expression_edit import kept_knobs

    names = ("density", "syncopation", "intensity", "laid_back")
    assert kept_knobs((), names, False) == ()
    assert kept_knobs((), names, True) == ("intensity", "laid_back")
    assert kept_knobs((), names, False, True) == ("density",)  # no hat busyness in this model
    assert kept_knobs(("laid_back",), names, True, True) == ("laid_back", "intensity", "density")
