"""A walk slack limited to one knob spreads that knob's picks and leaves the others' alone."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from engine.generation.generator import Generator  # noqa: E402
from engine.generation.groove_bank import WalkSettings  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[3] / "checkpoints" / "default.pt"


@pytest.fixture(scope="module")
def gen() -> Generator:
    return Generator.from_checkpoint(SHIPPED, backend="onnx")


def _picks(gen: Generator, settings: WalkSettings, knob: str, z: np.ndarray) -> np.ndarray:
    gen.walk_settings = settings
    names = gen.attribute_names
    lo, hi = gen.attribute_ranges[knob]
    targets = np.full((len(z), len(names)), np.nan)
    targets[:, names.index(knob)] = lo + 0.9 * (hi - lo)
    return gen.walk_picks(z, targets, turning=knob)


def test_the_slack_spreads_only_its_own_knobs_picks(gen) -> None:
    z = gen.sample_like_data(60, seed=3)
    shipped = WalkSettings()
    density_only = replace(shipped, slack=0.6, slack_knob="density")
    other = next(n for n in gen.attribute_names if n != "density")
    # the other knobs walk exactly as they ship
    assert np.array_equal(_picks(gen, density_only, other, z), _picks(gen, shipped, other, z))
    # the density knob reaches more different grooves, each the same on a second turn
    tight = _picks(gen, shipped, "density", z)
    spread = _picks(gen, density_only, "density", z)
    assert len(set(spread.tolist())) > len(set(tight.tolist()))
    assert np.array_equal(spread, _picks(gen, density_only, "density", z))
    gen.walk_settings = shipped
