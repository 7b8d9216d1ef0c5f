"""Where the data's drummers take the other knobs when one knob turns.

Holding every other knob exactly where the groove had it asks for grooves the data rarely
plays: real dense grooves are busier on the hats and swing more than the average groove,
so a density knob that keeps the hats and the feel of an average groove has to reach its
setting with kick, snare, crashes and toms, and a classifier tells the result from real
dense drumming. A :class:`DataTrend` knows, for each attribute, the mean of every other
attribute over the training grooves near a value of it (the data's regression of one
attribute on another). While a knob turns, the knobs nobody set follow that trend from
where the groove had them (:meth:`engine.generation.knobs.KnobState.targets`): a turn from
``a`` to ``b`` moves each of them by ``follow × (m(b) − m(a))``. ``follow`` 0 holds them
still (every turn has zero cross-talk as its aim); 1 moves them as the data does on
average, the instrument's setting (chosen on validation, ``docs/studies/walk_trend``).
Knobs the user set stay where they are set.

Pure numpy over the bank's own attributes (:class:`~engine.generation.groove_bank.GrooveBank`).
"""

from __future__ import annotations

import copy

import numpy as np

GRID = 65         # points per attribute where the conditional means are tabulated
NEIGHBOURS = 256  # training grooves averaged at each point (those nearest in that attribute)


class DataTrend:
    """Conditional means of the attributes ``(N, A)`` of the training grooves.

    Raises:
        ValueError: fewer than two grooves, or attributes not ``(N, A)``.
    """

    def __init__(self, attributes: np.ndarray, follow: float = 1.0, grid: int = GRID,
                 neighbours: int = NEIGHBOURS) -> None:
        x = np.asarray(attributes, np.float64)
        if x.ndim != 2 or len(x) < 2:
            raise ValueError(f"attributes must be (N >= 2, A), got {x.shape}")
        self.follow = float(follow)
        n, a = x.shape
        k = min(int(neighbours), n)
        lo, hi = np.percentile(x, 1, axis=0), np.percentile(x, 99, axis=0)
        self.grid = np.linspace(lo, hi, grid, axis=1)  # (A, G)
        self.means = np.empty((a, grid, a))  # [turned, point, attribute]
        for j in range(a):
            d = np.abs(x[:, j][None] - self.grid[j][:, None])  # (G, N)
            near = np.argpartition(d, k - 1, axis=1)[:, :k]
            self.means[j] = x[near].mean(axis=1)

    def with_follow(self, follow: float) -> DataTrend:
        """The same trend followed ``follow`` of the way (the tables are shared)."""
        if float(follow) == self.follow:
            return self
        out = copy.copy(self)
        out.follow = float(follow)
        return out

    def mean(self, turned: int, value: float | np.ndarray) -> np.ndarray:
        """``(..., A)`` the attributes' mean over the training grooves whose ``turned``
        attribute lies near ``value`` (scalar or array; held at the grid's ends beyond them)."""
        g = self.grid[turned]
        v = np.asarray(value, np.float64)
        return np.stack([np.interp(v, g, self.means[turned, :, j]) for j in range(self.means.shape[2])], -1)

    def shift(self, turned: int, start: float | np.ndarray, value: float | np.ndarray) -> np.ndarray:
        """``(..., A)`` how far the other attributes follow a turn of ``turned`` from
        ``start`` to ``value`` (0 for ``turned`` itself)."""
        out = self.follow * (self.mean(turned, value) - self.mean(turned, start))
        out[..., turned] = 0.0
        return out
