"""Melody evaluation features and realism figures on synthetic sets with known answers."""

from __future__ import annotations

import numpy as np

from engine.music.melody import MIN_PITCH, NUM_SPECIAL, STEPS_PER_BAR
from training.melody.evaluate import melody_features, realism


def _cls(pitch: int) -> int:
    return pitch - MIN_PITCH + NUM_SPECIAL


def test_features_of_a_known_melody() -> None:
    row = np.ones(32, np.int64)  # no events
    for step, pitch in [(0, 60), (4, 64), (8, 67), (12, 66), (16, 72)]:  # F# is off the C scale
        row[step] = _cls(pitch)
    f = melody_features(row[None])
    assert f["note_density"][0] == 5 / 2
    assert f["in_key_share"][0] == 4 / 5
    assert f["pitch_class_histogram"][0][0] == 2 / 5  # two Cs
    iv = f["interval_histogram"][0]
    assert iv[12 + 4] == iv[12 + 3] == iv[12 - 1] == iv[12 + 6] == 1 / 4


def _random_set(n: int, rng: np.random.Generator, scale: tuple[int, ...]) -> np.ndarray:
    out = np.ones((n, 2 * STEPS_PER_BAR), np.int64)
    for i in range(n):
        steps = np.sort(rng.choice(32, rng.integers(4, 12), replace=False))
        out[i, steps] = [_cls(60 + int(rng.choice(scale)) + 12 * int(rng.integers(0, 2))) for _ in steps]
    return out


def test_realism_tells_a_shifted_set_from_a_fair_one() -> None:
    rng = np.random.default_rng(0)
    major = (0, 2, 4, 5, 7, 9, 11)
    real = _random_set(300, rng, major)
    same = _random_set(300, rng, major)
    chromatic = _random_set(300, rng, tuple(range(12)))
    groups = np.arange(300) % 50
    fair = realism(real, same, groups, max_set=200)
    off = realism(real, chromatic, groups, max_set=200)
    assert fair["mean_oa"] > 0.8 and fair["c2st_accuracy"] < 0.65
    assert off["mgeval"]["in_key_share"]["oa"] < fair["mgeval"]["in_key_share"]["oa"]
    assert off["c2st_accuracy"] > 0.8


def test_search_reconstruction_of_memorised_melodies(tmp_path) -> None:
    """A model that reproduces two melodies greedily: beam search of width 1 and the search
    keep them (a wider beam may find a likelier other line), and a window it never
    produces is never counted as reproduced."""
    import pytest

    pytest.importorskip("torch")
    from engine.generation.melody import MelodyGenerator
    from tests.support.melody import melody_a, melody_b, memorised_checkpoint
    from training.melody.evaluate import search_reconstruction

    gen = MelodyGenerator.from_checkpoint(memorised_checkpoint(str(tmp_path)), backend="torch")
    x = np.stack([melody_a().to_classes(), melody_b().to_classes()])
    res = search_reconstruction(gen, x, (1, 3), 4, seed=0)
    for how in ("beam_1", "searched_4"):
        assert res[how]["exact_windows"] == 1.0 and res[how]["step_accuracy"] == 1.0
    odd = x.copy()
    odd[:, 16:] = _cls(84)  # a bar of repeated top notes: neither memorised melody has it
    res = search_reconstruction(gen, odd, (3,), 4, seed=0)
    for how in ("beam_3", "searched_4"):
        assert res[how]["exact_windows"] == 0.0 and res[how]["exact_bars"] <= 0.5
