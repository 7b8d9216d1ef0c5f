"""Paths between two grooves that stay on the data: chains of real training grooves.

The straight line between the latents of two unrelated grooves crosses latent space where
no training groove lies; its middle decodes softer, stiffer drumming than any drummer plays.
A :class:`GrooveGraph` links every groove of the bank
(:class:`~engine.generation.groove_bank.GrooveBank`) to its nearest neighbours in code
space; the shortest chain of links from the grooves nearest A to those nearest B walks
from A to B through grooves drummers played, each a short step from the last. Resampled to
the bars of a transition (:meth:`GrooveGraph.waypoints`), every bar between the ends plays a
training groove, decoded with its own attributes.

Plain grooves lie near everything (the *hubs* of a nearest-neighbour graph), so a shortest
chain through plain distances gathers on them. A link into groove ``j`` therefore costs its
length times ``(1 + hub_weight · max(0, in_j / k − 1))``, where ``in_j`` counts the grooves
that have ``j`` among their ``k`` nearest: a groove that many grooves find near is dearer to
pass through.

Pure numpy. A map of the data stores each groove's neighbour lists (``bank.neighbours``,
written by ``groovefader map``); without them the lists are searched on first use (about
20 s for 16k grooves on a busy 2-core machine) and kept. The cheapest chain is a
Bellman–Ford search vectorised over the links (tens of milliseconds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEIGHBOURS = 10   # links per groove (each groove's k nearest codes; links are two-way)
BLOCK = 2048      # rows of the brute-force distance computation at a time


@dataclass(frozen=True)
class DataPathSettings:
    """How transitions follow the data (see the module docstring).

    ``enabled`` False keeps the straight latent path. ``hub_weight`` 0 is the plain shortest
    chain; larger values steer it round grooves near everything. Chosen on the validation
    split (docs/studies/transition_paths): the plain chain's middles were stiff (timing
    spread 0.12 against the data's 0.165), hub weight 6 met every realism target.
    """

    enabled: bool = True
    neighbours: int = NEIGHBOURS
    hub_weight: float = 6.0
    power: float = 1.0  # link cost = length ** power (above 1: many short steps preferred)
    # bars each groove between the ends plays (2: whole 2-bar grooves, in phase); 1 chosen on
    # validation: holding two bars kept the realism but not smaller steps (15.3 hits against 15.1)
    hold_bars: int = 1


def knn(codes: np.ndarray, k: int, block: int = BLOCK) -> np.ndarray:
    """``(N, k)`` indices of each code's ``k`` nearest other codes, nearest first (exact,
    brute force in blocks)."""
    c = np.asarray(codes, np.float32)
    n = len(c)
    k = min(int(k), n - 1)
    half_sq = 0.5 * (c ** 2).sum(1)
    idx = np.empty((n, k), np.int64)
    for s in range(0, n, block):
        rows = c[s:s + block]
        # half the squared distance less the row's own term: the same order within a row
        d = half_sq[None] - rows @ c.T
        d[np.arange(len(rows)), np.arange(s, s + len(rows))] = np.inf  # not itself
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(d, part, 1), axis=1)
        idx[s:s + block] = np.take_along_axis(part, order, 1)
    return idx


def in_degree(neighbours: np.ndarray, n: int) -> np.ndarray:
    """``(n,)`` how many grooves have each among their nearest (``neighbours``: ``(n, k)``
    lists; k on average): hubs, the plain grooves near many, count high."""
    return np.bincount(np.asarray(neighbours).ravel(), minlength=n)


class GrooveGraph:
    """Two-way k-nearest-neighbour links between the bank's codes ``(N, Z)``, with costs.

    Raises:
        ValueError: fewer than 2 codes, or bad settings.
    """

    def __init__(self, codes: np.ndarray, settings: DataPathSettings = DataPathSettings(),
                 neighbours: np.ndarray | None = None) -> None:
        self.codes = np.asarray(codes, np.float64)
        n = len(self.codes)
        if n < 2:
            raise ValueError(f"a groove graph needs at least 2 grooves, got {n}")
        if (settings.neighbours < 1 or settings.hub_weight < 0 or settings.power <= 0
                or settings.hold_bars < 1):
            raise ValueError(f"bad data-path settings {settings}")
        self.settings = settings
        k = min(settings.neighbours, n - 1)
        if neighbours is not None and (neighbours.ndim != 2 or len(neighbours) != n
                                       or neighbours.shape[1] < k):
            raise ValueError(f"stored neighbours of shape {neighbours.shape} for {n} grooves and k={k}")
        if neighbours is not None and neighbours.size and (neighbours.min() < 0 or neighbours.max() >= n):
            raise ValueError(f"stored neighbours outside the {n} grooves")
        # stored lists (the checkpoint's, nearest first) are cut to k; else searched now
        idx = np.asarray(neighbours[:, :k] if neighbours is not None else knn(self.codes, k), np.int64)
        self._neighbours = idx
        # link lengths a neighbour column at a time (one (N, k, Z) array would be 170 MB)
        dist = np.stack([np.sqrt(((self.codes[idx[:, j]] - self.codes) ** 2).sum(1))
                         for j in range(idx.shape[1])], axis=1)
        self.in_degree = in_degree(idx, n)
        self.hub = 1.0 + settings.hub_weight * np.maximum(0.0, self.in_degree / k - 1.0)
        src = np.repeat(np.arange(n), k)
        dst = idx.ravel()
        length = dist.ravel()
        # both directions: a link i-j exists when either is among the other's nearest
        s2, d2 = np.concatenate([src, dst]), np.concatenate([dst, src])
        l2 = np.concatenate([length, length])
        _, first = np.unique(s2 * n + d2, return_index=True)
        first = first[np.argsort(d2[first], kind="stable")]  # grouped by destination
        self.src, self.dst, self.length = s2[first], d2[first], l2[first]
        self.cost = self.length ** settings.power * self.hub[self.dst]
        # where each destination's links start, and each link's group
        self._starts = np.flatnonzero(np.r_[True, self.dst[1:] != self.dst[:-1]])
        self._targets = self.dst[self._starts]
        self._segment = np.searchsorted(self._targets, self.dst)

    @property
    def neighbour_lists(self) -> np.ndarray:
        """``(N, k)`` each groove's k nearest grooves, nearest first (the graph's out-links)."""
        return self._neighbours

    def with_settings(self, settings: DataPathSettings) -> GrooveGraph:
        """The same grooves with other settings (the neighbour lists kept while they reach k)."""
        keep = self._neighbours if self._neighbours.shape[1] >= settings.neighbours else None
        return GrooveGraph(self.codes, settings, keep)

    def __len__(self) -> int:
        return len(self.codes)

    def _entry(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` codes nearest a latent outside the graph and the link lengths to them."""
        d = np.sqrt(((self.codes - np.asarray(z, np.float64)) ** 2).sum(1))
        k = min(self.settings.neighbours, len(d))
        near = np.argpartition(d, k - 1)[:k]
        return near, d[near]

    def chain(self, za: np.ndarray, zb: np.ndarray) -> np.ndarray:
        """Bank indices of the cheapest chain of links from ``za``'s nearest grooves to
        ``zb``'s (Bellman–Ford, vectorised over the links; ``za`` and ``zb`` themselves are
        linked to their ``k`` nearest codes, at the hub cost of those codes)."""
        n = len(self)
        p = self.settings.power
        a_near, a_len = self._entry(za)
        b_near, b_len = self._entry(zb)
        best = np.full(n, np.inf)
        best[a_near] = a_len ** p * self.hub[a_near]
        pred = np.full(n, -1, np.int64)
        bound = np.inf
        for _ in range(n):
            # the cheapest way to B so far bounds every useful groove's cost (costs are > 0)
            bound = min(bound, float(np.min(best[b_near] + b_len ** p)))
            cand = best[self.src] + self.cost
            low = np.minimum.reduceat(cand, self._starts)
            better = low < np.minimum(best[self._targets], bound) - 1e-12
            if not better.any():
                break
            best[self._targets[better]] = low[better]
            won = better[self._segment] & (cand <= best[self.dst])
            pred[self.dst[won]] = self.src[won]
        end = b_near[np.argmin(best[b_near] + b_len ** p)]
        path = [int(end)]
        while pred[path[-1]] >= 0:
            path.append(int(pred[path[-1]]))
        return np.array(path[::-1], np.int64)

    def waypoints(self, za: np.ndarray, zb: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Bank indices of the chain's grooves at positions ``t`` in (0, 1) of the way from
        ``za`` to ``zb``, measured along the chain's length (A at 0, B at 1; a position
        takes the chain's groove nearest it)."""
        path = self.chain(za, zb)
        ends = np.asarray(za, np.float64)[None], np.asarray(zb, np.float64)[None]
        pts = np.vstack([ends[0], self.codes[path], ends[1]])
        along = np.r_[0.0, np.cumsum(np.sqrt(((pts[1:] - pts[:-1]) ** 2).sum(1)))]
        along = along / max(along[-1], 1e-12)
        inner = along[1:-1]  # the chain's own grooves
        tt = np.asarray(t, np.float64)
        return path[np.argmin(np.abs(inner[None] - tt[:, None]), axis=1)]

    def pulled(self, za: np.ndarray, zb: np.ndarray, t: np.ndarray, z: np.ndarray,
               pull: float) -> np.ndarray:
        """``z`` (latents at positions ``t`` from ``za`` to ``zb``) with each one strictly
        between the ends moved ``pull`` of the way to the chain's code at its position: 1 plays
        the chain's grooves, smaller values keep some of the straight path's continuity."""
        tt = np.asarray(t, np.float64)
        out = np.array(z, np.float64, copy=True)
        inner = (tt > 0) & (tt < 1)
        if inner.any() and pull != 0:
            out[inner] += pull * (self.codes[self.waypoints(za, zb, tt[inner])] - out[inner])
        return out
