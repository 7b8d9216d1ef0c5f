"""Drum features on hand-made patterns whose values can be counted by hand."""

from __future__ import annotations

import numpy as np
import pytest

from engine.music.drums import Voice
from training.realism import features as F

K, S, CH, OH, CR = int(Voice.KICK), int(Voice.SNARE), int(Voice.CLOSED_HAT), int(Voice.OPEN_HAT), \
    int(Voice.CRASH)


def _pattern(notes: list[tuple[int, int, float, float]], steps: int = 32) -> np.ndarray:
    """``(1, steps, 27)`` from (step, voice, velocity 0-1, offset in steps) notes."""
    x = np.zeros((1, steps, 27), np.float32)
    for step, voice, vel, off in notes:
        x[0, step, voice] = 1.0
        x[0, step, 9 + voice] = vel
        x[0, step, 18 + voice] = off
    return x


def _backbeat(offset_kick: float = 0.0, offset_snare: float = 0.0, hat_offset: float = 0.0,
              hats: bool = True) -> np.ndarray:
    notes = []
    for bar in (0, 16):
        notes += [(bar, K, 0.8, offset_kick), (bar + 8, K, 0.8, offset_kick),
                  (bar + 4, S, 0.9, offset_snare), (bar + 12, S, 0.9, offset_snare)]
        if hats:
            notes += [(bar + s, CH, 0.5, hat_offset) for s in range(0, 16, 2)]
    return _pattern(notes)


def test_counts_density_and_voices() -> None:
    x = _backbeat()
    np.testing.assert_array_equal(F.hits_per_voice(x)[0], [4, 4, 16, 0, 0, 0, 0, 0, 0])
    assert F.voices_used(x)[0] == 3
    assert F.step_density(x)[0] == pytest.approx(16 / 32)  # every 8th step sounds
    assert F.raw_tensor(x).shape == (1, 32 * 27)
    both = np.concatenate([x, _pattern([(0, CR, 1.0, 0.0)])])
    assert F.voices_used(both).tolist() == [3, 1]


def test_velocity_and_timing_statistics() -> None:
    x = _pattern([(0, K, 1.0, 0.2), (4, S, 0.5, -0.2)])
    vm, vs = F.velocity_stats(x)
    assert vm[0] == pytest.approx(0.75 * 127) and vs[0] == pytest.approx(0.25 * 127)
    tm, ts = F.timing_stats(x)
    assert tm[0] == pytest.approx(0.0) and ts[0] == pytest.approx(0.2)
    empty = np.zeros((1, 32, 27))
    assert F.timing_stats(empty)[1][0] == 0.0 and F.velocity_stats(empty)[0][0] == 0.0


def test_syncopation_per_stream() -> None:
    x = _backbeat()
    assert F.stream_syncopation(x, (K,))[0] == 0.0  # kicks on 1 and 3, 8th hats: on the beat
    assert F.stream_syncopation(x, F.HATS)[0] == 0.0
    # the snare alone is off the strong beats: beat 2 sounds through beat 3 (-1 - (-2) = 1),
    # beat 4 through the next downbeat (0 - (-2) = 2): 3 per bar
    assert F.stream_syncopation(x, (S,))[0] == pytest.approx(3.0)
    # bar 2's downbeat kick played a 16th early, sounding through the silent downbeat:
    # 0 - (-4) = 4 over 2 bars
    push = _pattern([(0, K, 0.8, 0.0), (8, K, 0.8, 0.0), (15, K, 0.8, 0.0), (24, K, 0.8, 0.0)])
    assert F.stream_syncopation(push, (K,))[0] == pytest.approx(2.0)
    assert F.stream_syncopation(push, (S,))[0] == 0.0  # no snare at all
    with pytest.raises(ValueError):
        F.stream_syncopation(push, (K, CH))  # across the drum and cymbal layers


def test_swing_is_the_groove_toolbox_swingness() -> None:
    # 8th-note swing on a 16th grid: the off-beat 8th lands early on the beat's last 16th
    swung = _pattern([(s, CH, 0.6, -0.3) for s in range(3, 32, 4)] + [(s, CH, 0.6, 0.0)
                                                                       for s in range(0, 32, 4)])
    assert F.swing(swung)[0] == pytest.approx(1.1)  # all 8 positions swung
    one = _pattern([(3, CH, 0.6, -0.3), (7, CH, 0.6, -0.1)])
    assert F.swing(one)[0] == pytest.approx(1 + 1 / 8 / 10)
    assert F.swing(_backbeat(hat_offset=-0.3))[0] == 0.0  # early notes, but not on swung positions
    late = _pattern([(s, CH, 0.6, 0.3) for s in range(3, 32, 4)])
    assert F.swing(late)[0] == 0.0


def test_laidbackness_counts_late_and_early_backbeat_events() -> None:
    assert F.laidbackness(_backbeat())[0] == 0.0
    # kicks of beats 1 and 3 late against the grid: 4 of the 8 laid-back events per 2 bars
    assert F.laidbackness(_backbeat(offset_kick=0.2, hats=False))[0] == pytest.approx(0.5)
    assert F.laidbackness(_backbeat(offset_kick=0.2, offset_snare=-0.2, hats=False))[0] == 0.0
    assert F.laidbackness(_backbeat(offset_snare=-0.2, hats=False))[0] == pytest.approx(-0.5)
    # on the grid but late against the hi-hat played early on the same step
    assert F.laidbackness(_backbeat(hat_offset=-0.2))[0] == pytest.approx(1.0)


def test_feature_vectors_have_fixed_shapes() -> None:
    x = np.concatenate([_backbeat(), _backbeat(offset_kick=0.1)])
    groove, names = F.groove_features(x)
    assert groove.shape == (2, len(names)) and len(set(names)) == len(names)
    assert {"swing", "laidbackness", "timing_std", "syncopation_hats", "hits_crash"} <= set(names)
    assert groove[1, names.index("timing_mean")] > groove[0, names.index("timing_mean")]
    assert F.classifier_features(x).shape[0] == 2
    assert F.classifier_features(x).shape[1] == F.classifier_features(_backbeat()).shape[1]
    with pytest.raises(ValueError):
        F.groove_features(np.zeros((2, 32, 10)))


def test_swing_threshold_at_each_patterns_tempo() -> None:
    # 0.24 steps early on every swung position: 30 ms at 120 BPM (swung, beyond 25 ms), 15 ms at
    # 240 BPM (not swung)
    notes = [(s, CH, 0.6, -0.24) for s in range(3, 32, 4)]
    x = np.concatenate([_pattern(notes), _pattern(notes)])
    thr = F.ms_to_steps(25.0, np.array([120.0, 240.0]))
    np.testing.assert_allclose(thr, [0.2, 0.4])
    np.testing.assert_allclose(F.swing(x, threshold=thr), [1.1, 0.0])
