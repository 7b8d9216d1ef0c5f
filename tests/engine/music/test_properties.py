"""Property-based tests (hypothesis) of the pattern codec, the attributes and the MIDI
writer → reader round trip: what must hold for every pattern, not only the hand-made ones."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from engine.music import attributes as attr
from engine.music.drums import NUM_VOICES
from engine.music.midifile import MidiReadError, read_clip, write_clip
from engine.music.pattern import FEATURES, MAX_OFFSET, Pattern

PROFILE = settings(max_examples=60, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow])
STEP_TICKS = 480 * 4 / 16  # ticks per 16th step in a written clip


@st.composite
def patterns(draw, max_bars: int = 4, min_hits: int = 0) -> Pattern:
    """Any valid pattern: 1–4 bars, any hits, velocities in [0, 1], offsets in [-0.5, 0.5]."""
    bars = draw(st.integers(1, max_bars))
    shape = (bars * 16, NUM_VOICES)
    hits = draw(hnp.arrays(np.bool_, shape, elements=st.booleans()))
    if hits.sum() < min_hits:
        hits[draw(st.integers(0, shape[0] - 1)), draw(st.integers(0, NUM_VOICES - 1))] = True
    unit = st.floats(0.0, 1.0, width=32)
    vel = draw(hnp.arrays(np.float32, shape, elements=unit))
    off = draw(hnp.arrays(np.float32, shape, elements=st.floats(-MAX_OFFSET, MAX_OFFSET, width=32)))
    return Pattern(hits, vel, off)


# -- the codec -------------------------------------------------------------------------------

@PROFILE
@given(patterns())
def test_codec_round_trip_is_exact(p: Pattern) -> None:
    a = p.to_array()
    assert a.shape == (p.steps, FEATURES) and a.dtype == np.float32
    assert set(np.unique(a[:, :NUM_VOICES])) <= {0.0, 1.0}
    assert a[:, NUM_VOICES:2 * NUM_VOICES].min() >= 0.0 and a[:, NUM_VOICES:2 * NUM_VOICES].max() <= 1.0
    assert np.abs(a[:, 2 * NUM_VOICES:]).max() <= MAX_OFFSET
    assert Pattern.from_array(a) == p


@PROFILE
@given(hnp.arrays(np.float32, st.tuples(st.sampled_from([16, 32, 64]), st.just(FEATURES)),
                  elements=st.floats(-1e6, 1e6, width=32)))
def test_any_finite_model_output_decodes_to_a_valid_pattern(a: np.ndarray) -> None:
    """Unclipped regressions (what a decoder emits) always give a pattern in range."""
    p = Pattern.from_array(a)
    assert np.array_equal(p.hits, a[:, :NUM_VOICES] > 0.5)
    assert p.velocities.min() >= 0.0 and p.velocities.max() <= 1.0
    assert np.abs(p.offsets).max() <= MAX_OFFSET


@PROFILE
@given(hnp.arrays(np.float32, (32, FEATURES),
                  elements=st.floats(allow_nan=True, allow_infinity=True, width=32)))
def test_codec_input_is_a_pattern_or_a_value_error(a: np.ndarray) -> None:
    try:
        p = Pattern.from_array(a)
    except ValueError as err:
        assert "finite" in str(err)
    else:
        assert np.isfinite(p.to_array()).all()


@PROFILE
@given(patterns())
def test_bars_slice_and_concatenate_back_to_the_same_pattern(p: Pattern) -> None:
    assert Pattern.concatenate([p.bar_slice(b, 1) for b in range(p.bars)]) == p


# -- the attributes --------------------------------------------------------------------------

@PROFILE
@given(st.lists(patterns(max_bars=2), min_size=1, max_size=4).filter(
    lambda ps: len({q.steps for q in ps}) == 1))
def test_attributes_stay_in_their_documented_ranges(ps: list[Pattern]) -> None:
    batch = np.stack([q.to_array() for q in ps])
    values = attr.compute(batch, tuple(attr.ATTRIBUTES))
    assert values.shape == (len(ps), len(attr.ATTRIBUTES)) and np.isfinite(values).all()
    col = {n: values[:, i] for i, n in enumerate(attr.ATTRIBUTES)}
    assert ((col["density"] >= 0) & (col["density"] <= NUM_VOICES)).all()
    assert ((col["intensity"] >= 0) & (col["intensity"] <= 1)).all()
    assert ((col["laid_back"] >= -MAX_OFFSET) & (col["laid_back"] <= MAX_OFFSET)).all()
    assert ((col["hat_busyness"] >= 0) & (col["hat_busyness"] <= 1)).all()
    assert (col["syncopation"] >= 0).all()
    np.testing.assert_allclose(col["density"], [q.num_hits / q.steps for q in ps])
    # a batch gives what each pattern gives alone
    for i, q in enumerate(ps):
        np.testing.assert_allclose(attr.compute(q.to_array()[None], tuple(attr.ATTRIBUTES))[0], values[i])


@PROFILE
@given(patterns(), st.integers(0, 3))
def test_a_loop_started_on_another_bar_has_the_same_attributes(p: Pattern, shift_bars: int) -> None:
    """The pattern loops: which bar comes first changes no attribute (syncopation wraps)."""
    bars = [p.bar_slice(b, 1) for b in range(p.bars)]
    k = shift_bars % p.bars
    rotated = Pattern.concatenate(bars[k:] + bars[:k])
    names = tuple(attr.ATTRIBUTES)
    np.testing.assert_allclose(attr.compute(rotated.to_array()[None], names),
                               attr.compute(p.to_array()[None], names), atol=1e-9)


@PROFILE
@given(patterns(min_hits=1))
def test_empty_voices_and_silent_steps_do_not_change_velocity_or_timing_attributes(p: Pattern) -> None:
    """Intensity and laid-back feel are means over onsets only."""
    onsets = p.hits
    names = ("intensity", "laid_back")
    got = attr.compute(p.to_array()[None], names)[0]
    np.testing.assert_allclose(got, [p.velocities[onsets].mean(), p.offsets[onsets].mean()], atol=1e-6)


# -- MIDI writer → reader --------------------------------------------------------------------

@PROFILE
@given(patterns(), st.floats(20.0, 500.0))
def test_midi_write_read_round_trip(p: Pattern, tempo_bpm: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mid"
        write_clip(path, p, tempo_bpm=tempo_bpm)
        if p.num_hits == 0:
            with pytest.raises(MidiReadError, match="no drum notes"):
                read_clip(path)
            return
        q = read_clip(path)
    assert q.steps == p.steps
    assert np.array_equal(q.hits, p.hits)
    assert np.array_equal(q.midi_velocities(), p.midi_velocities())
    expected = p.offsets.copy()
    expected[0] = np.maximum(expected[0], 0.0)  # nothing is written before tick 0
    assert np.abs(q.offsets - expected).max() <= 1 / STEP_TICKS + 1e-6
