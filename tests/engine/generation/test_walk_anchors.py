"""Knob detents (``WalkSettings.anchors``): a turned knob walks to the grooves at its nearest
detent, and the groove moves on from there with the knob, never back."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from engine.generation.generator import Generator  # noqa: E402
from engine.music import attributes as attr_lib  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[3] / "checkpoints" / "default.pt"
KNOB = "density"


@pytest.fixture(scope="module")
def gen() -> Generator:
    return Generator.from_checkpoint(SHIPPED, backend="onnx")


def _targets(gen: Generator, rows: int, share: float) -> np.ndarray:
    names = gen.attribute_names
    lo, hi = gen.attribute_ranges[KNOB]
    t = np.full((rows, len(names)), np.nan)
    t[:, names.index(KNOB)] = lo + share * (hi - lo)
    return t


def test_anchored_targets_round_the_turned_knob_to_its_nearest_detent(gen) -> None:
    gen.walk_settings = replace(gen.walk_settings, anchors=5)  # 0, 25, 50, 75, 100 %
    try:
        k = gen.attribute_names.index(KNOB)
        lo, hi = gen.attribute_ranges[KNOB]
        t = np.vstack([_targets(gen, 1, s) for s in (0.1, 0.2, 0.6, 0.95, 1.3)])
        out = gen.anchored_targets(t, k)
        assert np.allclose((out[:, k] - lo) / (hi - lo), [0.0, 0.25, 0.5, 1.0, 1.0])
        others = np.arange(len(gen.attribute_names)) != k
        assert np.isnan(out[:, others]).all() and not np.shares_memory(out, t)
    finally:
        gen.walk_settings = replace(gen.walk_settings, anchors=0)


def test_within_a_detent_the_groove_stays_and_moves_on_with_the_knob(gen) -> None:
    z = gen.sample_like_data(30, seed=3)
    names = list(gen.attribute_names)
    k = names.index(KNOB)

    def turned(share: float) -> tuple[np.ndarray, np.ndarray]:
        t = _targets(gen, len(z), share)
        pats = gen.decode(z, {}, targets=t, turning=KNOB)
        return gen.walk_picks(z, t, turning=KNOB), attr_lib.compute(np.stack([p.to_array() for p in pats]),
                                                                     names)[:, k]

    shipped = gen.walk_settings
    try:
        gen.walk_settings = replace(shipped, anchors=5)
        (pa, da), (pb, db) = turned(0.20), turned(0.30)  # both nearest the 25 % detent
        assert np.array_equal(pa, pb)  # the same grooves either side of the detent
        assert (db >= da).all() and (db > da).any()  # carried on with the knob, never back
        gen.walk_settings = shipped  # as it ships every setting walks: other grooves
        assert not np.array_equal(turned(0.20)[0], turned(0.30)[0])
    finally:
        gen.walk_settings = shipped
