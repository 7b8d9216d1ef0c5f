"""The app's model jobs against a real checkpoint: each decodes what the knobs say."""

from __future__ import annotations

import numpy as np
import pytest

from app import model_jobs
from app.model_jobs import KnobSettings
from engine.generation.knobs import KnobState
from engine.music import attributes as attr_lib


@pytest.fixture(scope="module")
def gen(checkpoint):
    import torch

    torch.set_num_threads(1)
    from engine.generation.generator import Generator

    return Generator.from_checkpoint(checkpoint)


def _turned(g, fraction: float, groove: dict[str, float]) -> KnobState:
    lo, hi = g.attribute_ranges["density"]
    return KnobState.for_model(g.attribute_ranges, g.attribute_defaults).turn(
        "density", lo + fraction * (hi - lo), groove)


def test_decode_meets_the_turned_knob_only_when_holding(gen) -> None:
    z = gen.sample_like_data(1, seed=3)[0]
    own = gen.attributes_of(gen.decode(z))
    state = _turned(gen, 0.9, own)
    held = model_jobs.decode(gen, KnobSettings(state, True, 0.0, 1), z=z)
    free = model_jobs.decode(gen, KnobSettings(state, False, 0.0, 1), z=z)
    assert free.pattern == gen.decode(z, state.inputs)
    assert held.pattern == gen.decode(z, state.inputs, targets=state.targets(gen.data_trend),
                                      turning="density")
    assert held.measured == gen.attributes_of(held.pattern)
    assert held.pad == gen.z_to_pad(z)  # a latent alone: its place on the pad
    knob = state.values["density"]
    assert abs(held.measured["density"] - knob) <= abs(free.measured["density"] - knob) + 1e-9


def test_the_knobs_nobody_set_follow_the_turned_one_as_the_data_does(gen) -> None:
    assert gen.data_trend is not None  # the instrument's setting on a map of the data
    differ = 0
    for seed in range(6):
        z = gen.sample_like_data(1, seed=seed)[0]
        state = _turned(gen, 0.9, gen.attributes_of(gen.decode(z)))
        held = model_jobs.decode(gen, KnobSettings(state, True, 0.0, 1), z=z)
        still = gen.decode(z, state.inputs, targets=state.targets(), turning="density")
        differ += held.pattern != still
    assert differ >= 1  # the other knobs' targets moved, and some walks went elsewhere


def test_with_following_off_the_knobs_nobody_set_stay_where_the_groove_had_them(gen) -> None:
    z = gen.sample_like_data(1, seed=2)[0]
    state = _turned(gen, 0.9, gen.attributes_of(gen.decode(z)))
    targets, turning = model_jobs.knob_targets(gen, KnobSettings(state, True, 0.0, 1, following=False))
    assert turning == "density"
    np.testing.assert_array_equal(targets, state.targets())  # the anchor's values, no trend
    moved, _ = model_jobs.knob_targets(gen, KnobSettings(state, True, 0.0, 1))
    assert not np.allclose(moved, targets, equal_nan=True)  # following: the trend moved them
    alone = model_jobs.decode(gen, KnobSettings(state, True, 0.0, 1, following=False), z=z)
    assert alone.pattern == gen.decode(z, state.inputs, targets=state.targets(), turning="density")
    assert model_jobs.knob_targets(gen, KnobSettings(state, False, 0.0, 1, following=False)) == (None, None)


