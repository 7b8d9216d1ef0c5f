"""Prices that spread a turned knob's walk over the grooves drummers play at its setting.

The walk (:meth:`engine.generation.groove_bank.GrooveBank.walk`) plays, for each playing
groove, the cheapest training groove that meets the knob. Cheapest for one groove is
cheapest for many: at a knob end many playing grooves land on the same few grooves near
them all, and what the knob end plays overall is those few, not what drummers play at
that setting (at density 90 % the walk's picks ride more and syncopate the hats less than
the training grooves there). Optimal transport says how to spread them: carry the playing
grooves (a fixed sample of the bank's grooves, as Randomize and the pad play them) onto the
grooves that meet the setting, each of those taking an equal share, at the least total walk
cost. Its entropic form (Cuturi 2013, "Sinkhorn Distances") gives each target groove a
price, its dual potential with the sign turned: a groove many would walk to is dear, one
few reach is cheap. The walk adds ``balance`` × price to its cost
(:attr:`WalkSettings.balance`), so each playing groove still walks to a near groove, and
over many the grooves played at the setting are spread as the data spreads them.

Prices depend on the turned knob and its setting; they are tabulated on a grid of settings
(:data:`BINS` points over the knob's range) the first time a setting is asked for, a few
seconds each: a study's tool, not the app's. Off as shipped: on validation the spread picks
were no harder to tell from real drumming than the shipped walk's by the margin its rule
asked (docs/studies/walk_balance). Pure numpy.
"""

from __future__ import annotations

import numpy as np

from engine.generation.data_trend import DataTrend
from engine.generation.groove_bank import GrooveBank, WalkSettings

SOURCES = 1024  # playing grooves the prices balance (an even stride over the bank)
BINS = 41  # settings per knob where prices are tabulated (2.5 % of its range apart)
EPSILON = 0.05  # entropic blur, in the walk's cost units (0.1 = one hit changed)
ITERATIONS = 400  # Sinkhorn rounds (log domain)


def sinkhorn_prices(cost: np.ndarray, epsilon: float = EPSILON, iterations: int = ITERATIONS) -> np.ndarray:
    """``(T,)`` the targets' prices in the entropic transport of ``S`` sources, equal mass
    each, onto ``T`` targets, equal mass each, for ``cost (S, T)``: their dual potentials
    negated and centred on their mean. A target wanted by more sources than its share is
    dear; with the prices added to the cost, each source's cheapest target is where the
    transport plan sends most of it."""
    c = np.asarray(cost, np.float64)
    s, t = c.shape
    if not s or not t:
        return np.zeros(t)
    log_a, log_b = -np.log(s), -np.log(t)
    f, g = np.zeros(s), np.zeros(t)
    k = -c / epsilon
    for _ in range(iterations):
        f = epsilon * (log_a - _logsumexp(k + g[None] / epsilon, axis=1))
        g = epsilon * (log_b - _logsumexp(k + f[:, None] / epsilon, axis=0))
    return g.mean() - g


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).squeeze(axis)


class WalkBalance:
    """Prices of the bank's grooves per turned knob and setting (module docstring).

    Args:
        bank: the training grooves.
        low, high: ``(A,)`` each knob's 5–95 % range (the grid of settings spans it).
        tolerance: ``(A,)`` how close a groove's measured attribute must lie to meet a knob.
        trend: how the knobs nobody set follow the turned one (None: held where the playing
            groove had them), as :meth:`engine.generation.knobs.KnobState.targets` moves them.
    """

    def __init__(self, bank: GrooveBank, low: np.ndarray, high: np.ndarray, tolerance: np.ndarray,
                 trend: DataTrend | None, sources: int = SOURCES, bins: int = BINS,
                 epsilon: float = EPSILON, iterations: int = ITERATIONS) -> None:
        self.bank = bank
        self.low, self.high = np.asarray(low, np.float64), np.asarray(high, np.float64)
        self.tolerance = np.asarray(tolerance, np.float64)
        self.trend = trend
        self.bins, self.epsilon, self.iterations = int(bins), float(epsilon), int(iterations)
        n = len(bank)
        self.sources = np.arange(0, n, max(1, -(-n // max(1, int(sources)))))
        self._flips: tuple[bool, np.ndarray] | None = None  # (same_time, (S, N) cells differing)
        self._cache: dict[tuple, np.ndarray] = {}

    def setting(self, turning: int, value: float) -> tuple[int, float]:
        """The grid point nearest ``value`` of knob ``turning``: its index and value."""
        lo, hi = self.low[turning], self.high[turning]
        b = int(np.clip(np.rint((value - lo) / max(hi - lo, 1e-12) * (self.bins - 1)), 0, self.bins - 1))
        return b, float(lo + b / (self.bins - 1) * (hi - lo))

    def prices(self, turning: int, value: float, settings: WalkSettings) -> np.ndarray:
        """``(N,)`` each bank groove's price for a turn of knob ``turning`` to ``value``
        (0 for grooves that do not meet the grid point nearest it)."""
        b, point = self.setting(turning, value)
        key = (turning, b, settings.hit_weight, settings.other_weight, settings.same_time)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = self._prices(turning, point, settings)
        return cached

    def _prices(self, turning: int, point: float, settings: WalkSettings) -> np.ndarray:
        bank = self.bank
        span = self.high[turning] - self.low[turning]
        # the grooves a turn near this point can play: met within the tolerance and half a
        # grid step, so every setting between two points has a price for each of its grooves
        reach = self.tolerance[turning] + 0.5 * span / (self.bins - 1)
        targets = np.flatnonzero(np.abs(bank.measured[:, turning] - point) <= reach)
        out = np.zeros(len(bank))
        if len(targets) < 2:
            return out
        src = bank.measured[self.sources]
        wanted = src.copy()  # the other knobs as the playing groove had them, following the trend
        if self.trend is not None:
            wanted = wanted + self.trend.shift(turning, src[:, turning], np.full(len(src), point))
        ranges = np.maximum(self.high - self.low, 1e-9)
        miss = (bank.measured[targets][None] - wanted[:, None]) / ranges  # (S, T, A)
        miss[..., turning] = 0.0
        cost = settings.other_weight * np.nansum(miss ** 2, axis=-1)
        if settings.hit_weight:
            cost += settings.hit_weight * self._source_flips(settings.same_time)[:, targets] / 10.0
        out[targets] = sinkhorn_prices(cost, self.epsilon, self.iterations)
        return out

    def _source_flips(self, same_time: bool) -> np.ndarray:
        if self._flips is None or self._flips[0] != same_time:
            hits = self.bank.decoded_hits()[self.sources]
            flips = np.stack([self.bank.hit_distance(h, same_time=same_time) for h in hits]).astype(np.int16)
            self._flips = (same_time, flips)
        return self._flips[1]
