"""Transitions A → B: the Bernoulli mix, and the three strategies on a tiny real model."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from engine.generation.generator import Generator  # noqa: E402
from engine.generation.transitions import bernoulli_mix, transition  # noqa: E402
from engine.music import attributes as attr_lib  # noqa: E402
from engine.music.drums import Voice  # noqa: E402
from engine.music.pattern import Pattern  # noqa: E402
from tests.support.tiny_checkpoint import mapped_checkpoint, tiny_checkpoint  # noqa: E402


def _groove(hat_every: int, velocity: float = 0.8) -> Pattern:
    hits = np.zeros((32, 9), bool)
    t = np.arange(32)
    hits[t % hat_every == 0, Voice.CLOSED_HAT] = True
    hits[t % 16 == 0, Voice.KICK] = True
    hits[t % 16 == 8, Voice.SNARE] = True
    return Pattern(hits, np.full((32, 9), velocity))


SPARSE, DENSE = _groove(4), _groove(1)


@pytest.fixture(scope="module")
def gen() -> Generator:
    return Generator.from_checkpoint(tiny_checkpoint("fader_vae"))


def test_bernoulli_mix_moves_from_a_to_b() -> None:
    a, b = Pattern.empty(), Pattern(np.ones((32, 9), bool))
    mix = bernoulli_mix(a, b, bars=64, seed=0)
    from_b = mix.hits.all(axis=1)  # a step is all-B or all-A
    assert mix.steps == 64 * 16
    assert not from_b[0] and from_b[-1]
    quarters = from_b.reshape(4, -1).mean(axis=1)
    assert np.all(np.diff(quarters) > 0.15)  # P(B) rises ≈ 0.125, 0.375, 0.625, 0.875
    np.testing.assert_allclose(quarters, [0.125, 0.375, 0.625, 0.875], atol=0.06)
    assert bernoulli_mix(a, b, 8, seed=3) == bernoulli_mix(a, b, 8, seed=3)
    assert bernoulli_mix(a, b, 8, seed=3) != bernoulli_mix(a, b, 8, seed=4)


@pytest.mark.parametrize("strategy", [1, 2, 3])
def test_transition_goes_from_sparse_to_dense(gen: Generator, strategy: int) -> None:
    out = transition(gen, SPARSE, DENSE, bars=8, strategy=strategy, seed=1)
    assert out.bars == 8 and out.steps_per_bar == 16
    per_bar = np.array([attr_lib.hat_busyness(out.bar_slice(i, 1).to_array()[None])[0]
                        for i in range(8)])
    assert per_bar[:2].mean() < 0.5 < per_bar[-2:].mean()
    assert transition(gen, SPARSE, DENSE, 8, strategy, seed=1) == out  # seeded = repeatable


def test_strategy_1_ends_are_the_reconstructions(gen: Generator) -> None:
    out = transition(gen, SPARSE, DENSE, bars=5, strategy=1)
    rec_a = gen.decode(gen.encode(SPARSE), gen.attributes_of(SPARSE))
    rec_b = gen.decode(gen.encode(DENSE), gen.attributes_of(DENSE))
    assert np.array_equal(out.bar_slice(0, 1).hits, rec_a.bar_slice(0, 1).hits)
    # bar 4 of the output keeps bar 4 % 2 = 0 of B's 2-bar decode (phrase phase kept)
    assert np.array_equal(out.bar_slice(4, 1).hits, rec_b.bar_slice(0, 1).hits)


def test_strategy_2_with_equal_ends_is_the_teacher_forced_pattern(gen: Generator) -> None:
    out = transition(gen, SPARSE, SPARSE, bars=4, strategy=2, seed=0)
    looped = Pattern.concatenate([SPARSE, SPARSE])
    assert np.mean(out.hits == looped.hits) > 0.95


def test_bad_arguments(gen: Generator) -> None:
    with pytest.raises(ValueError, match="strategy"):
        transition(gen, SPARSE, DENSE, 4, strategy=4)
    with pytest.raises(ValueError, match="at least 2 bars"):
        transition(gen, SPARSE, DENSE, 1, strategy=1)


def test_leaned_path_decodes_the_leaned_mix(gen: Generator) -> None:
    """With ``mix_shape.path_sharpness`` > 1 bar i decodes A and B mixed at the leaned
    weight (latent and knobs alike); the ends stay A's and B's."""
    from dataclasses import replace

    from engine.generation.pad_map import blend

    g = Generator.from_checkpoint(tiny_checkpoint("fader_vae"))
    g.mix_shape = replace(g.mix_shape, path_sharpness=3.0)
    out = transition(g, SPARSE, DENSE, bars=6, strategy=1)
    za, zb = g.encode(SPARSE), g.encode(DENSE)
    ka = np.array([g.attributes_of(SPARSE)[n] for n in g.attribute_names])
    kb = np.array([g.attributes_of(DENSE)[n] for n in g.attribute_names])
    w = g.mix_shape.path_position(np.linspace(0.0, 1.0, 6))
    assert 0 < w[2] < 0.4 < 0.6 < w[3] < 1
    for i in range(6):
        z = blend(np.stack([za, zb]), np.array([1 - w[i], w[i]]))
        want = g.decode(z, (1 - w[i]) * ka + w[i] * kb).bar_slice(i % 2, 1)
        assert np.array_equal(out.bar_slice(i, 1).hits, want.hits)
    plain = transition(gen, SPARSE, DENSE, bars=6, strategy=1)
    assert np.array_equal(out.bar_slice(0, 1).hits, plain.bar_slice(0, 1).hits)
    assert np.array_equal(out.bar_slice(5, 1).hits, plain.bar_slice(5, 1).hits)


@pytest.fixture(scope="module")
def mapped() -> Generator:
    """The tiny model with a map of 120 synthetic training grooves, following the data."""
    from dataclasses import replace

    g = Generator.from_checkpoint(mapped_checkpoint()[0])
    g.data_path = replace(g.data_path, enabled=True)
    return g


def _bank_bars(g: Generator, index: int) -> np.ndarray:
    """``(2, 16, 9)`` the stored decoded hits of bank groove ``index``, bar by bar."""
    bank = g.groove_bank
    assert bank is not None
    cells = np.unpackbits(bank._words[index].view(np.uint8))[: bank.steps * bank.voices]
    return cells.reshape(2, bank.steps // 2, bank.voices).astype(bool)


def test_data_path_bars_are_training_grooves_between_the_ends(mapped: Generator) -> None:
    """Strategy 1 on a map of the data: the first and last bars are A's and B's own decodes;
    every bar between plays a training groove of the graph's chain from A to B (its stored
    decode, at the bar's phase), in the chain's order."""
    bars = 8
    out = transition(mapped, SPARSE, DENSE, bars=bars, strategy=1)
    rec_a = mapped.decode(mapped.encode(SPARSE), mapped.attributes_of(SPARSE))
    rec_b = mapped.decode(mapped.encode(DENSE), mapped.attributes_of(DENSE))
    assert np.array_equal(out.bar_slice(0, 1).hits, rec_a.bar_slice(0, 1).hits)
    assert np.array_equal(out.bar_slice(bars - 1, 1).hits, rec_b.bar_slice(1, 1).hits)
    graph = mapped.groove_graph()
    chain = graph.chain(mapped.encode(SPARSE), mapped.encode(DENSE)).tolist()
    ways = graph.waypoints(mapped.encode(SPARSE), mapped.encode(DENSE), np.linspace(0, 1, bars)[1:-1])
    assert set(ways.tolist()) <= set(chain)
    assert np.all(np.diff([chain.index(w) for w in ways]) >= 0)  # forward along the chain
    assert len(set(ways.tolist())) >= 2  # more than one groove between these unlike ends
    for i, w in enumerate(ways, start=1):
        assert np.array_equal(out.bar_slice(i, 1).hits, _bank_bars(mapped, int(w))[i % 2])


def test_data_path_plays_the_grooves_between_in_smaller_steps_than_a_cut(mapped: Generator) -> None:
    """Where the data holds grooves between A and B (hats on eighths between hats on quarters
    and on sixteenths), the path plays them: neighbouring bars differ by fewer hits, at the
    largest step, than jumping from A's bars to B's. (Hub weight 1: on this 120-groove bank
    the shipped weight, chosen on 16k grooves, steers off the few in-between grooves.)"""
    from dataclasses import replace

    g = Generator.from_checkpoint(mapped_checkpoint()[0])
    g.data_path = replace(g.data_path, enabled=True, hub_weight=1.0)
    out = transition(g, SPARSE, DENSE, bars=8, strategy=1).hits.reshape(8, 16, 9)
    hats = out[:, :, Voice.CLOSED_HAT].sum(axis=1)
    assert hats[0] == 4 and hats[-1] == 16 and np.any((hats > 4) & (hats < 16))
    steps = (out[1:] != out[:-1]).sum(axis=(1, 2))
    cut = np.concatenate([np.tile(SPARSE.hits, (2, 1)), np.tile(DENSE.hits, (2, 1))]).reshape(8, 16, 9)
    cut_steps = (cut[1:] != cut[:-1]).sum(axis=(1, 2))
    assert steps.max() < cut_steps.max()


def test_data_path_is_off_without_a_map_and_for_two_bars(gen: Generator, mapped: Generator) -> None:
    from dataclasses import replace

    g = Generator.from_checkpoint(tiny_checkpoint("fader_vae"))
    g.data_path = replace(g.data_path, enabled=True)  # no map: the straight path
    assert transition(g, SPARSE, DENSE, 6, 1) == transition(gen, SPARSE, DENSE, 6, 1)
    two = transition(mapped, SPARSE, DENSE, 2, 1)  # only the ends
    rec_a = mapped.decode(mapped.encode(SPARSE), mapped.attributes_of(SPARSE))
    assert np.array_equal(two.bar_slice(0, 1).hits, rec_a.bar_slice(0, 1).hits)


def test_held_data_path_plays_whole_training_grooves_in_phase() -> None:
    """``hold_bars`` 2: A's two bars, then whole 2-bar training grooves of the chain, in
    phase, then B's two bars."""
    from dataclasses import replace

    g = Generator.from_checkpoint(mapped_checkpoint()[0])
    g.data_path = replace(g.data_path, enabled=True, hold_bars=2)
    out = transition(g, SPARSE, DENSE, bars=8, strategy=1)
    rec_a = g.decode(g.encode(SPARSE), g.attributes_of(SPARSE))
    rec_b = g.decode(g.encode(DENSE), g.attributes_of(DENSE))
    assert np.array_equal(out.bar_slice(0, 2).hits, rec_a.hits)
    assert np.array_equal(out.bar_slice(6, 2).hits, rec_b.hits)
    ways = g.groove_graph().waypoints(g.encode(SPARSE), g.encode(DENSE), np.array([2.5, 4.5]) / 7)
    for start, w in zip((2, 4), ways, strict=True):
        assert np.array_equal(out.bar_slice(start, 2).hits.reshape(2, 16, 9), _bank_bars(g, int(w)))
    with pytest.raises(ValueError, match="settings"):
        g.data_path = replace(g.data_path, hold_bars=0)
        g.groove_graph()
