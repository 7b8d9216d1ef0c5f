"""Paths and draws in a VAE latent space, shared by the drum and melody generators.

Pure numpy (no torch): what the generators share that does not depend on the decoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.generation.pad_map import bilinear, sharpen


@dataclass(frozen=True)
class OnData:
    """How far a mix of grooves (corner blends, transitions) is pulled onto the training
    grooves. ``pull`` 0 keeps the mix; 1 plays the nearest training groove.

    With ``method='hits'`` a mix becomes the training groove between its ends in hit space
    (least weighted sum of cells differing from each end), with no pull in between: a corner
    keeps its own groove where it weighs at least ``own_weight`` and a transition its ends'
    within ``edge`` of them.

    Corner blends keep a corner's own groove where that corner weighs at least
    ``own_weight`` and play the nearest training groove where no corner weighs more than
    ``data_weight`` (a ramp between). Transitions keep their first and last bars and are
    fully on the data from ``edge`` of the way in to ``edge`` before the end.
    """

    pull: float = 0.0  # chosen on validation (docs/studies/on_data_blends): the nearest
    # training codes to a mix are generic grooves (stiff timing), no more data-like than it
    method: str = "latent"  # 'latent': towards the code nearest the mix; 'hits': the training
    # groove whose hits are nearest the ends' (weighted like the mix), played whole
    own_weight: float = 0.8
    data_weight: float = 0.6
    edge: float = 0.2

    def corner_pull(self, weights: np.ndarray) -> np.ndarray:
        """Pull for blend weights ``(..., K)``: by how much the largest one falls short."""
        top = np.asarray(weights, np.float64).max(-1)
        ramp = (self.own_weight - top) / max(self.own_weight - self.data_weight, 1e-9)
        return self.pull * np.clip(ramp, 0.0, 1.0)

    def path_pull(self, t: np.ndarray) -> np.ndarray:
        """Pull at positions ``t`` in [0, 1] along a path (0 at both ends)."""
        tt = np.asarray(t, np.float64)
        return self.pull * np.clip(np.minimum(tt, 1.0 - tt) / max(self.edge, 1e-9), 0.0, 1.0)


@dataclass(frozen=True)
class MixShape:
    """How a mix of grooves leans towards its nearest end (corner blends, transitions).

    Each fraction of the way is leaned by :func:`~engine.generation.pad_map.sharpen` with
    power ``p``, as the pad leans its cells towards their nodes: with ``p`` 1 the plain
    bilinear blend or straight path; above 1 a point near a corner (a bar near an end) stays
    closer to that groove and the even mix is kept for the middle. A mix of distant grooves decodes
    a groove no drummer plays (their features averaged: softer, stiffer, the styles' colour
    gone); leaning keeps more of the pad on grooves like the ends.
    """

    # chosen on validation (docs/studies/blend_shapes): the least lean whose corner blends
    # pass the classifier test; no lean tried passed it for transitions, and the rule keeps 1
    corner_sharpness: float = 4.0
    path_sharpness: float = 1.0

    def corner_weights(self, x: float, y: float) -> np.ndarray:
        """``(4,)`` weights of the corners at (-1,-1), (1,-1), (-1,1), (1,1) at pad point (x, y)."""
        u, v = (float(x) + 1) / 2, (float(y) + 1) / 2
        return bilinear(sharpen(u, self.corner_sharpness), sharpen(v, self.corner_sharpness))

    def path_position(self, t: np.ndarray) -> np.ndarray:
        """Weight of the far end at positions ``t`` in [0, 1] along a path (0 and 1 kept)."""
        return sharpen(np.clip(np.asarray(t, np.float64), 0.0, 1.0), self.path_sharpness)


def interpolate(za: np.ndarray, zb: np.ndarray, n: int | np.ndarray, method: str = "slerp") -> np.ndarray:
    """Latents from ``za`` to ``zb``: ``n`` evenly spaced (ends included) or at the given ``t``s.

    ``'slerp'`` (spherical, as MusicVAE: keeps the prior's typical norm in between) or
    ``'linear'`` (``(1 - t) za + t zb``). Returns ``(len(t), Z)``.

    Raises:
        ValueError: an unknown method.
    """
    a, b = np.asarray(za, np.float64), np.asarray(zb, np.float64)
    t = np.linspace(0.0, 1.0, int(n)) if np.ndim(n) == 0 else np.asarray(n, np.float64)
    t = t[:, None]
    if method == "linear":
        return (1 - t) * a + t * b
    if method != "slerp":
        raise ValueError(f"method must be 'slerp' or 'linear', got {method!r}")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    cos = float(np.dot(a, b) / max(na * nb, 1e-12))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def pick_indices(rng: np.random.Generator, stored: int, n: int, distinct: bool) -> np.ndarray:
    """``n`` indices of ``stored`` items; with ``distinct`` none twice while there are enough
    (a batch of clips from as many different sources), in an order that does not depend on
    ``n``: a pack of 20 from one seed begins with the pack of 10 from it."""
    if distinct:
        laps = -(-n // stored) if stored else 0
        return np.concatenate([rng.permutation(stored) for _ in range(laps)] or [np.zeros(0, int)])[:n]
    return rng.integers(0, stored, n)


def sample_near(anchors: np.ndarray, noise: float, n: int, seed: int | None = None,
                distinct: bool = False) -> np.ndarray:
    """``(n, Z)``: stored training codes (rows of ``anchors``) picked at random (``distinct``:
    no code twice while there are enough), plus N(0, noise² I) — new material near the data
    instead of the prior's empty regions."""
    rng = np.random.default_rng(seed)
    picked = np.asarray(anchors, np.float64)[pick_indices(rng, len(anchors), int(n), distinct)]
    return picked + float(noise) * rng.standard_normal(picked.shape)


def sample_phrases(phrases: np.ndarray, noise: float, windows: int, n: int, seed: int | None = None,
                   shared: bool = False, distinct: bool = False) -> np.ndarray:
    """``(n, windows, Z)``: each row the codes of one stored phrase (``phrases`` ``(P, L, Z)``,
    a real tune's consecutive windows; looped past L; ``distinct``: no phrase twice while there
    are enough), plus N(0, noise² I) per window, or one draw for the whole row with ``shared``
    (a phrase's repeats stay repeats)."""
    rng = np.random.default_rng(seed)
    phrases = np.asarray(phrases, np.float64)
    rows = phrases[pick_indices(rng, len(phrases), int(n), distinct)]
    picked = rows[:, np.arange(int(windows)) % phrases.shape[1]]
    shape = (picked.shape[0], 1, picked.shape[2]) if shared else picked.shape
    return picked + float(noise) * rng.standard_normal(shape)


def nudge(z: np.ndarray, scale: np.ndarray | float, seed: int | None = None,
          shared: bool = False) -> np.ndarray:
    """``z`` ``(W, Z)`` (a tune's window codes) plus N(0, scale²) per window, or one draw for
    all of them with ``shared`` (the tune's repeats stay repeats): a Variation."""
    z = np.atleast_2d(np.asarray(z, np.float64))
    shape = (1, z.shape[1]) if shared else z.shape
    return z + np.random.default_rng(seed).standard_normal(shape) * np.asarray(scale, np.float64)

