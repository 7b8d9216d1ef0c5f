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
turned down and up again comes back to the groove it left, one hit at a time. With the
data's voice curve (:class:`VoiceCurve`), density first shares the hits among the voices as
the data's drummers do between the groove's density and the knob's (a sparse groove keeps
its backbeat and plays fewer hats), then takes each voice's cells in the decoder's order:
each voice's hits are still nested, and the same setting always gives the same groove. Hits kept
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


def _count(goal: float, steps: int, cells: int) -> int:
    """The whole number of hits (or steps) a per-step share ``goal`` asks of a ``steps``-step
    groove, within the ``cells`` there are."""
    return int(np.clip(np.rint(goal * steps), 0, cells))


def _order(levels: np.ndarray) -> np.ndarray:
    """Flat cell indices, highest level first; ties by position (earlier first)."""
    flat = levels.reshape(-1)
    return np.lexsort((np.arange(flat.size), -flat))


class VoiceCurve:
    """The data's mean hits per voice as a function of density: the grooves sorted by their
    density in :data:`BINS` equal-count bins, each bin's mean density and mean hits per
    voice, read between bins linearly (and flat beyond the ends)."""

    BINS = 24

    def __init__(self, density: np.ndarray, voice_hits: np.ndarray) -> None:
        d = np.asarray(density, np.float64)
        order = np.argsort(d, kind="stable")
        parts = [p for p in np.array_split(order, min(self.BINS, max(len(d), 1))) if len(p)]
        self.centres = np.array([d[p].mean() for p in parts])
        self.means = np.stack([np.asarray(voice_hits, np.float64)[p].mean(0) for p in parts])

    def at(self, value: np.ndarray | float) -> np.ndarray:
        """``(..., V)`` the mean hits per voice at density ``value``."""
        v = np.asarray(value, np.float64)
        cols = [np.interp(v, self.centres, self.means[:, j]) for j in range(self.means.shape[1])]
        return np.stack(cols, axis=-1)

    def ratio(self, start: np.ndarray | float, goal: np.ndarray | float) -> np.ndarray:
        """``(..., V)`` how the data scales each voice from density ``start`` to ``goal``."""
        return self.at(goal) / np.maximum(self.at(start), RATIO_FLOOR)


RATIO_FLOOR = 0.05  # hits per groove below which a voice's mean counts as this (no division by 0)


def _quotas(have: np.ndarray, want: int, ratio: np.ndarray, steps: int) -> np.ndarray | None:
    """``(V,)`` whole hits per voice summing to ``want`` where the voices played can hold
    them: each played voice's hits scaled by ``ratio``, the sum brought to ``want`` (a voice
    full at ``steps`` hands its share on), rounded by largest remainders. None when no voice
    plays."""
    q = have * np.maximum(ratio, 0.0)
    if q.sum() <= 0:
        return None
    q = q * min(want, steps * int((have > 0).sum())) / q.sum()
    for _ in range(len(q)):
        full = q > steps
        free = ~full & (q > 0)
        if not full.any() or not free.any():
            break
        spare = float((q[full] - steps).sum())
        q[full] = steps
        q[free] += spare * q[free] / q[free].sum()
    q = np.minimum(q, steps)
    out = np.floor(q + 1e-9).astype(np.int64)
    short = int(round(q.sum())) - int(out.sum())
    room = np.flatnonzero((out < steps) & (have > 0))
    for j in room[np.argsort(-(q - out)[room], kind="stable")][:max(short, 0)]:
        out[j] += 1
    return out


def _by_voice(hits: np.ndarray, levels: np.ndarray, quotas: np.ndarray) -> np.ndarray:
    """``(T, V)`` each voice's ``quotas`` hits: its present cells highest level first, then
    its absent ones."""
    out = np.zeros_like(hits)
    for v, q in enumerate(quotas):
        col, lv = hits[:, v], levels[:, v]
        order = _order(lv)
        ranked = np.concatenate([order[col[order]], order[~col[order]]])
        out[ranked[:q], v] = True
    return out


def _density_cells(hits: np.ndarray, levels: np.ndarray, goal: float, own_voices: bool,
                   ratio: np.ndarray | None = None) -> np.ndarray:
    """One ``(T, V)`` groove's hits with ``round(goal × T)`` onsets (within the grid); with
    ``ratio`` (V,) shared among its voices as :func:`_quotas` says first."""
    steps, voices = hits.shape
    want = _count(goal, steps, steps * voices)
    have = int(hits.sum())
    quotas = None if ratio is None else _quotas(hits.sum(0), want, ratio, steps)
    if quotas is not None:
        hits = _by_voice(hits, levels, quotas)  # the voices played; any hits still wanted follow
        have = int(hits.sum())
        if want <= have:
            return hits
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
    want = _count(goal, steps, steps)
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


