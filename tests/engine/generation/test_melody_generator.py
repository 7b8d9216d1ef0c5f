"""The melody generator's API on a tiny model that has memorised two melodies."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from engine.generation.melody import MelodyGenerator, loop_to  # noqa: E402
from engine.music.melody import Melody  # noqa: E402
from tests.support.melody import melody_a, melody_b, memorised_checkpoint  # noqa: E402


@pytest.fixture(scope="module")
def gen(tmp_path_factory) -> MelodyGenerator:
    path = memorised_checkpoint(str(tmp_path_factory.getbasetemp() / "melody"))
    return MelodyGenerator.from_checkpoint(path)


def test_encode_decode_reconstructs(gen) -> None:
    assert gen.reconstruct(melody_a()) == melody_a()
    assert gen.reconstruct(melody_b()) == melody_b()
    assert gen.encode(melody_a()).shape == (gen.z_dim,)


@pytest.mark.parametrize("bars", [4, 7])
def test_latent_transition_starts_as_a_and_ends_as_b(gen, bars) -> None:
    a, b = melody_a(), melody_b()
    out = gen.transition(a, b, bars, 1, seed=3)
    assert out.bars == bars
    assert np.array_equal(out.events[:16], a.events[:16])
    last = (bars - 1) % gen.bars  # output bar i keeps its phase in the 2-bar phrase
    assert np.array_equal(out.events[-16:], loop_to(b, bars).events[-16:])
    assert np.array_equal(out.events[-16:], b.events[last * 16:(last + 1) * 16])


@pytest.mark.parametrize("strategy", [2, 3])
@pytest.mark.parametrize("scale", ["bar", "note"])
def test_mixed_transitions_start_as_a(gen, strategy, scale) -> None:
    # how often they also end as B is a property of the trained model: the study measures it
    out = gen.transition(melody_a(), melody_b(), 6, strategy, mix_scale=scale, seed=0)
    assert out.bars == 6 and np.array_equal(out.events[:16], melody_a().events[:16])


def test_the_mix_follows_t(gen) -> None:
    a, b = melody_a(), melody_b()
    mix = gen.bernoulli_mix(a, b, 40, "note", seed=0)
    ca, cb = loop_to(a, 40).to_classes(), loop_to(b, 40).to_classes()
    differ = ca != cb
    from_b = (mix == cb) & differ
    half = len(mix) // 2
    assert from_b[:half].sum() < from_b[half:].sum()  # B's share rises along the mix
    bar_mix = gen.bernoulli_mix(a, b, 8, "bar", seed=0).reshape(8, 16)
    assert all(np.array_equal(r, loop_to(a, 8).to_classes().reshape(8, 16)[i])
               or np.array_equal(r, loop_to(b, 8).to_classes().reshape(8, 16)[i])
               for i, r in enumerate(bar_mix))  # per bar: whole bars from one side


def test_bad_arguments_raise(gen) -> None:
    with pytest.raises(ValueError, match="strategy"):
        gen.transition(melody_a(), melody_b(), 4, 4)
    with pytest.raises(ValueError, match="mix_scale"):
        gen.transition(melody_a(), melody_b(), 4, 2, mix_scale="beat")
    with pytest.raises(ValueError, match="at least 2 bars"):
        gen.transition(melody_a(), melody_b(), 1, 1)


def test_generate_samples_near_the_data_and_transposes(gen) -> None:
    ms = gen.generate(3, bars=5, seed=1)
    assert len(ms) == 3 and all(m.bars == 5 for m in ms)
    # anchors are A's and B's codes with no noise: every 2-bar chunk is A or B
    for m in ms:
        first = m.events[:32]
        assert np.array_equal(first, melody_a().events) or np.array_equal(first, melody_b().events)
    g = gen.generate(1, bars=2, seed=1, key="D")[0]
    base = gen.generate(1, bars=2, seed=1)[0]
    assert np.array_equal(g.events[g.events >= 0], base.events[base.events >= 0] + 2)


def test_loop_to_pads_and_repeats() -> None:
    assert loop_to(Melody([60] * 8), 2).steps == 32
    assert np.array_equal(loop_to(melody_a(), 4).events[32:], melody_a().events)
