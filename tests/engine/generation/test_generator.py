"""Generator facade and AsyncGenerator against a tiny real checkpoint trained in the session."""

from __future__ import annotations

import threading

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from engine.errors import CheckpointError  # noqa: E402
from engine.generation.generator import AsyncGenerator, Generator  # noqa: E402
from engine.generation.knobs import KnobState  # noqa: E402
from engine.music import attributes as attr_lib  # noqa: E402
from engine.music.pattern import Pattern  # noqa: E402
from tests.support.tiny_checkpoint import synthetic_patterns, tiny_checkpoint  # noqa: E402


@pytest.fixture(scope="module")
def gen() -> Generator:
    return Generator.from_checkpoint(tiny_checkpoint("fader_vae"))


@pytest.fixture(scope="module")
def base() -> Generator:
    return Generator.from_checkpoint(tiny_checkpoint("vae"))


@pytest.fixture(scope="module")
def held_out() -> list[Pattern]:
    return [Pattern.from_array(a) for a in synthetic_patterns(40, seed=123)]


def test_metadata_views(gen: Generator) -> None:
    assert torch.get_num_threads() == 1
    meta = gen.meta["attributes"]
    assert gen.attribute_names == tuple(meta["names"]) == attr_lib.DEFAULT_ATTRIBUTES
    assert gen.attribute_ranges["density"] == (meta["low"][0], meta["high"][0])
    assert gen.attribute_defaults["density"] == pytest.approx(meta["mean"][0])
    assert gen.z_dim == 8 and gen.steps == 32 and gen.steps_per_bar == 16
    assert gen.model_kind == "fader_vae"


def test_missing_checkpoint_is_one_clear_error(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="nope.pt"):
        Generator.from_checkpoint(tmp_path / "nope.pt")


def test_decode_shapes_and_determinism(gen: Generator) -> None:
    z = gen.sample(3, seed=1)
    assert z.shape == (3, 8)
    one = gen.decode(z[0])
    assert isinstance(one, Pattern) and one.steps == 32
    many = gen.decode(z)
    assert len(many) == 3  # batched == single, up to float rounding of the batch kernels
    assert np.array_equal(many[0].hits, one.hits)
    np.testing.assert_allclose(many[0].velocities, one.velocities, atol=1e-5)
    assert gen.decode(z[0]) == one  # temperature 0 is deterministic
    assert gen.decode(z[0], temperature=1.0, seed=5) == gen.decode(z[0], temperature=1.0, seed=5)
    draws = {gen.decode(z[0], temperature=1.5, seed=s) for s in range(8)}
    assert len(draws) > 1


def test_sampling_follows_the_hit_probabilities(gen: Generator) -> None:
    z = np.repeat(gen.sample(1, seed=3), 400, axis=0)
    out = gen.decode_batch(z, temperature=1.0, seed=11)
    rate = out.hits.mean(axis=0)
    assert np.abs(rate - out.hit_probs[0]).max() < 0.1
    greedy = gen.decode_batch(z[:1])
    assert np.array_equal(greedy.hits[0], out.hit_probs[0] > 0.5)


def test_a_sampling_floor_leaves_the_cells_the_model_is_sure_of(gen: Generator) -> None:
    z = np.repeat(gen.sample(4, seed=7), 100, axis=0)
    shipped = gen.sampling_floor
    try:
        gen.sampling_floor = 0.0  # plain Bernoulli draws
        plain, greedy = gen.decode_batch(z, temperature=1.5, seed=3), gen.decode_batch(z)
        gen.sampling_floor = 0.2
        floored = gen.decode_batch(z, temperature=1.5, seed=3)
        np.testing.assert_array_equal(gen.decode_batch(z).hits, greedy.hits)  # greedy untouched
    finally:
        gen.sampling_floor = shipped
    p = floored.hit_probs
    sure_off, sure_on = p < 0.2, p >= 0.8
    assert (plain.hits & sure_off).any() and not (floored.hits & sure_off).any()
    assert floored.hits[sure_on].all()
    between = ~sure_off & ~sure_on
    np.testing.assert_array_equal(floored.hits[between], plain.hits[between])  # the same draws


