"""Latent-space statistics stored in a checkpoint: normalisation, the XY-pad plane, attribute vectors.

Pure numpy so the checkpoint writer and the studies share them. Inputs are the posterior
means ``mu (N, Z)`` of the training split and raw attributes ``(N, A)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

MIN_STD = 1e-6  # an attribute constant over the data still normalises without dividing by 0


def attribute_stats(raw: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    """``{"names", "mean", "std", "low" (5th pct), "high" (95th pct)}`` of raw ``(N, A)`` attributes."""
    raw = np.asarray(raw, np.float64)
    if raw.ndim != 2 or raw.shape[1] != len(names):
        raise ValueError(f"attributes must be (N, {len(names)}), got {raw.shape}")
    return {"names": list(names), "mean": raw.mean(0).tolist(),
            "std": np.maximum(raw.std(0), MIN_STD).tolist(),
            "low": np.percentile(raw, 5, axis=0).tolist(),
            "high": np.percentile(raw, 95, axis=0).tolist()}


def normalise(raw: np.ndarray, stats: dict[str, Any]) -> np.ndarray:
    """``(raw - mean) / std`` as float32, the decoder's attribute input."""
    return ((np.asarray(raw, np.float64) - np.asarray(stats["mean"])) / np.asarray(stats["std"])
            ).astype(np.float32)


ANCHORS = 256  # training codes stored for "Randomize" (Z = 128: +0.4 MB in the .pt and its .json)
ANCHOR_NOISE = 0.5  # std of the noise added to a drawn anchor, in prior units
ANCHOR_DECIMALS = 3  # far finer than the noise


def latent_summary(mu: np.ndarray, pad_std: float = 2.0, anchors: int = ANCHORS,
                   seed: int = 0) -> dict[str, Any]:
    """Per-dimension mean/std of ``mu (N, Z)``, the XY-pad plane and the random anchors.

    ``anchors`` (``min(anchors, N)`` codes picked at random with ``seed``) and
    ``anchor_noise`` are what "Randomize" draws from: an anchor plus Gaussian noise. The KL
    term only pulls the codes towards N(0, I), so the prior is a poor stand-in for where they
    lie: its draws can decode drum mixes unlike the data's, while anchors plus noise stay near
    real grooves (measured in docs/model.md and
    training.studies.randomize_draws).

    The plane spans the two principal directions of the posterior means; each axis is
    scaled by its standard deviation and ``scale = pad_std``, so pad point ``(x, y)`` in
    [-1, 1]^2 maps to ``z = origin + scale * (x * axes[0] + y * axes[1])`` and the pad's
    edges lie ``pad_std`` standard deviations from the origin along each axis.

    The origin is the training code nearest the mean of the codes, not the mean itself: in
    a high-dimensional latent the codes lie on a shell (norm ≈ sqrt(Z) for a unit-variance
    posterior), and their mean sits far inside it, where the decoder never trained and
    decodes a jumble. The nearest code is a real groove.
    """
    mu = np.asarray(mu, np.float64)
    if mu.ndim != 2 or mu.shape[0] < 3:
        raise ValueError(f"need (N >= 3, Z) latent means, got {mu.shape}")
    mean = mu.mean(0)
    centred = mu - mean
    origin = mu[int(np.argmin((centred ** 2).sum(1)))]
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    std = s / np.sqrt(max(mu.shape[0] - 1, 1))
    axes = [vt[i] * std[i] if i < len(std) else np.zeros(mu.shape[1]) for i in range(2)]
    for i, ax in enumerate(axes):  # a sign convention so retraining does not mirror the pad
        j = int(np.argmax(np.abs(ax)))
        if ax[j] < 0:
            axes[i] = -ax
    picked = np.sort(np.random.default_rng(seed).choice(len(mu), min(int(anchors), len(mu)), replace=False))
    return {"mean": mean.tolist(), "std": mu.std(0).tolist(),
            "plane": {"origin": origin.tolist(), "axes": [a.tolist() for a in axes],
                      "scale": float(pad_std)},
            "anchors": np.round(mu[picked], ANCHOR_DECIMALS).tolist(), "anchor_noise": ANCHOR_NOISE}


def attribute_vectors(mu: np.ndarray, raw: np.ndarray, names: Sequence[str]) -> dict[str, list[float]]:
    """MusicVAE attribute vectors: mean ``mu`` of the top quartile minus that of the bottom quartile."""
    mu = np.asarray(mu, np.float64)
    raw = np.asarray(raw, np.float64)
    vectors = {}
    for i, name in enumerate(names):
        lo, hi = np.percentile(raw[:, i], [25, 75])
        top, bottom = raw[:, i] >= hi, raw[:, i] <= lo
        if not top.any() or not bottom.any():
            vectors[name] = [0.0] * mu.shape[1]
            continue
        vectors[name] = (mu[top].mean(0) - mu[bottom].mean(0)).tolist()
    return vectors
