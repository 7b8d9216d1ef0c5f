"""Batch self-organising maps (Kohonen): the layout of the drum and melody pads.

Pure numpy, deterministic: the drum pad's map is built once over the training codes
(``training.data_map``), the melody pad's at load over the codes its checkpoint stores
(``engine.generation.melody_pad``).
"""

from __future__ import annotations

import numpy as np


def fit_som(data: np.ndarray, rows: int, cols: int, epochs: int) -> tuple[np.ndarray, np.ndarray]:
    """Batch self-organising map of ``data (N, D)``: prototypes ``(rows*cols, D)`` and each
    row's best-matching node ``(N,)``.

    Deterministic: it starts on the data's first two principal directions (two standard
    deviations either way) and shrinks a Gaussian neighbourhood from half the map to under
    one node, so neighbouring nodes end up holding neighbouring codes.
    """
    x = np.asarray(data, np.float64)
    n = len(x)
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    sd = s[:2] / np.sqrt(max(n, 1))
    gy, gx = np.meshgrid(np.linspace(-1, 1, rows), np.linspace(-1, 1, cols), indexing="ij")
    w = mean + 2 * (gx.ravel()[:, None] * sd[0] * vt[0] + gy.ravel()[:, None] * sd[1] * vt[1])
    pos = np.stack([gy.ravel() * (rows - 1) / 2, gx.ravel() * (cols - 1) / 2], 1)
    grid_d2 = ((pos[:, None] - pos[None]) ** 2).sum(-1)  # (K, K) squared node distances
    sq = (x ** 2).sum(1)
    sigma0, sigma1 = max(rows, cols) / 2, 0.7
    for epoch in range(epochs):
        sigma = sigma0 * (sigma1 / sigma0) ** (epoch / max(epochs - 1, 1))
        bmu = (sq[:, None] - 2 * x @ w.T + (w ** 2).sum(1)[None]).argmin(1)
        h = np.exp(-grid_d2 / (2 * sigma ** 2))
        counts = np.bincount(bmu, minlength=len(w)).astype(np.float64)
        sums = np.zeros_like(w)
        np.add.at(sums, bmu, x)
        w = (h @ sums) / np.maximum(h @ counts, 1e-12)[:, None]
    bmu = (sq[:, None] - 2 * x @ w.T + (w ** 2).sum(1)[None]).argmin(1)
    return w, bmu


def pick_nodes(codes: np.ndarray, prototypes: np.ndarray, bmu: np.ndarray, seed: int) -> np.ndarray:
    """One code index per node: a random member of the node's codes; a node that gathered
    none takes a random one of the five codes nearest its prototype."""
    rng = np.random.default_rng(seed)
    picked = np.empty(len(prototypes), np.int64)
    for k in range(len(prototypes)):
        members = np.flatnonzero(bmu == k)
        if len(members) == 0:
            members = np.argsort(((codes - prototypes[k]) ** 2).sum(1))[:5]
        picked[k] = rng.choice(members)
    return picked
