"""Refining the searched codes by gradient, on the shipped melody checkpoint and real melodies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from engine.generation.melody import agreement  # noqa: E402
from engine.music.melody import Melody  # noqa: E402
from training.melody.refine import RefinedSearch  # noqa: E402

CHECKPOINT = Path(__file__).resolve().parents[3] / "checkpoints" / "melody.pt"

# 2-bar windows of validation tunes (the corpus' validation split, windows 3441, 4619 and 5211):
# the posterior mean's greedy decode gets 13, 13 and 14 of their first bar's 16 steps right
MISSED = [
    [28, 1, 28, 29, 26, 1, 26, 1, 33, 1, 34, 1, 36, 1, 31, 1, 33, 1, 29, 1, 28, 1, 24, 1, 33, 1, 34, 1, 36,
     1, 31, 1],
    [23, 1, 1, 25, 26, 1, 1, 28, 30, 1, 32, 1, 33, 1, 1, 30, 28, 1, 1, 25, 21, 1, 1, 25, 28, 1, 1, 1, 26, 1,
     28, 1],
    [18, 1, 30, 1, 28, 1, 26, 1, 28, 1, 16, 1, 16, 1, 26, 1, 18, 1, 26, 1, 21, 1, 26, 1, 19, 1, 26, 1, 18, 1,
     26, 1],
]
# validation window 11, which the mean's decode reproduces
KEPT = [23, 1, 1, 1, 21, 1, 1, 1, 23, 1, 1, 1, 25, 1, 1, 1, 26, 1, 1, 1, 1, 1, 1, 1, 26, 1, 1, 1, 1, 1, 1, 1]


@pytest.fixture(scope="module")
def gen() -> RefinedSearch:
    if not CHECKPOINT.exists():
        pytest.skip("the shipped melody checkpoint is not here")
    return RefinedSearch.load(CHECKPOINT, steps=200)


def _melodies(rows: list[list[int]]) -> list[Melody]:
    return [Melody.from_classes(np.array(r)) for r in rows]


def test_refining_never_loses_agreement_and_reaches_bars_the_search_misses(gen) -> None:
    melodies = _melodies(MISSED)
    x = np.array(MISSED)
    bars = [0, 0, 1]
    gen.steps = 0
    z0, dec0 = gen.search_codes(melodies, bars, candidates=1)  # the posterior means
    s0, exact0 = agreement(dec0[None], x, np.array([np.arange(16), np.arange(16), np.arange(16, 32)]))
    assert not exact0[0, :2].any()  # the first two bars are missed
    gen.steps = 200
    z, dec = gen.refine(melodies, bars, z0)
    s, exact = agreement(dec[None], x, np.array([np.arange(16), np.arange(16), np.arange(16, 32)]))
    assert np.all(s >= s0)
    assert np.all(s[0, :2] > s0[0, :2])
    assert exact[0, :2].all()  # refined until the bar is exact
    # the decodes are the codes' own free-running ones: the melody is never fed
    again = np.stack([m.to_classes() for m in gen.decode_batch(z)])
    assert np.array_equal(dec, again)
    # as search_codes' last step: the same codes
    z2, dec2 = gen.search_codes(melodies, bars, candidates=1)
    assert np.allclose(z2, z) and np.array_equal(dec2, dec)


def test_a_bar_already_reproduced_keeps_its_code(gen) -> None:
    gen.steps = 200
    melodies = _melodies([KEPT])
    mean = gen.encode_batch(melodies)
    z, dec = gen.search_codes(melodies, [0], candidates=1)
    assert np.allclose(z, mean, atol=1e-6)
    assert np.array_equal(dec[0, :16], np.array(KEPT)[:16])
