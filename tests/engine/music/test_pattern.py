"""The Pattern value and its codec: validation, immutability, round trips."""

import pickle

import numpy as np
import pytest

from engine.music.drums import NUM_VOICES
from engine.music.pattern import FEATURES, Pattern, stack, unstack


def random_pattern(seed: int = 0, bars: int = 2) -> Pattern:
    rng = np.random.default_rng(seed)
    shape = (bars * 16, NUM_VOICES)
    return Pattern(rng.random(shape) < 0.2, rng.integers(1, 128, shape) / 127,
                   rng.uniform(-0.5, 0.5, shape))


def test_array_round_trip_is_exact():
    p = random_pattern()
    a = p.to_array()
    assert a.shape == (32, FEATURES) and a.dtype == np.float32
    assert Pattern.from_array(a) == p


def test_tensor_round_trip_is_exact():
    p = random_pattern(1)
    t = p.to_tensor()
    assert tuple(t.shape) == (32, FEATURES)
    assert Pattern.from_tensor(t) == p


def test_velocity_and_offset_are_zero_without_hits():
    h = np.zeros((16, NUM_VOICES), bool)
    h[0, 0] = True
    p = Pattern(h, np.full(h.shape, 0.5), np.full(h.shape, 0.25))
    assert p.velocities.sum() == pytest.approx(0.5)
    assert p.offsets.sum() == pytest.approx(0.25)


def test_pattern_is_immutable():
    p = random_pattern()
    with pytest.raises(ValueError):
        p.hits[0, 0] = True
    edited = p.with_hit(0, 0, not p.hits[0, 0])
    assert edited != p and edited.hits[0, 0] != p.hits[0, 0]


@pytest.mark.parametrize("kwargs, message", [
    (dict(hits=np.zeros((32, 8))), "shape"),
    (dict(hits=np.zeros((30, 9))), "multiple"),
    (dict(hits=np.ones((16, 9)), velocities=np.full((16, 9), 1.5)), "velocities"),
    (dict(hits=np.ones((16, 9)), offsets=np.full((16, 9), 0.9)), "offsets"),
    (dict(hits=np.ones((16, 9)), offsets=np.full((16, 9), np.nan)), "finite"),
])
def test_invalid_patterns_raise_with_reason(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Pattern(**kwargs)


def test_from_array_clips_model_outputs():
    a = np.zeros((32, FEATURES), np.float32)
    a[0, 0], a[0, 9], a[0, 18] = 0.9, 1.3, -0.8
    p = Pattern.from_array(a)
    assert p.hits[0, 0] and p.velocities[0, 0] == 1.0 and p.offsets[0, 0] == -0.5
    assert p.midi_velocities()[0, 0] == 127


def test_stack_unstack_and_pickle():
    ps = [random_pattern(i) for i in range(3)]
    assert unstack(stack(ps)) == ps
    assert pickle.loads(pickle.dumps(ps[0])) == ps[0]
    assert hash(ps[0]) == hash(pickle.loads(pickle.dumps(ps[0])))


def test_bars_slice_and_concatenate():
    p = random_pattern(2, bars=4)
    assert p.bars == 4
    parts = [p.bar_slice(i, 1) for i in range(4)]
    assert Pattern.concatenate(parts) == p
    with pytest.raises(ValueError):
        p.bar_slice(3, 2)
