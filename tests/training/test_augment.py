"""training.augment: voice swaps move whole parts and leave every attribute unchanged."""

from __future__ import annotations

import numpy as np
import torch

from engine.music import attributes
from engine.music.drums import NUM_VOICES, Voice
from training.augment import augment_batch, voice_orders


def _random_batch(n: int = 64, steps: int = 32, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    hits = (rng.random((n, steps, NUM_VOICES)) < 0.3).astype(np.float32)
    vel = rng.random((n, steps, NUM_VOICES)).astype(np.float32) * hits
    off = (rng.random((n, steps, NUM_VOICES)).astype(np.float32) - 0.5) * hits
    return torch.from_numpy(np.concatenate([hits, vel, off], axis=2))


def test_every_attribute_is_unchanged_by_the_swaps() -> None:
    x = _random_batch()
    out = augment_batch(x, np.random.default_rng(1), ride_swap=1.0, tom_shuffle=1.0, bar_rotate=1.0)
    assert not torch.equal(out, x)  # the batch did change ...
    names = tuple(attributes.ATTRIBUTES)
    np.testing.assert_allclose(attributes.compute(out.numpy(), names),
                               attributes.compute(x.numpy(), names), atol=1e-12)  # ... its knobs not


def test_ride_swap_moves_hit_velocity_and_offset_together() -> None:
    x = _random_batch(n=4)
    out = augment_batch(x, np.random.default_rng(0), ride_swap=1.0, tom_shuffle=0.0)
    hat, ride = int(Voice.CLOSED_HAT), int(Voice.RIDE)
    for channel in range(3):
        c = channel * NUM_VOICES
        assert torch.equal(out[..., c + hat], x[..., c + ride])
        assert torch.equal(out[..., c + ride], x[..., c + hat])
        assert torch.equal(out[..., c + int(Voice.KICK)], x[..., c + int(Voice.KICK)])


def test_tom_orders_are_permutations_of_the_toms_only() -> None:
    toms = {int(Voice.LOW_TOM), int(Voice.MID_TOM), int(Voice.HIGH_TOM)}
    orders = voice_orders(np.zeros(5, bool), np.arange(5))
    assert len({tuple(o) for o in orders}) == 5
    for order in orders:
        assert sorted(order) == list(range(NUM_VOICES))
        moved = {v for v, src in enumerate(order) if v != src}
        assert moved and moved <= toms


def test_probability_zero_returns_the_batch_untouched_and_rows_are_drawn_independently() -> None:
    x = _random_batch(n=400)
    assert augment_batch(x, np.random.default_rng(0), 0.0, 0.0) is x
    out = augment_batch(x, np.random.default_rng(0), ride_swap=0.25, tom_shuffle=0.0)
    changed = (out != x).flatten(1).any(dim=1).float().mean().item()
    assert 0.15 < changed < 0.35


def test_bar_rotation_swaps_the_two_bars() -> None:
    x = _random_batch(n=3)
    out = augment_batch(x, np.random.default_rng(0), 0.0, 0.0, bar_rotate=1.0, steps_per_bar=16)
    assert torch.equal(out[:, :16], x[:, 16:]) and torch.equal(out[:, 16:], x[:, :16])
