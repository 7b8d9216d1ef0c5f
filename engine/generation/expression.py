"""Giving a decoded groove back the spread of dynamics and feel that the decoder averages out.

The decoder predicts each hit's velocity and micro-timing offset as its expected value given
the groove, so the velocities and offsets of a decoded groove spread less about their mean
than a drummer's do: reconstructions of real grooves play their accents and ghost notes
closer together and their pushes and drags nearer the groove's average feel, the stiffness a
classifier tells real drumming by. :class:`Expression` widens each decoded groove's
velocities and offsets about that groove's own mean (over its hits) by factors fitted on
training windows (:func:`fit`: the ratio of the root-mean-square within-groove spread of the
real windows to that of their reconstructions). The groove's mean velocity (the intensity
knob) and mean offset (the laid-back knob) stay where they were, except where a widened
value meets its limit (velocity 1/127–1, offset ±0.5 step) and is clipped there; the hits are
untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from engine.music.drums import NUM_VOICES
from engine.music.pattern import MAX_OFFSET

MIN_VELOCITY = 1 / 127
MAX_FACTOR = 3.0  # fitted factors are clipped to [1 / MAX_FACTOR, MAX_FACTOR]: beyond that a
# decoder barely trained (near-constant outputs) would have its few deviations blown up


@dataclass(frozen=True)
class Expression:
    """Widening factors (1 = the decoder's values unchanged)."""

    velocity: float = 1.0
    timing: float = 1.0

    def __post_init__(self) -> None:
        for name, value in (("velocity", self.velocity), ("timing", self.timing)):
            if not np.isfinite(value) or not 0.0 < value <= MAX_FACTOR:
                raise ValueError(f"expression {name} factor must lie in (0, {MAX_FACTOR}], got {value!r}")

    @property
    def identity(self) -> bool:
        return self.velocity == 1.0 and self.timing == 1.0

    def apply(self, arrays: np.ndarray) -> np.ndarray:
        """``(B, T, 27)`` or ``(T, 27)`` codec arrays → a widened copy (same shape and dtype)."""
        a = np.asarray(arrays)
        if self.identity:
            return a.copy()
        b = a[None] if a.ndim == 2 else a
        out = b.astype(np.float64, copy=True)
        n = NUM_VOICES
        hits = out[..., :n] > 0.5
        count = np.maximum(hits.sum(axis=(1, 2)), 1)[:, None, None]
        for lo, hi, factor, low, high in ((n, 2 * n, self.velocity, MIN_VELOCITY, 1.0),
                                          (2 * n, 3 * n, self.timing, -MAX_OFFSET, MAX_OFFSET)):
            part = out[..., lo:hi]
            mean = (part * hits).sum(axis=(1, 2), keepdims=True) / count
            widened = np.clip(mean + factor * (part - mean), low, high)
            out[..., lo:hi] = np.where(hits, widened, part)
        out = out.astype(a.dtype)
        return out[0] if a.ndim == 2 else out

    def to_meta(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any] | None) -> Expression:
        """From a checkpoint's ``meta["expression"]``; none there = the identity."""
        if not meta:
            return cls()
        return cls(float(meta.get("velocity", 1.0)), float(meta.get("timing", 1.0)))


def within_spread(arrays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(B,)`` standard deviations of each groove's velocities and of its offsets over its
    hits (0 for a groove without hits)."""
    b = np.asarray(arrays, np.float64)
    if b.ndim == 2:
        b = b[None]
    n = NUM_VOICES
    hits = b[..., :n] > 0.5
    count = np.maximum(hits.sum(axis=(1, 2)), 1)

    def std(part: np.ndarray) -> np.ndarray:
        mean = (part * hits).sum(axis=(1, 2)) / count
        var = (((part - mean[:, None, None]) ** 2) * hits).sum(axis=(1, 2)) / count
        return np.sqrt(var)

    return std(b[..., n:2 * n]), std(b[..., 2 * n:])


def fit(real: np.ndarray, decoded: np.ndarray) -> Expression:
    """The factors that give ``decoded`` (reconstructions of ``real``, ``(B, T, 27)`` each,
    row for row) the real windows' root-mean-square within-groove spread, clipped to
    ``[1 / MAX_FACTOR, MAX_FACTOR]``.

    Raises:
        ValueError: mismatched shapes, or a spread of zero on either side.
    """
    real, decoded = np.asarray(real), np.asarray(decoded)
    if real.shape != decoded.shape or real.ndim != 3:
        raise ValueError(f"real {real.shape} and decoded {decoded.shape} must be matching (B, T, 27)")
    factors = []
    for r, d in zip(within_spread(real), within_spread(decoded), strict=True):
        rr, dd = float(np.sqrt(np.mean(r ** 2))), float(np.sqrt(np.mean(d ** 2)))
        if rr <= 0 or dd <= 0:
            raise ValueError("a spread of zero cannot be fitted (no hits, or constant values)")
        factors.append(float(np.clip(rr / dd, 1 / MAX_FACTOR, MAX_FACTOR)))
    return Expression(*factors)
