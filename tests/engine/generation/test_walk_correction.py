"""Correcting a walked groove's other knobs through the fader decoder
(``WalkSettings.correct``): the held knobs come closer, the turned one stays met."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from engine.generation.generator import Generator  # noqa: E402
from engine.music import attributes as attr_lib  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[3] / "checkpoints" / "default.pt"


@pytest.fixture(scope="module")
def gen() -> Generator:
    return Generator.from_checkpoint(SHIPPED, backend="onnx")


def _turn(gen: Generator, rounds: int, knob: str, share: float, z: np.ndarray):
    # without detents: the walk meets the setting itself and the corrections leave the
    # turned knob alone (with them they carry it on from its detent; test_walk_anchors.py)
    gen.walk_settings = replace(gen.walk_settings, correct=rounds, anchors=0)
    names = gen.attribute_names
    k = names.index(knob)
    playing = gen.decode_batch(z, gen.attribute_matrix(None, len(z), z))
    targets = attr_lib.compute(playing.to_array(), names)  # the others held where they were
    lo, hi = gen.attribute_ranges[knob]
    targets[:, k] = lo + share * (hi - lo)
    out, picks = gen.decode_walking(z, targets, turning=knob)
    measured = attr_lib.compute(out.to_array(), names)
    span = np.array([gen.attribute_ranges[n][1] - gen.attribute_ranges[n][0] for n in names])
    others = np.arange(len(names)) != k
    miss_others = np.abs(measured - targets)[:, others] / span[others]
    miss_turned = np.abs(measured[:, k] - targets[:, k]) / span[k]
    return picks, miss_others, miss_turned


@pytest.mark.parametrize("knob", ["density", "hat_busyness"])
def test_corrections_bring_the_other_knobs_closer_and_keep_the_turned_one(gen, knob) -> None:
    z = gen.sample_like_data(48, seed=3)
    shipped = gen.walk_settings
    assert shipped.correct == 2  # the walk as it ships corrects
    try:
        picks0, others0, turned0 = _turn(gen, 0, knob, 0.9, z)
        picks2, others2, turned2 = _turn(gen, 2, knob, 0.9, z)
    finally:
        gen.walk_settings = shipped
    np.testing.assert_array_equal(picks0, picks2)  # the same training grooves are walked to
    moved = picks0 >= 0
    assert moved.sum() >= 24
    # the held knobs: closer on average, never much further for any groove
    assert others2[moved].mean() < 0.8 * others0[moved].mean()
    assert np.all(others2[moved].sum(1) <= others0[moved].sum(1) + 0.08)
    # the turned knob stays where the walk put it, within the loop's slack
    slack = gen.feedback.slack
    assert np.all(turned2[moved] <= np.maximum(turned0[moved], slack) + 1e-9)