def test_encode_decode_round_trip(gen: Generator, held_out: list[Pattern]) -> None:
    acc, other = [], []
    for i, p in enumerate(held_out):
        rec = gen.decode(gen.encode(p), gen.knobs_for_pattern(p))
        acc.append(np.mean(rec.hits == p.hits))
        q = held_out[(i + 7) % len(held_out)]
        other.append(np.mean(gen.decode(gen.encode(q), gen.knobs_for_pattern(q)).hits == p.hits))
    assert np.mean(acc) > 0.97
    assert np.mean(acc) > np.mean(other) + 0.02


def test_fit_length_loops_and_cuts(gen: Generator) -> None:
    one_bar = Pattern.from_array(synthetic_patterns(1)[0][:16])
    looped = gen.fit_length(one_bar)
    assert looped.steps == 32 and looped.bar_slice(1, 1) == one_bar
    four = Pattern.concatenate([looped, looped])
    assert gen.fit_length(four) == looped
    assert gen.encode(four).shape == (8,)


def test_density_knob_raises_density(gen: Generator) -> None:
    lo, hi = gen.attribute_ranges["density"]
    z = gen.sample(50, seed=4)
    d_lo = attr_lib.density(gen.decode_batch(z, {"density": lo}).to_array()).mean()
    d_hi = attr_lib.density(gen.decode_batch(z, {"density": hi}).to_array()).mean()
    assert d_hi > d_lo + 0.3 * (hi - lo)


def test_bad_knob_and_z_raise(gen: Generator) -> None:
    with pytest.raises(ValueError, match="unknown attribute"):
        gen.decode(np.zeros(8), {"cowbell": 1.0})
    with pytest.raises(ValueError, match="z must have shape"):
        gen.decode(np.zeros(5))


def test_baseline_knobs_are_attribute_vectors(base: Generator) -> None:
    assert base.model_kind == "vae"
    z = base.sample(4, seed=2)
    lo, hi = base.attribute_ranges["density"]
    vec = np.asarray(base.meta["attribute_vectors"]["density"])
    shifted = base.decode_batch(z, {"density": hi})
    default = base.attribute_defaults["density"]
    by_hand = base.decode_batch(z + (hi - default) / (hi - lo) * vec, use_knobs=False)
    assert np.array_equal(shifted.hits, by_hand.hits)
    np.testing.assert_allclose(shifted.velocities, by_hand.velocities, atol=1e-5)
    # knobs at their defaults leave z alone: the round trip needs no knob values
    p = Pattern.from_array(synthetic_patterns(1, seed=9)[0])
    assert base.knobs_for_pattern(p) == base.attribute_defaults
    assert np.array_equal(base.decode_batch(base.encode(p), base.knobs_for_pattern(p)).hits,
                          base.decode_batch(base.encode(p), use_knobs=False).hits)


def test_interpolation(gen: Generator) -> None:
    za, zb = gen.sample(2, seed=8)
    for method in ("slerp", "linear"):
        path = gen.interpolate(za, zb, 5, method=method)
        assert path.shape == (5, 8)
        np.testing.assert_allclose(path[0], za)
        np.testing.assert_allclose(path[-1], zb)
    lin = gen.interpolate(za, zb, 3, method="linear")
    np.testing.assert_allclose(lin[1], (za + zb) / 2)
    # slerp between equal-norm vectors keeps the norm, linear shrinks it
    zb_n = zb / np.linalg.norm(zb) * np.linalg.norm(za)
    mid = gen.interpolate(za, zb_n, 3)[1]
    assert np.linalg.norm(mid) == pytest.approx(np.linalg.norm(za))
    with pytest.raises(ValueError):
        gen.interpolate(za, zb, 3, method="cubic")


def test_variation(gen: Generator) -> None:
    z = gen.sample(1, seed=1)[0]
    np.testing.assert_allclose(gen.variation(z, 0.0, seed=1), z)
    near = np.linalg.norm(gen.variation(z, 0.1, seed=1) - z)
    far = np.linalg.norm(gen.variation(z, 1.0, seed=1) - z)
    assert 0 < near < far


