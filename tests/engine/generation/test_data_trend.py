"""The data's trend that unset knobs follow while one turns (``engine.generation.data_trend``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine.generation.data_trend import DataTrend
from engine.generation.knobs import KnobState

SHIPPED = Path(__file__).resolve().parents[3] / "checkpoints" / "default.pt"


def _data(n: int = 4000, seed: int = 0) -> np.ndarray:
    """a uniform; b = 2a + noise (follows a); c independent of a."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.0, 1.0, n)
    return np.stack([a, 2 * a + rng.normal(0, 0.05, n), rng.normal(5, 1, n)], 1)


def test_the_trend_is_the_datas_regression_and_follow_scales_it() -> None:
    trend = DataTrend(_data())
    s = trend.shift(0, 0.2, 0.8)
    assert s[0] == 0.0  # the turned knob is the knob's own business
    assert s[1] == pytest.approx(1.2, abs=0.06)  # b rises twice as fast as a
    assert abs(s[2]) < 0.15  # c does not depend on a
    half = trend.with_follow(0.5)
    np.testing.assert_allclose(half.shift(0, 0.2, 0.8), 0.5 * s)
    assert trend.follow == 1.0  # the original is unchanged
    np.testing.assert_allclose(trend.shift(0, 0.5, 0.5), 0.0)  # no turn, no move
    # arrays of turns at once, and beyond the data the trend is held at its end
    many = trend.shift(0, np.array([0.2, 0.2]), np.array([0.8, 0.8]))
    np.testing.assert_allclose(many, [s, s])
    np.testing.assert_allclose(trend.mean(0, 5.0), trend.mean(0, trend.grid[0, -1]))


def test_a_turn_from_an_unmeasured_value_moves_nothing() -> None:
    trend = DataTrend(_data())
    np.testing.assert_array_equal(trend.shift(0, np.nan, 0.8), 0.0)
    np.testing.assert_array_equal(trend.shift(0, np.array([np.nan, 0.2]), 0.8)[0], 0.0)


def test_bad_attributes_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\(N >= 2, A\)"):
        DataTrend(np.zeros((1, 3)))


RANGES = {"a": (0.0, 1.0), "b": (0.0, 2.0), "c": (3.0, 7.0)}
DEFAULTS = {"a": 0.5, "b": 1.0, "c": 5.0}


def test_unset_anchored_knobs_follow_the_turn_and_set_ones_stay() -> None:
    trend = DataTrend(_data())
    groove = {"a": 0.2, "b": 0.4, "c": 4.0}
    state = KnobState.for_model(RANGES, DEFAULTS).turn("a", 0.8, groove)
    held_still = state.targets()
    np.testing.assert_allclose(held_still, [0.8, 0.4, 4.0])
    followed = state.targets(trend)
    assert followed[0] == 0.8
    assert followed[1] == pytest.approx(0.4 + 1.2, abs=0.06)  # b goes where drummers take it
    assert abs(followed[2] - 4.0) < 0.15
    # a knob the user set stays where it is set
    set_b = KnobState.for_model(RANGES, DEFAULTS).set("b", 0.3).turn("a", 0.8, groove)
    assert set_b.targets(trend)[1] == 0.3
    # no turn on this groove: nothing follows
    assert np.isnan(KnobState.for_model(RANGES, DEFAULTS).targets(trend)).all()


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped checkpoint")
def test_the_shipped_generator_gives_its_trend_only_when_following() -> None:
    pytest.importorskip("onnxruntime")
    from engine.generation.generator import Generator

    gen = Generator.from_checkpoint(SHIPPED, backend="onnx")
    gen.walk_settings = replace(gen.walk_settings, follow=0.0)
    assert gen.data_trend is None
    gen.walk_settings = replace(gen.walk_settings, follow=1.0)
    trend = gen.data_trend
    assert trend is not None and trend.follow == 1.0
    names = gen.attribute_names
    d, h = names.index("density"), names.index("hat_busyness")
    lo, hi = gen.attribute_ranges["density"]
    # the data's dense grooves are busier on the hats than its sparse ones
    assert trend.shift(d, lo, hi)[h] > 0.1 * np.subtract(*gen.attribute_ranges["hat_busyness"][::-1])
    gen.walk_settings = replace(gen.walk_settings, follow=0.5)
    assert gen.data_trend.follow == 0.5


def test_tied_values_average_every_tied_groove_not_an_arbitrary_few() -> None:
    # an attribute with two values (ties by the thousand), the other ordered so that any
    # subset taken in storage order would be biased
    a = np.repeat([0.0, 1.0], 2000)
    b = np.concatenate([np.full(1000, 10.0), np.zeros(1000), np.full(2000, 3.0)])
    trend = DataTrend(np.stack([a, b], 1))
    assert trend.mean(0, 0.0)[1] == pytest.approx(5.0, abs=0.01)
    assert trend.mean(0, 1.0)[1] == pytest.approx(3.0, abs=0.01)


def test_with_detents_the_trend_moves_from_detent_to_detent() -> None:
    from engine.generation.groove_bank import nearest_detent

    trend = DataTrend(_data())
    low, high = np.array([0.0, 0.0, 3.0]), np.array([1.0, 2.0, 7.0])
    stepped = trend.with_detents(low, high, 5)  # a detent every quarter of a's range
    assert trend.detents is None  # the original is unchanged
    start = 0.3  # the groove's own value: detents at 0.05, 0.3, 0.55, 0.8 and the ends
    np.testing.assert_allclose(stepped.shift(0, start, 0.35), 0.0)  # nearest detent: its own
    held = [stepped.shift(0, start, v)[1] for v in (0.45, 0.5, 0.6, 0.65)]  # all nearest 0.55
    assert np.allclose(held, held[0]) and held[0] == pytest.approx(trend.shift(0, start, 0.55)[1])
    assert stepped.shift(0, start, 0.7)[1] == pytest.approx(trend.shift(0, start, 0.8)[1])
    assert stepped.shift(0, start, 0.97)[1] == pytest.approx(trend.shift(0, start, 1.0)[1])  # an end
    np.testing.assert_allclose(nearest_detent([0.45, 0.7, 0.97, 0.02], start, 0.0, 1.0, 5),
                               [0.55, 0.8, 1.0, 0.0])


def test_the_generator_hands_out_the_trend_by_detents_only_when_set() -> None:
    pytest.importorskip("onnxruntime")
    from engine.generation.generator import Generator

    gen = Generator.from_checkpoint(SHIPPED, backend="onnx")
    gen.walk_settings = replace(gen.walk_settings, trend_at_detents=False)
    assert gen.data_trend is not None and gen.data_trend.detents is None
    gen.walk_settings = replace(gen.walk_settings, trend_at_detents=True)  # as shipped
    low, high, anchors = gen.data_trend.detents
    assert anchors == gen.walk_settings.anchors
    assert np.allclose(low, [gen.attribute_ranges[n][0] for n in gen.attribute_names])
    gen.walk_settings = replace(gen.walk_settings, anchors=0)  # no detents to follow
    assert gen.data_trend.detents is None
