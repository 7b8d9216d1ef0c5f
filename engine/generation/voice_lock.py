"""Locked voices: keep the drums a musician likes while the rest changes around them.

A lock names voices and the part they play (hits, velocities, micro-timing, from the pattern
playing when they were locked). Pasting that part over a new groove is not enough — the new
kick may fight the kept snare — so :func:`fit_around` lets the model redraw the other voices
given the locked ones: the combined pattern is encoded, and decoded with itself as the
decoder's teacher (each step then depends on the locked voices of the steps before it), the
locked voices pasted back; twice. Pure numpy around the generator's encode/decode calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.music import attributes as attr_lib
from engine.music.pattern import FEATURES, Pattern
from models.vocabulary import NUM_VOICES

PASSES = 2  # encode → teacher-forced decode rounds; the second settles what the first moved


@dataclass(frozen=True)
class VoiceLock:
    """Voices kept as ``part`` plays them; ``part`` is a ``(T, 27)`` codec array."""

    voices: frozenset[int] = field(default_factory=frozenset)
    part: np.ndarray | None = None

    def __post_init__(self) -> None:
        bad = [v for v in self.voices if not 0 <= int(v) < NUM_VOICES]
        if bad:
            raise ValueError(f"voices must lie in 0..{NUM_VOICES - 1}, got {sorted(bad)}")
        if self.voices and (self.part is None or np.ndim(self.part) != 2
                            or np.shape(self.part)[1] != FEATURES):
            raise ValueError(f"a lock needs the part it keeps as (steps, {FEATURES}), got "
                             f"{None if self.part is None else np.shape(self.part)}")

    @classmethod
    def of(cls, pattern: Pattern, voices: Iterable[int]) -> VoiceLock:
        """Lock ``voices`` as ``pattern`` plays them."""
        return cls(frozenset(int(v) for v in voices), pattern.to_array())

    def toggled(self, voice: int, pattern: Pattern) -> VoiceLock:
        """This lock with ``voice`` released, or locked as ``pattern`` plays it now (the
        voices already locked keep their part)."""
        v = int(voice)
        if v in self.voices:
            rest = self.voices - {v}
            return VoiceLock(rest, self.part if rest else None)
        # the voices locked so far keep their part; the new one plays as in ``pattern``
        return VoiceLock(self.voices | {v}, self.paste(pattern.to_array()[None])[0])

    @property
    def active(self) -> bool:
        return bool(self.voices)

    def columns(self) -> np.ndarray:
        """The codec columns of the locked voices (hit, velocity, offset of each)."""
        v = np.array(sorted(self.voices), np.int64)
        return np.concatenate([v, v + NUM_VOICES, v + 2 * NUM_VOICES])

    def paste(self, arrays: np.ndarray) -> np.ndarray:
        """``(B, T, 27)`` with the locked voices replaced by the locked part (looped or cut to T)."""
        out = np.array(arrays, np.float32, copy=True)
        if not self.active:
            return out
        assert self.part is not None
        steps = out.shape[1]
        reps = -(-steps // len(self.part))
        part = np.tile(self.part, (reps, 1))[:steps]
        cols = self.columns()
        out[:, :, cols] = part[None, :, cols]
        return out


def fit_around(gen: Any, arrays: np.ndarray, lock: VoiceLock, passes: int = PASSES) -> np.ndarray:
    """``(B, T, 27)`` grooves redrawn around the locked voices (module docstring); the
    locked voices come out exactly as locked."""
    x = lock.paste(arrays)
    if not lock.active:
        return x
    for _ in range(passes):
        mu, _ = gen.encode_batch(x)
        attrs = attr_lib.compute(x, gen.attribute_names) if gen.attribute_names else None
        x = lock.paste(gen.decode_batch(mu, attrs, teacher=x).to_array())
    return x
