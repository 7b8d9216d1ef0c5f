"""The differentiable attributes must equal engine.music.attributes on decoded patterns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.music import attributes as exact
from engine.music.drums import Voice
from models import soft_attributes as soft

NAMES = list(exact.ATTRIBUTES)


def _random_batch(rng: np.random.Generator, density: float, batch: int = 48, steps: int = 32):
    hits = rng.random((batch, steps, 9)) < density
    vel = rng.random((batch, steps, 9))
    off = rng.random((batch, steps, 9)) - 0.5
    return hits, vel, off


def test_layers_and_weights_match_engine() -> None:
    assert tuple(exact._TIME_KEEPERS) == soft.TIME_KEEPERS
    assert tuple(exact._DRUM_LAYER) == soft.DRUM_LAYER
    assert tuple(exact._CYMBAL_LAYER) == soft.CYMBAL_LAYER
    assert soft.TIME_KEEPERS == (Voice.CLOSED_HAT, Voice.OPEN_HAT, Voice.RIDE)
    np.testing.assert_array_equal(soft.metrical_weights(16), exact.metrical_weights(16))


@pytest.mark.parametrize("density", [0.0, 0.03, 0.2, 0.6, 1.0])
def test_straight_through_values_equal_the_numpy_attributes(density: float) -> None:
    hits, vel, off = _random_batch(np.random.default_rng(int(density * 100)), density)
    arr = np.concatenate([hits, vel * hits, off * hits], axis=-1)
    logits = torch.from_numpy(np.where(hits, 2.5, -2.5))
    got = soft.compute(soft.straight_through_hits(logits), torch.from_numpy(vel),
                       torch.from_numpy(off), NAMES).numpy()
    np.testing.assert_allclose(got, exact.compute(arr, NAMES), atol=1e-5)


def test_syncopation_is_the_expected_score_for_independent_onsets() -> None:
    rng = np.random.default_rng(3)
    probs = rng.uniform(0.0, 0.5, size=(1, 32, 9))
    draws = rng.random((20000, 32, 9)) < probs
    arr = np.concatenate([draws, np.zeros_like(draws, float), np.zeros_like(draws, float)], -1)
    monte_carlo = exact.syncopation(arr).mean()
    z = torch.zeros(1, 32, 9, dtype=torch.float64)
    expected = soft.syncopation(torch.from_numpy(probs), z, z).item()
    assert expected == pytest.approx(monte_carlo, rel=0.03)


def test_gradients_point_the_right_way() -> None:
    logits = torch.full((1, 32, 9), -1.0, requires_grad=True)
    vel = torch.full((1, 32, 9), 0.5, requires_grad=True)
    attrs = soft.compute(soft.straight_through_hits(logits), vel, torch.zeros(1, 32, 9),
                         ["density", "hat_busyness"])
    attrs.sum().backward()
    assert logits.grad is not None and (logits.grad > 0).all()  # more hits, more of both
    grad_hats = logits.grad[0, :, list(soft.TIME_KEEPERS)].mean()
    grad_kick = logits.grad[0, :, 0].mean()
    assert grad_hats > grad_kick  # hat columns also feed hat_busyness


def test_unknown_attribute_is_refused() -> None:
    z = torch.zeros(1, 32, 9)
    with pytest.raises(ValueError, match="tempo"):
        soft.compute(z, z, z, ["tempo"])
