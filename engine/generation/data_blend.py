"""Corner blends that stay on the data: the training groove at the corners' graph barycentre.

A latent mix of four unrelated grooves lies where no training groove does and decodes a
softer, stiffer groove than any drummer plays. Here a pad point plays a groove of the bank
instead: the one whose hub-penalised distances along the nearest-neighbour graph of the
training codes (:class:`~engine.generation.data_path.GrooveGraph`, the graph transitions
walk) from the four corners, weighted by the point's corner weights, sum least
(a *graph barycentre*). Near a corner that is a groove near it; in the middle, a groove
on the way between all four. Where one corner weighs at least ``own_weight`` the corner's
own groove plays.

A hard pick jumps from one real groove to another as the point moves. With ``softness`` the
point plays a mix of the few grooves nearest to being its barycentre instead, each weighted
by how close its cost comes to the least (a soft minimum): grooves next to each other on the
graph, whose mix stays near the data, handed over gradually. ``handoff`` likewise fades a
corner's own groove in over that width of corner weight below ``own_weight``.

A drag asks for every point of the same four corners: one multi-source shortest-path search
per corner set (:class:`CornerField`, kept by the generator) gives each corner's distance to
every groove; a pad point is then a weighted sum over ``(4, N)`` and an argmin.

Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.generation.data_path import GrooveGraph

SOFT_TOP = 8  # grooves a soft pick mixes at most


@dataclass(frozen=True)
class DataBlendSettings:
    """How corner blends follow the data (see the module docstring).

    ``enabled`` False keeps the latent mix. ``sharpness`` leans the pad's bilinear weights
    towards the nearest corner (:func:`~engine.generation.pad_map.sharpen`) before the
    barycentre is taken; ``own_weight``: from this weight on a corner plays its own groove.

    On, chosen on the validation split (docs/studies/corner_soft): the soft barycentre at
    power 8 met all 6 realism targets where the latent mix met 4 (mean C2ST 0.538 against
    0.588; on test 0.572 / 0.593 against 0.610 / 0.632), and neighbouring pad points changed
    9.1 hits on a 9 × 9 grid against the mix's 6.75 (the hard pick's 10.3 was over the
    1.5 × allowed: docs/studies/corner_paths). Each new corner set costs a graph search
    (0.3–0.4 s on one thread of a busy 2-core machine), in the model worker.
    """

    enabled: bool = True
    sharpness: float = 8.0
    own_weight: float = 0.8
    softness: float = 0.05  # 0: the barycentre alone; > 0: soft minimum, its scale relative to the least cost
    handoff: float = 0.2  # corner weight below own_weight over which the corner's groove fades in


def graph_distances(graph: GrooveGraph, starts: np.ndarray) -> np.ndarray:
    """``(S, N)`` hub-penalised distances along ``graph`` from each latent of ``starts (S, Z)``
    to every groove (a start is linked to its ``k`` nearest codes at their hub cost, as
    :meth:`GrooveGraph.chain` links its ends). Bellman–Ford vectorised over the links and the
    starts; every link relaxed each round until none improves."""
    n = len(graph)
    p = graph.settings.power
    starts = np.atleast_2d(np.asarray(starts, np.float64))
    best = np.full((len(starts), n), np.inf)
    for s, z in enumerate(starts):
        near, length = graph._entry(z)
        best[s, near] = length ** p * graph.hub[near]
    # links come grouped by destination: each round takes every groove's cheapest way in
    for _ in range(n):
        cand = best[:, graph.src] + graph.cost
        low = np.minimum.reduceat(cand, graph._starts, axis=1)
        better = low < best[:, graph._targets] - 1e-12
        if not better.any():
            break
        best[:, graph._targets] = np.where(better, low, best[:, graph._targets])
    return best


class CornerField:
    """The graph distances of one set of four corner latents ``(4, Z)``: which bank groove
    each pad point's weights pick (:meth:`pick`)."""

    def __init__(self, graph: GrooveGraph, corners: np.ndarray) -> None:
        self.corners = np.asarray(corners, np.float64)
        if self.corners.ndim != 2 or len(self.corners) != 4:
            raise ValueError(f"need 4 corner latents, got shape {self.corners.shape}")
        dist = graph_distances(graph, self.corners)
        # a groove no corner reaches (a graph in pieces) is never picked
        dist[~np.isfinite(dist)] = np.finfo(np.float64).max / 8
        # only grooves no other groove beats at every corner can be a barycentre; keeping
        # those (the lowest few along each corner first) makes a point's pick a short scan
        self._dist = dist
        self.candidates = _undominated(dist)
        self._cand_dist = dist[:, self.candidates]

    def pick(self, weights: np.ndarray) -> int:
        """Bank index of the groove least in weighted sum of distances from the corners."""
        w = np.asarray(weights, np.float64)
        return int(self.candidates[np.argmin(w @ self._cand_dist)])

    def soft_pick(self, weights: np.ndarray, softness: float, top: int = SOFT_TOP
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Bank indices and mix weights (summing to 1) of the grooves nearest to being the
        barycentre: ``exp(-(c - c_min) / (softness · c_min))`` over the ``top`` least weighted
        costs ``c``, those under 1 % of the largest dropped."""
        w = np.asarray(weights, np.float64)
        cost = w @ self._dist
        k = min(top, len(cost))
        idx = np.argpartition(cost, k - 1)[:k]
        c = cost[idx]
        scale = max(float(softness) * float(c.min()), 1e-12)
        mix = np.exp(-(c - c.min()) / scale)
        keep = mix >= 0.01 * mix.max()
        idx, mix = idx[keep], mix[keep]
        order = np.argsort(-mix, kind="stable")
        return idx[order], mix[order] / mix.sum()

    def distances(self) -> np.ndarray:
        """``(4, N)`` each corner's distance to every groove."""
        return self._dist


def _undominated(dist: np.ndarray) -> np.ndarray:
    """Indices of the columns of ``dist (K, N)`` that no other column is at most at every row
    and below at one (ties kept): the only possible argmins of ``w @ dist`` with ``w >= 0``."""
    # a cheap first cut: columns beaten by one of the lowest (in sum, or at one row) go
    total = dist.sum(0)
    few = min(dist.shape[1], 256)
    lead = np.unique(np.concatenate([np.argpartition(total, few - 1)[:few]]
                                    + [np.argpartition(row, min(64, len(row)) - 1)[:64] for row in dist]))
    beaten = np.zeros(dist.shape[1], bool)
    for i in lead:
        col = dist[:, i:i + 1]
        beaten |= np.all(col <= dist, axis=0) & np.any(col < dist, axis=0)
    rest = np.flatnonzero(~beaten)
    order = rest[np.argsort(total[rest], kind="stable")]
    kept: list[int] = []
    front = np.empty((0, dist.shape[0]))
    for j in order:
        col = dist[:, j]
        if len(front) and np.any(np.all(front <= col, axis=1) & np.any(front < col, axis=1)):
            continue
        kept.append(int(j))
        front = np.vstack([front, col])
    return np.array(sorted(kept), np.int64)
