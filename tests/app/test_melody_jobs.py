"""A melody the user brings is placed at the code whose decode comes closest to it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app import melody_jobs
from engine.generation.melody import MelodyGenerator
from engine.music.melody import NO_EVENT, Melody, events_to_classes

CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "melody.pt"
C_MAJOR = (60, 62, 64, 65, 67, 69, 71, 72)


def _tunes(n: int, seed: int) -> list[Melody]:
    """Seeded 2-bar lines in C major with an uneven rhythm: harder than a scale for the model."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        ev = [NO_EVENT] * 32
        for step in sorted(rng.choice(32, 9, replace=False)):
            ev[int(step)] = int(rng.choice(C_MAJOR))
        ev[0] = int(rng.choice(C_MAJOR))
        out.append(Melody(ev))
    return out


@pytest.fixture(scope="module")
def gen() -> MelodyGenerator:
    if not CHECKPOINT.exists():
        pytest.skip("the shipped melody checkpoint is not here")
    return MelodyGenerator.from_checkpoint(CHECKPOINT)


def test_a_brought_melody_gets_the_code_whose_decode_agrees_with_it_most(gen) -> None:
    tunes = _tunes(8, seed=21)
    gains = []
    for tune in tunes:
        z, where = melody_jobs.encode(gen, gen.pad, tune)
        assert z.shape == (1, gen.z_dim) and all(-1.0 <= v <= 1.0 for v in where)
        want = events_to_classes(gen.fit(tune).events)
        searched = np.mean(events_to_classes(gen.decode(z[0]).events) == want)
        mean = np.mean(events_to_classes(gen.decode(gen.encode(tune)).events) == want)
        assert searched >= mean  # the posterior mean is a candidate: never worse
        gains.append(searched - mean)
    assert max(gains) > 0  # and on lines the mean gets wrong, closer


def test_new_longer_melodies_follow_one_stored_tune(gen) -> None:
    """The lane's Randomize at 8 bars: four window codes that are one stored phrase plus one shared
    noise draw (the shipped checkpoint stores phrases), so a tune keeps its own repeats."""
    phrases = gen.phrases
    assert phrases is not None and phrases.shape[1] >= 4
    for seed in range(5):
        z = melody_jobs.randomize(gen, gen.pad, 8, 0.0, seed).z
        assert z.shape == (4, gen.z_dim)
        offsets = z[None] - phrases[:, :4]  # (P, 4, Z): constant over the windows for its phrase
        spread = np.abs(offsets - offsets[:, :1]).max(axis=(1, 2))
        assert spread.min() < 1e-9
        assert np.abs(offsets[spread.argmin(), 0]).max() > 0  # with the noise a draw has


def test_variation_moves_a_longer_tune_as_one(gen) -> None:
    """Variation nudges every window of a tune by the same draw: a tune's repeated windows
    stay alike, and the nudge is the Variation amount of the codes' spread."""
    tune = melody_jobs.randomize(gen, gen.pad, 16, 0.0, seed=4)
    varied = melody_jobs.variation(gen, gen.pad, tune.z, 16, 0.0, seed=5)
    step = varied.z - tune.z
    assert np.allclose(step, step[:1])  # one draw for the whole tune
    assert np.abs(step[0]).max() > 0
    scaled = step[0] / (gen.pad.spread * melody_jobs.VARIATION_AMOUNT)
    assert 0.3 < scaled.std() < 2.0  # a draw of the stated scale, not a fixed offset


def test_a_longer_tune_on_the_pad_is_a_whole_stored_tune_that_moves_on(gen) -> None:
    """At 16 bars a pad point plays from the map of whole stored tunes (a node: one stored
    tune's eight windows), not its 2-bar window eight times; at 2 bars the map of windows."""
    phrases, pad = gen.phrases, gen.phrase_pad
    assert phrases is not None and pad is not None
    for x, y in ((-1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)):
        tune = melody_jobs.at_pad(gen, gen.pad, x, y, 16, 0.0, seed=1)
        assert tune.z.shape == (8, gen.z_dim) and tune.pad == (x, y)
        assert np.abs(phrases - tune.z[None]).max(axis=(1, 2)).min() < 1e-9  # a stored tune
        assert not np.allclose(tune.z, tune.z[:1])  # it moves on
        assert tune.melody.steps == 16 * 16
        where = melody_jobs.pad_point(gen, gen.pad, tune.z)  # a 16-bar tune's place plays it
        assert np.allclose(pad.to_z(*where, 8), tune.z)
        half = melody_jobs.at_pad(gen, gen.pad, x, y, 8, 0.0, seed=1)  # 8 bars: its first 4 windows
        assert np.allclose(half.z, tune.z[:4])
        assert np.allclose(pad.to_z(*melody_jobs.pad_point(gen, gen.pad, half.z), 4), half.z)
        short = melody_jobs.at_pad(gen, gen.pad, x, y, 2, 0.0, seed=1)
        assert short.z.shape == (1, gen.z_dim) and np.allclose(short.z[0], gen.pad.to_z(x, y))
    drawn = melody_jobs.randomize(gen, gen.pad, 16, 0.0, seed=3)  # Randomize's tune: its place
    assert drawn.pad == melody_jobs.pad_point(gen, gen.pad, drawn.z)  # on the same map


@pytest.mark.parametrize("bars", [2, 8])
def test_the_pad_heat_maps_are_the_register_and_notes_of_the_tunes_the_pad_plays(gen, bars) -> None:
    heat = melody_jobs.pad_heat(gen, gen.pad, bars)
    res = melody_jobs.HEAT_RESOLUTION if bars == 2 else melody_jobs.PHRASE_HEAT_RESOLUTION
    assert set(heat) == set(melody_jobs.HEAT_NAMES)
    assert all(v.shape == (res, res) for v in heat.values())
    grid = np.linspace(-1.0, 1.0, res)
    for row, col in ((0, 0), (res - 1, res // 3), (res // 2, res - 1)):  # rows go up in y
        m = melody_jobs.at_pad(gen, gen.pad, grid[col], grid[row], bars, 0.0, 0).melody
        pitches = [p for *_, p in m.notes()]
        assert heat["notes"][row, col] == pytest.approx(len(pitches) / bars)
        assert heat["register"][row, col] == pytest.approx(np.mean(pitches))
    # the map spreads tunes of different registers over the pad
    assert np.nanmax(heat["register"]) - np.nanmin(heat["register"]) > 5


def test_a_tune_resized_keeps_its_opening_and_goes_on_as_a_stored_tune(gen) -> None:
    d = melody_jobs.randomize(gen, gen.pad, 2, 0.0, seed=4)
    longer = melody_jobs.resized(gen, gen.pad, d.z, 8, 0.0, seed=4)
    assert longer.melody.bars == 8 and len(longer.z) == 4
    assert np.array_equal(longer.melody.events[:32], d.melody.events)  # the opening plays on
    assert np.allclose(longer.z[0], d.z[0])
    # what follows is a stored tune's own continuation, not the window again
    phrases = gen.phrases
    nearest = np.argmin(((phrases[:, 0] - d.z[0]) ** 2).sum(1))
    assert np.allclose(longer.z[1:], phrases[nearest, 1:4])
    assert not np.array_equal(longer.melody.events[32:64], d.melody.events)
    # and back: its first window
    shorter = melody_jobs.resized(gen, gen.pad, longer.z, 2, 0.0, seed=4)
    assert np.array_equal(shorter.melody.events, d.melody.events)