def test_sample_like_data_draws_near_the_stored_codes() -> None:
    """Randomize's latents: a stored training code plus N(0, noise²) per dimension."""
    from models.checkpoint import load_checkpoint

    ck = load_checkpoint(tiny_checkpoint("fader_vae"))
    meta = dict(ck.meta, latent=dict(ck.meta["latent"], anchors=[[10.0] * 8, [-10.0] * 8],
                                     anchor_noise=0.5))
    g = Generator(ck.model, meta, ck.config)
    assert g.has_anchors
    z = g.sample_like_data(2000, seed=3)
    side = np.sign(z.mean(axis=1))
    assert set(side) == {-1.0, 1.0}  # both anchors drawn
    dev = z - 10.0 * side[:, None]
    assert abs(dev.std() - 0.5) < 0.02 and abs(dev.mean()) < 0.02
    np.testing.assert_array_equal(g.sample_like_data(5, seed=9), g.sample_like_data(5, seed=9))
    exact = Generator(ck.model, dict(meta, latent=dict(meta["latent"], anchor_noise=0.0)), ck.config)
    assert {tuple(r) for r in exact.sample_like_data(50, seed=1)} == {(10.0,) * 8, (-10.0,) * 8}


def test_a_distinct_draw_takes_no_training_groove_twice() -> None:
    """A batch of clips (``generate --count``): as many different grooves as it asks for."""
    from models.checkpoint import load_checkpoint
    from tests.support.tiny_checkpoint import mapped_checkpoint

    mapped = Generator.from_checkpoint(mapped_checkpoint()[0])
    mapped._map_noise = 0.0  # the training codes as they are, to see which were drawn
    bank = len(mapped._bank)
    drawn = {tuple(r) for r in mapped.sample_like_data(bank, seed=4, distinct=True)}
    assert len(drawn) == bank  # each groove once
    assert len({tuple(r) for r in mapped.sample_like_data(bank, seed=4)}) < bank  # by chance: repeats
    ck = load_checkpoint(tiny_checkpoint("fader_vae"))  # stored codes without a bank
    meta = dict(ck.meta, latent=dict(ck.meta["latent"], anchors=[[10.0] * 8, [-10.0] * 8],
                                     anchor_noise=0.0))
    g = Generator(ck.model, meta, ck.config)
    for seed in range(10):
        assert {tuple(r) for r in g.sample_like_data(2, seed=seed, distinct=True)} == {(10.0,) * 8,
                                                                                       (-10.0,) * 8}


def test_pad_plane(gen: Generator) -> None:
    plane = gen.meta["latent"]["plane"]
    np.testing.assert_allclose(gen.pad_to_z(0.0, 0.0), plane["origin"])
    z = gen.pad_to_z(0.4, -0.7)
    assert gen.z_to_pad(z) == pytest.approx((0.4, -0.7), abs=1e-9)
    assert gen.z_to_pad(gen.pad_to_z(0.0, 0.0) + 100 * np.asarray(plane["axes"][0])) == \
        pytest.approx((1.0, 0.0), abs=1e-9)  # clipped to the pad
    grid = gen.pad_to_z(np.zeros((2, 3)), np.ones((2, 3)))
    assert grid.shape == (2, 3, 8)


def test_blend_corners(gen: Generator) -> None:
    zs = gen.sample(4, seed=6)
    for (x, y), z in zip([(-1, -1), (1, -1), (-1, 1), (1, 1)], zs, strict=True):
        np.testing.assert_allclose(gen.blend_corners(zs, x, y), z)
    # the centre: the corners' mean direction, at their mean length (not the shrunken mean)
    centre = gen.blend_corners(zs, 0, 0)
    mean = zs.mean(axis=0)
    np.testing.assert_allclose(centre / np.linalg.norm(centre), mean / np.linalg.norm(mean))
    assert np.linalg.norm(centre) == pytest.approx(np.linalg.norm(zs, axis=1).mean())
    pats = [Pattern.from_array(a) for a in synthetic_patterns(4, seed=2)]
    np.testing.assert_allclose(gen.blend_corners(pats, 1, 1), gen.encode(pats[3]), atol=1e-6)


