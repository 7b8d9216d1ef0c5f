"""Knob detents (``WalkSettings.anchors``): a turned knob walks to the grooves at its nearest
detent, and the groove moves on from there with the knob, never back."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from engine.generation.generator import Generator  # noqa: E402
from engine.music import attributes as attr_lib  # noqa: E402

KNOB = "density"


def _targets(gen: Generator, rows: int, share: float) -> np.ndarray:
    names = gen.attribute_names
    lo, hi = gen.attribute_ranges[KNOB]
    t = np.full((rows, len(names)), np.nan)
    t[:, names.index(KNOB)] = lo + share * (hi - lo)
    return t


def _grooves(gen: Generator, n: int, seed: int) -> tuple[np.ndarray, int, float, np.ndarray]:
    """``n`` latents drawn as Randomize draws them, the knob's index, a detent step (or an
    eighth of the range) and ``(n,)`` the knob's attribute on each latent's own groove."""
    z = gen.sample_like_data(n, seed=seed)
    names = list(gen.attribute_names)
    k = names.index(KNOB)
    lo, hi = gen.attribute_ranges[KNOB]
    own = attr_lib.compute(np.stack([p.to_array() for p in gen.decode(z, {})]), names)[:, k]
    return z, k, (hi - lo) / 8, own


def test_the_knobs_ship_with_five_chained_detents_the_trend_followed_by_them() -> None:
    from engine.generation.groove_bank import WalkSettings

    shipped = WalkSettings()  # chosen by docs/studies/walk_anchors, then walk_detents
    assert (shipped.anchors, shipped.chain, shipped.trend_at_detents) == (5, True, True)


def test_anchored_targets_step_from_the_playing_groove_in_detents(gen) -> None:
    shipped = gen.walk_settings
    gen.walk_settings = replace(shipped, anchors=5)  # a step is a quarter of the range
    try:
        k = gen.attribute_names.index(KNOB)
        lo, hi = gen.attribute_ranges[KNOB]
        shares = (0.1, 0.2, 0.3, 0.6, 0.9, 0.98, 1.3, 0.02)
        t = np.vstack([_targets(gen, 1, s) for s in shares])
        own = np.full(len(shares), lo + 0.1 * (hi - lo))  # the playing groove at 10 %
        out = gen.anchored_targets(t, k, own)
        # 10 % plus quarters, or an end where that is nearer
        assert np.allclose((out[:, k] - lo) / (hi - lo), [0.1, 0.1, 0.35, 0.6, 0.85, 1.0, 1.0, 0.0])
        others = np.arange(len(gen.attribute_names)) != k
        assert np.isnan(out[:, others]).all() and not np.shares_memory(out, t)
    finally:
        gen.walk_settings = shipped


def test_a_knob_touched_at_its_grooves_value_keeps_the_groove(gen) -> None:
    z, k, step, own = _grooves(gen, 20, 5)  # a step is an eighth: 0.3 of it is nearer than any detent
    for nudge in (0.0, 0.3 * step, -0.3 * step):
        t = np.full((len(z), len(gen.attribute_names)), np.nan)
        t[:, k] = own + nudge
        assert (gen.walk_picks(z, t, turning=KNOB) == -1).all()


def test_within_a_detent_the_groove_stays_and_moves_on_with_the_knob(gen) -> None:
    z, k, step, own = _grooves(gen, 30, 3)
    names = list(gen.attribute_names)
    shipped = gen.walk_settings

    def turned(steps: float) -> tuple[np.ndarray, np.ndarray]:
        t = np.full((len(z), len(names)), np.nan)
        t[:, k] = own - steps * step  # down from each groove: a dense one always has room
        pats = gen.decode(z, {}, targets=t, turning=KNOB)
        return gen.walk_picks(z, t, turning=KNOB), attr_lib.compute(np.stack([p.to_array() for p in pats]),
                                                                     names)[:, k]

    try:
        gen.walk_settings = replace(shipped, anchors=9)
        (pa, da), (pb, db) = turned(0.9), turned(1.1)  # both nearest the first detent down
        assert np.array_equal(pa, pb)  # the same grooves either side of the detent
        assert (db <= da).all() and (db < da).any()  # carried on with the knob, never back
        gen.walk_settings = replace(shipped, anchors=0)  # no detents: every setting walks
        assert not np.array_equal(turned(0.9)[0], turned(1.1)[0])
    finally:
        gen.walk_settings = shipped
