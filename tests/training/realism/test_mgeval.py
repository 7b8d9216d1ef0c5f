"""MGEval overlap and divergence on distributions whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from training.realism import mgeval as M


def test_distances() -> None:
    np.testing.assert_allclose(np.sort(M.intra_distances([0.0, 1.0, 3.0])), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(M.inter_distances([0.0, 1.0], [1.0]), [1.0, 0.0])


def test_identical_distributions_overlap_almost_fully() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=500), rng.normal(size=500)
    out = M.compare_feature(a, b)
    assert out["oa"] > 0.9 and out["kl"] < 0.05
    counts_a, counts_b = rng.poisson(8, 500).astype(float), rng.poisson(8, 500).astype(float)
    assert M.compare_feature(counts_a, counts_b)["oa"] > 0.9  # integer-valued features too


def test_shifted_distributions_overlap_little() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=500), rng.normal(3.0, 1.0, size=500)
    out = M.compare_feature(a, b)
    # |N(0, 2)| against |N(3, 2)| (intra- vs inter-set distances) still share ~0.37 of their mass
    assert out["oa"] < 0.45 and out["kl"] > 0.5
    near = M.compare_feature(a, rng.normal(0.5, 1.0, size=500))
    far = M.compare_feature(a, rng.normal(6.0, 1.0, size=500))
    assert far["oa"] < 0.05 < out["oa"] < near["oa"] < 1.0  # overlap falls as the shift grows


def test_a_collapsed_set_is_caught_by_its_own_intra_set_distances() -> None:
    rng = np.random.default_rng(2)
    real = rng.normal(size=400)
    collapsed = np.full(400, np.median(real)) + rng.normal(0, 0.01, 400)
    out = M.compare_feature(real, collapsed)
    assert out["oa_generated"] < 0.2 and out["oa"] == out["oa_generated"]


def test_degenerate_equal_sets_and_density_helpers() -> None:
    assert M.compare_feature(np.zeros(10), np.zeros(12))["oa"] == 1.0
    edges = np.linspace(-1, 5, 601)
    p = M.binned_kde(np.array([1.0, 2.0, 2.5]), edges, 0.2)
    width = edges[1] - edges[0]
    assert p.sum() * width == pytest.approx(1.0)
    assert M.overlap_area(p, p, width) == pytest.approx(1.0)
    assert M.kl_divergence(p, p, width) == pytest.approx(0.0, abs=1e-9)


def test_compare_sets_summarises_every_feature() -> None:
    rng = np.random.default_rng(3)
    real = rng.normal(size=(300, 3))
    gen = real + np.array([0.0, 0.0, 4.0]) + rng.normal(0, 0.01, (300, 3))
    out = M.compare_sets(real, gen, ["a", "b", "c"])
    assert set(out["features"]) == {"a", "b", "c"}
    assert out["min_feature"] == "c" and out["min_oa"] < 0.3
    assert out["mean_oa"] == pytest.approx(np.mean([v["oa"] for v in out["features"].values()]))
    with pytest.raises(ValueError):
        M.compare_sets(real, gen[:, :2], ["a", "b", "c"])
    with pytest.raises(ValueError):
        M.compare_sets(real[:1], gen, ["a", "b", "c"])