def test_corner_blend_carries_its_corners_feel() -> None:
    """A blend's own attributes are the corners' (measured on their grooves) mixed like z,
    and the decode of the blend takes them, not the generic grooves nearest the mix."""
    from dataclasses import replace

    from tests.support.tiny_checkpoint import mapped_checkpoint

    path, _ = mapped_checkpoint()
    g = Generator.from_checkpoint(path)
    g.data_blend = replace(g.data_blend, enabled=False)  # the latent mix (a map's blend: test_data_blend)
    zs = g.sample_like_data(4, seed=8)
    measured = attr_lib.compute(g.decode_batch(zs, None).to_array(), g.attribute_names)
    for i, (x, y) in enumerate([(-1, -1), (1, -1), (-1, 1), (1, 1)]):
        z, own = g.corner_blend(zs, x, y)
        np.testing.assert_allclose(z, zs[i])
        np.testing.assert_allclose(own, measured[i])
    g.mix_shape = replace(g.mix_shape, corner_sharpness=2.0)
    z, own = g.corner_blend(zs, -0.4, 0.3)
    w = g.mix_shape.corner_weights(-0.4, 0.3)
    np.testing.assert_allclose(own, w @ measured)
    np.testing.assert_allclose(g.blend_corners(zs, -0.4, 0.3), z)
    # decoded with the blend's own attributes (nothing held), not the nearest codes' estimate
    played = g.decode(z, {}, own=own).to_array()
    np.testing.assert_allclose(played, g.decode_batch(z, own).to_array()[0])
    assert not np.allclose(g._bank.own_attributes(z[None])[0], own)  # the nearest codes' estimate differs
    # the generator remembers what it made: a later decode of the same latent (a knob turned
    # after the blend) starts from the blend's feel, and other latents still get the estimate
    np.testing.assert_allclose(g.attribute_matrix(None, 1, z)[0], own)
    np.testing.assert_allclose(g.decode(z, {}).to_array(), played)
    other = z + 0.01
    assert not np.allclose(g.attribute_matrix(None, 1, other)[0], own)
    # a knob set overrides its own column only
    held = g.attribute_matrix({"density": 1.5}, 1, z, own)[0]
    assert held[0] == 1.5 and np.allclose(held[1:], own[1:])
    # Pattern corners: measured on the patterns themselves
    pats = [Pattern.from_array(a) for a in synthetic_patterns(4, seed=2)]
    _, own_p = g.corner_blend(pats, -1, -1)
    np.testing.assert_allclose(own_p, attr_lib.compute(pats[0].to_array()[None], g.attribute_names)[0])


def test_heatmap_matches_single_decodes(gen: Generator) -> None:
    hm = gen.heatmap("density", 8)
    assert hm.shape == (8, 8)
    g = np.linspace(-1, 1, 8)
    for i, j in [(0, 0), (3, 5), (7, 2)]:
        p = gen.decode(gen.pad_to_z(g[j], g[i]))  # the model's own pull (nothing held)
        assert hm[i, j] == pytest.approx(attr_lib.density(p.to_array()[None])[0], abs=1e-6)
    assert hm.std() > 0  # the pad is not flat
    import torch

    assert torch.get_num_threads() == 1  # the heat-map's threads are handed back
    with pytest.raises(ValueError):
        gen.heatmap("loudness", 4)


def test_heatmap_of_a_velocity_trunk_model_skips_it_only_for_hit_attributes() -> None:
    """Density, syncopation and hat busyness need the hits alone: the heat-map decodes them
    without the velocity trunk and still equals full single decodes; intensity needs it."""
    vt = Generator.from_checkpoint(tiny_checkpoint("fader_vae_vtrunk"))
    g = np.linspace(-1, 1, 6)
    z = vt.pad_to_z(g[4], g[1])
    full, hits_only = vt.decode_batch(z[None]), vt.decode_batch(z[None], hits_only=True)
    np.testing.assert_array_equal(full.hit_probs, hits_only.hit_probs)
    assert np.abs(full.velocities - hits_only.velocities).max() > 1e-3  # placeholders there
    for name in ("density", "syncopation", "hat_busyness", "intensity", "laid_back"):
        hm = vt.heatmap(name, 6)
        single = attr_lib.ATTRIBUTES[name](vt.decode(z).to_array()[None])[0]
        assert hm[1, 4] == pytest.approx(single, abs=1e-6), name