def _density_on_steps(hits: np.ndarray, levels: np.ndarray, goal: float, own_voices: bool) -> np.ndarray:
    """One ``(T, V)`` groove's hits brought toward ``round(goal × T)`` onsets without changing
    which steps have a time-keeping onset (so hat busyness stays): only other voices' cells,
    and hi-hat or ride cells on steps that keep one, are added or removed, in level order."""
    steps, voices = hits.shape
    want = _count(goal, steps, steps * voices)
    out = hits.copy()
    have = int(out.sum())
    time_voice = np.zeros(voices, bool)
    time_voice[_TIME] = True
    on_step = out[:, _TIME].sum(axis=1)
    order = _order(levels)
    if want < have:
        for idx in order[::-1]:
            t, v = divmod(int(idx), voices)
            if have == want:
                break
            if out[t, v] and not (time_voice[v] and on_step[t] == 1):
                out[t, v] = False
                have -= 1
                on_step[t] -= time_voice[v]
        return out
    plays = hits.any(axis=0)
    passes = (plays, ~plays) if own_voices and hits.any() else (np.ones(voices, bool),)
    for allowed in passes:
        for idx in order:
            t, v = divmod(int(idx), voices)
            if have >= want:
                return out
            if not out[t, v] and allowed[v] and not (time_voice[v] and on_step[t] == 0):
                out[t, v] = True
                have += 1
                on_step[t] += time_voice[v]
    return out


def edit_hits(hits: np.ndarray, velocities: np.ndarray, offsets: np.ndarray, levels: np.ndarray,
              fill_velocities: np.ndarray, fill_offsets: np.ndarray, knob: str, targets: np.ndarray,
              own_voices: bool = True, ratios: np.ndarray | None = None, other: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(hits, velocities, offsets)`` of a ``(B, T, V)`` batch with each row's ``knob``
    attribute brought to ``targets (B,)`` (NaN: left as it is) by adding or removing hits in
    ``levels``' order (module docstring). Added hits play ``fill_velocities`` and
    ``fill_offsets``; with ``own_voices`` they come from the voices a row already plays
    first. ``ratios (B, V)`` (density only, :meth:`VoiceCurve.ratio`): each row's hits shared
    among its voices so first. ``other (B,)``: the other hit knob's targets (NaN: free),
    held as far as the turned knob allows: density turned, the time-keeping steps are first
    brought to hat busyness's target and then left alone (unless density cannot be met
    so); hat busyness turned, density is then met with the steps it set left alone. A
    target beyond the grid gives the nearest it can.

    Raises:
        ValueError: ``knob`` is not a hit knob.
    """
    if knob not in HIT_KNOBS:
        raise ValueError(f"{knob!r} is not a hit knob ({', '.join(HIT_KNOBS)})")
    h = np.asarray(hits, bool)
    out = h.copy()
    goal = np.asarray(targets, np.float64).reshape(-1)
    lv = np.asarray(levels, np.float64)
    held = np.full(len(goal), np.nan) if other is None else np.asarray(other, np.float64).reshape(-1)
    for b in np.flatnonzero(np.isfinite(goal)):
        g, steps = float(goal[b]), h.shape[1]
        if knob == "density":
            ratio = None if ratios is None else np.asarray(ratios[b], np.float64)
            row = h[b]
            if np.isfinite(held[b]):  # hat busyness held: its steps first, then the rest around them
                row = _hat_steps(row, lv[b], float(held[b]), own_voices)
                row = _density_on_steps(row, lv[b], g, own_voices)
            if int(row.sum()) != _count(g, steps, row.size):
                row = _density_cells(row, lv[b], g, own_voices, ratio)
            out[b] = row
        else:
            out[b] = _hat_steps(h[b], lv[b], g, own_voices)
            if np.isfinite(held[b]):  # density held around the steps set
                out[b] = _density_on_steps(out[b], lv[b], float(held[b]), own_voices)
    added = out & ~h
    vel = np.where(added, fill_velocities, velocities).astype(np.float32)
    off = np.where(added, fill_offsets, offsets).astype(np.float32)
    return out, vel, off
