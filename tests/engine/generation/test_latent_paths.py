"""Latent paths and draws shared by the generators."""

from __future__ import annotations

import numpy as np
import pytest

from engine.generation.latent_paths import interpolate, sample_near


def test_interpolate_ends_norm_and_linear() -> None:
    za, zb = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    path = interpolate(za, zb, 5)
    assert path.shape == (5, 2) and np.allclose(path[0], za) and np.allclose(path[-1], zb)
    assert np.allclose(np.linalg.norm(path, axis=1), 1.0)  # slerp keeps the norm
    assert np.allclose(interpolate(za, zb, 3, "linear")[1], [0.5, 0.5])
    assert np.allclose(interpolate(za, zb, np.array([0.0, 1.0]), "linear"), [za, zb])
    with pytest.raises(ValueError, match="slerp"):
        interpolate(za, zb, 3, "cubic")


def test_sample_near_stays_near_the_codes() -> None:
    anchors = np.array([[10.0, 0.0], [0.0, 10.0]])
    z = sample_near(anchors, 0.1, 200, seed=0)
    nearest = np.min(np.linalg.norm(z[:, None] - anchors[None], axis=2), axis=1)
    assert z.shape == (200, 2) and nearest.max() < 1.0
    assert np.array_equal(sample_near(anchors, 0.0, 4, seed=1), sample_near(anchors, 0.0, 4, seed=1))