def test_hit_attributes_do_not_read_velocities_or_offsets() -> None:
    x = synthetic_patterns(16, seed=5)
    y = x.copy()
    rng = np.random.default_rng(0)
    y[..., 9:18] = rng.uniform(0, 1, y[..., 9:18].shape) * (x[..., :9] > 0)
    y[..., 18:] = rng.uniform(-0.5, 0.5, y[..., 18:].shape) * (x[..., :9] > 0)
    for name, fn in attr_lib.ATTRIBUTES.items():
        same = np.allclose(fn(x), fn(y))
        assert same == (name in attr_lib.HIT_ATTRIBUTES), name


# -- AsyncGenerator -----------------------------------------------------------------


def test_async_latest_request_wins(gen: Generator) -> None:
    ag = AsyncGenerator(gen)
    release = threading.Event()
    started = threading.Event()

    def block() -> str:
        started.set()
        release.wait(5)
        return "blocked"

    got: list[object] = []
    ag.request("block", fn=block, callback=got.append)
    assert started.wait(5)
    zs = gen.sample(5, seed=0)
    for z in zs:  # queued while the worker is busy: only the last survives
        ag.request("decode", z, callback=got.append)
    ag.request("heatmap", "density", 4, callback=got.append)
    assert ag.pending() == ["decode", "heatmap"]
    release.set()
    assert ag.wait_idle(10)
    ag.close()
    assert got[0] == "blocked"
    assert len(got) == 3
    assert np.array_equal(got[1].hits, gen.decode(zs[-1]).hits)
    assert got[2].shape == (4, 4)


def test_async_errors_reach_on_error_and_worker_survives(gen: Generator) -> None:
    ag = AsyncGenerator(gen)
    errors: list[BaseException] = []
    ok: list[object] = []
    ag.request("decode", np.zeros(3), callback=ok.append, on_error=errors.append)
    ag.wait_idle(5)
    ag.request("decode", np.zeros(8), callback=ok.append, on_error=errors.append)
    assert ag.wait_idle(5)
    ag.close()
    assert len(errors) == 1 and isinstance(errors[0], ValueError)
    assert len(ok) == 1 and isinstance(ok[0], Pattern)
    with pytest.raises(RuntimeError, match="closed"):
        ag.request("decode", np.zeros(8), callback=ok.append)


def test_sampled_hits_are_what_an_autoregressive_decoder_fed_back(gen: Generator) -> None:
    import dataclasses

    from models.config import PRESETS
    from models.fader_vae import FaderVAE

    torch.manual_seed(0)
    cfg = dataclasses.replace(PRESETS["tiny"], num_attributes=4, z_dim=8, decoder_cell="gru")
    ar = Generator(FaderVAE(cfg), gen.meta, cfg)
    z = ar.sample(6, seed=0)
    free = ar.decode_batch(z, temperature=1.0, seed=4)
    # teacher-forcing the returned pattern reproduces the free run's step probabilities
    # only if those are exactly the hits the decoder fed back to itself
    forced = ar.decode_batch(z, teacher=free.to_array())
    np.testing.assert_allclose(forced.hit_probs, free.hit_probs, atol=1e-5)
    other = ar.decode_batch(z, temperature=1.0, seed=5)
    assert not np.array_equal(other.hits, free.hits)
    ar.sampling_floor = 0.3  # never applied here: the hits must stay the ones it fed back
    np.testing.assert_array_equal(ar.decode_batch(z, temperature=1.0, seed=4).hits, free.hits)
    assert np.abs(ar.decode_batch(z, teacher=other.to_array()).hit_probs - free.hit_probs).max() > 1e-3


def _miss(gen: Generator, patterns: list[Pattern], knobs: dict[str, float]) -> np.ndarray:
    """Per pattern, the mean squared miss of the knobs in units of their ranges (what the
    loop minimises)."""
    names = gen.attribute_names
    measured = attr_lib.compute(np.stack([p.to_array() for p in patterns]), names)
    target = np.array([knobs[n] for n in names])
    span = np.array([gen.attribute_ranges[n][1] - gen.attribute_ranges[n][0] for n in names])
    return np.mean(((measured - target) / span) ** 2, axis=1)


