"""Corner blends on the data: graph distances, the barycentre pick, and corner_blend on a map."""

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("torch")

from engine.generation.data_blend import CornerField, graph_distances  # noqa: E402
from engine.generation.data_path import DataPathSettings, GrooveGraph  # noqa: E402
from engine.generation.generator import Generator  # noqa: E402
from tests.support.tiny_checkpoint import mapped_checkpoint  # noqa: E402


def grid_codes(side: int = 7, z: int = 4) -> np.ndarray:
    """``side²`` codes on a unit grid in the first two of ``z`` dimensions, row by row."""
    out = np.zeros((side * side, z))
    yy, xx = np.divmod(np.arange(side * side), side)
    out[:, 0], out[:, 1] = xx, yy
    return out


def test_graph_distances_match_a_plain_dijkstra():
    import heapq

    codes = np.random.default_rng(3).standard_normal((120, 5))
    graph = GrooveGraph(codes, DataPathSettings(neighbours=4, hub_weight=2.0))
    start = codes[7] + 0.05
    got = graph_distances(graph, start[None])[0]
    near, length = graph._entry(start)
    best = np.full(len(codes), np.inf)
    best[near] = length * graph.hub[near]
    heap = [(float(best[j]), int(j)) for j in near]
    heapq.heapify(heap)
    out = {}
    for s, d, c in zip(graph.src, graph.dst, graph.cost, strict=True):
        out.setdefault(int(s), []).append((int(d), float(c)))
    while heap:
        d, j = heapq.heappop(heap)
        if d > best[j]:
            continue
        for k, c in out.get(j, []):
            if d + c < best[k]:
                best[k] = d + c
                heapq.heappush(heap, (best[k], k))
    assert np.allclose(got, best)


def test_barycentre_picks_a_groove_near_the_heavy_corner_and_between_at_the_middle():
    codes = grid_codes()
    graph = GrooveGraph(codes, DataPathSettings(neighbours=8, hub_weight=0.0))
    corners = codes[[0, 6, 42, 48]]  # the grid's four corners, in CORNER_ORDER
    field = CornerField(graph, corners)
    assert field.pick(np.array([0.9, 0.1 / 3, 0.1 / 3, 0.1 / 3])) == 0
    assert field.pick(np.array([0.0, 0.0, 0.0, 1.0])) == 48
    middle = field.pick(np.full(4, 0.25))
    assert middle not in (0, 6, 42, 48)  # a groove between the corners
    dist = field.distances()
    assert np.isclose(dist[:, middle].sum(), dist[:, 24].sum())  # as cheap as the centre
    # the kept candidates give the same pick as a scan of every groove
    rng = np.random.default_rng(0)
    for w in rng.dirichlet(np.ones(4), 50):
        got = field.pick(w)
        assert np.isclose(w @ dist[:, got], (w @ dist).min())


@pytest.fixture(scope="module")
def gen() -> Generator:
    g = Generator.from_checkpoint(mapped_checkpoint()[0])
    assert g.data_blend.enabled and g.data_blend.softness > 0  # as shipped: on the data, soft
    g.data_blend = replace(g.data_blend, sharpness=4.0, softness=0.0, handoff=0.0)  # hard picks first
    return g


def _corners(g: Generator) -> np.ndarray:
    bank = g.groove_bank
    assert bank is not None
    rng = np.random.default_rng(5)
    return bank.codes[rng.choice(len(bank.codes), 4, replace=False)].astype(np.float64) + 0.01


def test_corner_blend_on_a_map_plays_bank_grooves_and_the_corners_own(gen: Generator):
    zs = _corners(gen)
    bank = gen.groove_bank
    assert bank is not None
    for i, (x, y) in enumerate([(-1, -1), (1, -1), (-1, 1), (1, 1)]):
        z, _ = gen.corner_blend(zs, x, y)
        assert np.array_equal(z, zs[i])
    for x, y in [(0.0, 0.0), (0.3, -0.2), (-0.1, 0.5)]:
        z, own = gen.corner_blend(zs, x, y)
        hit = np.flatnonzero(np.all(bank.codes.astype(np.float64) == z, axis=1))
        assert len(hit) == 1
        assert np.allclose(own, bank.attributes[hit[0]])
    gen.data_blend = replace(gen.data_blend, enabled=False)
    try:
        z_mix, _ = gen.corner_blend(zs, 0.0, 0.0)
        assert not np.any(np.all(bank.codes.astype(np.float64) == z_mix, axis=1))
    finally:
        gen.data_blend = replace(gen.data_blend, enabled=True)


def test_neighbouring_pad_points_mostly_keep_their_groove(gen: Generator):
    zs = _corners(gen)
    axis = np.linspace(-1.0, 1.0, 21)
    picks = np.array([[gen.corner_blend(zs, x, y)[0].tobytes() for x in axis] for y in axis])
    same = np.mean(np.r_[(picks[:, 1:] == picks[:, :-1]).ravel(), (picks[1:] == picks[:-1]).ravel()])
    assert same >= 0.7  # a drag crosses from groove to groove, it does not flicker
    assert len(set(picks.ravel())) >= 5  # and it does reach grooves between the corners


def test_soft_pick_leads_with_the_barycentre_and_mixes_only_near_ties():
    codes = grid_codes()
    field = CornerField(GrooveGraph(codes, DataPathSettings(neighbours=8, hub_weight=0.0)),
                        codes[[0, 6, 42, 48]])
    dist = field.distances()
    rng = np.random.default_rng(1)
    for w in rng.dirichlet(np.ones(4), 30):
        idx, mix = field.soft_pick(w, 0.2)
        assert np.isclose(mix.sum(), 1.0) and np.all(np.diff(mix) <= 1e-12)
        assert np.isclose(w @ dist[:, idx[0]], (w @ dist).min())  # the barycentre weighs most
        cost = w @ dist[:, idx]
        assert np.all(cost <= cost.min() * (1 + 0.2 * np.log(100)) + 1e-9)  # nothing far from the least
    sharp, _ = field.soft_pick(np.array([0.7, 0.1, 0.1, 0.1]), 1e-6)
    assert len(sharp) == 1 or np.isclose(np.ptp(np.array([0.7, 0.1, 0.1, 0.1]) @ dist[:, sharp]), 0)


def test_soft_blends_move_in_smaller_steps_than_hard_picks(gen: Generator):
    zs = _corners(gen)
    axis = np.linspace(-1.0, 1.0, 41)

    def path(**fields) -> np.ndarray:
        gen.data_blend = replace(gen.data_blend, **fields)
        edge = [gen.corner_blend(zs, x, -0.9)[0] for x in axis]
        return np.array(edge + [gen.corner_blend(zs, 1.0, -1.0)[0]])

    try:
        hard = path(softness=0.0, handoff=0.0)
        soft = path(softness=0.05, handoff=0.2)  # as shipped
    finally:
        gen.data_blend = replace(gen.data_blend, softness=0.0, handoff=0.0)
    step_hard = np.linalg.norm(np.diff(hard, axis=0), axis=1)
    step_soft = np.linalg.norm(np.diff(soft, axis=0), axis=1)
    assert step_soft.max() < step_hard.max()  # no single jump as large
    assert np.allclose(soft[-1], zs[1])  # a corner still plays its own
