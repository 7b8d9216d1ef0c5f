"""Detents reached one from the next (``WalkSettings.chain``): each detent a turn passes
walks from the groove the one before reached."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from engine.generation.generator import Generator  # noqa: E402
from engine.music import attributes as attr_lib  # noqa: E402

KNOB = "density"


@pytest.fixture()
def chained(gen):
    shipped = gen.walk_settings
    gen.walk_settings = replace(shipped, anchors=9, chain=True)
    yield gen
    gen.walk_settings = shipped


def _setup(gen: Generator, n: int, seed: int):
    z = gen.sample_like_data(n, seed=seed)
    names = list(gen.attribute_names)
    k = names.index(KNOB)
    lo, hi = gen.attribute_ranges[KNOB]
    playing = gen.decode(z, {})
    measured = attr_lib.compute(np.stack([p.to_array() for p in playing]), names)
    return z, names, k, lo, hi, playing, measured


def _walk_terms(gen: Generator, names: list[str]):
    """The bank, the attributes' ranges and the walk's tolerance, as the generator walks."""
    ranges = np.maximum([gen.attribute_ranges[n][1] - gen.attribute_ranges[n][0] for n in names], 1e-9)
    return gen.groove_bank, ranges, gen.walk_tolerance()


def test_detent_path_passes_every_detent_on_the_way(gen) -> None:
    shipped = gen.walk_settings
    gen.walk_settings = replace(shipped, anchors=5)  # a step is a quarter of the range
    try:
        k = gen.attribute_names.index(KNOB)
        lo, hi = gen.attribute_ranges[KNOB]
        span = hi - lo
        t = np.full(len(gen.attribute_names), np.nan)
        t[0 if k else 1] = 7.0  # another knob's target rides along unchanged
        own = lo + 0.1 * span

        def path(share: float) -> list[float]:
            row = t.copy()
            row[k] = lo + share * span
            steps = gen.detent_path(row, k, own)
            assert all(s[0 if k else 1] == 7.0 for s in steps)
            return [round((s[k] - lo) / span, 6) for s in steps]

        assert path(0.85) == [0.35, 0.6, 0.85]
        assert path(1.0) == [0.35, 0.6, 0.85, 1.0]  # an end comes last
        assert path(0.0) == [0.0]
        assert path(0.1) == []  # the groove's own value: nothing to walk
    finally:
        gen.walk_settings = shipped


def test_detent_path_stops_at_the_end_a_groove_outside_the_range_comes_in_by(gen) -> None:
    from engine.generation.groove_bank import detent_values

    shipped = gen.walk_settings
    gen.walk_settings = replace(shipped, anchors=5)
    try:
        k = gen.attribute_names.index(KNOB)
        lo, hi = gen.attribute_ranges[KNOB]
        span = hi - lo
        t = np.full(len(gen.attribute_names), np.nan)
        for own, goal in ((lo - 0.1 * span, hi), (hi + 0.1 * span, lo)):
            row = t.copy()
            row[k] = goal
            row = gen.anchored_targets(row[None], k, np.array([own]))[0]
            steps = [round((s[k] - lo) / span, 6) for s in gen.detent_path(row, k, own)]
            shown = sorted(round((v - lo) / span, 6) for v in detent_values(own, lo, hi, 5))
            # every detent the knob shows between the groove and the goal is passed, in order
            assert steps == (shown if goal == hi else shown[::-1])
            assert steps[0] == (0.0 if goal == hi else 1.0)
    finally:
        gen.walk_settings = shipped


def test_one_detent_further_walks_from_the_groove_the_detent_before_played(chained) -> None:
    gen = chained
    z, names, k, lo, hi, playing, measured = _setup(gen, 12, 11)
    bank, ranges, tol = _walk_terms(gen, names)
    step = (hi - lo) / 8
    moved = 0
    for row in range(len(z)):
        own = measured[row, k]
        t = np.full((2, len(names)), np.nan)
        way = 1 if own + 3 * step <= hi else -1  # turned down where there is no room up
        t[0, k], t[1, k] = own + way * 2 * step, own + way * 3 * step
        first, second = gen.walk_picks(np.repeat(z[row:row + 1], 2, 0), t, turning=KNOB)
        # the second detent's groove is the walk from the first's (or the first's kept)
        hits = playing[row].hits if first < 0 else bank.hits_of(first)
        start = measured[row] if first < 0 else bank.measured[first]
        target = gen.anchored_targets(t[1:], k, np.array([own]))[0]
        step_pick = bank.walk(hits, start, target, ranges, tol, k, gen.walk_settings)
        assert second == (first if step_pick < 0 else step_pick)
        moved += first != second
    assert moved > 0  # some grooves did move on between the two detents


def test_a_chained_turn_plays_fewer_new_hits_and_returns_to_what_it_played(chained) -> None:
    gen = chained
    z, names, k, lo, hi, _playing, _measured = _setup(gen, 16, 4)
    settings = np.linspace(lo, hi, 9)

    def sweep(values: np.ndarray = settings) -> np.ndarray:
        out = []
        for v in values:
            t = np.full((len(z), len(names)), np.nan)
            t[:, k] = v
            out.append(np.stack([p.hits for p in gen.decode(z, {}, targets=t, turning=KNOB)]))
        return np.stack(out)

    up = sweep()
    down = sweep(settings[::-1])[::-1]  # the knob turned back down the same settings
    assert np.array_equal(up, down)
    chain_flips = (up[1:] != up[:-1]).sum()
    gen.walk_settings = replace(gen.walk_settings, chain=False)
    flat = sweep()
    assert chain_flips < (flat[1:] != flat[:-1]).sum()


def test_hit_distance_of_some_grooves_is_theirs_of_all(gen) -> None:
    bank = gen.groove_bank
    hits = bank.hits_of(3)
    rows = np.zeros(len(bank), bool)
    rows[::7] = True
    for same_time in (False, True):
        full = bank.hit_distance(hits, same_time=same_time)
        assert np.array_equal(bank.hit_distance(hits, same_time=same_time, rows=rows), full[rows])
    assert bank.hit_distance(hits)[3] == 0 and np.array_equal(bank.hits_of(3), bank.decoded_hits()[3])


def test_the_chain_memo_plays_what_the_walk_plays_and_walks_a_passed_detent_once(chained) -> None:
    gen = chained
    z, names, k, lo, hi, playing, measured = _setup(gen, 6, 21)
    bank, ranges, tol = _walk_terms(gen, names)
    memo: dict = {}
    for row in range(len(z)):
        for share in (0.0, 0.5, 1.0):
            t = np.full(len(names), np.nan)
            t[k] = lo + share * (hi - lo)
            t = gen.anchored_targets(t[None], k, measured[row:row + 1, k])[0]
            path = gen.detent_path(t, k, measured[row, k])
            args = (playing[row].hits, measured[row], path, ranges, tol, k, gen.walk_settings)
            plain = bank.walk_chain(*args)
            assert bank.walk_chain(*args, memo=memo) == plain
            size = len(memo)
            assert bank.walk_chain(*args, memo=memo) == plain and len(memo) == size  # remembered
    assert memo


def test_playing_attributes_are_those_the_walk_starts_from(gen) -> None:
    z, names, k, lo, hi, playing, measured = _setup(gen, 3, 31)
    for row in range(len(z)):
        first = gen.playing_attributes(z[row])  # decoded afresh
        t = np.full((1, len(names)), np.nan)
        t[0, k] = lo
        gen.walk_picks(z[row:row + 1], t, turning=KNOB)  # a turn fills the walk's cache
        assert gen.playing_attributes(z[row]) == first  # read from it, the same
        own = gen.decode_batch(z[row:row + 1], gen.attribute_matrix(None, 1, z[row:row + 1]))
        assert list(first.values()) == pytest.approx(list(attr_lib.compute(own.to_array(), names)[0]))
        gen.decode(z[row], {}, targets=np.full(len(names), np.nan))  # its own groove, nothing held
        assert gen.playing_attributes(z[row]) == pytest.approx(first)


@pytest.mark.parametrize("anchors", [3, 5, 9])
def test_detent_path_is_monotone_and_stops_only_at_shown_detents(gen, anchors: int) -> None:
    from engine.generation.groove_bank import detent_values

    shipped = gen.walk_settings
    gen.walk_settings = replace(shipped, anchors=anchors)
    try:
        k = gen.attribute_names.index(KNOB)
        lo, hi = gen.attribute_ranges[KNOB]
        span = hi - lo
        rng = np.random.default_rng(anchors)
        # a groove may lie outside the knob's range; the knob itself cannot
        for own, value in zip(rng.uniform(lo - 0.3 * span, hi + 0.3 * span, 200), rng.uniform(lo, hi, 200),
                              strict=True):
            row = np.full(len(gen.attribute_names), np.nan)
            row[k] = value
            goal = gen.anchored_targets(row[None], k, np.array([own]))[0]
            steps = [s[k] for s in gen.detent_path(goal, k, own)]
            shown = set(np.round(detent_values(own, lo, hi, anchors), 9))
            if abs(goal[k] - own) < 1e-9 * span:
                assert steps == []  # the groove's own value: no walk
                continue
            assert steps[-1] == goal[k]
            assert all(round(v, 9) in shown for v in steps)  # every stop is a detent the knob shows
            moves = np.diff([own, *steps])
            assert np.all(moves * np.sign(goal[k] - own) > 0)  # one way, no stop twice
            eps = 1e-9 * span
            between = {round(v, 9) for v in detent_values(own, lo, hi, anchors)
                       if min(own, goal[k]) + eps < v < max(own, goal[k]) - eps}
            assert between <= set(np.round(steps, 9))  # none shown on the way is skipped
    finally:
        gen.walk_settings = shipped
