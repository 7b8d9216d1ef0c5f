"""The knob-holding loop on decoders whose responses are known in closed form."""

from __future__ import annotations

import numpy as np
import pytest

from engine.generation.knob_feedback import FeedbackConfig, meet_targets

LOW, HIGH = np.array([0.0, 0.0]), np.array([1.0, 1.0])


def linear_decoder(gain: np.ndarray, offset: np.ndarray, coupling: float = 0.0,
                   quantum: float = 0.0):
    """Attributes = gain * input + offset per row (+ coupling * input 0 on attribute 1),
    rounded down to ``quantum`` (the hit count's steps); the arrays returned are the inputs,
    so a test can check which decode was kept. Records every call."""
    calls: list[np.ndarray] = []

    def decode(rows: np.ndarray, inputs: np.ndarray):
        calls.append(rows.copy())
        m = gain[rows] * inputs + offset[rows]
        m[:, 1] += coupling * inputs[:, 0]
        if quantum:
            m = np.floor(m / quantum + 1e-9) * quantum
        return (inputs.copy(),), m

    return decode, calls


def test_a_weak_knob_is_brought_to_its_setting() -> None:
    rng = np.random.default_rng(0)
    n = 50
    gain = rng.uniform(0.5, 0.9, (n, 2))  # the decoder follows its input only partly
    offset = rng.uniform(-0.1, 0.1, (n, 2))
    targets = rng.uniform(0.1, 0.8, (n, 2))  # reachable within the input bounds (reach 1)
    decode, calls = linear_decoder(gain, offset)
    cfg = FeedbackConfig(iterations=3, tolerance=0.02)
    open_loop_miss = np.abs(gain * targets + offset - targets)
    assert open_loop_miss.max() > 0.1

    res = meet_targets(decode, targets, targets, LOW, HIGH, cfg)

    assert np.all(np.abs(res.measured - targets) <= 0.02 + 1e-9)
    assert res.decodes.max() <= 1 + 2 * cfg.iterations and len(calls) == res.decodes.max()
    # what is returned is the decode that measured so
    np.testing.assert_allclose(res.arrays[0], res.inputs)
    np.testing.assert_allclose(gain * res.inputs + offset, res.measured)


def test_met_knobs_cost_one_decode() -> None:
    n = 4
    decode, calls = linear_decoder(np.ones((n, 2)), np.zeros((n, 2)))
    res = meet_targets(decode, np.full((n, 2), 0.5), np.full((n, 2), 0.5), LOW, HIGH)
    assert len(calls) == 1 and np.all(res.decodes == 1)


def test_only_missed_rows_are_decoded_again() -> None:
    gain = np.array([[1.0, 1.0], [0.5, 1.0]])
    decode, calls = linear_decoder(gain, np.zeros((2, 2)))
    meet_targets(decode, np.full((2, 2), 0.6), np.full((2, 2), 0.6), LOW, HIGH)
    assert all(list(c) == [1] for c in calls[1:]) and len(calls) > 1


def test_unreachable_settings_stop_at_the_input_bounds() -> None:
    # the decoder saturates at 0.5: a knob at 0.9 can't be met; the input stays within the
    # range widened by `reach` and the closest decode is kept
    def decode(rows, inputs):
        return (inputs.copy(),), np.minimum(inputs, 0.5)

    cfg = FeedbackConfig(iterations=5, reach=1.0)
    res = meet_targets(decode, np.array([[0.9, 0.3]]), np.array([[0.9, 0.3]]), LOW, HIGH, cfg)
    assert res.measured[0, 0] == pytest.approx(0.5)
    assert res.measured[0, 1] == pytest.approx(0.3)
    assert np.all(res.inputs <= HIGH + cfg.reach * (HIGH - LOW) + 1e-12)


def test_a_turned_knob_sweeps_monotone_and_the_other_is_held() -> None:
    # turning attribute 0 drags attribute 1 along (coupling) and hits are counted in quanta
    rng = np.random.default_rng(3)
    draws, settings = 40, np.linspace(0.1, 0.9, 9)
    gain = np.repeat(rng.uniform(0.4, 1.0, (draws, 2)), len(settings), axis=0)
    offset = np.repeat(rng.uniform(0.0, 0.2, (draws, 2)), len(settings), axis=0)
    targets = np.stack([np.tile(settings, draws), np.full(draws * len(settings), 0.5)], axis=1)
    decode, _ = linear_decoder(gain, offset, coupling=0.4, quantum=1 / 32)

    res = meet_targets(decode, targets, targets, LOW, HIGH, FeedbackConfig(iterations=4), primary=0)

    sweep = res.measured[:, 0].reshape(draws, len(settings))
    assert np.all(np.diff(sweep, axis=1) >= -1e-9)  # turning up never goes down
    assert np.all(np.abs(sweep - settings) <= 0.05 + 1e-9)
    held = res.measured[:, 1].reshape(draws, len(settings))
    open_loop = (gain[:, 1] * 0.5 + offset[:, 1] + 0.4 * targets[:, 0]).reshape(draws, len(settings))
    # cross-talk: how far the other attribute moves from the bottom to the top of the sweep
    moved_held = np.mean(np.abs(held[:, -1] - held[:, 0]))
    moved_open = np.mean(np.abs(open_loop[:, -1] - open_loop[:, 0]))
    assert moved_held < 0.25 * moved_open


def test_attributes_not_held_are_left_to_the_decoder() -> None:
    """NaN targets: the knob nobody set keeps its input, and its attribute is whatever the
    decoder makes of it; only the held one is corrected."""
    n = 8
    gain = np.full((n, 2), 0.5)
    decode, _ = linear_decoder(gain, np.zeros((n, 2)))
    inputs = np.full((n, 2), 0.4)
    targets = np.column_stack([np.full(n, 0.4), np.full(n, np.nan)])
    res = meet_targets(decode, inputs, targets, LOW, HIGH)
    np.testing.assert_allclose(res.measured[:, 0], 0.4, atol=0.02)
    np.testing.assert_allclose(res.inputs[:, 1], 0.4)  # untouched
    np.testing.assert_allclose(res.measured[:, 1], 0.2)
    # nothing held: one decode, the decoder's own
    res = meet_targets(decode, inputs, np.full((n, 2), np.nan), LOW, HIGH)
    assert np.all(res.decodes == 1)
    with pytest.raises(ValueError, match="turned must be held"):
        meet_targets(decode, inputs, targets, LOW, HIGH, primary=1)


def test_a_starting_input_outside_the_range_is_kept_and_only_moved_toward_it() -> None:
    # a walked training groove's own attribute beyond the data's 5-95 % range: its first
    # decode keeps it, and a correction (reach 0) never takes an input further out
    decode, _ = linear_decoder(np.full((1, 2), 0.5), np.zeros((1, 2)))
    start = np.array([[1.4, 0.5]])
    targets = np.array([[np.nan, 0.5]])
    cfg = FeedbackConfig(iterations=3, reach=0.0)
    kept = meet_targets(decode, start, targets, LOW, HIGH, cfg, keep_inputs=True)
    assert kept.inputs[0, 0] == pytest.approx(1.4)  # not held: left as it came
    assert kept.inputs[0, 1] <= 1.0 + 1e-12  # corrected toward 0.5's input, inside the range
    clipped = meet_targets(decode, start, targets, LOW, HIGH, cfg)
    assert clipped.inputs[0, 0] == pytest.approx(1.0)  # without keep_inputs: clipped at once