def test_with_keeping_on_the_feel_knobs_play_the_same_groove_harder(gen) -> None:
    """*Feel knobs keep the groove*: intensity turned up edits the playing groove's velocities
    instead of walking to a recorded loud groove; the other knobs still walk."""
    if not gen.has_data_map:
        pytest.skip("the checkpoint's knobs do not walk")
    shipped = gen.walk_settings
    assert model_jobs.kept_knobs(gen, True) == ("intensity", "laid_back")
    assert model_jobs.kept_knobs(gen, False) == tuple(shipped.keep)
    hits = tuple(n for n in ("density", "hat_busyness") if n in gen.attribute_names)
    assert model_jobs.kept_knobs(gen, False, True) == hits
    lo, hi = gen.attribute_ranges["intensity"]
    kept_share, walked_share = [], []
    for seed in range(4):
        z = gen.sample_like_data(1, seed=seed)[0]
        playing = gen.decode(z)
        state = KnobState.for_model(gen.attribute_ranges, gen.attribute_defaults).turn(
            "intensity", lo + 0.9 * (hi - lo), gen.attributes_of(playing))
        kept = model_jobs.decode(gen, KnobSettings(state, True, 0.0, 1, keeping=True), z=z)
        walked = model_jobs.decode(gen, KnobSettings(state, True, 0.0, 1), z=z)
        assert gen.walk_settings is shipped  # the job's walk is its own
        assert abs(kept.measured["intensity"] - state.values["intensity"]) <= 0.03 * (hi - lo)
        before = playing.to_array()[..., :9] > 0.5
        for out, shares in ((kept, kept_share), (walked, walked_share)):
            after = out.pattern.to_array()[..., :9] > 0.5
            shares.append((before & after).sum() / before.sum())
    assert min(kept_share) >= 0.9 and np.mean(kept_share) > np.mean(walked_share)
    # a knob that is not a feel knob walks whatever the switch says
    z = gen.sample_like_data(1, seed=2)[0]
    state = _turned(gen, 0.9, gen.attributes_of(gen.decode(z)))
    assert (model_jobs.decode(gen, KnobSettings(state, True, 0.0, 1, keeping=True), z=z).pattern
            == model_jobs.decode(gen, KnobSettings(state, True, 0.0, 1), z=z).pattern)


def test_a_corner_decodes_its_own_groove_and_the_blend_heatmap_is_one_batch(gen) -> None:
    zs = gen.sample_like_data(2, seed=5)
    corners = model_jobs.corner_latents(gen, [zs[0], None, None, zs[1]])
    np.testing.assert_allclose(corners[1], gen.pad_to_z(1.0, -1.0))  # empty: the plane's corner
    # at corner D the blend is D's latent: the job decodes exactly it
    state = _turned(gen, 0.2, {"syncopation": 1.0})
    at_d = model_jobs.decode(gen, KnobSettings(state, False, 0.0, 1), pad=(1.0, 1.0), corners=corners)
    np.testing.assert_allclose(at_d.z, zs[1])
    hm = model_jobs.heatmap(gen, "density", state.inputs, np.stack(corners))
    assert hm.shape == (model_jobs.HEATMAP_RESOLUTION,) * 2
    # the heat-map shows the grooves as the pad plays them (on a map: their own attributes)
    inputs = None if gen.has_data_map else state.inputs
    top_right = attr_lib.density(gen.decode_batch(zs[1][None], inputs).to_array())[0]
    assert hm[-1, -1] == pytest.approx(top_right, abs=1e-6)


@pytest.mark.parametrize("following", [True, False])
def test_a_kept_feel_knob_plays_the_groove_the_knob_set_before_it_walked_to(gen, following: bool) -> None:
    """Density turned up walks to a dense groove; intensity turned next with *Feel knobs keep
    the groove* edits that dense groove, not the latent's own."""
    if not gen.has_data_map:
        pytest.skip("the checkpoint's knobs do not walk")
    lo, hi = gen.attribute_ranges["intensity"]
    span = np.subtract(*gen.attribute_ranges["density"][::-1])
    kept_share = []
    for seed in range(4):
        z = gen.sample_like_data(1, seed=seed + 10)[0]
        own = gen.attributes_of(gen.decode(z))
        state = _turned(gen, 0.9, own)
        dense = model_jobs.decode(gen, KnobSettings(state, True, 0.0, 1, following=following, keeping=True),
                                  z=z)
        state = state.turn("intensity", lo + 0.8 * (hi - lo), dense.measured)
        louder = model_jobs.decode(gen, KnobSettings(state, True, 0.0, 1, following=following, keeping=True),
                                   z=z)
        assert abs(louder.measured["density"] - dense.measured["density"]) <= 0.1 * span
        before = dense.pattern.to_array()[..., :9] > 0.5
        after = louder.pattern.to_array()[..., :9] > 0.5
        kept_share.append((before & after).sum() / before.sum())
    assert np.mean(kept_share) >= 0.85, kept_share
