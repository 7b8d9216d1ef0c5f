"""Synthetic drum grooves for tests and smoke runs: seconds to make, obvious attributes.

Each pattern is a rock/funk-like 2-bar groove drawn from a few knobs (kick density, hat
rate, ghost notes, swing-ish offsets, loudness), so attributes such as density, intensity
and laid_back vary widely and are easy to predict from the pattern. The result has the
fields of ``training.dataset.GrooveDataset`` that training reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.music import attributes as attrs_mod
from engine.music.drums import NUM_VOICES, Voice


@dataclass(frozen=True)
class ArrayDataset:
    """Patterns ``(N, T, 27)`` float32, raw attributes ``(N, A)`` float64, and per-pattern split."""

    patterns: np.ndarray
    attributes: np.ndarray
    attribute_names: tuple[str, ...]
    split: np.ndarray
    tempo_bpm: np.ndarray
    fingerprint: str

    def subset(self, split: str) -> ArrayDataset:
        keep = self.split == split
        return ArrayDataset(self.patterns[keep], self.attributes[keep], self.attribute_names,
                            self.split[keep], self.tempo_bpm[keep], self.fingerprint)


def synthetic_patterns(n: int, steps: int = 32, seed: int = 0) -> np.ndarray:
    """``(n, steps, 27)`` float32 grooves in the codec layout of :mod:`engine.music.pattern`."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, steps, 3 * NUM_VOICES), np.float32)
    t = np.arange(steps)
    for i in range(n):
        hits = np.zeros((steps, NUM_VOICES), bool)
        hat_every = rng.choice([1, 2, 4])
        hat_voice = Voice.RIDE if rng.random() < 0.2 else Voice.CLOSED_HAT
        hits[:, hat_voice] = t % hat_every == 0
        hits[:, Voice.SNARE] = t % 8 == 4
        kick_p = rng.uniform(0.05, 0.5)
        hits[:, Voice.KICK] = (t % 8 == 0) | ((t % 2 == 0) & (rng.random(steps) < kick_p))
        if rng.random() < 0.5:  # ghost snares
            hits[:, Voice.SNARE] |= rng.random(steps) < 0.15
        if rng.random() < 0.3:  # crash on the downbeat
            hits[0, Voice.CRASH] = True
        if rng.random() < 0.3:  # a tom fill in the last beat
            hits[-4:, Voice.LOW_TOM + rng.integers(0, 3)] = True
        loud = rng.uniform(0.35, 0.95)
        vel = np.clip(loud + rng.normal(0, 0.08, hits.shape), 0.05, 1.0)
        lag = rng.uniform(-0.2, 0.2)
        off = np.clip(lag + rng.normal(0, 0.05, hits.shape), -0.5, 0.5)
        out[i, :, :NUM_VOICES] = hits
        out[i, :, NUM_VOICES:2 * NUM_VOICES] = np.where(hits, vel, 0)
        out[i, :, 2 * NUM_VOICES:] = np.where(hits, off, 0)
    return out


def synthetic_dataset(n: int = 512, steps: int = 32, seed: int = 0,
                      names: Sequence[str] = tuple(attrs_mod.ATTRIBUTES)) -> ArrayDataset:
    """``n`` synthetic grooves split 80/10/10 into train/validation/test."""
    patterns = synthetic_patterns(n, steps, seed)
    raw = attrs_mod.compute(patterns, tuple(names))
    split = np.array(["train"] * n, dtype=object)
    idx = np.random.default_rng(seed + 1).permutation(n)
    split[idx[: n // 10]] = "validation"
    split[idx[n // 10: n // 5]] = "test"
    digest = hashlib.sha256(f"synthetic:{n}:{steps}:{seed}:{','.join(names)}".encode()).hexdigest()
    return ArrayDataset(patterns, raw, tuple(names), split.astype(str),
                        np.full(n, 120.0, np.float32), digest)
