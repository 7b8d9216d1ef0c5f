"""Hits added or removed in the decoder's order (``engine.generation.hit_edit``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.generation.hit_edit import cell_levels, edit_hits, sweep_inputs
from engine.music import attributes as attr_lib
from engine.music.drums import Voice
from models.vocabulary import TIME_KEEPERS

T, V = 32, 9


def _groove(seed: int, share: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    hits = rng.random((T, V)) < share
    return hits, rng.random((T, V))


def _edit(hits, levels, knob, goal, own_voices=True, fill=0.9, ratios=None):
    b = hits[None]
    vel = np.full(b.shape, 0.5, np.float32)
    off = np.zeros(b.shape, np.float32)
    out, v, o = edit_hits(b, vel, off, levels[None], np.full(b.shape, fill), np.full(b.shape, 0.1),
                          knob, np.array([goal]), own_voices, None if ratios is None else ratios[None])
    return out[0], v[0], o[0]


def _attribute(hits: np.ndarray, name: str) -> float:
    arr = np.concatenate([hits, hits * 0.5, hits * 0.0], axis=-1).astype(np.float32)[None]
    return float(attr_lib.ATTRIBUTES[name](arr)[0])


@pytest.mark.parametrize("goal", [0.0, 0.25, 0.8, 1.5, 3.0])
def test_density_is_met_to_one_onset(goal: float) -> None:
    hits, levels = _groove(1)
    out, *_ = _edit(hits, levels, "density", goal)
    assert abs(_attribute(out, "density") - goal) <= 0.5 / T + 1e-9


def test_a_turn_down_removes_the_lowest_levels_first() -> None:
    hits, levels = _groove(2, 0.4)
    out, *_ = _edit(hits, levels, "density", hits.sum() / T / 2)
    removed, kept = levels[hits & ~out], levels[out]
    assert not (out & ~hits).any()
    assert removed.max() <= kept.min()


def test_a_turn_up_adds_the_highest_levels_of_the_grooves_own_voices_first() -> None:
    hits = np.zeros((T, V), bool)
    hits[::8, Voice.KICK] = True
    hits[4::8, Voice.SNARE] = True
    levels = np.full((T, V), 0.1)
    levels[:, Voice.CRASH] = 0.9  # the decoder's favourite, but not a voice this groove plays
    levels[2::4, Voice.KICK] = 0.6
    out, vel, off = _edit(hits, levels, "density", (hits.sum() + 8) / T)
    added = out & ~hits
    assert added.sum() == 8
    assert added[:, Voice.KICK].sum() == 8 and not out[:, Voice.CRASH].any()
    assert np.all(vel[added] == np.float32(0.9)) and np.all(off[added] == np.float32(0.1))
    assert np.all(vel[hits] == np.float32(0.5))  # hits kept keep how they were played
    free, *_ = _edit(hits, levels, "density", (hits.sum() + 8) / T, own_voices=False)
    assert free[:, Voice.CRASH].sum() == 8


def test_a_target_beyond_the_grid_gives_the_nearest_it_can() -> None:
    hits, levels = _groove(3)
    out, *_ = _edit(hits, levels, "density", 20.0, own_voices=False)
    assert out.all()
    out, *_ = _edit(hits, levels, "density", -1.0)
    assert not out.any()


@pytest.mark.parametrize("goal", [0.0, 0.3, 0.5, 0.9, 1.0])
def test_hat_busyness_is_met_on_the_time_voices_alone(goal: float) -> None:
    hits, levels = _groove(4, 0.3)
    hits[:, Voice.RIDE] = False
    out, *_ = _edit(hits, levels, "hat_busyness", goal)
    assert abs(_attribute(out, "hat_busyness") - goal) <= 0.5 / T + 1e-9
    others = [v for v in range(V) if v not in TIME_KEEPERS]
    assert np.array_equal(out[:, others], hits[:, others])
    if goal > _attribute(hits, "hat_busyness"):
        assert not out[:, Voice.RIDE].any()  # the groove keeps time on its hats


def test_a_row_without_a_target_is_left_as_it_is() -> None:
    hits, levels = _groove(5)
    b = np.stack([hits, hits])
    vel = np.full(b.shape, 0.5, np.float32)
    out, v, _ = edit_hits(b, vel, vel * 0, np.stack([levels, levels]), vel, vel, "density",
                          np.array([np.nan, 0.1]))
    assert np.array_equal(out[0], hits) and out[1].sum() < hits.sum()


def test_only_hit_knobs_are_edited() -> None:
    hits, levels = _groove(6)
    with pytest.raises(ValueError, match="not a hit knob"):
        _edit(hits, levels, "intensity", 0.5)


def test_levels_are_the_mean_probability_over_the_sweep() -> None:
    probs = np.stack([np.zeros((T, V)), np.ones((T, V))])[None]
    assert np.allclose(cell_levels(probs), 0.5)
    assert np.allclose(sweep_inputs(0.2, 1.8, 5), [0.2, 0.6, 1.0, 1.4, 1.8])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10 ** 6), a=st.floats(0.0, 4.0), b=st.floats(0.0, 4.0),
       knob=st.sampled_from(["density", "hat_busyness"]), own_voices=st.booleans())
def test_a_lower_setting_sounds_a_subset_of_a_higher_ones_cells(seed, a, b, knob, own_voices) -> None:
    """The Grids property: turning down and up again comes back to the same groove."""
    hits, levels = _groove(seed)
    lo, hi = sorted((a, b)) if knob == "density" else sorted((a / 4, b / 4))
    low, *_ = _edit(hits, levels, knob, lo, own_voices)
    high, *_ = _edit(hits, levels, knob, hi, own_voices)
    assert not (low & ~high).any()
    same, *_ = _edit(hits, levels, knob, _attribute(hits, knob), own_voices)
    assert np.array_equal(same, hits)


def test_the_voice_curve_reads_the_datas_hits_per_voice_along_density() -> None:
    from engine.generation.hit_edit import VoiceCurve

    density = np.linspace(0.2, 2.0, 240)
    hats = 16.0 - 4.0 * density  # denser grooves here play fewer hats and more snare
    snare = 2.0 + 8.0 * density
    curve = VoiceCurve(density, np.stack([snare, hats], axis=1))
    assert np.allclose(curve.at(1.0), [10.0, 12.0], atol=0.1)
    assert np.allclose(curve.at(5.0), curve.at(2.5))  # flat beyond the data
    ratio = curve.ratio(0.5, 1.5)
    assert ratio[0] > 1.0 > ratio[1]


def test_hits_shared_by_voice_follow_the_ratio_and_meet_the_density() -> None:
    hits = np.zeros((T, V), bool)
    hits[::2, Voice.CLOSED_HAT] = True  # 16 hats
    hits[4::8, Voice.SNARE] = True      # 4 snares
    hits[::8, Voice.KICK] = True        # 4 kicks
    levels = np.random.default_rng(7).random((T, V))
    ratio = np.ones(V)
    ratio[Voice.CLOSED_HAT] = 0.25  # the data's sparser grooves thin the hats, keep the backbeat
    out, *_ = _edit(hits, levels, "density", 12 / T, ratios=ratio)
    assert out.sum() == 12 and not (out & ~hits).any()
    assert out[:, Voice.SNARE].sum() == 4 and out[:, Voice.KICK].sum() == 4
    assert out[:, Voice.CLOSED_HAT].sum() == 4
    plain, *_ = _edit(hits, levels, "density", 12 / T)
    assert plain.sum() == 12
    # up: the voices' hits grow as the ratio says, each voice's cells nested
    up = np.ones(V)
    up[Voice.SNARE] = 3.0
    more, *_ = _edit(hits, levels, "density", 32 / T, ratios=up)
    assert more.sum() == 32 and not (hits & ~more).any()
    assert more[:, Voice.SNARE].sum() > 2 * hits[:, Voice.SNARE].sum()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10 ** 6), goal=st.floats(0.0, 9.0),
       ratio=st.lists(st.floats(0.0, 4.0), min_size=V, max_size=V))
def test_hits_shared_by_voice_always_meet_the_density_they_can(seed, goal, ratio) -> None:
    hits, levels = _groove(seed)
    out, *_ = _edit(hits, levels, "density", goal, own_voices=False, ratios=np.array(ratio))
    assert abs(out.sum() - np.clip(np.rint(goal * T), 0, T * V)) == 0
    again, *_ = _edit(hits, levels, "density", goal, own_voices=False, ratios=np.array(ratio))
    assert np.array_equal(out, again)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10 ** 6), goal=st.floats(0.2, 3.0), hat=st.floats(0.0, 1.0),
       knob=st.sampled_from(["density", "hat_busyness"]))
def test_the_other_hit_knob_is_held_where_the_turned_one_allows(seed, goal, hat, knob) -> None:
    hits, levels = _groove(seed, 0.15)
    b = hits[None]
    vel = np.full(b.shape, 0.5, np.float32)
    turned, held = (goal, hat) if knob == "density" else (hat, goal)
    other = "hat_busyness" if knob == "density" else "density"
    out, *_ = edit_hits(b, vel, vel, levels[None], vel, vel, knob, np.array([turned]),
                        other=np.array([held]))
    assert abs(_attribute(out[0], knob) - turned) <= 0.5 / T + 1e-9  # the turned knob is met
    free, *_ = edit_hits(b, vel, vel, levels[None], vel, vel, knob, np.array([turned]))
    # the other knob lies at least as near its target as without holding it, and on it
    # whenever the turned knob leaves room
    assert abs(_attribute(out[0], other) - held) <= abs(_attribute(free[0], other) - held) + 0.5 / T + 1e-9


def test_density_held_around_the_hat_steps_keeps_them() -> None:
    hits, levels = _groove(8, 0.2)
    steps = hits[:, list(TIME_KEEPERS)].any(axis=1)
    out = _edit(hits, levels, "density", 2.0, own_voices=False)[0]
    b = hits[None]
    vel = np.full(b.shape, 0.5, np.float32)
    held, *_ = edit_hits(b, vel, vel, levels[None], vel, vel, "density", np.array([2.0]),
                         own_voices=False, other=np.array([steps.mean()]))
    assert abs(held[0].sum() - 64) == 0 and out.sum() == 64
    assert np.array_equal(held[0][:, list(TIME_KEEPERS)].any(axis=1), steps)  # hat busyness kept
