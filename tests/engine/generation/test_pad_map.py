"""The pad's map of real grooves: nodes play their groove, blends keep the codes' length."""

import numpy as np
import pytest

from engine.generation.pad_map import PadMap, blend

Z = 3


def grid_codes(rows=3, cols=3, seed=0):
    rng = np.random.default_rng(seed)
    codes = rng.standard_normal((rows * cols, Z)) * 5
    return codes, np.arange(rows * cols).reshape(rows, cols)


def test_a_node_point_plays_exactly_its_groove():
    codes, nodes = grid_codes()
    pad = PadMap(nodes, codes, sharpness=4.0)
    # node (row 0, col 2) is at x = 1, y = -1
    assert np.allclose(pad.latents(1.0, -1.0), codes[nodes[0, 2]])
    assert np.allclose(pad.latents(0.0, 0.0), codes[nodes[1, 1]])


def test_sharpness_keeps_most_of_a_cell_at_its_node():
    codes, nodes = grid_codes()
    soft, sharp = PadMap(nodes, codes, 1.0), PadMap(nodes, codes, 8.0)
    x = -1 + 0.2  # a fifth of the way from node (0, 0) to (0, 1) is 0.2 * (2 / 2)
    d_soft = np.linalg.norm(soft.latents(x, -1.0) - codes[0])
    d_sharp = np.linalg.norm(sharp.latents(x, -1.0) - codes[0])
    assert d_sharp < 0.05 * d_soft


def test_blend_keeps_the_mean_length_of_the_codes():
    a, b = np.array([10.0, 0.0, 0.0]), np.array([0.0, 10.0, 0.0])
    mid = blend(np.stack([a, b]), np.array([0.5, 0.5]))
    assert np.linalg.norm(mid) == pytest.approx(10.0)
    assert np.linalg.norm((a + b) / 2) < 7.1  # what a plain mean would give


def test_arrays_of_points_and_the_nearest_node():
    codes, nodes = grid_codes()
    pad = PadMap(nodes, codes)
    xs = np.linspace(-1, 1, 5)
    assert pad.latents(xs[:, None], xs[None, :]).shape == (5, 5, Z)
    assert pad.nearest_point(codes[nodes[2, 0]]) == (-1.0, 1.0)


def test_bad_maps_are_refused():
    codes, nodes = grid_codes()
    with pytest.raises(ValueError):
        PadMap(nodes[:1], codes)
    with pytest.raises(ValueError):
        PadMap(nodes + 100, codes)
    with pytest.raises(ValueError):
        PadMap(nodes, codes, sharpness=0.5)
