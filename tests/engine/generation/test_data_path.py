"""Chains of training grooves between two latents: the neighbour graph, its costs, the path."""

import numpy as np
import pytest

from engine.generation.data_path import DataPathSettings, GrooveGraph, knn


def arc(n: int, z: int = 6, radius: float = 10.0) -> np.ndarray:
    """``n`` codes on a half circle in the first two of ``z`` dimensions, in order."""
    a = np.linspace(0.0, np.pi, n)
    out = np.zeros((n, z))
    out[:, 0], out[:, 1] = radius * np.cos(a), radius * np.sin(a)
    return out


def test_knn_is_the_exact_nearest_other_codes_nearest_first():
    codes = np.random.default_rng(0).standard_normal((300, 8))
    got = knn(codes, 5, block=64)  # several blocks
    d = ((codes[:, None] - codes[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    want = np.argsort(d, axis=1)[:, :5]
    assert np.array_equal(got, want)


def test_chain_follows_the_data_not_the_chord():
    codes = arc(40)
    graph = GrooveGraph(codes, DataPathSettings(neighbours=2, hub_weight=0.0))
    chain = graph.chain(codes[0], codes[-1])
    # forward along the arc in short links (the chord's middle lies far from every groove)
    assert chain[0] <= 1 and chain[-1] >= 38
    assert np.all(np.diff(chain) >= 1) and np.all(np.diff(chain) <= 2)
    linked = set(zip(graph.src.tolist(), graph.dst.tolist(), strict=True))
    assert all((int(a), int(b)) in linked for a, b in zip(chain[:-1], chain[1:], strict=True))
    way = graph.waypoints(codes[0], codes[-1], np.array([0.25, 0.5, 0.75]))
    assert np.all(np.diff(way) > 0)
    assert abs(way[1] - 19.5) <= 1.5  # halfway along the arc


def test_hub_weight_steers_round_a_groove_near_everything():
    # a ring of grooves and, at its centre, one groove nearer to every ring groove than its
    # second neighbours on the ring: it is in every groove's neighbour list (a hub)
    n = 8
    a = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    ring = np.zeros((n, 3))
    ring[:, 0], ring[:, 1] = np.cos(a), np.sin(a)
    codes = np.vstack([ring, [[0.0, 0.0, 0.0]]])
    hub = n
    plain = GrooveGraph(codes, DataPathSettings(neighbours=3, hub_weight=0.0))
    assert plain.in_degree[hub] == n  # every ring groove has the centre among its 3 nearest
    assert hub in plain.chain(codes[0], codes[n // 2]).tolist()
    steered = GrooveGraph(codes, DataPathSettings(neighbours=3, hub_weight=3.0))
    chain = steered.chain(codes[0], codes[n // 2])
    # half way round the ring instead
    assert hub not in chain.tolist() and set(chain.tolist()) <= set(range(n // 2 + 1))
    assert len(chain) >= n // 2 - 1


def test_stored_neighbour_lists_give_the_same_graph():
    codes = np.random.default_rng(1).standard_normal((80, 5))
    settings = DataPathSettings(neighbours=4, hub_weight=1.0)
    searched = GrooveGraph(codes, settings)
    stored = GrooveGraph(codes, settings, knn(codes, 6))  # longer lists are cut to k
    assert np.array_equal(searched.src, stored.src) and np.array_equal(searched.dst, stored.dst)
    np.testing.assert_allclose(searched.cost, stored.cost)
    za, zb = codes[3] + 0.1, codes[70] - 0.1
    assert np.array_equal(searched.chain(za, zb), stored.chain(za, zb))
    recosted = searched.with_settings(DataPathSettings(neighbours=4, hub_weight=0.0))
    np.testing.assert_allclose(recosted.cost, recosted.length)


def test_bad_graphs_are_refused():
    with pytest.raises(ValueError, match="at least 2"):
        GrooveGraph(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="settings"):
        GrooveGraph(np.zeros((5, 3)), DataPathSettings(hub_weight=-1.0))
    with pytest.raises(ValueError, match="stored neighbours"):
        GrooveGraph(np.random.default_rng(0).standard_normal((5, 3)), DataPathSettings(neighbours=3),
                    np.zeros((5, 2), np.int64))
