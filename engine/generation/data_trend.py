"""Where the data's drummers take the other knobs when one knob turns.

Holding every other knob exactly where the groove had it asks for grooves the data rarely
plays: real dense grooves are busier on the hats and swing more than the average groove,
so a density knob that keeps the hats and the feel of an average groove has to reach its
setting with kick, snare, crashes and toms, and a classifier tells the result from real
dense drumming. A :class:`DataTrend` knows, for each attribute, the mean of every other
attribute over the training grooves near a value of it (the data's regression of one
attribute on another, a Gaussian kernel 5 % of the attribute's range wide). While a knob
turns, the knobs nobody set follow that trend from where the groove had them
(:meth:`engine.generation.knobs.KnobState.targets`): a turn from ``a`` to ``b`` moves
each of them by ``follow × (m(b) − m(a))``. ``follow`` 0 holds them
still (every turn has zero cross-talk as its aim); 1 moves them as the data does on
average, the instrument's setting (chosen on validation, ``docs/studies/walk_trend``).
Knobs the user set stay where they are set.

Pure numpy over the bank's own attributes (:class:`~engine.generation.groove_bank.GrooveBank`).
"""

from __future__ import annotations

import copy

import numpy as np

from engine.generation.groove_bank import nearest_detent

GRID = 33         # points per attribute where the conditional means are tabulated (3 % apart)
BANDWIDTH = 0.05  # Gaussian kernel's width, a share of the attribute's 5-95 % range


class DataTrend:
    """Conditional means of the attributes ``(N, A)`` of the training grooves: at each
    value of one attribute, every groove weighted by a Gaussian kernel on its distance to
    that value (Nadaraya–Watson). A kernel rather than the k nearest: many attributes take
    few values (syncopation counts hits), and the k nearest of thousands of tied grooves
    would be an arbitrary few performances.

    Raises:
        ValueError: fewer than two grooves, or attributes not ``(N, A)``.
    """

    def __init__(self, attributes: np.ndarray, follow: float = 1.0, grid: int = GRID,
                 bandwidth: float = BANDWIDTH) -> None:
        x = np.asarray(attributes, np.float64)
        if x.ndim != 2 or len(x) < 2:
            raise ValueError(f"attributes must be (N >= 2, A), got {x.shape}")
        self.follow = float(follow)
        self.detents: tuple[np.ndarray, np.ndarray, int] | None = None  # see with_detents
        a = x.shape[1]
        lo, hi = np.percentile(x, 1, axis=0), np.percentile(x, 99, axis=0)
        width = np.maximum(bandwidth * (np.percentile(x, 95, axis=0) - np.percentile(x, 5, axis=0)), 1e-9)
        self.grid = np.linspace(lo, hi, grid, axis=1)  # (A, G)
        self.means = np.empty((a, grid, a))  # [turned, point, attribute]
        x32 = x.astype(np.float32)
        for j in range(a):  # float32 weights: the table builds in tens of ms at load
            u = (x32[:, j][None] - self.grid[j][:, None].astype(np.float32)) / np.float32(width[j])
            w = np.exp(np.float32(-0.5) * u * u)  # (G, N)
            self.means[j] = (w @ x32) / np.maximum(w.sum(axis=1, keepdims=True, dtype=np.float64), 1e-30)

    def with_follow(self, follow: float) -> DataTrend:
        """The same trend followed ``follow`` of the way (the tables are shared)."""
        if float(follow) == self.follow:
            return self
        out = copy.copy(self)
        out.follow = float(follow)
        return out

    def with_detents(self, low: np.ndarray, high: np.ndarray, anchors: int) -> DataTrend:
        """The same trend followed from detent to detent: a turn from ``start`` moves the
        other knobs as far as the turned knob's detent nearest its value
        (:func:`~engine.generation.groove_bank.nearest_detent` over ``low``–``high`` with
        ``anchors`` detents), so between detents they stay put (the tables are shared)."""
        out = copy.copy(self)
        out.detents = (np.asarray(low, np.float64), np.asarray(high, np.float64), int(anchors))
        return out

    def mean(self, turned: int, value: float | np.ndarray) -> np.ndarray:
        """``(..., A)`` the attributes' mean over the training grooves whose ``turned``
        attribute lies near ``value`` (scalar or array; held at the grid's ends beyond them)."""
        g = self.grid[turned]
        v = np.asarray(value, np.float64)
        return np.stack([np.interp(v, g, self.means[turned, :, j]) for j in range(self.means.shape[2])], -1)

    def shift(self, turned: int, start: float | np.ndarray, value: float | np.ndarray) -> np.ndarray:
        """``(..., A)`` how far the other attributes follow a turn of ``turned`` from
        ``start`` to ``value`` (0 for ``turned`` itself, and for a turn from or to an
        unmeasured value: the laid-back feel of a groove without hits is NaN)."""
        if self.detents is not None:
            low, high, anchors = self.detents
            value = nearest_detent(value, start, low[turned], high[turned], anchors)
        out = self.follow * (self.mean(turned, value) - self.mean(turned, start))
        out[..., turned] = 0.0
        return np.where(np.isfinite(out), out, 0.0)
