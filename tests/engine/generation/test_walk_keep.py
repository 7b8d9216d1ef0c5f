"""Feel knobs that keep the playing groove (``WalkSettings.keep``): a turn of intensity or
laid back edits how the groove is played instead of walking to another groove."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("onnxruntime")

from engine.music import attributes as attr_lib  # noqa: E402

FEEL = ("intensity", "laid_back")


@contextmanager
def _keeping(gen, knobs: tuple[str, ...], **settings):
    """``gen`` with ``knobs`` keeping the playing groove (and other walk ``settings``) for a while."""
    shipped = gen.walk_settings
    gen.walk_settings = replace(shipped, keep=knobs, **settings)
    try:
        yield gen
    finally:
        gen.walk_settings = shipped


@pytest.fixture()
def keeping(gen):
    with _keeping(gen, FEEL) as g:
        yield g


def _turn(gen, z, knob: str, share: float, **kw):
    """The patterns and picks of ``knob`` turned to ``share`` of its range from each latent's
    own groove (the other knobs where each groove has them)."""
    names = list(gen.attribute_names)
    k = names.index(knob)
    lo, hi = gen.attribute_ranges[knob]
    playing = np.stack([p.to_array() for p in gen.decode(z, {})])
    own = attr_lib.compute(playing, names)
    targets = own.copy()
    targets[:, k] = lo + share * (hi - lo)
    pats = gen.decode(z, {}, targets=targets, turning=knob, **kw)
    picks = gen.walk_picks(z, targets, turning=knob)
    return playing, np.stack([p.to_array() for p in pats]), picks, targets[:, k], k, hi - lo


@pytest.mark.parametrize("knob", FEEL)
@pytest.mark.parametrize("share", [0.1, 0.9])
def test_a_feel_knob_keeps_the_groove_and_meets_its_setting(keeping, knob: str, share: float) -> None:
    z = keeping.sample_like_data(12, seed=5)
    playing, played, picks, goal, k, span = _turn(keeping, z, knob, share)
    assert np.all(picks == -1)  # no walk: the playing groove itself
    measured = attr_lib.compute(played, list(keeping.attribute_names))
    assert np.all(np.abs(measured[:, k] - goal) <= 0.03 * span)
    before, after = playing[..., :9] > 0.5, played[..., :9] > 0.5
    kept = (before & after).sum() / before.sum()
    assert kept >= 0.9, f"only {kept:.2f} of the hits kept"


def test_the_walk_trades_more_hits_than_a_kept_feel_knob(gen) -> None:
    z = gen.sample_like_data(12, seed=6)
    kept = {}
    for keep in ((), FEEL):
        with _keeping(gen, keep):
            playing, played, picks, *_ = _turn(gen, z, "laid_back", 0.9)
        kept[keep] = ((playing[..., :9] > 0.5) != (played[..., :9] > 0.5)).sum()
        if not keep:
            assert (picks >= 0).any()  # walking: some grooves are swapped for others
    assert kept[FEEL] < kept[()]


def test_other_knobs_still_walk(keeping) -> None:
    z = keeping.sample_like_data(12, seed=7)
    *_, picks, _, _, _ = _turn(keeping, z, "density", 0.9)
    assert (picks >= 0).any()


def test_a_sampled_feel_knob_meets_its_setting(keeping) -> None:
    z = keeping.sample_like_data(8, seed=8)
    _, played, _, goal, k, span = _turn(keeping, z, "intensity", 0.85, temperature=0.8, seed=3)
    measured = attr_lib.compute(played, list(keeping.attribute_names))
    assert np.all(np.abs(measured[:, k] - goal) <= 0.03 * span)


def test_a_kept_knob_edits_the_groove_another_knob_set(keeping) -> None:
    """Density turned first (a walk), then intensity kept: the dense groove is the one
    edited, not the latent's own."""
    names = list(keeping.attribute_names)
    z = keeping.sample_like_data(10, seed=9)
    trend = keeping.data_trend
    own = attr_lib.compute(np.stack([p.to_array() for p in keeping.decode(z, {})]), names)

    def turned(knob: str, share: float, targets: np.ndarray) -> np.ndarray:
        """The app's targets: ``knob`` at ``share``, the knobs nobody set following it."""
        j = names.index(knob)
        lo, hi = keeping.attribute_ranges[knob]
        value = np.full(len(z), lo + share * (hi - lo))
        out = targets + np.where(np.isnan(targets), 0.0, trend.shift(j, own[:, j], value))
        out[:, j] = value
        return out

    k = names.index("density")
    span = np.subtract(*keeping.attribute_ranges["density"][::-1])
    first = turned("density", 0.9, own)
    dense = np.stack([p.to_array() for p in keeping.decode(z, {}, targets=first, turning="density")])
    dense_picks = keeping.walk_picks(z, first, turning="density")
    goal = first[:, k]
    held = own.copy()
    held[:, k] = goal  # density stays where it was set
    targets = turned("intensity", 0.8, held)
    targets[:, k] = goal
    i = names.index("intensity")
    played = np.stack([p.to_array() for p in keeping.decode(z, {}, targets=targets, turning="intensity")])
    measured = attr_lib.compute(played, names)
    # the decoder's carry moves a few hits; the latent's own groove lies far below
    assert np.median(np.abs(measured[:, k] - goal)) <= 0.1 * span
    far = np.abs(own[:, k] - goal) > 0.25 * span
    assert far.sum() >= 5
    assert np.all(np.abs(measured[far, k] - goal[far]) < np.abs(own[far, k] - goal[far]))
    assert np.array_equal(keeping.walk_picks(z, targets, turning="intensity"), dense_picks)
    assert np.mean(measured[:, i]) > np.mean(attr_lib.compute(dense, names)[:, i])


