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


def test_on_data_ramps_keep_the_ends_and_pull_the_middle():
    from engine.generation.latent_paths import OnData

    rule = OnData(pull=1.0, own_weight=0.8, data_weight=0.6, edge=0.2)
    corner, centre, between = np.eye(4)[0], np.full(4, 0.25), np.array([0.7, 0.3, 0, 0])
    assert rule.corner_pull(corner) == 0.0  # a corner plays its own groove
    assert rule.corner_pull(centre) == 1.0
    assert rule.corner_pull(between) == pytest.approx(0.5)
    t = np.linspace(0, 1, 8)
    pull = rule.path_pull(t)
    assert pull[0] == pull[-1] == 0.0 and np.all(pull[2:-2] == 1.0)
    assert OnData(pull=0.0).corner_pull(centre) == 0.0  # off: the mix as it is


def test_mix_shape_leans_towards_the_nearer_end_and_keeps_the_ends() -> None:
    from engine.generation.latent_paths import MixShape
    from engine.generation.pad_map import sharpen

    plain, lean = MixShape(1.0, 1.0), MixShape(3.0, 3.0)
    u, v = 0.25, 0.5  # pad point (-0.5, 0.0)
    bilinear = [(1 - u) * (1 - v), u * (1 - v), (1 - u) * v, u * v]
    np.testing.assert_allclose(plain.corner_weights(-0.5, 0.0), bilinear)
    for shape in (plain, lean):
        w = shape.corner_weights(0.3, -0.7)
        assert w.sum() == pytest.approx(1.0) and np.all(w >= 0)
        np.testing.assert_allclose(shape.corner_weights(1.0, -1.0), [0, 1, 0, 0])  # a corner is itself
        np.testing.assert_allclose(shape.corner_weights(0.0, 0.0), np.full(4, 0.25))  # the centre is even
    # off the centre the heavier corner weighs more once leaned, the order of the corners kept
    w1, w3 = plain.corner_weights(-0.5, 0.2), lean.corner_weights(-0.5, 0.2)
    assert w3.max() > w1.max() and np.array_equal(np.argsort(w1), np.argsort(w3))
    t = np.linspace(0.0, 1.0, 8)
    np.testing.assert_allclose(plain.path_position(t), t)
    p = lean.path_position(t)
    assert p[0] == 0.0 and p[-1] == 1.0 and np.all(np.diff(p) > 0)  # monotone from A to B
    assert p[2] < t[2] and p[5] > t[5]  # nearer A: more of A; nearer B: more of B
    assert lean.path_position(np.array([0.5]))[0] == pytest.approx(0.5)
    np.testing.assert_allclose(sharpen(np.array([0.75]), 2.0), [0.9])  # 0.75² / (0.75² + 0.25²)


def test_sample_phrases_keeps_a_phrase_in_order_and_its_repeats() -> None:
    from engine.generation.latent_paths import sample_phrases

    phrases = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4)
    phrases[:, 2] = phrases[:, 0]  # each phrase: X Y X
    plain = sample_phrases(phrases, 0.0, 5, 6, seed=0)
    assert plain.shape == (6, 5, 4)
    for row in plain:  # one stored phrase per tune, looped past its end: X Y X X Y
        p = phrases[[int(row[0, 0]) // 12]][0]
        assert np.array_equal(row, p[[0, 1, 2, 0, 1]])
    shared = sample_phrases(phrases, 0.5, 3, 50, seed=1, shared=True)
    assert np.array_equal(shared[:, 0], shared[:, 2])  # one noise draw: the repeat stays a repeat
    apart = sample_phrases(phrases, 0.5, 3, 50, seed=1)
    assert not np.allclose(apart[:, 0], apart[:, 2])


def test_nudge_draws_per_window_or_once_per_tune() -> None:
    from engine.generation.latent_paths import nudge

    z = np.zeros((3, 4))
    z[2] = z[0]  # a tune X Y X
    apart = nudge(z, np.full(4, 0.5), seed=2)
    assert apart.shape == (3, 4) and not np.allclose(apart[0], apart[2])
    shared = nudge(z, 0.5, seed=2, shared=True)
    assert np.allclose(shared[0], shared[2]) and not np.allclose(shared[0], z[0])
    many = np.stack([nudge(z, 0.5, seed=s)[1] for s in range(400)])
    assert many.std() == pytest.approx(0.5, rel=0.1)


def test_distinct_draws_take_no_stored_code_twice_while_there_are_enough() -> None:
    from engine.generation.latent_paths import sample_near, sample_phrases

    codes = np.arange(10, dtype=np.float64)[:, None] * np.ones((1, 3))
    picked = sample_near(codes, 0.0, 10, seed=3, distinct=True)[:, 0]
    assert sorted(picked) == list(range(10))
    assert len(sample_near(codes, 0.0, 25, seed=3, distinct=True)) == 25  # more than stored: repeats
    phrases = np.repeat(codes[:, None], 2, axis=1)  # (10, 2, 3)
    rows = sample_phrases(phrases, 0.0, 2, 10, seed=3, distinct=True)[:, 0, 0]
    assert sorted(rows) == list(range(10))
    plain = [sample_near(codes, 0.0, 10, seed=s)[:, 0] for s in range(20)]
    assert any(len(set(p)) < 10 for p in plain)  # drawn with replacement, a batch repeats codes


def test_a_larger_distinct_draw_from_one_seed_begins_with_the_smaller_one() -> None:
    """A sample pack of 20 from a seed begins with the pack of 10 from it (noise and all)."""
    codes = np.arange(30, dtype=float)[:, None] * np.ones((1, 4))
    ten, twenty = (sample_near(codes, 0.1, n, seed=7, distinct=True) for n in (10, 20))
    np.testing.assert_array_equal(twenty[:10], ten)
    one = sample_near(codes, 0.1, 1, seed=7, distinct=True)
    np.testing.assert_array_equal(one, ten[:1])
    more = sample_near(codes, 0.0, 70, seed=7, distinct=True)[:, 0]  # past the stored: laps
    assert sorted(more[:30]) == list(range(30)) and sorted(more[30:60]) == list(range(30))
