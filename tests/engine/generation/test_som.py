"""The self-organising map behind the drum and melody pads."""

from __future__ import annotations

import numpy as np

from engine.generation.som import fit_som


def test_som_puts_neighbouring_data_on_neighbouring_nodes():
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 1, 2000)
    data = np.stack([np.cos(3 * t), np.sin(3 * t), t], 1) * 10  # a curve in 3-D
    w, bmu = fit_som(data, 1 * 2, 10, epochs=20)
    order = np.argsort(t)
    # walking along the curve moves along the map: nearby points share or neighbour nodes
    steps = np.abs(np.diff(bmu[order] % 10))
    assert np.median(steps) <= 1
    assert len(np.unique(bmu)) >= 8


def test_som_orders_a_line_of_codes() -> None:
    x = np.linspace(0, 1, 40)[:, None] * np.ones((1, 3))
    _, bmu = fit_som(x, 1, 10, 20)
    # codes along a line land on the nodes in order (either direction)
    assert np.all(np.diff(bmu) >= 0) or np.all(np.diff(bmu) <= 0)
