"""Meeting attribute targets: decode, measure the attributes, correct the decoder's input, repeat.

Why: the fader-VAE's decoder *follows* its attribute input, but not exactly. How far a
turn of the density knob moves the decoded groove's density depends on the latent point:
the shipped model's knobs cover 0.8–0.9 of their range on prior draws and only about half
of it on the XY pad and on Randomize's latents, where the app is played (docs/model.md).
A musician reads the knob as a promise ("density 0.8") and hears the groove keep it or not.

So the generator closes the loop, as a hardware controller would: it decodes with the
knobs as the decoder's attribute input, measures the attributes of the decoded pattern
(:mod:`engine.music.attributes`, the same functions the evaluation scores), and moves each
attribute input by the remaining error divided by that input's measured gain (a secant
estimate per pattern and attribute, starting at 1, the gain of an ideal fader). It keeps
the decode closest to the knobs; it stops when every attribute is within ``tolerance``
of its knob (a share of the knob's 5–95 % range, at least half the attribute's smallest
step) or after ``iterations`` corrections per phase. The knob being turned is met first;
then the others are held as far as that keeps it met, so turning one no longer drags
the others along and its sweep stays as monotone as the decoder's own response.

Only attributes with a target are held; the rest (NaN) are left to the decoder. What is
held is the caller's choice, made once per decode by
:meth:`engine.generation.knobs.KnobState.targets` (the knobs the user set, and while one
is turned the others where the groove had them).

The cost is model calls (up to ``1 + 2 * iterations``), hits (holding redraws more of the
groove per knob step than the decoder alone does) and, where the decoder's own knob
barely moves, drums: its input is pushed beyond the data, and the decoder meets it with
other voices. A checkpoint with a map of the data walks it instead
(:mod:`engine.generation.groove_bank`).

Pure numpy over a ``decode`` callable: no torch here, and the loop works the same for a
fader-VAE (attribute input) and for the attribute-vector baseline (knob offsets along z).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# decode(rows, inputs) -> (arrays with len(rows) rows each, measured attributes (len(rows), A))
DecodeFn = Callable[[np.ndarray, np.ndarray], tuple[tuple[np.ndarray, ...], np.ndarray]]


@dataclass(frozen=True)
class FeedbackConfig:
    """How hard the loop works. The defaults were chosen on the validation split's knob
    sweeps of a checkpoint without a map of the data; ``bench/generator_latency.py`` times
    the instrument's knob decodes."""

    iterations: int = 4         # corrections per phase (decodes <= 1 + 2 x iterations)
    tolerance: float = 0.02     # met when |measured - knob| <= tolerance * (knob's 5-95 % range)
    reach: float = 1.0          # inputs stay within the 5-95 % range widened by reach x its width
    min_gain: float = 0.1       # bounds of the secant gain estimate (measured / input units)
    max_gain: float = 10.0
    slack: float = 0.07         # the turned knob may miss by this share of its range while the
                                # others are corrected (a knob sweep's steps are wider)


@dataclass(frozen=True)
class FeedbackResult:
    """Per pattern, the decode kept: ``arrays`` as ``decode`` returned them, ``inputs`` the
    attribute inputs (raw units) that gave it, ``measured`` its attributes, ``decodes`` the
    decoder calls spent on it (1 = the knobs were met at once)."""

    arrays: tuple[np.ndarray, ...]
    inputs: np.ndarray
    measured: np.ndarray
    decodes: np.ndarray