@pytest.mark.parametrize("fixture", ["gen", "base"])
def test_decode_holds_the_knobs_closer_than_the_model_alone(fixture: str, request) -> None:
    g: Generator = request.getfixturevalue(fixture)
    z = g.sample(64, seed=7)
    lo, hi = g.attribute_ranges["density"]
    knobs = {**g.attribute_defaults, "density": lo + 0.8 * (hi - lo)}
    held = g.decode(z, knobs, targets=_knob_state(g).set_all(knobs).targets())
    free = g.decode(z, knobs)
    assert free == g.decode(z, knobs)
    held_miss, free_miss = _miss(g, held, knobs), _miss(g, free, knobs)
    assert held_miss.mean() < free_miss.mean()
    assert np.all(held_miss <= free_miss + 1e-9)  # the first decode is the open-loop one


def _knob_state(g: Generator) -> KnobState:
    return KnobState.for_model(g.attribute_ranges, g.attribute_defaults)


def test_decode_meeting_reports_what_it_kept(gen: Generator) -> None:
    z = gen.sample(16, seed=3)
    knobs = {"density": gen.attribute_ranges["density"][1]}
    targets = _knob_state(gen).set_all(knobs).targets()
    out, record = gen.decode_meeting(z, knobs, targets, turning="density")
    measured = attr_lib.compute(out.to_array(), gen.attribute_names)
    np.testing.assert_allclose(measured, record.measured)
    # the kept inputs reproduce the kept patterns in one open-loop decode
    again = gen.decode_batch(z, record.inputs)
    assert np.array_equal(again.hits, out.hits)
    assert record.decodes.min() >= 1 and record.decodes.max() <= 1 + 2 * gen.feedback.iterations
    with pytest.raises(ValueError, match="unknown attribute"):
        gen.decode_meeting(z, knobs, targets, turning="cowbell")
    with pytest.raises(ValueError, match="must be held"):
        gen.decode_meeting(z, knobs, targets, turning="syncopation")


def test_held_sampling_is_repeatable(gen: Generator) -> None:
    z = gen.sample(1, seed=4)[0]
    knobs = {"density": gen.attribute_ranges["density"][1]}
    targets = _knob_state(gen).set_all(knobs).targets()

    def draw(seed: int) -> Pattern:
        return gen.decode(z, knobs, temperature=1.0, seed=seed, targets=targets)

    a = draw(9)
    assert a == draw(9)
    assert a != draw(10) or a != draw(11)


def test_only_the_knobs_set_are_held(gen: Generator) -> None:
    """Knobs nobody set are the model's: a fresh latent plays its own groove, and setting
    density corrects only density's input."""
    z = gen.sample(32, seed=8)
    fresh = _knob_state(gen)
    assert gen.decode(z, fresh.inputs, targets=fresh.targets()) == gen.decode(z)
    names = gen.attribute_names
    hi = gen.attribute_ranges["density"][1]
    _, record = gen.decode_meeting(z, {"density": hi}, fresh.set("density", hi).targets())
    others = [i for i, n in enumerate(names) if n != "density"]
    defaults = np.array([gen.attribute_defaults[n] for n in names])
    np.testing.assert_allclose(record.inputs[:, others], np.tile(defaults[others], (32, 1)))
    assert np.any(record.inputs[:, 0] != hi)  # density's input was corrected somewhere
    # targets are one row for the batch or one per pattern, nothing else
    assert gen.target_matrix(np.array([np.nan, 2.0, np.nan, np.nan]), 3).shape == (3, 4)
    with pytest.raises(ValueError, match="targets must have shape"):
        gen.target_matrix(np.zeros(3), 1)
    with pytest.raises(ValueError, match="unknown attribute"):
        gen.decode(z, {"cowbell": 1.0})


