"""A knob drag walks from the same latent at every move: the generator keeps that latent's
own decode, measured attributes and hit distances, so a move costs one model call, and
gives exactly what a fresh walk gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from engine.generation.generator import Generator  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[3] / "checkpoints" / "default.pt"


@pytest.fixture(scope="module")
def pair() -> tuple[Generator, Generator]:
    return (Generator.from_checkpoint(SHIPPED, backend="onnx"),
            Generator.from_checkpoint(SHIPPED, backend="onnx"))


def test_a_drag_walks_from_the_kept_groove_with_one_model_call_per_move(pair) -> None:
    dragged, fresh = pair
    calls: list[int] = []
    fresh_calls: list[int] = []
    for g, log in ((dragged, calls), (fresh, fresh_calls)):  # counting the model calls
        run = g._net.run_decoder  # noqa: SLF001
        g._net.run_decoder = lambda *a, _run=run, _log=log, **k: _log.append(len(a[0])) or _run(*a, **k)  # noqa: SLF001
    names = dragged.attribute_names
    rng = np.random.default_rng(5)
    moved = walks = 0
    for z in dragged.sample_like_data(2, seed=11):
        for j, name in enumerate(names[:3]):
            lo, hi = dragged.attribute_ranges[name]
            for value in np.linspace(lo, hi, 5):
                targets = np.full(len(names), np.nan)
                targets[j] = value
                if rng.random() < 0.5:  # another knob held too
                    other = (j + 1) % len(names)
                    targets[other] = rng.uniform(*dragged.attribute_ranges[names[other]])
                got, picks = dragged.decode_walking(z, targets, turning=name)
                fresh._walk_cache = None  # noqa: SLF001 - the walk as if from scratch
                want, want_picks = fresh.decode_walking(z, targets, turning=name)
                assert (picks == want_picks).all()
                for a, b in zip((got.hits, got.velocities, got.offsets),
                                (want.hits, want.velocities, want.offsets), strict=True):
                    assert np.array_equal(a, b)
                moved += int((picks >= 0).sum())
                walks += 1
    # the same calls as walking from scratch, less the playing groove's decode on every
    # move but the first of each latent
    assert len(calls) == len(fresh_calls) - (walks - 2)
    assert moved > 5 and walks == 30


def test_the_kept_groove_cannot_be_changed_by_a_caller(pair) -> None:
    gen, _ = pair
    z = gen.sample_like_data(1, seed=2)[0]
    targets = np.full(len(gen.attribute_names), np.nan)
    targets[0] = gen.attribute_ranges[gen.attribute_names[0]][1]
    first, _ = gen.decode_walking(z, targets, turning=gen.attribute_names[0])
    _, kept, _, _ = gen._walk_cache[1]  # noqa: SLF001
    with pytest.raises(ValueError):  # read-only: a caller's edit would change every later move
        kept.hits[0, 0, 0] = not kept.hits[0, 0, 0]
    again, _ = gen.decode_walking(z, targets, turning=gen.attribute_names[0])
    assert np.array_equal(again.hits, first.hits)