class _Loop:
    """The state shared by the phases: current and best decode per pattern."""

    def __init__(self, decode: DecodeFn, inputs: np.ndarray, targets: np.ndarray, low: np.ndarray,
                 high: np.ndarray, config: FeedbackConfig, resolution: np.ndarray | None,
                 keep_inputs: bool = False) -> None:
        self.decode, self.config = decode, config
        b, a = targets.shape
        self.held = ~np.isnan(targets)  # (B, A): the attributes held, per pattern
        self.t = np.where(self.held, targets, 0.0)
        self.span = np.maximum(high - low, 1e-9)
        lo, hi = low - config.reach * self.span, high + config.reach * self.span
        if keep_inputs:  # a starting input outside the bounds stays allowed (its own row's)
            lo, hi = np.minimum(lo, inputs), np.maximum(hi, inputs)
        self.lo, self.hi = np.broadcast_to(lo, (b, a)), np.broadcast_to(hi, (b, a))
        self.tol = config.tolerance * self.span
        if resolution is not None:  # a knob between two steps of its attribute: half a step
            self.tol = np.maximum(self.tol, 0.5 * np.asarray(resolution, np.float64) * (1 + 1e-6))
        self.cur_in = np.clip(inputs, self.lo, self.hi)
        arrays, meas = decode(np.arange(b), self.cur_in)
        self.cur_meas = np.asarray(meas, np.float64)
        self.best = tuple(np.array(x, copy=True) for x in arrays)
        self.best_in, self.best_meas = self.cur_in.copy(), self.cur_meas.copy()
        self.decodes = np.ones(b, np.int64)
        self.gain = np.ones((b, a))

    def error(self, meas: np.ndarray, rows: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Weighted mean squared miss per pattern, in units of the knobs' ranges."""
        sq = weight * ((meas - self.t[rows]) / self.span) ** 2
        return sq.sum(axis=1) / np.maximum(weight.sum(axis=1), 1e-12)

    def run(self, phase: np.ndarray, primary: int | None = None) -> None:
        """Correct the inputs of the held attributes in ``phase`` (``(A,)`` bool) and keep,
        per pattern, the decode of least error over them; with ``primary``, only decodes
        that miss that attribute by no more than the kept one does (or the slack)."""
        held_all = self.held & phase
        weight_all = held_all.astype(np.float64)
        best_err = self.error(self.best_meas, np.arange(len(self.t)), weight_all)
        self.cur_in, self.cur_meas = self.best_in.copy(), self.best_meas.copy()
        for _ in range(self.config.iterations):
            # patterns whose kept decode still misses a held knob go on; from the current
            # decode, every held input whose attribute it misses is corrected (the turned
            # knob's too, when correcting the others knocked it off)
            todo = np.flatnonzero(np.any(held_all & (np.abs(self.t - self.best_meas) > self.tol), axis=1))
            miss = self.t[todo] - self.cur_meas[todo]
            off = held_all[todo] & (np.abs(miss) > self.tol)
            step = np.where(off, miss / self.gain[todo], 0.0)
            new_in = np.clip(self.cur_in[todo] + step, self.lo[todo], self.hi[todo])
            moved = np.abs(new_in - self.cur_in[todo]) > 1e-12
            keep = moved.any(axis=1)  # a pattern pinned at the input bounds is done
            todo, new_in, moved = todo[keep], new_in[keep], moved[keep]
            if todo.size == 0:
                return
            arrays, meas = self.decode(todo, new_in)
            meas = np.asarray(meas, np.float64)
            self.decodes[todo] += 1
            # secant gain where the input moved; a flat or backward response halves the
            # gain estimate so the next step goes further (the best decode is kept anyway)
            with np.errstate(divide="ignore", invalid="ignore"):
                slope = (meas - self.cur_meas[todo]) / (new_in - self.cur_in[todo])
            g = self.gain[todo]
            g = np.where(moved & (slope > 0), slope, np.where(moved, g / 2, g))
            self.gain[todo] = np.clip(g, self.config.min_gain, self.config.max_gain)
            self.cur_in[todo], self.cur_meas[todo] = new_in, meas
            err = self.error(meas, todo, weight_all[todo])
            better = err < best_err[todo]
            if primary is not None:
                p = primary
                allowed = np.maximum(np.abs(self.best_meas[todo, p] - self.t[todo, p]),
                                     self.config.slack * self.span[p])
                better &= np.abs(meas[:, p] - self.t[todo, p]) <= allowed + 1e-12
            idx = todo[better]
            best_err[idx] = err[better]
            self.best_in[idx], self.best_meas[idx] = new_in[better], meas[better]
            for dst, src in zip(self.best, arrays, strict=True):
                dst[idx] = np.asarray(src)[better]


def meet_targets(decode: DecodeFn, inputs: np.ndarray, targets: np.ndarray, low: np.ndarray,
                 high: np.ndarray, config: FeedbackConfig = FeedbackConfig(),
                 primary: int | None = None, resolution: np.ndarray | None = None,
                 keep_inputs: bool = False) -> FeedbackResult:
    """Attribute inputs that make the decoded patterns' attributes meet ``targets``.

    The loop starts from ``inputs`` (the knobs as the model's attribute input) and holds
    the attributes whose target is not NaN; the others are left to the model (their
    inputs stay). Without ``primary`` every held attribute counts alike. With ``primary``
    (the index of the knob being turned, which must be held) that knob is met first, the
    other inputs as they are; then the others are corrected as far as that never takes
    the turned knob's attribute further from it than ``slack``. So a knob sweep stays as
    monotone as the decoder's own response while the other attributes stay put.

    Args:
        decode: decodes the patterns ``rows`` (indices into the batch) with the attribute
            inputs given (raw units, ``(len(rows), A)``) and returns its arrays (each with
            ``len(rows)`` rows) and the attributes measured on them.
        inputs: ``(B, A)`` the model's attribute input to start from, raw units.
        targets: ``(B, A)`` the attributes to hold, raw units; NaN = not held.
        low, high: ``(A,)`` the knobs' ranges (the data's 5th and 95th percentiles).
        resolution: ``(A,)`` the smallest step of each attribute
            (:func:`engine.music.attributes.resolution`): a knob is met within half of one.
        keep_inputs: a starting input outside ``low``/``high`` (and the config's reach) is
            kept as it is; the corrections move it only toward the range.

    Raises:
        ValueError: ``primary`` names an attribute not held in every pattern.
    """
    t = np.asarray(targets, np.float64)
    if primary is not None and np.isnan(t[:, primary]).any():
        raise ValueError("the knob being turned must be held")
    loop = _Loop(decode, np.asarray(inputs, np.float64), t, np.asarray(low, np.float64),
                 np.asarray(high, np.float64), config, resolution, keep_inputs)
    a = t.shape[1]
    if primary is not None:
        loop.run(np.arange(a) == primary)
    loop.run(np.ones(a, bool), primary)
    return FeedbackResult(loop.best, loop.best_in, loop.best_meas, loop.decodes)
