"""The melody pad as a map of the training tunes, built from the loaded checkpoint's codes.

Like the groove pad (:mod:`engine.generation.pad_map`): a plane through the latent space
holds every direction but two at one value, and between tunes it decodes lines no tune had.
Here a self-organising map (Kohonen, batch form) of the training codes the melody checkpoint
stores (``meta["latent"]["anchors"]``, the codes Randomize draws near) lays a grid of nodes
over the pad, neighbouring nodes holding related tunes, and each node holds one real
training code of those it gathered (a random member, as the drums do: the code nearest a
node's prototype, a mean of codes, is the plainest tune). A pad point blends its four nodes
(:class:`~engine.generation.pad_map.PadMap`, keeping the codes' length); ``sharpness`` makes
most of each cell play its node's tune.

The map is built when a checkpoint loads (a few ms for 1,024 codes of 32 dimensions), so it
always belongs to the model that plays: a retrained checkpoint gets its own map, and nothing
is stored beside it. A checkpoint without stored codes falls back to a plane on the prior's
first two axes (:attr:`MelodyPad.on_data` is then False). Pure numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.generation.pad_map import PadMap
from engine.generation.som import fit_som, pick_nodes

PLANE_REACH = 2.0  # without stored codes: the pad's edge, in prior standard deviations


@dataclass(frozen=True)
class MelodyMapConfig:
    """How the map is laid out (the same for every checkpoint)."""

    side: int = 16  # nodes per row and column at most; fewer codes get about 4 per node
    codes_per_node: int = 4
    epochs: int = 20
    sharpness: float = 4.0  # 1 = bilinear blend; larger = most of a cell plays its node
    seed: int = 0  # which member of a node's codes it holds


@dataclass(frozen=True, eq=False)
class MelodyPad:
    """Pad coordinates ``x, y`` in [-1, 1] ↔ latents of the melody model.

    Attributes:
        map: the map of the training codes (None: no stored codes; a prior plane instead).
        spread: ``(Z,)`` standard deviation of the codes per dimension (Variation's scale).
        z_dim: the model's latent size.
    """

    map: PadMap | None
    spread: np.ndarray
    z_dim: int

    @classmethod
    def build(cls, codes: np.ndarray | None, z_dim: int, cfg: MelodyMapConfig = MelodyMapConfig()
              ) -> MelodyPad:
        """The pad over ``codes (N, Z)``: a ``side x side`` map, ``side`` = √(N / 4) within
        2..``cfg.side`` (1,024 codes: 16 x 16); under two codes, the prior plane.

        Raises:
            ValueError: codes that are not ``(N, z_dim)`` finite numbers.
        """
        if codes is None or len(codes) < 2:
            return cls(None, np.ones(z_dim), z_dim)
        c = np.asarray(codes, np.float64)
        if c.ndim != 2 or c.shape[1] != z_dim or not np.isfinite(c).all():
            raise ValueError(f"melody pad: stored codes must be finite (N, {z_dim}), got {c.shape}")
        side = int(np.clip(np.sqrt(len(c) / cfg.codes_per_node), 2, cfg.side))
        prototypes, bmu = fit_som(c, side, side, cfg.epochs)
        nodes = pick_nodes(c, prototypes, bmu, cfg.seed).reshape(side, side)
        return cls(PadMap(nodes, c, cfg.sharpness), np.maximum(c.std(0), 1e-6), z_dim)

    @classmethod
    def of_meta(cls, meta: Mapping[str, Any], z_dim: int) -> MelodyPad:
        """The pad of a checkpoint from its metadata (its stored training codes)."""
        anchors = (meta.get("latent") or {}).get("anchors")
        return cls.build(None if anchors is None else np.asarray(anchors, np.float64), z_dim)

    @property
    def on_data(self) -> bool:
        """Every point decodes from the training codes (False: a plane through the prior)."""
        return self.map is not None

    def to_z(self, x: float, y: float) -> np.ndarray:
        """``(Z,)`` latent under pad point ``(x, y)``."""
        if self.map is None:
            return np.eye(2, self.z_dim).T @ (PLANE_REACH * np.clip([float(x), float(y)], -1, 1))
        return self.map.latents(float(x), float(y))

    def to_pad(self, z: np.ndarray) -> tuple[float, float]:
        """Where ``z`` lies on the pad: the node whose code is nearest (a loaded clip's place)."""
        z = np.asarray(z, np.float64).reshape(-1)
        if self.map is None:
            x, y = np.clip(z[:2] / PLANE_REACH, -1, 1)
            return float(x), float(y)
        return self.map.nearest_point(z)


@dataclass(frozen=True, eq=False)
class PhrasePad:
    """Pad points ↔ tunes longer than the model's window: a map of the stored phrases.

    The same map as :class:`MelodyPad`, over whole phrases (a training tune's first ``length``
    window codes, flattened) instead of single windows: each node holds one real tune's
    opening, neighbouring nodes related tunes, and a point between nodes blends their phrases
    window by window. A pad point's longer tune then moves on as a tune does instead of
    repeating its first window (256 phrases: an 8 × 8 map).
    """

    pad: MelodyPad
    length: int  # windows per stored phrase
    z_dim: int

    @classmethod
    def build(cls, phrases: np.ndarray, cfg: MelodyMapConfig = MelodyMapConfig()) -> PhrasePad:
        """The map of ``phrases`` ``(P, L, Z)``.

        Raises:
            ValueError: fewer than two phrases, or not ``(P, L, Z)`` finite numbers.
        """
        p = np.asarray(phrases, np.float64)
        if p.ndim != 3 or len(p) < 2:
            raise ValueError(f"phrase pad: stored phrases must be (P >= 2, L, Z), got {p.shape}")
        return cls(MelodyPad.build(p.reshape(len(p), -1), p.shape[1] * p.shape[2], cfg), p.shape[1],
                   p.shape[2])

    def to_z(self, x: float, y: float, windows: int) -> np.ndarray:
        """``(windows, Z)`` codes of the tune under pad point ``(x, y)`` (looped past its length)."""
        z = self.pad.to_z(x, y).reshape(self.length, self.z_dim)
        return z[np.arange(int(windows)) % self.length]

    def to_pad(self, z: np.ndarray) -> tuple[float, float]:
        """Where a tune's window codes ``z`` ``(W, Z)`` lie: the node whose phrase's first W
        windows are nearest (a tune longer than a phrase loops it: its first L windows)."""
        z = np.atleast_2d(np.asarray(z, np.float64))
        return self.pad.to_pad(z[:self.length].reshape(-1))
