"""Musical attributes of drum patterns: pure, vectorised numpy functions over batches.

Each function takes a batch in the pattern codec layout, ``(batch, steps, 27)`` (see
:mod:`engine.music.pattern`), and returns ``(batch,)`` float64. These are the quantities the
fader-VAE turns into knobs, so each has a formula a drummer can check by hand:

=============  =====================================================  ==============
name           formula                                                range
=============  =====================================================  ==============
density        onsets / steps (mean number of voices struck per step)  [0, 9]
syncopation    Longuet-Higgins & Lee syncopation of the drum and the   [0, ~14]
               cymbal layers, summed, per bar
intensity      mean MIDI velocity of the onsets / 127                  [0, 1]
laid_back      mean micro-timing offset of the onsets, in steps;       [-0.5, 0.5]
               > 0 plays behind the beat, < 0 pushes ahead of it
hat_busyness   share of steps with a closed/open hi-hat or ride onset  [0, 1]
=============  =====================================================  ==============

Empty patterns have 0 for every attribute.

Syncopation follows H. C. Longuet-Higgins and C. S. Lee, "The rhythmic interpretation of
monophonic music", Music Perception 1(4), 1984: each grid position of a 4/4 bar gets a
metrical weight (bar 0, half bar -1, beats -2, 8ths -3, 16ths -4). A note on a position of
weight ``w_n`` that sounds through (is not followed by another onset of the same voice
before) a silent position of higher weight ``w_r`` is a syncopation of strength
``w_r - w_n``; the pattern loops, so the last notes sound into the first bar.

LHL is defined for one monophonic line. A drum kit is heard as two interlocking lines
(the idea behind Witek et al. 2014's polyphonic measure): the *drums* (kick, snare, toms)
and the *cymbals* (hi-hats, ride, crash). We take the onsets of each layer together,
score each layer with LHL, add the two scores and divide by the number of bars so 2- and
4-bar patterns compare. So a plain backbeat (kick 1 and 3, snare 2 and 4, 8th hats) scores
0, a kick anticipating the downbeat scores 4 per bar, and off-beat hats score as the
syncopation they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from engine.music.drums import NUM_VOICES
from models.vocabulary import CYMBAL_LAYER, DRUM_LAYER, TIME_KEEPERS

Batch = np.ndarray  # (batch, steps, 27) float in the pattern codec layout


def _split(batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b = np.asarray(batch, dtype=np.float64)
    if b.ndim == 2:
        b = b[None]
    if b.ndim != 3 or b.shape[2] != 3 * NUM_VOICES:
        raise ValueError(f"expected (batch, steps, {3 * NUM_VOICES}), got {b.shape}")
    n = NUM_VOICES
    hits = b[..., :n] > 0.5
    return hits, b[..., n:2 * n], b[..., 2 * n:]


def density(batch: Batch) -> np.ndarray:
    """Onsets per step: 4-on-the-floor kick alone = 0.25; every voice on every step = 9."""
    hits, _, _ = _split(batch)
    return hits.sum(axis=(1, 2)) / hits.shape[1]


def intensity(batch: Batch) -> np.ndarray:
    """Mean onset velocity in [0, 1] (MIDI velocity / 127); 0 for an empty pattern."""
    hits, vel, _ = _split(batch)
    n = hits.sum(axis=(1, 2))
    return np.where(n > 0, (vel * hits).sum(axis=(1, 2)) / np.maximum(n, 1), 0.0)


def laid_back(batch: Batch) -> np.ndarray:
    """Mean onset offset in steps: > 0 behind the beat (laid back), < 0 ahead (pushing)."""
    hits, _, off = _split(batch)
    n = hits.sum(axis=(1, 2))
    return np.where(n > 0, (off * hits).sum(axis=(1, 2)) / np.maximum(n, 1), 0.0)


_TIME_KEEPERS = list(TIME_KEEPERS)
_DRUM_LAYER = list(DRUM_LAYER)
_CYMBAL_LAYER = list(CYMBAL_LAYER)


def hat_busyness(batch: Batch) -> np.ndarray:
    """Share of steps where a hi-hat (closed or open) or the ride is struck."""
    hits, _, _ = _split(batch)
    return hits[..., _TIME_KEEPERS].any(axis=2).mean(axis=1)


def metrical_weights(steps_per_bar: int = 16) -> np.ndarray:
    """Longuet-Higgins & Lee weights of one 4/4 bar at ``steps_per_bar`` (a power of two ≥ 4).

    For 16 steps: ``[0, -4, -3, -4, -2, -4, -3, -4, -1, -4, -3, -4, -2, -4, -3, -4]``.
    """
    if steps_per_bar < 2 or steps_per_bar & (steps_per_bar - 1):
        raise ValueError(f"steps_per_bar must be a power of two, got {steps_per_bar}")
    w = np.zeros(steps_per_bar, dtype=np.float64)
    level, span = 0, steps_per_bar
    while span > 1:
        span //= 2
        level -= 1
        # positions on this level that are not on a stronger one
        idx = np.arange(span, steps_per_bar, 2 * span)
        w[idx] = level
    return w


def syncopation(batch: Batch, steps_per_bar: int = 16) -> np.ndarray:
    """Longuet-Higgins & Lee syncopation per bar of the drum + cymbal layers (module docstring)."""
    all_hits, _, _ = _split(batch)
    # (batch, steps, 2): one monophonic onset line per layer
    hits = np.stack([all_hits[..., _DRUM_LAYER].any(axis=2),
                     all_hits[..., _CYMBAL_LAYER].any(axis=2)], axis=2)
    bsz, steps, voices = hits.shape
    weights = np.tile(metrical_weights(steps_per_bar), steps // steps_per_bar)
    # Walk the loop backwards twice: for every position, the strongest silent weight
    # between it and the same voice's next onset (cyclically). After the first pass
    # the running maximum is valid for the wrap-around as well.
    strongest_rest = np.full((bsz, voices), -np.inf)
    after = np.full((bsz, steps, voices), -np.inf)
    for _ in range(2):
        for t in range(steps - 1, -1, -1):
            after[:, t] = strongest_rest
            # position t as seen from an earlier note: silent positions extend the span,
            # an onset at t ends it.
            strongest_rest = np.where(hits[:, t], -np.inf, np.maximum(strongest_rest, weights[t]))
    gain = np.clip(after - weights[None, :, None], 0.0, None)
    gain[~np.isfinite(gain)] = 0.0
    score = (gain * hits).sum(axis=(1, 2))
    return score / (steps // steps_per_bar)


ATTRIBUTES: dict[str, Callable[[Batch], np.ndarray]] = {
    "density": density,
    "syncopation": syncopation,
    "intensity": intensity,
    "laid_back": laid_back,
    "hat_busyness": hat_busyness,
}

# Attributes of the hits alone (velocities and offsets never change them): a decode for these
# may skip a model's velocity trunk (engine.generation.generator.Generator.heatmap).
HIT_ATTRIBUTES: frozenset[str] = frozenset({"density", "syncopation", "hat_busyness"})

DEFAULT_ATTRIBUTES: tuple[str, ...] = ("density", "syncopation", "intensity", "laid_back")


def resolution(name: str, steps: int, steps_per_bar: int = 16) -> float:
    """The smallest step an attribute of a ``steps``-step pattern moves in: one onset or one
    hi-hat step of all ``steps``, one LHL unit per bar for syncopation (its strengths are
    whole numbers); 0 for the velocity and timing attributes (continuous for our purposes).
    A knob set between two such steps can only be met to within half of one."""
    if name not in ATTRIBUTES:
        raise ValueError(f"unknown attribute {name!r}; known: {sorted(ATTRIBUTES)}")
    if name in ("density", "hat_busyness"):
        return 1.0 / steps
    if name == "syncopation":
        return 1.0 / max(steps // steps_per_bar, 1)
    return 0.0


def compute(batch: Batch, names: Sequence[str] = DEFAULT_ATTRIBUTES) -> np.ndarray:
    """``(batch, len(names))`` attribute matrix, columns in ``names`` order."""
    unknown = [n for n in names if n not in ATTRIBUTES]
    if unknown:
        raise ValueError(f"unknown attribute(s) {unknown}; known: {sorted(ATTRIBUTES)}")
    return np.stack([ATTRIBUTES[n](batch) for n in names], axis=1)
