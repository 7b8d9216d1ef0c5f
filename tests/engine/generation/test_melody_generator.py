"""The melody generator's API on a tiny model that has memorised two melodies."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from engine.generation.melody import SEARCH_ROUNDS, MelodyGenerator, loop_to  # noqa: E402
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
    out = gen.transition(a, b, bars, 1, seed=3, ends="decoded")  # the model's own ends
    assert out.bars == bars
    assert np.array_equal(out.events[:16], a.events[:16])
    last = (bars - 1) % gen.bars  # output bar i keeps its phase in the 2-bar phrase
    assert np.array_equal(out.events[-16:], loop_to(b, bars).events[-16:])
    assert np.array_equal(out.events[-16:], b.events[last * 16:(last + 1) * 16])


@pytest.mark.parametrize("strategy", [2, 3])
@pytest.mark.parametrize("scale", ["bar", "note"])
def test_mixed_transitions_start_as_a(gen, strategy, scale) -> None:
    # how often they also end as B is a property of the trained model: the study measures it
    out = gen.transition(melody_a(), melody_b(), 6, strategy, mix_scale=scale, seed=0, ends="decoded")
    assert out.bars == 6 and np.array_equal(out.events[:16], melody_a().events[:16])


def test_a_given_path_is_decoded_bar_by_bar(gen) -> None:
    a, b = melody_a(), melody_b()
    za, zb = gen.encode(a), gen.encode(b)
    # B's code for the first bars, A's for the last: the decode follows the path, not A -> B
    out = gen.transition(a, b, 4, 1, ends="decoded", path=np.stack([zb, zb, za, za]))
    assert np.array_equal(out.events[:16], b.events[:16])
    assert np.array_equal(out.events[-16:], a.events[16:32])


def test_transitions_lean_halfway_toward_the_stored_codes(gen) -> None:
    from engine.generation.latent_paths import interpolate

    a, b = melody_a(), melody_b()
    za, zb = gen.encode(a), gen.encode(b)
    t = np.linspace(0.0, 1.0, 6)
    line = interpolate(za, zb, t)
    graph = gen.transition_graph()
    assert graph is not None and len(graph) == 2  # the memorised model stores A's and B's codes
    z = graph.pulled(za, zb, t, line, 0.5)
    assert np.allclose(z[[0, -1]], line[[0, -1]])  # the ends stay A's and B's
    stored = gen.anchors
    for i in range(1, 5):  # every bar between lies halfway from the line to a stored code
        target = 2 * z[i] - line[i]
        assert np.abs(stored - target).max(1).min() < 1e-9
        assert not np.allclose(z[i], line[i])
    default = gen.transition(a, b, 6, 1, ends="decoded")
    assert default == gen.transition(a, b, 6, 1, ends="decoded", path=z)
    assert gen.transition(a, b, 6, 1, ends="decoded", along_data=0.0) == \
        gen.transition(a, b, 6, 1, ends="decoded", path=line)


def test_a_transition_from_a_tune_to_itself_stays_on_its_code(gen) -> None:
    ev = melody_a().events.copy()
    ev[ev >= 0] += 2  # a tune the model did not store: its code is none of the stored ones
    c = Melody(ev)
    zc = gen.encode(c)
    assert np.abs(gen.anchors - zc).max(1).min() > 1e-3
    # nothing to lean toward: every bar decodes c's own code, as on the plain line
    assert gen.transition(c, c, 6, 1, ends="decoded") == gen.transition(c, c, 6, 1, ends="decoded",
                                                                        along_data=0.0)


def test_the_mix_follows_t(gen) -> None:
    a, b = melody_a(), melody_b()
    mix = gen.bernoulli_mix(a, b, 40, "note", seed=0, mix_draw="independent")
    ca, cb = loop_to(a, 40).to_classes(), loop_to(b, 40).to_classes()
    differ = ca != cb
    from_b = (mix == cb) & differ
    half = len(mix) // 2
    assert from_b[:half].sum() < from_b[half:].sum()  # B's share rises along the mix
    bar_mix = gen.bernoulli_mix(a, b, 8, "bar", seed=0, mix_draw="independent").reshape(8, 16)
    assert all(np.array_equal(r, loop_to(a, 8).to_classes().reshape(8, 16)[i])
               or np.array_equal(r, loop_to(b, 8).to_classes().reshape(8, 16)[i])
               for i, r in enumerate(bar_mix))  # per bar: whole bars from one side


@pytest.mark.parametrize("scale", ["bar", "note"])
def test_the_switch_draw_crosses_once_with_the_same_odds(gen, scale) -> None:
    a, b = melody_a(), melody_b()
    ca, cb = loop_to(a, 8).to_classes(), loop_to(b, 8).to_classes()
    differ = ca != cb
    share = np.zeros(len(ca))
    for seed in range(400):
        mix = gen.bernoulli_mix(a, b, 8, scale, seed=seed, mix_draw="switch")
        from_b = (mix == cb) & differ
        from_a = (mix == ca) & differ
        last_a = np.flatnonzero(from_a).max(initial=-1)
        first_b = np.flatnonzero(from_b).min(initial=len(mix))
        assert last_a < first_b  # A's inputs, then B's: one crossing, no flicker
        share += from_b
    # each step is still B's with probability t (t rises 0 -> 1 along the mix)
    p = np.linspace(0, 1, len(ca)) if scale == "note" else np.repeat(np.linspace(0, 1, 8), 16)
    assert np.abs(share / 400 - p)[differ].max() < 0.1


@pytest.mark.parametrize("strategy", [2, 3])
def test_the_forced_strategies_let_the_decoder_hear_its_own_note_ons_by_default(gen, monkeypatch,
                                                                                strategy) -> None:
    """Fed the mix's note where it struck its own, the decoder never heard its pitch and struck
    it again: by default the mix is fed as ``-2 - c`` (class c unless the decoder strikes)."""
    fed = []
    decode = gen.decode_batch

    def recording(z, bars=None, temperature=0.0, seed=None, forced=None):
        fed.append(forced)
        return decode(z, bars, temperature, seed, forced)

    monkeypatch.setattr(gen, "decode_batch", recording)
    a, b = melody_a(), melody_b()
    default = gen.transition(a, b, 6, strategy, seed=3)
    every = gen.transition(a, b, 6, strategy, seed=3, feed="all")
    assert np.all(fed[0] <= -2) and np.all(fed[1] >= 0)
    assert np.array_equal(fed[0], -2 - fed[1])  # the same mix, its notes giving way to the decoder's
    assert default == gen.transition(a, b, 6, strategy, seed=3, feed="own-notes")
    assert every.bars == default.bars == 6


def test_bad_arguments_raise(gen) -> None:
    with pytest.raises(ValueError, match="strategy"):
        gen.transition(melody_a(), melody_b(), 4, 4)
    with pytest.raises(ValueError, match="mix_scale"):
        gen.transition(melody_a(), melody_b(), 4, 2, mix_scale="beat")
    with pytest.raises(ValueError, match="mix_draw"):
        gen.transition(melody_a(), melody_b(), 4, 3, mix_draw="twice")
    with pytest.raises(ValueError, match="feed"):
        gen.transition(melody_a(), melody_b(), 4, 3, feed="onsets")
    with pytest.raises(ValueError, match="along_data"):
        gen.transition(melody_a(), melody_b(), 4, 1, along_data=1.5)
    with pytest.raises(ValueError, match="path"):
        gen.transition(melody_a(), melody_b(), 4, 1, path=np.zeros((3, gen.z_dim)))
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


@pytest.fixture(scope="module")
def rough(tmp_path_factory) -> MelodyGenerator:
    """A random (untrained) tiny model: its decodes are far from any melody."""
    import torch

    from engine.music.melody import codec_meta
    from models.melody_checkpoint import save_melody_checkpoint
    from models.melody_vae import MelodyVAE, preset

    torch.manual_seed(1)
    model = MelodyVAE(preset("melody_tiny")).eval()
    with torch.no_grad():  # a peaked output: the decodes depend on z, not on near-ties
        model.out.weight.mul_(6.0)
        model.to_sigma.bias.fill_(1.0)  # wide posteriors: the candidates differ
    meta = {"data_fingerprint": "test", "metrics": {}, "codec": codec_meta(),
            "latent": {"mean": [0.0] * 8, "std": [1.0] * 8}}
    path = save_melody_checkpoint(tmp_path_factory.mktemp("rough") / "rough.pt", model, meta)
    return MelodyGenerator.from_checkpoint(path, backend="torch")


def test_search_codes_keeps_the_closest_free_running_decode(rough) -> None:
    melodies = [melody_a(), melody_b()]
    x = np.stack([m.to_classes() for m in melodies])
    mean_code, mean_dec = rough.search_codes(melodies, [0, 1], candidates=1)
    assert np.allclose(mean_code, rough.encode_batch(melodies), atol=1e-6)
    codes, dec = rough.search_codes(melodies, [0, 1], candidates=24, seed=2)
    # what is returned is the code's own greedy decode, never fed the melody
    again = np.stack([m.to_classes() for m in rough.decode_batch(codes)])
    assert np.array_equal(dec, again)
    bar = [slice(0, 16), slice(16, 32)]
    for i in range(2):
        assert (dec[i, bar[i]] == x[i, bar[i]]).sum() >= (mean_dec[i, bar[i]] == x[i, bar[i]]).sum()
    assert any((dec[i, bar[i]] == x[i, bar[i]]).sum() > (mean_dec[i, bar[i]] == x[i, bar[i]]).sum()
               for i in range(2))
    beam_codes, beam_dec = rough.search_codes(melodies, [0, 1], candidates=1, beam=4)
    assert np.allclose(beam_codes, mean_code)  # one candidate: the mean, decoded by beam search


def test_search_rounds_refine_the_codes_until_the_bar_is_reproduced(rough) -> None:
    # melodies the model can play (decodes of codes away from where its encoder puts them)
    targets = rough.decode_batch(np.random.default_rng(0).standard_normal((40, 8)) * 1.5)
    x = np.stack([m.to_classes() for m in targets])

    def on_bar(dec: np.ndarray) -> np.ndarray:
        return (dec[:, :16] == x[:, :16]).sum(1)

    _, once = rough.search_codes(targets, [0] * 40, candidates=16, seed=3)
    codes, refined = rough.search_codes(targets, [0] * 40, candidates=16, seed=3, rounds=8)
    assert np.array_equal(refined, np.stack([m.to_classes() for m in rough.decode_batch(codes)]))
    assert np.all(on_bar(refined) >= on_bar(once))  # the best so far is kept
    # the rounds reproduce more of the first bars exactly (3 of 40 in one round here)
    assert np.sum(on_bar(refined) == 16) >= np.sum(on_bar(once) == 16) + 5
    # a melody the mean code already reproduces stops at once: its code is the mean
    own = rough.decode_batch(rough.encode_batch([melody_a()]))[0]
    code, dec = rough.search_codes([own], [0], candidates=16, seed=3, rounds=6)
    assert np.allclose(code, rough.encode_batch([own]), atol=1e-6)
    assert np.array_equal(dec[0], own.to_classes())


def test_transition_ends(rough) -> None:
    a, b = melody_a(), melody_b()
    decoded = rough.transition(a, b, 5, 1, seed=0, ends="decoded")
    assert not np.array_equal(decoded.events[:16], a.events[:16])  # the rough model misses A
    own = rough.transition(a, b, 5, 1, seed=0)  # the default: A's and B's own bars
    assert np.array_equal(own.events[:16], a.events[:16])
    assert np.array_equal(own.events[-16:], b.events[:16])  # bar 4 of 5 is phase 0 of B
    assert np.array_equal(own.events[16:-16], decoded.events[16:-16])  # the middle is the model's
    codes, dec = rough.search_codes([a, b], [0, 0], seed=0, rounds=SEARCH_ROUNDS)
    searched = rough.transition(a, b, 5, 1, seed=0, ends="searched")
    assert np.array_equal(searched.events[:16], Melody.from_classes(dec[0]).events[:16])
    assert np.array_equal(searched.events[-16:], Melody.from_classes(dec[1]).events[:16])
    with pytest.raises(ValueError, match="ends must be one of"):
        rough.transition(a, b, 4, 1, ends="copied")


def test_refined_ends_go_on_from_the_searched_codes(rough) -> None:
    a, b = melody_a(), melody_b()
    x = np.stack([a.to_classes(), b.to_classes()])
    codes, dec = rough.search_codes([a, b], [0, 0], seed=0, rounds=SEARCH_ROUNDS)
    z, ref = rough.refine_codes([a, b], [0, 0], codes)
    assert np.all((ref[:, :16] == x[:, :16]).sum(1) >= (dec[:, :16] == x[:, :16]).sum(1))
    assert np.array_equal(ref, np.stack([m.to_classes() for m in rough.decode_batch(z)]))  # never fed
    refined = rough.transition(a, b, 5, 1, seed=0, ends="refined")
    assert np.array_equal(refined.events[:16], Melody.from_classes(ref[0]).events[:16])
    assert np.array_equal(refined.events[-16:], Melody.from_classes(ref[1]).events[:16])


def test_longer_tunes_follow_a_stored_phrase(gen, tmp_path) -> None:
    """A checkpoint with phrases draws a longer tune as one stored phrase (A B A here, no
    noise): every tune is A B A A, where window-by-window draws mix A and B at random."""
    from models.melody_checkpoint import load_melody_checkpoint, save_melody_checkpoint

    src = memorised_checkpoint(str(tmp_path / "src"))
    ck = load_melody_checkpoint(src)
    za, zb = ck.meta["latent"]["anchors"]
    meta = dict(ck.meta, latent=dict(ck.meta["latent"], phrases=[[za, zb, za]]))
    g = MelodyGenerator.from_checkpoint(save_melody_checkpoint(tmp_path / "p.pt", ck.model, meta),
                                        backend="torch")
    assert g.phrases is not None and g.phrases.shape == (1, 3, len(za))
    a, b = melody_a().events, melody_b().events
    want = np.concatenate([a, b, a, a])
    for m in g.generate(3, bars=8, seed=2):
        assert np.array_equal(m.events, want)
    one = g.generate(4, bars=2, seed=2)  # one window: a stored code, as before
    assert all(np.array_equal(m.events, a) or np.array_equal(m.events, b) for m in one)
    mixed = [m.events for m in gen.generate(20, bars=8, seed=2)]  # no phrases: window by window
    assert not all(np.array_equal(e, want) for e in mixed)


def test_phrase_noise_sets_the_spread_of_a_longer_tune(tmp_path) -> None:
    from models.melody_checkpoint import load_melody_checkpoint, save_melody_checkpoint

    ck = load_melody_checkpoint(memorised_checkpoint(str(tmp_path / "src")))
    za, zb = ck.meta["latent"]["anchors"]
    meta = dict(ck.meta, latent=dict(ck.meta["latent"], phrases=[[za, zb]], phrase_noise=0.5))
    g = MelodyGenerator.from_checkpoint(save_melody_checkpoint(tmp_path / "p.pt", ck.model, meta),
                                        backend="torch")
    z = g.sample_tunes(400, 2, seed=4)
    offset = z - np.array([za, zb])[None]
    assert np.allclose(offset[:, 0], offset[:, 1])  # one draw per tune
    assert offset[:, 0].std() == pytest.approx(0.5, rel=0.1)  # phrase_noise, not the anchors' 0
    assert np.array_equal(g.sample_tunes(3, 1, seed=4)[:, 0] @ np.ones(len(za)),
                          g.sample_like_data(3, seed=4) @ np.ones(len(za)))  # one window: as before


def test_a_batch_of_tunes_comes_from_different_stored_tunes(tmp_path) -> None:
    from models.melody_checkpoint import load_melody_checkpoint, save_melody_checkpoint

    ck = load_melody_checkpoint(memorised_checkpoint(str(tmp_path / "src")))
    za, zb = ck.meta["latent"]["anchors"]
    meta = dict(ck.meta, latent=dict(ck.meta["latent"], phrases=[[za, zb], [zb, za]]))
    g = MelodyGenerator.from_checkpoint(save_melody_checkpoint(tmp_path / "p.pt", ck.model, meta),
                                        backend="torch")
    a = melody_a().events
    for seed in range(6):  # two tunes from two stored phrases: one A B, one B A, every time
        firsts = sorted(int(np.array_equal(m.events[:32], a)) for m in g.generate(2, bars=4, seed=seed))
        assert firsts == [0, 1]
