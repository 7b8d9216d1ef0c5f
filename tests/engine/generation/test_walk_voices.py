"""The walk's corrections keeping the walked groove's voices (``WalkSettings.keep_voices``):
correcting the other held knobs never brings in a drum the groove does not play."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from engine.generation.knobs import KnobState  # noqa: E402
from engine.music import attributes as attr_lib  # noqa: E402


def _new_voices(gen, keep_voices: bool, knob: str, share: float, n: int = 48, seed: int = 21) -> int:
    """Rows whose played groove has a voice the groove it walked to (or kept) does not play,
    turned as the app turns ``knob`` (the others following the data)."""
    shipped = gen.walk_settings
    gen.walk_settings = replace(shipped, keep_voices=keep_voices)
    try:
        z = np.asarray(gen.sample_like_data(n, seed=seed), np.float64)
        names = list(gen.attribute_names)
        playing = np.stack([p.to_array() for p in gen.decode(z, {})])
        fresh = KnobState.for_model(gen.attribute_ranges, gen.attribute_defaults)
        lo, hi = gen.attribute_ranges[knob]
        states = [fresh.turn(knob, lo + share * (hi - lo), dict(zip(names, row, strict=True)))
                  for row in attr_lib.compute(playing, names)]
        targets = np.stack([s.targets(gen.data_trend) for s in states])
        played = np.stack([p.to_array() for p in gen.decode(z, {}, targets=targets, turning=knob)])
        picks = gen.walk_picks(z, targets, turning=knob)
        bank = gen.groove_bank
        walked = playing[..., :9] > 0.5  # kept: the playing groove; walked: the groove's own decode
        moved = picks >= 0
        walked[moved] = gen.decode_batch(bank.codes[picks[moved]], bank.attributes[picks[moved]]).hits
        return int(((played[..., :9] > 0.5).any(1) & ~walked.any(1)).any(1).sum())
    finally:
        gen.walk_settings = shipped


@pytest.mark.parametrize(("knob", "share"), [("intensity", 0.1), ("laid_back", 0.9), ("hat_busyness", 0.1)])
def test_the_corrections_bring_in_no_drum_the_walked_groove_lacks(gen, knob: str, share: float) -> None:
    assert _new_voices(gen, True, knob, share) == 0


def test_without_it_some_corrections_bring_one_in(gen) -> None:
    assert sum(_new_voices(gen, False, knob, share) for knob, share in
               (("intensity", 0.1), ("laid_back", 0.9), ("hat_busyness", 0.1))) > 0
