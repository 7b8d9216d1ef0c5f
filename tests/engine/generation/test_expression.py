"""Expression: the spread of velocities and micro-timing given back to decoded grooves."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import CheckpointError
from engine.generation.expression import Expression, fit, within_spread
from engine.music import attributes as attr_lib
from tests.support.tiny_checkpoint import synthetic_patterns


def _narrowed(arrays: np.ndarray, velocity: float, timing: float) -> np.ndarray:
    """``arrays`` with every groove's velocities and offsets pulled toward their mean."""
    return Expression(velocity, timing).apply(arrays)


def test_widening_scales_the_spread_and_keeps_hits_and_both_means():
    real = synthetic_patterns(40, seed=3)
    out = Expression(1.3, 1.2).apply(_narrowed(real, 0.5, 0.5))  # room to widen without clipping
    base = _narrowed(real, 0.5, 0.5)
    assert np.array_equal(out[..., :9], base[..., :9])
    v0, t0 = within_spread(base)
    v1, t1 = within_spread(out)
    assert v1 == pytest.approx(1.3 * v0, rel=1e-5) and t1 == pytest.approx(1.2 * t0, rel=1e-5, abs=1e-7)
    names = ("intensity", "laid_back")
    assert attr_lib.compute(out, names) == pytest.approx(attr_lib.compute(base, names), abs=1e-6)
    silent = np.concatenate([base[..., :9] <= 0.5] * 2, axis=-1)  # cells without a hit: untouched
    assert np.array_equal(out[..., 9:][silent], base[..., 9:][silent])


def test_widened_values_stay_playable():
    real = synthetic_patterns(20, seed=4)
    out = Expression(3.0, 3.0).apply(real)
    hits = out[..., :9] > 0.5
    assert out[..., 9:18][hits].min() >= 1 / 127 - 1e-7 and out[..., 9:18].max() <= 1.0
    assert np.abs(out[..., 18:]).max() <= 0.5
    assert out.dtype == real.dtype and Expression(3.0, 3.0).apply(real[0]).shape == real[0].shape


def test_fit_recovers_the_narrowing_of_a_known_decoder():
    real = synthetic_patterns(60, seed=5)
    decoded = _narrowed(real, 1 / 1.25, 1 / 1.1)
    e = fit(real, decoded)
    assert e.velocity == pytest.approx(1.25, rel=1e-3) and e.timing == pytest.approx(1.1, rel=1e-3)
    flat = fit(real, _narrowed(real, 0.1, 0.2))  # a decoder barely trained: clipped, not blown up
    assert (flat.velocity, flat.timing) == (3.0, 3.0)
    same = fit(real, real)
    assert (same.velocity, same.timing) == (pytest.approx(1.0), pytest.approx(1.0))


def test_bad_factors_and_fits_are_refused():
    with pytest.raises(ValueError, match="velocity"):
        Expression(0.0, 1.0)
    with pytest.raises(ValueError, match="timing"):
        Expression(1.0, float("nan"))
    real = synthetic_patterns(4)
    with pytest.raises(ValueError, match="matching"):
        fit(real, real[:3])
    with pytest.raises(ValueError, match="zero"):
        fit(real, np.zeros_like(real))
    assert Expression.from_meta(None).identity and Expression.from_meta({}).identity
    assert Expression.from_meta(Expression(1.1, 1.05).to_meta()) == Expression(1.1, 1.05)


def test_the_generator_plays_its_checkpoint_expression_and_refuses_a_broken_one():
    from engine.generation.generator import Generator
    from models.checkpoint import load_checkpoint
    from tests.support.tiny_checkpoint import tiny_checkpoint

    ckpt = load_checkpoint(tiny_checkpoint())
    plain = Generator(ckpt.model, ckpt.meta, ckpt.config)
    assert plain.expression.identity  # not fitted: the decoder's own values
    wide = Generator(ckpt.model, {**ckpt.meta, "expression": {"velocity": 1.5, "timing": 1.4}}, ckpt.config)
    z = plain.sample(16, seed=1)
    own = plain.decode_batch(z).to_array()
    played = np.stack([p.to_array() for p in wide.decode(z)])
    assert np.array_equal(played[..., :9] > 0.5, own[..., :9] > 0.5)
    assert np.allclose(played, Expression(1.5, 1.4).apply(own), atol=1e-6)
    assert np.allclose(np.stack([p.to_array() for p in plain.decode(z)]), own, atol=1e-6)
    with pytest.raises(CheckpointError, match="expression"):
        Generator(ckpt.model, {**ckpt.meta, "expression": {"velocity": -1}}, ckpt.config)
