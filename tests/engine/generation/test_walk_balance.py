"""Transport prices spread a knob walk's picks over the grooves at the setting."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from engine.generation.groove_bank import GrooveBank, WalkSettings
from engine.generation.walk_balance import WalkBalance, sinkhorn_prices

T, V = 4, 2


def test_prices_spread_sources_that_all_prefer_one_target():
    # six sources, three targets; every source is cheapest at target 0, by different margins
    rng = np.random.default_rng(0)
    cost = np.column_stack([np.zeros(6), 0.3 + rng.random(6), 0.3 + rng.random(6)])
    assert np.bincount(cost.argmin(1), minlength=3).tolist() == [6, 0, 0]
    prices = sinkhorn_prices(cost, epsilon=0.01, iterations=2000)
    assert prices.mean() == pytest.approx(0.0, abs=1e-9)
    assert prices[0] > prices[1] and prices[0] > prices[2]  # the wanted one is dear
    picks = (cost + prices).argmin(1)
    assert np.bincount(picks, minlength=3).tolist() == [2, 2, 2]
    # and the spread is the cheapest one: no other even assignment costs less
    best = min(cost[np.arange(6), list(a)].sum() for a in itertools.permutations([0, 0, 1, 1, 2, 2]))
    assert cost[np.arange(6), picks].sum() == pytest.approx(best)


def test_prices_leave_a_balanced_choice_alone():
    cost = np.array([[0.0, 1.0], [1.0, 0.0]])
    prices = sinkhorn_prices(cost)
    assert np.allclose(prices, 0.0, atol=1e-6)
    assert sinkhorn_prices(np.zeros((0, 3))).tolist() == [0.0, 0.0, 0.0]


def _bank(n: int = 40) -> GrooveBank:
    rng = np.random.default_rng(1)
    hits = rng.random((n, T, V)) < 0.4
    density = hits.sum((1, 2)).astype(float)[:, None]
    return GrooveBank(rng.normal(size=(n, 3)).astype(np.float32), density, density, hits,
                      np.zeros(n, int), ["rock"], T, V)


def test_walk_balance_prices_the_grooves_at_a_setting_and_keeps_them():
    bank = _bank()
    dens = bank.measured[:, 0]
    lo, hi = np.percentile(dens, 5), np.percentile(dens, 95)
    bal = WalkBalance(bank, np.array([lo]), np.array([hi]), np.array([0.6]), None, sources=20, bins=5)
    value = lo + 0.7 * (hi - lo)
    b, point = bal.setting(0, value)
    assert b == 3 and point == pytest.approx(lo + 0.75 * (hi - lo))
    prices = bal.prices(0, value, WalkSettings())
    reach = 0.6 + 0.5 * (hi - lo) / 4
    at = np.abs(dens - point) <= reach
    assert np.all(prices[~at] == 0.0)
    assert np.any(prices[at] != 0.0)
    assert bal.prices(0, point, WalkSettings()) is prices  # the same grid point: tabulated once


def test_the_walk_subtracts_the_balance_share_of_a_price():
    bank = _bank()
    playing = bank.decoded_hits()[0]
    measured = bank.measured[0]
    target = np.array([measured[0] + 2.0])
    ranges, tol = np.array([10.0]), np.array([0.5])
    plain = bank.walk(playing, measured, target, ranges, tol, 0)
    assert plain >= 0
    prices = np.zeros(len(bank))
    prices[plain] = 100.0
    priced = bank.walk(playing, measured, target, ranges, tol, 0, WalkSettings(balance=1.0), prices=prices)
    assert priced >= 0 and priced != plain  # the plain pick made dear
    assert abs(bank.measured[priced, 0] - target[0]) <= tol[0]  # it still meets the knob
    # balance 0 ignores the prices
    assert bank.walk(playing, measured, target, ranges, tol, 0, WalkSettings(), prices=prices) == plain


SHIPPED = Path(__file__).resolve().parents[3] / "checkpoints" / "default.pt"


def test_balance_steers_the_shipped_walk_off_the_grooves_many_walk_to():
    pytest.importorskip("onnxruntime")
    from dataclasses import replace

    from engine.generation.generator import Generator

    gen = Generator.from_checkpoint(SHIPPED, backend="onnx")
    gen.walk_settings = replace(gen.walk_settings, anchors=0)  # every pick meets the setting itself
    names = gen.attribute_names
    k = names.index("density")
    lo, hi = gen.attribute_ranges["density"]
    z = gen.sample_like_data(150, seed=3)
    targets = np.full((len(z), len(names)), np.nan)
    targets[:, k] = lo + 0.9 * (hi - lo)
    plain = gen.walk_picks(z, targets, turning="density")
    gen.walk_settings = replace(gen.walk_settings, balance=1.0)
    balanced = gen.walk_picks(z, targets, turning="density")
    prices = gen._walk_prices(k, targets[0, k])
    bank = gen.groove_bank
    moved = (plain >= 0) & (balanced >= 0)  # -1: the playing groove already meets it
    assert moved.mean() > 0.9
    plain, balanced = plain[moved], balanced[moved]
    # the plain walk favours grooves the transport prices as over-wanted; balanced, less so
    assert prices[plain].mean() > 0
    assert prices[balanced].mean() < prices[plain].mean()
    assert (balanced != plain).any()
    # every pick still meets the knob
    tol = gen.walk_tolerance()[k]
    assert np.all(np.abs(bank.measured[balanced, k] - targets[0, k]) <= tol)
