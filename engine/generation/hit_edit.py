"""A groove's hits brought to a knob's value by adding or removing them in a fixed order.

Density (onsets per step) and hat busyness (the share of steps with a hi-hat or ride
onset) count hits. A knob that keeps the playing groove (``WalkSettings.keep``) meets
them on the groove itself, as Grids does on its maps of real patterns: every cell of the
grid has a *level*, and the knob's value says how many cells sound, highest level first.
Here a cell's level is how much of the knob's range the decoder plays it over: the mean of
its hit probability when the groove's latent is decoded with the knob's input swept across
the data's range (:func:`cell_levels`). So the cells the decoder keeps in the sparsest
version of this groove (the backbeat, the downbeat kick) go last when the knob goes down,
and the ones it adds only near the top (ghost notes, hat subdivisions) come first when it
goes up: the order the decoder learned from the data's drummers, for this groove.

The cells sounding at one setting are a subset of those at any higher one, so a knob
turned down and up again comes back to the groove it left, one hit at a time. Hits kept
keep their velocity and timing; an added one takes the decoder's at the sweep's input
nearest the knob's value. By default only the voices the groove already plays are added
to (a groove turned up does not bring in a crash or a tom), unless it plays none.

Pure numpy on the decoder's arrays; no model, no I/O.
"""

from __future__ import annotations

import numpy as np

from models.vocabulary import TIME_KEEPERS

HIT_KNOBS = ("density", "hat_busyness")
SWEEP = 9  # the knob's input values decoded for the levels, over the data's range

_TIME = np.array(TIME_KEEPERS)


def sweep_inputs(low: float, high: float, points: int = SWEEP) -> np.ndarray:
    """``(points,)`` the knob's input values the levels are decoded at: its data range."""
    return np.linspace(float(low), float(high), int(points))


def cell_levels(probs: np.ndarray) -> np.ndarray:
    """``(B, T, V)`` each cell's level from ``(B, S, T, V)`` hit probabilities decoded over
    the knob's sweep: the mean probability, the share of the range the cell plays over."""
    return np.asarray(probs, np.float64).mean(axis=1)


def _order(levels: np.ndarray) -> np.ndarray:
    """Flat cell indices, highest level first; ties by position (earlier first)."""
    flat = levels.reshape(-1)
    return np.lexsort((np.arange(flat.size), -flat))


def _density_cells(hits: np.ndarray, levels: np.ndarray, goal: float, own_voices: bool) -> np.ndarray:
    """One ``(T, V)`` groove's hits with ``round(goal × T)`` onsets (within the grid)."""
    steps, voices = hits.shape
    want = int(np.clip(np.rint(goal * steps), 0, steps * voices))
    have = int(hits.sum())
    order = _order(levels)
    flat = hits.reshape(-1)
    out = np.zeros_like(flat)
    if want <= have:
        present = order[flat[order]]
        out[present[:want]] = True
        return out.reshape(hits.shape)
    out[:] = flat
    absent = order[~flat[order]]
    plays = np.broadcast_to(hits.any(axis=0), hits.shape).reshape(-1)
    if own_voices and have:
        absent = np.concatenate([absent[plays[absent]], absent[~plays[absent]]])
    out[absent[:want - have]] = True
    return out.reshape(hits.shape)


def _hat_steps(hits: np.ndarray, levels: np.ndarray, goal: float, own_voices: bool) -> np.ndarray:
    """One ``(T, V)`` groove's hits with a time-keeping onset on ``round(goal × T)`` steps."""
    steps = hits.shape[0]
    want = int(np.clip(np.rint(goal * steps), 0, steps))
    time_hits = hits[:, _TIME]
    on = time_hits.any(axis=1)
    have = int(on.sum())
    out = hits.copy()
    time_levels = levels[:, _TIME]
    if want <= have:
        # a step's level: its strongest time-keeping hit's
        step_level = np.where(time_hits, time_levels, -np.inf).max(axis=1)
        kept = _order(np.where(on, step_level, -np.inf))[:want]
        drop = on.copy()
        drop[kept] = False
        out[np.ix_(drop, _TIME)] = False
        return out
    allowed = time_hits.any(axis=0) if own_voices and have else np.ones(len(_TIME), bool)
    choice = np.where(allowed[None, :], time_levels, -np.inf)
    voice = choice.argmax(axis=1)
    step_level = np.where(on, -np.inf, choice[np.arange(steps), voice])
    added = [s for s in _order(step_level) if not on[s]][:want - have]
    out[added, _TIME[voice[added]]] = True
    return out


def edit_hits(hits: np.ndarray, velocities: np.ndarray, offsets: np.ndarray, levels: np.ndarray,
              fill_velocities: np.ndarray, fill_offsets: np.ndarray, knob: str, targets: np.ndarray,
              own_voices: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(hits, velocities, offsets)`` of a ``(B, T, V)`` batch with each row's ``knob``
    attribute brought to ``targets (B,)`` (NaN: left as it is) by adding or removing hits in
    ``levels``' order (module docstring). Added hits play ``fill_velocities`` and
    ``fill_offsets``; with ``own_voices`` they come from the voices a row already plays
    first. A target beyond the grid gives the nearest it can.

    Raises:
        ValueError: ``knob`` is not a hit knob.
    """
    if knob not in HIT_KNOBS:
        raise ValueError(f"{knob!r} is not a hit knob ({', '.join(HIT_KNOBS)})")
    h = np.asarray(hits, bool)
    out = h.copy()
    goal = np.asarray(targets, np.float64).reshape(-1)
    lv = np.asarray(levels, np.float64)
    meet = _density_cells if knob == "density" else _hat_steps
    for b in np.flatnonzero(np.isfinite(goal)):
        out[b] = meet(h[b], lv[b], float(goal[b]), own_voices)
    added = out & ~h
    vel = np.where(added, fill_velocities, velocities).astype(np.float32)
    off = np.where(added, fill_offsets, offsets).astype(np.float32)
    return out, vel, off
