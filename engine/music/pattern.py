"""The drum pattern: an immutable grid of steps × voices with hit, velocity and micro-timing.

Every part of groovefader speaks this type: the dataset builder, the trainer, the
generator, the sequencer, the GUI and the MIDI exporter. Its one tensor codec
(:meth:`Pattern.to_array` / :meth:`Pattern.from_array`) is shared by training and
inference so the two cannot drift apart.

Tensor layout (GrooVAE's): ``(steps, 3 * 9)`` float32, columns ``[hits | velocities |
offsets]``; hits in {0, 1}, velocities in [0, 1] (MIDI velocity / 127), offsets in
[-0.5, 0.5] steps (negative = early/push, positive = late/laid back). Velocity and offset
are zero wherever there is no hit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from models.vocabulary import FEATURES, NUM_VOICES, STEPS_PER_BAR

if TYPE_CHECKING:  # torch stays out of the sequencer process: imported lazily below
    import torch

DEFAULT_BARS = 2
MAX_OFFSET = 0.5  # steps; a larger shift would belong to the neighbouring step


class Pattern:
    """An immutable drum pattern.

    Args:
        hits: ``(steps, 9)`` bool-like, which voice plays on which step.
        velocities: ``(steps, 9)`` in [0, 1]; ignored (zeroed) where there is no hit.
        offsets: ``(steps, 9)`` in [-0.5, 0.5] steps; ignored (zeroed) where there is no hit.
        steps_per_bar: grid resolution; 16 for 16th notes in 4/4.

    Raises:
        ValueError: on wrong shapes, out-of-range values or a length that is not whole bars.
    """

    __slots__ = ("_hits", "_velocities", "_offsets", "_steps_per_bar")

    def __init__(self, hits: Any, velocities: Any | None = None, offsets: Any | None = None,
                 steps_per_bar: int = STEPS_PER_BAR) -> None:
        h = np.asarray(hits)
        if h.ndim != 2 or h.shape[1] != NUM_VOICES:
            raise ValueError(f"hits must have shape (steps, {NUM_VOICES}), got {h.shape}")
        if steps_per_bar <= 0 or h.shape[0] == 0 or h.shape[0] % steps_per_bar:
            raise ValueError(
                f"steps ({h.shape[0]}) must be a positive multiple of steps_per_bar ({steps_per_bar})")
        h = h.astype(bool)
        v = np.full(h.shape, 100 / 127, np.float32) if velocities is None else np.asarray(
            velocities, dtype=np.float32)
        o = np.zeros(h.shape, np.float32) if offsets is None else np.asarray(offsets, np.float32)
        for name, arr in (("velocities", v), ("offsets", o)):
            if arr.shape != h.shape:
                raise ValueError(f"{name} must have shape {h.shape}, got {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} must be finite")
        if v.min() < 0.0 or v.max() > 1.0:
            raise ValueError("velocities must lie in [0, 1]")
        if np.abs(o).max() > MAX_OFFSET + 1e-6:
            raise ValueError(f"offsets must lie in [-{MAX_OFFSET}, {MAX_OFFSET}] steps")
        v = np.where(h, v, 0.0).astype(np.float32)
        o = np.where(h, np.clip(o, -MAX_OFFSET, MAX_OFFSET), 0.0).astype(np.float32)
        for arr in (h, v, o):
            arr.setflags(write=False)
        self._hits, self._velocities, self._offsets = h, v, o
        self._steps_per_bar = int(steps_per_bar)

    # -- read-only views -------------------------------------------------------------------
    @property
    def hits(self) -> np.ndarray:
        """``(steps, 9)`` bool, read-only."""
        return self._hits

    @property
    def velocities(self) -> np.ndarray:
        """``(steps, 9)`` float32 in [0, 1], read-only, zero where no hit."""
        return self._velocities

    @property
    def offsets(self) -> np.ndarray:
        """``(steps, 9)`` float32 in [-0.5, 0.5] steps, read-only, zero where no hit."""
        return self._offsets

    @property
    def steps(self) -> int:
        return self._hits.shape[0]

    @property
    def steps_per_bar(self) -> int:
        return self._steps_per_bar

    @property
    def bars(self) -> int:
        return self.steps // self._steps_per_bar

    @property
    def num_hits(self) -> int:
        return int(self._hits.sum())

    def midi_velocities(self) -> np.ndarray:
        """``(steps, 9)`` int MIDI velocities 1–127 where hit, 0 elsewhere."""
        vel = np.rint(self._velocities * 127).astype(np.int16)
        return np.where(self._hits, np.clip(vel, 1, 127), 0)

    # -- constructors ----------------------------------------------------------------------
    @classmethod
    def empty(cls, bars: int = DEFAULT_BARS, steps_per_bar: int = STEPS_PER_BAR) -> Pattern:
        return cls(np.zeros((bars * steps_per_bar, NUM_VOICES), bool), steps_per_bar=steps_per_bar)

    # -- the codec -------------------------------------------------------------------------
    def to_array(self) -> np.ndarray:
        """``(steps, 27)`` float32: ``[hits | velocities | offsets]``."""
        return np.concatenate(
            [self._hits.astype(np.float32), self._velocities, self._offsets], axis=1)

    @classmethod
    def from_array(cls, array: Any, steps_per_bar: int = STEPS_PER_BAR,
                   threshold: float = 0.5) -> Pattern:
        """Inverse of :meth:`to_array`; hit columns above ``threshold`` count as hits.

        Model outputs (probabilities, unclipped regressions) are accepted: velocities are
        clipped to [0, 1] and offsets to [-0.5, 0.5].
        """
        a = np.asarray(array, dtype=np.float32)
        if a.ndim != 2 or a.shape[1] != FEATURES:
            raise ValueError(f"pattern array must have shape (steps, {FEATURES}), got {a.shape}")
        n = NUM_VOICES
        return cls(a[:, :n] > threshold, np.clip(a[:, n:2 * n], 0.0, 1.0),
                   np.clip(a[:, 2 * n:], -MAX_OFFSET, MAX_OFFSET), steps_per_bar)

    def to_tensor(self) -> torch.Tensor:
        """``(steps, 27)`` float32 torch tensor (imports torch on first use)."""
        import torch

        return torch.from_numpy(self.to_array())

    @classmethod
    def from_tensor(cls, tensor: torch.Tensor, steps_per_bar: int = STEPS_PER_BAR,
                    threshold: float = 0.5) -> Pattern:
        return cls.from_array(tensor.detach().cpu().numpy(), steps_per_bar, threshold)

    # -- edits return new patterns ---------------------------------------------------------
    def with_hit(self, step: int, voice: int, on: bool, velocity: float | None = None,
                 offset: float | None = None) -> Pattern:
        """A copy with one cell set or cleared (the GUI's step-grid edit)."""
        h, v, o = self._hits.copy(), self._velocities.copy(), self._offsets.copy()
        h[step, voice] = on
        if on:
            v[step, voice] = velocity if velocity is not None else (v[step, voice] or 100 / 127)
            o[step, voice] = offset if offset is not None else o[step, voice]
        return Pattern(h, v, o, self._steps_per_bar)

    def bar_slice(self, start_bar: int, bars: int) -> Pattern:
        """The bars ``[start_bar, start_bar + bars)`` as a new pattern."""
        a, b = start_bar * self._steps_per_bar, (start_bar + bars) * self._steps_per_bar
        if start_bar < 0 or bars <= 0 or b > self.steps:
            raise ValueError(f"bars {start_bar}..{start_bar + bars} outside a {self.bars}-bar pattern")
        return Pattern(self._hits[a:b], self._velocities[a:b], self._offsets[a:b], self._steps_per_bar)

    @classmethod
    def concatenate(cls, patterns: Sequence[Pattern]) -> Pattern:
        """Patterns played one after the other, as one longer pattern."""
        if not patterns:
            raise ValueError("nothing to concatenate")
        spb = patterns[0].steps_per_bar
        if any(p.steps_per_bar != spb for p in patterns):
            raise ValueError("patterns differ in steps_per_bar")
        return cls(np.concatenate([p.hits for p in patterns]),
                   np.concatenate([p.velocities for p in patterns]),
                   np.concatenate([p.offsets for p in patterns]), spb)

    # -- value semantics -------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pattern):
            return NotImplemented
        return (self._steps_per_bar == other._steps_per_bar
                and np.array_equal(self._hits, other._hits)
                and np.array_equal(self._velocities, other._velocities)
                and np.array_equal(self._offsets, other._offsets))

    def __hash__(self) -> int:
        return hash((self._steps_per_bar, self._hits.tobytes(), self._velocities.tobytes(),
                     self._offsets.tobytes()))

    def __repr__(self) -> str:
        return f"Pattern(bars={self.bars}, steps={self.steps}, hits={self.num_hits})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Patterns cross process boundaries (sequencer queue, dataset workers) by pickling.
        return (Pattern, (self._hits, self._velocities, self._offsets, self._steps_per_bar))


def stack(patterns: Sequence[Pattern]) -> np.ndarray:
    """``(batch, steps, 27)`` float32 array of equally long patterns."""
    if not patterns:
        raise ValueError("nothing to stack")
    return np.stack([p.to_array() for p in patterns])


def unstack(batch: Any, steps_per_bar: int = STEPS_PER_BAR, threshold: float = 0.5) -> list[Pattern]:
    """Inverse of :func:`stack` (accepts numpy arrays or torch tensors)."""
    if hasattr(batch, "detach"):
        batch = batch.detach().cpu().numpy()
    return [Pattern.from_array(a, steps_per_bar, threshold) for a in np.asarray(batch)]