def test_toward_data_pulls_a_mix_onto_the_nearest_training_groove() -> None:
    from dataclasses import replace

    from tests.support.tiny_checkpoint import mapped_checkpoint

    path, arrays = mapped_checkpoint()
    g = Generator.from_checkpoint(path)
    g.data_blend = replace(g.data_blend, enabled=False)  # the latent mix and its pull onto the data
    plain = Generator.from_checkpoint(tiny_checkpoint("fader_vae"))
    codes = arrays["bank.codes"].astype(np.float64)
    zs = plain.sample(4, seed=3)
    mix = g.blend_corners(zs, 0.0, 0.0)  # pull 0 (the default): the mix as it is
    np.testing.assert_allclose(mix, plain.blend_corners(zs, 0.0, 0.0))
    nearest = codes[np.argmin(((codes - mix) ** 2).sum(1))]
    np.testing.assert_allclose(g.toward_data(mix, 1.0), nearest, atol=1e-6)
    half = g.toward_data(mix, 0.5)
    assert np.linalg.norm(half - mix) < np.linalg.norm(nearest - mix)
    g.on_data = replace(g.on_data, pull=1.0)
    np.testing.assert_allclose(g.blend_corners(zs, 0.0, 0.0), nearest, atol=1e-6)
    np.testing.assert_allclose(g.blend_corners(zs, 1.0, 1.0), zs[3])  # a corner stays itself
    g.on_data = replace(g.on_data, method="hits", pull=1.0)
    centre = g.blend_corners(zs, 0.0, 0.0)
    d_codes = np.abs(codes - centre).max(1)
    assert d_codes.min() < 1e-6  # a training groove's own code
    np.testing.assert_allclose(g.blend_corners(zs, -1.0, -1.0), zs[0])
    # the groove whose hits are least far from the four corners' decodes, weighed alike
    hits = g.decode_batch(zs).hits
    bank_hits = g.decode_batch(codes).hits
    cost = sum((bank_hits != h).sum(axis=(1, 2)) for h in hits)
    assert cost[int(np.argmin(d_codes))] == cost.min()
    # Variation on the map: by default a nearby training groove's code (one of the
    # 1 + round(0.35 * 24) = 9 nearest but itself), optionally with Randomize's noise
    z0 = codes[5]
    near = g.variation(z0, 0.35, seed=1)
    assert np.abs(codes - near).max(1).min() < 1e-6 and not np.allclose(near, z0)
    d0 = ((codes - z0) ** 2).sum(1)
    assert ((codes - near) ** 2).sum(1).argmin() in np.argsort(d0)[1:10]
    picks = {g.variation(z0, 0.35, seed=s).tobytes() for s in range(20)}
    assert 3 <= len(picks) <= 9  # several of the nine, never a farther groove
    g.variation_method = "neighbour+noise"
    noisy = g.variation(z0, 0.35, seed=1)
    assert np.abs(codes - noisy).max(1).min() > 1e-3
    g.variation_method = "neighbour-hub"  # the nine cheapest of the 36 nearest by link cost
    graph = g.groove_graph()
    pool = np.argsort(d0)[1:37]
    cost = np.sqrt(d0[pool]) ** graph.settings.power * graph.hub[pool]
    cheapest = set(pool[np.argsort(cost, kind="stable")[:9]].tolist())
    hub_picks = {int(((codes - g.variation(z0, 0.35, seed=s)) ** 2).sum(1).argmin()) for s in range(30)}
    assert hub_picks <= cheapest and len(hub_picks) >= 3
    g.variation_method = "neighbour-even"  # the nine nearest, a hub drawn more rarely
    nine = np.argsort(d0)[1:10]
    counts = dict.fromkeys(nine.tolist(), 0)
    for s in range(600):
        counts[int(((codes - g.variation(z0, 0.35, seed=s)) ** 2).sum(1).argmin())] += 1
    odds = 1.0 / np.maximum(graph.in_degree[nine], 1)
    expected = 600 * odds / odds.sum()
    observed = np.array([counts[int(i)] for i in nine])
    assert np.all(np.abs(observed - expected) <= 4 * np.sqrt(expected) + 1)
    assert odds.max() >= 2 * odds.min()  # this bank's nine differ enough for that to tell
    # a generator that has not built its graph counts the map's stored lists alike
    fresh = Generator.from_checkpoint(path)
    fresh.variation_method = "neighbour-even"
    for s in range(20):
        np.testing.assert_array_equal(fresh.variation(z0, 0.35, seed=s), g.variation(z0, 0.35, seed=s))
    assert "bank.neighbours" in arrays and fresh._graph is None  # no graph was built for it
    g.variation_method = "noise"
    np.testing.assert_allclose(g.variation(z0, 0.35, seed=1),
                               z0 + 0.35 * np.random.default_rng(1).standard_normal(z0.shape))