HITS = ("density", "hat_busyness")


@pytest.fixture()
def keeping_hits(gen):
    with _keeping(gen, HITS) as g:
        yield g


@pytest.mark.parametrize("knob", HITS)
def test_a_kept_hit_knob_adds_and_removes_the_grooves_hits_one_order(keeping_hits, knob: str) -> None:
    z = keeping_hits.sample_like_data(12, seed=10)
    playing, low, picks, goal_low, k, span = _turn(keeping_hits, z, knob, 0.1)
    _, high, _, goal_high, _, _ = _turn(keeping_hits, z, knob, 0.9)
    assert np.all(picks == -1)
    names = list(keeping_hits.attribute_names)
    for played, goal in ((low, goal_low), (high, goal_high)):
        assert np.all(np.abs(attr_lib.compute(played, names)[:, k] - goal) <= 0.03 * span)
    before, lo_hits, hi_hits = (a[..., :9] > 0.5 for a in (playing, low, high))
    # nested: every hit of the sparse version plays in the groove and in the busy version
    # where the groove lies between them
    between = (attr_lib.compute(playing, names)[:, k] >= goal_low) & (attr_lib.compute(playing, names)[:, k]
                                                                      <= goal_high)
    assert between.any()
    assert not (lo_hits & ~before)[between].any()
    assert not (before & ~hi_hits)[between].any()


def test_a_sampled_kept_hit_knob_edits_the_sampled_groove(keeping_hits) -> None:
    z = keeping_hits.sample_like_data(8, seed=11)
    _, greedy, _, goal, k, span = _turn(keeping_hits, z, "density", 0.7)
    _, sampled, _, _, _, _ = _turn(keeping_hits, z, "density", 0.7, temperature=1.2, seed=4)
    measured = attr_lib.compute(sampled, list(keeping_hits.attribute_names))
    assert np.all(np.abs(measured[:, k] - goal) <= 0.03 * span)
    assert not np.array_equal(greedy[..., :9] > 0.5, sampled[..., :9] > 0.5)


def test_hits_shared_by_voice_thin_the_hats_before_the_backbeat_as_the_data_does(gen) -> None:
    """Density turned down with the hits shared by voice plays the voice mix the training
    grooves at that density play: fewer hats and more snare than the decoder's order alone."""
    from engine.music.drums import Voice

    z = gen.sample_like_data(40, seed=12)
    mixes = {}
    for by_voice in (False, True):
        with _keeping(gen, HITS, hits_by_voice=by_voice):
            _, played, *_ = _turn(gen, z, "density", 0.1)
        mixes[by_voice] = (played[..., :9] > 0.5).sum(axis=1).mean(axis=0)
    assert mixes[True][Voice.CLOSED_HAT] < mixes[False][Voice.CLOSED_HAT] - 1.0
    assert mixes[True][Voice.SNARE] > mixes[False][Voice.SNARE]


def test_a_kept_hit_knob_can_hold_the_knobs_nobody_set(gen) -> None:
    """With ``hits_hold_others`` the feel knobs land on their targets and hat busyness near
    its own while density turns; without it they drift with the hits edited."""
    names = list(gen.attribute_names)
    z = gen.sample_like_data(16, seed=13)
    misses = {}
    for hold in (False, True):
        with _keeping(gen, HITS, hits_hold_others=hold):
            _, played, _, goal, k, span = _turn(gen, z, "density", 0.15)
        own = attr_lib.compute(np.stack([p.to_array() for p in gen.decode(z, {})]), names)
        measured = attr_lib.compute(played, names)
        assert np.all(np.abs(measured[:, k] - goal) <= 0.03 * span)
        misses[hold] = np.abs(measured - own).mean(axis=0)
    for name in ("intensity", "laid_back", "hat_busyness"):
        j = names.index(name)
        assert misses[True][j] < misses[False][j]
    # the decoded groove's expression spread is on top of what the edit sets: near, not equal
    assert misses[True][names.index("laid_back")] < 0.02


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10 ** 6), knob=st.sampled_from([*HITS, *FEEL]),
       set_before=st.lists(st.sampled_from([*HITS, *FEEL, "syncopation"]), max_size=2, unique=True),
       shares=st.lists(st.floats(0.0, 1.0), min_size=5, max_size=5), keep_all=st.booleans())
def test_any_kept_turn_meets_its_knob_whatever_was_set_before(gen, seed, knob, set_before, shares,
                                                              keep_all) -> None:
    """A kept knob turned after any knobs were set (held or not said) meets its own setting,
    on every row, with or without the other kept knobs."""
    names = list(gen.attribute_names)
    kept = (*HITS, *FEEL) if keep_all else ((knob,))
    z = gen.sample_like_data(3, seed=seed % 1000)
    own = attr_lib.compute(np.stack([p.to_array() for p in gen.decode(z, {})]), names)
    targets = own.copy()
    for name in set_before:
        lo, hi = gen.attribute_ranges[name]
        targets[:, names.index(name)] = lo + shares[names.index(name)] * (hi - lo)
    k = names.index(knob)
    lo, hi = gen.attribute_ranges[knob]
    targets[:, k] = lo + shares[k] * (hi - lo)
    held = [n for n in set_before if n != knob]
    with _keeping(gen, kept):
        for given_held in (held, None):
            played = np.stack([p.to_array() for p in gen.decode(z, {}, targets=targets, turning=knob,
                                                                 held=given_held)])
            measured = attr_lib.compute(played, names)
            assert played.shape == (3, gen.steps, 27)
            assert np.all(np.abs(measured[:, k] - targets[:, k]) <= 0.03 * (hi - lo) + 1e-9), (
                measured[:, k], targets[:, k])
