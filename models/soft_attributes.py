"""The musical attributes of :mod:`engine.music.attributes`, computed in torch on decoder output.

Why: the fader-VAE's knobs only work if the decoder *obeys* the attribute input. Reconstruction
trains it only on the attributes a pattern already has; the control loss of
:mod:`training.train` also decodes under *changed* attributes and penalises the difference
between the requested and the produced values. That needs the attributes as differentiable
functions of the decoder output.

Forward values are exact: hits enter as straight-through estimates (``hard + p - p.detach()``
with ``hard = p > 0.5``, the greedy decode), so on any output each function returns what the
numpy version returns on the decoded pattern (tests check this). Gradients flow through the hit
probabilities, velocities and offsets. Syncopation uses the expectation of the
Longuet-Higgins & Lee score over independent onsets, which equals the score on 0/1 onsets.

Same formulas, voice layout and layers as :mod:`engine.music.attributes` (models sits below engine
and cannot import it; a test checks the two agree).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
import torch

from models.vocabulary import CYMBAL_LAYER, DRUM_LAYER, NUM_VOICES, TIME_KEEPERS

_EPS = 1e-6


def straight_through_hits(hit_logits: torch.Tensor) -> torch.Tensor:
    """0/1 forward (``p > 0.5``, the greedy decode), ``sigmoid`` gradient backward."""
    p = torch.sigmoid(hit_logits)
    return (hit_logits > 0).to(p.dtype) + p - p.detach()


def density(hits: torch.Tensor, velocities: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    return hits.sum((1, 2)) / hits.shape[1]


def intensity(hits: torch.Tensor, velocities: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    return (hits * velocities).sum((1, 2)) / (hits.sum((1, 2)) + _EPS)


def laid_back(hits: torch.Tensor, velocities: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    return (hits * offsets).sum((1, 2)) / (hits.sum((1, 2)) + _EPS)


def _any(hits: torch.Tensor, voices: Sequence[int]) -> torch.Tensor:
    """``(B, T)`` probability that at least one of ``voices`` is struck (independent cells)."""
    return 1.0 - torch.prod(1.0 - hits[..., list(voices)], dim=-1)


def hat_busyness(hits: torch.Tensor, velocities: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    return _any(hits, TIME_KEEPERS).mean(1)


def metrical_weights(steps_per_bar: int = 16) -> np.ndarray:
    """LHL weights of one 4/4 bar (bar 0, half -1, beats -2, 8ths -3, 16ths -4)."""
    if steps_per_bar < 2 or steps_per_bar & (steps_per_bar - 1):
        raise ValueError(f"steps_per_bar must be a power of two, got {steps_per_bar}")
    w = np.zeros(steps_per_bar)
    level, span = 0, steps_per_bar
    while span > 1:
        span //= 2
        level -= 1
        w[np.arange(span, steps_per_bar, 2 * span)] = level
    return w


@lru_cache(maxsize=8)
def _lhl_tables(steps: int, steps_per_bar: int) -> tuple[np.ndarray, np.ndarray]:
    """``idx[t, k-1] = (t + k) % T`` and ``gain[t, k-1]``: the LHL strength of a note at t whose
    line's next onset is k steps later (positions t+1 .. t+k-1 silent), for k = 1 .. T."""
    w = np.tile(metrical_weights(steps_per_bar), steps // steps_per_bar)
    t = np.arange(steps)[:, None]
    k = np.arange(1, steps + 1)[None, :]
    idx = (t + k) % steps
    gain = np.zeros((steps, steps))
    for ti in range(steps):
        strongest = -np.inf
        for ki in range(1, steps + 1):
            gain[ti, ki - 1] = max(0.0, strongest - w[ti])
            strongest = max(strongest, w[(ti + ki) % steps])
    return idx, gain


def _lhl_expected(onsets: torch.Tensor, steps_per_bar: int) -> torch.Tensor:
    """Expected LHL score ``(B,)`` of one looped line with onset probabilities ``(B, T)``."""
    steps = onsets.shape[1]
    idx_np, gain_np = _lhl_tables(steps, steps_per_bar)
    idx = torch.from_numpy(idx_np).to(onsets.device)
    gain = torch.from_numpy(gain_np).to(onsets)
    later = onsets[:, idx]                                  # (B, T, T): onset prob at t + k
    silent = 1.0 - later
    # survive[t, k-1] = prod_{j < k} (1 - q_{t+j}): nothing between t and t + k
    survive = torch.cumprod(torch.cat([torch.ones_like(silent[..., :1]), silent[..., :-1]], -1), -1)
    return (onsets[:, :, None] * survive * later * gain).sum((1, 2))


def syncopation(hits: torch.Tensor, velocities: torch.Tensor, offsets: torch.Tensor,
                steps_per_bar: int = 16) -> torch.Tensor:
    """LHL syncopation per bar of the drum and cymbal layers (engine.music.attributes.syncopation)."""
    score = _lhl_expected(_any(hits, DRUM_LAYER), steps_per_bar) + \
        _lhl_expected(_any(hits, CYMBAL_LAYER), steps_per_bar)
    return score / (hits.shape[1] // steps_per_bar)


SOFT_ATTRIBUTES: dict[str, Callable[..., torch.Tensor]] = {
    "density": density,
    "syncopation": syncopation,
    "intensity": intensity,
    "laid_back": laid_back,
    "hat_busyness": hat_busyness,
}


def compute(hits: torch.Tensor, velocities: torch.Tensor, offsets: torch.Tensor,
            names: Sequence[str], steps_per_bar: int = 16) -> torch.Tensor:
    """``(B, len(names))`` raw attributes; ``hits`` may be soft (see the module docstring)."""
    if hits.shape[-1] != NUM_VOICES:
        raise ValueError(f"expected {NUM_VOICES} voices, got {hits.shape[-1]}")
    unknown = [n for n in names if n not in SOFT_ATTRIBUTES]
    if unknown:
        raise ValueError(f"no differentiable form of attribute(s) {unknown}")
    cols = []
    for name in names:
        fn = SOFT_ATTRIBUTES[name]
        cols.append(fn(hits, velocities, offsets, steps_per_bar) if name == "syncopation"
                    else fn(hits, velocities, offsets))
    return torch.stack(cols, dim=1)
