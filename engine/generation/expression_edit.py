"""A groove's feel brought to a knob's value by editing how it is played, not what.

Intensity is the mean velocity of a groove's onsets and laid back their mean micro-timing
offset (:mod:`engine.music.attributes`). A drummer asked to play harder, or further behind
the beat, plays the same pattern: so a feel knob that keeps the playing groove
(``WalkSettings.keep``) lets the decoder move the groove's feel as far as it will, and
closes what is left here, on the hits as decoded: velocities are scaled (accents stay in
proportion, and a ghost note stays quieter than a backbeat) and offsets shifted (the
groove's push and drag between voices stay as they were), each row by the one factor or
shift that brings the attribute to its target (a bisection; clipping at the codec's limits
makes the mean a monotone, not a linear, function of it).

Pure numpy on the decoder's arrays; no model, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from engine.generation.hit_edit import HIT_KNOBS

FEEL_KNOBS = ("intensity", "laid_back")
MIN_VELOCITY = 1.0 / 127.0  # a hit keeps sounding: MIDI velocity 1
MAX_OFFSET = 0.5            # the codec's micro-timing limit, in steps
ITERATIONS = 40             # bisection steps: the factor or shift to ~1e-12 of its bracket


def kept_knobs(shipped: Sequence[str], names: Sequence[str], feel: bool, hits: bool = False
               ) -> tuple[str, ...]:
    """The knobs that keep the playing groove: the model's own choice (``shipped``,
    ``WalkSettings.keep``) and, among the model's ``names``, the feel knobs with ``feel``
    (the app's *Feel knobs keep the groove*) and the hit knobs with ``hits`` (*Density and
    hats keep the groove*, :data:`~engine.generation.hit_edit.HIT_KNOBS`)."""
    switched = (*(FEEL_KNOBS if feel else ()), *(HIT_KNOBS if hits else ()))
    return tuple(dict.fromkeys((*shipped, *(n for n in switched if n in names))))


def _masked_mean(values: np.ndarray, hits: np.ndarray) -> np.ndarray:
    n = hits.sum(axis=(1, 2))
    return (values * hits).sum(axis=(1, 2)) / np.maximum(n, 1)


def _bisect(lo: float, hi: float, goal: np.ndarray, at: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The parameter in ``[lo, hi]`` (per row) where the non-decreasing ``at(p)`` meets ``goal``."""
    lo, hi = np.full(len(goal), lo), np.full(len(goal), hi)
    for _ in range(ITERATIONS):
        mid = 0.5 * (lo + hi)
        low_side = at(mid) < goal
        lo = np.where(low_side, mid, lo)
        hi = np.where(low_side, hi, mid)
    return 0.5 * (lo + hi)


def meet_feel(hits: np.ndarray, velocities: np.ndarray, offsets: np.ndarray, knob: str,
              targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(velocities, offsets)`` of a ``(B, T, V)`` batch edited so each row's ``knob``
    attribute meets ``targets (B,)`` (NaN, or a row without hits: left as it is). A target
    beyond what the codec can play gives the nearest it can.

    Raises:
        ValueError: ``knob`` is not a feel knob.
    """
    if knob not in FEEL_KNOBS:
        raise ValueError(f"{knob!r} is not a feel knob ({', '.join(FEEL_KNOBS)})")
    h = np.asarray(hits, bool)
    vel = np.array(velocities, np.float64, copy=True)
    off = np.array(offsets, np.float64, copy=True)
    goal = np.asarray(targets, np.float64).reshape(-1)
    rows = np.isfinite(goal) & h.any(axis=(1, 2))
    if not rows.any():
        return vel, off
    hr, g = h[rows], goal[rows]
    if knob == "intensity":
        v = np.clip(vel[rows], MIN_VELOCITY, 1.0)

        def scaled(log_scale: np.ndarray) -> np.ndarray:
            return np.clip(v * np.exp(log_scale)[:, None, None], MIN_VELOCITY, 1.0)

        best = _bisect(-8.0, 8.0, g, lambda p: _masked_mean(scaled(p), hr))
        vel[rows] = np.where(hr, scaled(best), vel[rows])
    else:
        o = off[rows]

        def shifted(shift: np.ndarray) -> np.ndarray:
            return np.clip(o + shift[:, None, None], -MAX_OFFSET, MAX_OFFSET)

        bound = 2 * MAX_OFFSET
        best = _bisect(-bound, bound, g, lambda p: _masked_mean(shifted(p), hr))
        off[rows] = np.where(hr, shifted(best), off[rows])
    return vel, off
