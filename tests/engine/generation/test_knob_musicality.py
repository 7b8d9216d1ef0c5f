"""The density knob on the shipped model plays what drummers play: turned down it thins the
ghost notes and hat subdivisions and keeps the backbeat; turned up it adds ghost notes,
subdivisions and kicks rather than crashes and toms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from engine.generation.generator import Generator  # noqa: E402
from engine.generation.knobs import KnobState  # noqa: E402
from engine.music import attributes as attr_lib  # noqa: E402
from engine.music.drums import Voice  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[3] / "checkpoints" / "default.pt"
BACKBEAT = [4, 12, 20, 28]  # beats 2 and 4 of two bars on the 16th grid
CRASH_TOMS = [Voice.CRASH, Voice.LOW_TOM, Voice.MID_TOM, Voice.HIGH_TOM]


@pytest.fixture(scope="module")
def turned() -> dict[str, dict[str, float]]:
    """Per-groove means of the parts below for 80 Randomize grooves, as they start and with
    density turned to 10 % and 90 % of its range as the app turns it."""
    gen = Generator.from_checkpoint(SHIPPED, backend="onnx")
    names = gen.attribute_names
    z = gen.sample_like_data(80, seed=11)
    start = gen.decode(z)
    anchor = attr_lib.compute(np.stack([p.to_array() for p in start]), names)
    fresh = KnobState.for_model(gen.attribute_ranges, gen.attribute_defaults)
    lo, hi = gen.attribute_ranges["density"]
    out = {"start": _parts(start)}
    for end in (0.1, 0.9):
        setting = lo + end * (hi - lo)
        states = [fresh.turn("density", setting, dict(zip(names, row, strict=True))) for row in anchor]
        targets = np.stack([s.targets(gen.data_trend) for s in states])
        out[f"{round(end * 100)}"] = _parts(gen.decode(z, {"density": setting}, targets=targets,
                                                       turning="density"))
    return out


def _parts(patterns) -> dict[str, float]:
    h = np.stack([p.hits for p in patterns]).astype(float)
    snare = h[:, :, Voice.SNARE]
    backbeat = snare[:, BACKBEAT].sum(1)
    return {"backbeat": backbeat.mean(), "ghosts": (snare.sum(1) - backbeat).mean(),
            "hats": h[:, :, [Voice.CLOSED_HAT, Voice.OPEN_HAT, Voice.RIDE]].sum((1, 2)).mean(),
            "kick": h[:, :, Voice.KICK].sum(1).mean(),
            "crash_toms": h[:, :, CRASH_TOMS].sum((1, 2)).mean()}


def test_density_down_thins_ghosts_and_hats_and_keeps_the_backbeat(turned) -> None:
    start, low = turned["start"], turned["10"]
    assert low["backbeat"] >= 0.9 * start["backbeat"]
    assert low["ghosts"] <= 0.6 * start["ghosts"]
    assert low["hats"] <= 0.6 * start["hats"]


def test_density_up_adds_ghosts_subdivisions_and_kicks_before_crashes_and_toms(turned) -> None:
    start, high = turned["start"], turned["90"]
    added = {k: high[k] - start[k] for k in start}
    assert added["ghosts"] > 0 and added["hats"] > 0 and added["kick"] > 0
    assert added["ghosts"] + added["hats"] + added["kick"] >= 4 * max(added["crash_toms"], 0.0)
    assert added["backbeat"] >= -0.1  # the backbeat stays
