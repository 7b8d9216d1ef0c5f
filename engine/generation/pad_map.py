"""The XY pad as a map of real grooves, the way Grids maps its pad onto real patterns.

A plane through the latent space (the first two principal directions) keeps every other
latent direction at one value, so the whole pad played the same stiff "average" groove. The
map instead lays a grid of *training grooves* over the pad: a self-organising map of the
training codes (:mod:`training.data_map`) arranges them so that neighbouring nodes hold
related grooves, and each node holds one real groove of those it gathered. A pad point
between nodes blends its four nodes' latents; ``sharpness`` > 1 shrinks the blend zone
around the cell borders (most of each cell plays its node's groove, blended latents lie
off the data), and the blend keeps the nodes' mean length so it does not sink towards the
origin, where the decoder never trained.

Pure numpy; the node grid indexes a :class:`~engine.generation.groove_bank.GrooveBank`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StyleLabel:
    """A style name and where on the pad ([-1, 1]²) its grooves gather."""

    style: str
    x: float
    y: float


class PadMap:
    """``(rows, cols)`` node grid of bank indices over the pad [-1, 1]² (x → columns).

    Raises:
        ValueError: a grid smaller than 2×2 or a sharpness below 1.
    """

    def __init__(self, nodes: np.ndarray, codes: np.ndarray, sharpness: float = 1.0,
                 labels: Sequence[StyleLabel] = ()) -> None:
        self.nodes = np.asarray(nodes, np.int64)
        if self.nodes.ndim != 2 or min(self.nodes.shape) < 2:
            raise ValueError(f"pad map nodes must be a grid of at least 2x2, got {self.nodes.shape}")
        if float(sharpness) < 1.0:
            raise ValueError(f"sharpness must be >= 1, got {sharpness}")
        if self.nodes.min() < 0 or self.nodes.max() >= len(codes):
            raise ValueError("pad map node outside the groove bank")
        self.sharpness = float(sharpness)
        self.labels = tuple(labels)
        self._z = np.asarray(codes, np.float64)[self.nodes]  # (R, C, Z)
        self._norm = np.linalg.norm(self._z, axis=-1)

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.nodes.shape[0]), int(self.nodes.shape[1])

    def _weights(self, x: float | np.ndarray, y: float | np.ndarray
                 ) -> tuple[np.ndarray, tuple[tuple[np.ndarray, np.ndarray], ...]]:
        """Blend weights ``S + (4,)`` of the four nodes around each point, and those nodes."""
        xx, yy = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(y, np.float64))
        rows, cols = self.shape
        u = (np.clip(xx, -1, 1) + 1) / 2 * (cols - 1)
        v = (np.clip(yy, -1, 1) + 1) / 2 * (rows - 1)
        j0 = np.clip(np.floor(u).astype(np.int64), 0, cols - 2)
        i0 = np.clip(np.floor(v).astype(np.int64), 0, rows - 2)
        w = bilinear(sharpen(u - j0, self.sharpness), sharpen(v - i0, self.sharpness))
        return w, ((i0, j0), (i0, j0 + 1), (i0 + 1, j0), (i0 + 1, j0 + 1))

    def latents(self, x: float | np.ndarray, y: float | np.ndarray) -> np.ndarray:
        """Pad point(s) → latent(s): scalars give ``(Z,)``, arrays of shape S give ``S + (Z,)``."""
        w, corners = self._weights(x, y)
        zs = np.stack([self._z[i, j] for i, j in corners], -2)  # S + (4, Z)
        norms = np.stack([self._norm[i, j] for i, j in corners], -1)  # S + (4,)
        return blend(zs, w, norms)

    def attributes(self, x: float | np.ndarray, y: float | np.ndarray, own: np.ndarray) -> np.ndarray:
        """The attributes at pad point(s): the nodes' own (``own (N, A)``, bank order)
        blended with the weights their latents get; shape ``S + (A,)``."""
        w, corners = self._weights(x, y)
        table = np.asarray(own, np.float64)[self.nodes]  # (R, C, A)
        return (w[..., None] * np.stack([table[i, j] for i, j in corners], -2)).sum(-2)

    def nearest_point(self, z: np.ndarray) -> tuple[float, float]:
        """The pad point of the node whose groove is nearest ``z`` (a loaded clip's place).
        A ``z`` shorter than the nodes' codes is compared with their first ``len(z)`` values
        (a tune's first windows against whole stored phrases)."""
        z = np.asarray(z, np.float64)
        d2 = ((self._z[..., :z.shape[-1]] - z) ** 2).sum(-1)
        i, j = np.unravel_index(int(np.argmin(d2)), d2.shape)
        rows, cols = self.shape
        return float(2 * j / (cols - 1) - 1), float(2 * i / (rows - 1) - 1)


def sharpen(f: np.ndarray | float, power: float) -> np.ndarray:
    """Fractions ``f`` in [0, 1] leaned towards the nearer of 0 and 1: ``f**p / (f**p +
    (1 - f)**p)`` (0, ½ and 1 stay; ``power`` 1 changes nothing). Leans a pad cell towards
    its nearest node, a corner blend towards its nearest corner, a path towards its nearer end."""
    ff = np.asarray(f, np.float64)
    if power == 1.0:
        return ff
    a, b = ff ** power, (1.0 - ff) ** power
    return a / (a + b)


def bilinear(fu: np.ndarray, fv: np.ndarray) -> np.ndarray:
    """``S + (4,)`` weights of the corners (0,0), (1,0), (0,1), (1,1) at fractions (fu, fv)."""
    return np.stack([(1 - fu) * (1 - fv), fu * (1 - fv), (1 - fu) * fv, fu * fv], -1)


def blend(zs: np.ndarray, weights: np.ndarray, norms: np.ndarray | None = None) -> np.ndarray:
    """Weighted mean of latents ``(..., K, Z)`` rescaled to the weighted mean of their lengths.

    A plain mean of distant codes is shorter than any of them (codes lie on a shell); the
    decoder saw codes of that length, not the shrunken mean.
    """
    zs = np.asarray(zs, np.float64)
    w = np.asarray(weights, np.float64)
    if norms is None:
        norms = np.linalg.norm(zs, axis=-1)
    mean = (w[..., None] * zs).sum(-2)
    length = (w * norms).sum(-1)
    have = np.linalg.norm(mean, axis=-1)
    return mean * (length / np.maximum(have, 1e-12))[..., None]
