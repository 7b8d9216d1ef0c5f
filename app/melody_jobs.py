"""What the melody panel asks of the melody model, as functions its worker thread runs.

Like :mod:`app.model_jobs` for the drums: each takes the loaded
:class:`~engine.generation.melody.MelodyGenerator` and immutable inputs captured on the GUI
thread and returns plain values; none touches Qt. The generator's module is imported for
type checking only (torch loads with the checkpoint, on the loader thread).

The melody pad is a plane through the latent space (:class:`MelodyPlane`): centred on the
mean of the checkpoint's stored training codes, spanned by their two principal directions
and reaching two standard deviations along each, so the pad covers where the training tunes
lie; without stored codes, the prior's first two axes. It is a latent plane, not a map of the
data like the drum pad's (a point between tunes may decode to a line no tune had).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.generation.melody import loop_to
from engine.music.melody import Melody

if TYPE_CHECKING:
    from engine.generation.melody import MelodyGenerator

PAD_REACH_STD = 2.0  # the pad's edge, in standard deviations of the codes along each axis
VARIATION_AMOUNT = 0.35  # Variation's step, as a share of the codes' spread


@dataclass(frozen=True, eq=False)
class MelodyPlane:
    """``z = origin + x · axes[0] + y · axes[1]`` for pad coordinates ``x, y`` in [-1, 1]."""

    origin: np.ndarray  # (Z,)
    axes: np.ndarray  # (2, Z), each already scaled to the pad's reach
    spread: np.ndarray  # (Z,) standard deviation of the codes (Variation's scale)

    @classmethod
    def of(cls, g: MelodyGenerator) -> MelodyPlane:
        lat: dict[str, Any] = g.meta.get("latent", {})
        anchors = lat.get("anchors")
        z_dim = g.z_dim
        if anchors is not None and len(anchors) >= 3:
            codes = np.asarray(anchors, np.float64)
            origin = codes.mean(0)
            _, s, vt = np.linalg.svd(codes - origin, full_matrices=False)
            std = s[:2] / np.sqrt(len(codes) - 1)
            axes = vt[:2] * (PAD_REACH_STD * np.maximum(std, 1e-6))[:, None]
            spread = codes.std(0)
        else:
            origin = np.zeros(z_dim)
            axes = np.eye(2, z_dim) * PAD_REACH_STD
            spread = np.ones(z_dim)
        return cls(origin, axes, np.maximum(spread, 1e-6))

    def to_z(self, x: float, y: float) -> np.ndarray:
        return self.origin + float(x) * self.axes[0] + float(y) * self.axes[1]

    def to_pad(self, z: np.ndarray) -> tuple[float, float]:
        """The pad point nearest ``z`` (its projection on the plane), clipped to the pad."""
        x, y = np.linalg.lstsq(self.axes.T, np.asarray(z, np.float64) - self.origin, rcond=None)[0]
        return float(np.clip(x, -1, 1)), float(np.clip(y, -1, 1))


@dataclass(frozen=True, eq=False)
class MelodyDecoded:
    """A decoded melody, the latent(s) it came from (one per model window) and its pad point."""

    melody: Melody
    z: np.ndarray  # (windows, Z)
    pad: tuple[float, float]


def _decode(g: MelodyGenerator, plane: MelodyPlane, z: np.ndarray, bars: int, temperature: float,
            seed: int | None) -> MelodyDecoded:
    z = np.atleast_2d(np.asarray(z, np.float64))
    windows = -(-bars // g.bars)
    if len(z) < windows:  # one latent for a longer melody: its window repeats
        z = np.concatenate([z] * windows)[:windows]
    decoded = g.decode_batch(z[:windows], temperature=temperature, seed=seed)
    melody = loop_to(Melody.concatenate(decoded), bars)
    return MelodyDecoded(melody, z[:windows], plane.to_pad(z[0]))


def randomize(g: MelodyGenerator, plane: MelodyPlane, bars: int, temperature: float,
              seed: int) -> MelodyDecoded:
    """New melody near the training tunes: each window a stored code plus a little noise."""
    z = g.sample_like_data(-(-bars // g.bars), seed=seed)
    return _decode(g, plane, z, bars, temperature, seed)


def variation(g: MelodyGenerator, plane: MelodyPlane, z: np.ndarray, bars: int, temperature: float,
              seed: int, amount: float = VARIATION_AMOUNT) -> MelodyDecoded:
    """A neighbour of the melody at ``z``: each window's latent nudged by ``amount`` spreads."""
    z = np.atleast_2d(np.asarray(z, np.float64))
    noise = np.random.default_rng(seed).standard_normal(z.shape) * plane.spread * float(amount)
    return _decode(g, plane, z + noise, bars, temperature, seed)


def at_pad(g: MelodyGenerator, plane: MelodyPlane, x: float, y: float, bars: int, temperature: float,
           seed: int) -> MelodyDecoded:
    """The melody under pad point ``(x, y)`` (its window repeated to ``bars``)."""
    return _decode(g, plane, plane.to_z(x, y), bars, temperature, seed)


def encode(g: MelodyGenerator, plane: MelodyPlane, melody: Melody) -> tuple[np.ndarray, tuple[float, float]]:
    """A melody the user brought, placed in the model: its latent (first window) and pad point."""
    z = g.encode(melody)
    return z[None], plane.to_pad(z)


def transition(g: MelodyGenerator, a: Melody, b: Melody, bars: int, strategy: int, mix_scale: str,
               seed: int) -> Melody:
    """A→B over ``bars`` bars (the generator's three strategies, per bar or per note)."""
    return g.transition(a, b, bars, strategy, mix_scale=mix_scale, seed=seed)
