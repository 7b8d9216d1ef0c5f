"""Feel knobs that keep the playing groove (``WalkSettings.keep``): a turn of intensity or
laid back edits how the groove is played instead of walking to another groove."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from engine.music import attributes as attr_lib  # noqa: E402

FEEL = ("intensity", "laid_back")


@pytest.fixture()
def keeping(gen):
    shipped = gen.walk_settings
    gen.walk_settings = replace(shipped, keep=FEEL)
    yield gen
    gen.walk_settings = shipped


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
    shipped = gen.walk_settings
    kept = {}
    for keep in ((), FEEL):
        gen.walk_settings = replace(shipped, keep=keep)
        try:
            playing, played, picks, *_ = _turn(gen, z, "laid_back", 0.9)
        finally:
            gen.walk_settings = shipped
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
