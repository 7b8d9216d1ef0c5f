"""Attributes on hand-made patterns whose values are known."""

import numpy as np
import pytest

from engine.music import attributes
from engine.music.attributes import (
    ATTRIBUTES,
    compute,
    density,
    hat_busyness,
    intensity,
    laid_back,
    metrical_weights,
    syncopation,
)
from engine.music.drums import NUM_VOICES, Voice
from engine.music.pattern import Pattern, stack


def pattern(cells: dict[int, list[int]], steps: int = 32, velocity: float = 100 / 127,
            offset: float = 0.0) -> Pattern:
    h = np.zeros((steps, NUM_VOICES), bool)
    for voice, steps_on in cells.items():
        h[steps_on, voice] = True
    return Pattern(h, np.full(h.shape, velocity), np.full(h.shape, offset))


FOUR_ON_THE_FLOOR = pattern({Voice.KICK: list(range(0, 32, 4))})
BACKBEAT = pattern({Voice.KICK: [0, 8, 16, 24], Voice.SNARE: [4, 12, 20, 28],
                    Voice.CLOSED_HAT: list(range(0, 32, 2))})


def b(*ps: Pattern) -> np.ndarray:
    return stack(list(ps))


def test_metrical_weights_are_longuet_higgins_lee():
    assert metrical_weights(16).tolist() == [0, -4, -3, -4, -2, -4, -3, -4,
                                             -1, -4, -3, -4, -2, -4, -3, -4]
    assert metrical_weights(4).tolist() == [0, -2, -1, -2]


def test_density():
    assert density(b(FOUR_ON_THE_FLOOR)) == pytest.approx([0.25])
    assert density(b(BACKBEAT)) == pytest.approx([(4 + 4 + 16) / 32])
    full = Pattern(np.ones((32, NUM_VOICES), bool))
    assert density(b(full)) == pytest.approx([9.0])


def test_on_beat_grooves_have_no_syncopation():
    assert syncopation(b(FOUR_ON_THE_FLOOR, BACKBEAT)) == pytest.approx([0.0, 0.0])
    # every voice on every 16th: each note is followed at once by the next one
    assert syncopation(b(Pattern(np.ones((32, NUM_VOICES), bool)))) == pytest.approx([0.0])


def test_layers_are_heard_together():
    # Monophonic LHL would call a lone snare backbeat syncopated (beat 2 rings over beat
    # 3); with the kick on 1 and 3 in the same layer, it is not.
    lone_snare = pattern({Voice.SNARE: [4, 12, 20, 28]})
    assert syncopation(b(lone_snare))[0] > 0
    assert syncopation(b(BACKBEAT))[0] == 0


def test_syncopation_known_values():
    # A kick on the last 16th of bar 1 that rings over the (silent) downbeat of bar 2:
    # note weight -4, rest weight 0 -> 4; downbeat of bar 1 then rings only to step 15.
    anticipation = pattern({Voice.KICK: [0, 15]})
    # note at 0 (w 0) rings through 1..14: nothing stronger. Note at 15 (w -4) rings
    # through 16..31 (loop wraps to step 0's onset): strongest silent = step 16, w 0.
    assert syncopation(b(anticipation)) == pytest.approx([4 / 2])
    # An off-beat 8th (w -3) followed by a silent beat (w -2): 1 per note, 8 notes, 2 bars.
    offbeat_8ths = pattern({Voice.CLOSED_HAT: [2, 6, 10, 14, 18, 22, 26, 30]})
    # each 8th-offbeat note (w -3) rings over the next beat (w -2, or -1/0 at the half and
    # bar lines): notes at 2 -> step 4 (-2): 1; 6 -> 8 (-1): 2; 10 -> 12: 1; 14 -> 16 (0): 3
    assert syncopation(b(offbeat_8ths)) == pytest.approx([(1 + 2 + 1 + 3) * 2 / 2])


def test_syncopation_rises_when_a_backbeat_is_pushed():
    pushed = pattern({Voice.KICK: [0, 8, 16, 24], Voice.SNARE: [3, 12, 19, 28]})
    assert syncopation(b(pushed))[0] > syncopation(b(BACKBEAT))[0]


def _random_hits(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.random((n, 32, NUM_VOICES)) < rng.uniform(0.02, 0.4, (n, 1, 1))


def _sync_of_hits(hits: np.ndarray) -> np.ndarray:
    batch = np.zeros((hits.shape[0], hits.shape[1], 3 * NUM_VOICES))
    batch[..., :NUM_VOICES] = hits
    return syncopation(batch)


def test_which_single_hit_changes_can_lower_syncopation():
    """Why no decoder makes the syncopation knob monotone by construction without
    crippling it (docs/model.md): only a hit added on the weakest level (the 16ths between
    8ths) or removed from a downbeat can never lower LHL syncopation; adding an 8th
    off-beat, the commonest push, sometimes does."""
    rng = np.random.default_rng(0)
    n = 3000
    hits = _random_hits(rng, n)
    before = _sync_of_hits(hits)
    w = np.tile(metrical_weights(16), 2)

    def change(level: float, on: bool) -> np.ndarray:
        after = hits.copy()
        after[np.arange(n), rng.choice(np.flatnonzero(w == level), n), rng.integers(0, NUM_VOICES, n)] = on
        return _sync_of_hits(after) - before

    assert change(-4, True).min() >= 0 and change(0, False).min() >= 0
    assert (change(-3, True) < 0).mean() > 0.05


def test_velocity_and_timing_attributes():
    soft_late = pattern({Voice.KICK: [0, 8]}, velocity=64 / 127, offset=0.25)
    loud_early = pattern({Voice.KICK: [0, 8]}, velocity=1.0, offset=-0.1)
    assert intensity(b(soft_late, loud_early)) == pytest.approx([64 / 127, 1.0], abs=1e-6)
    assert laid_back(b(soft_late, loud_early)) == pytest.approx([0.25, -0.1], abs=1e-6)


def test_hat_busyness():
    assert hat_busyness(b(BACKBEAT)) == pytest.approx([0.5])
    assert hat_busyness(b(FOUR_ON_THE_FLOOR)) == pytest.approx([0.0])


def test_empty_pattern_is_all_zero_and_compute_orders_columns():
    empty = Pattern.empty()
    values = compute(b(empty, FOUR_ON_THE_FLOOR), list(ATTRIBUTES))
    assert values.shape == (2, len(ATTRIBUTES))
    assert np.all(values[0] == 0)
    assert compute(b(FOUR_ON_THE_FLOOR), ["syncopation", "density"]).tolist() == [[0.0, 0.25]]
    with pytest.raises(ValueError, match="unknown"):
        compute(b(empty), ["loudness"])


@pytest.mark.parametrize("steps", [32, 64])
def test_hit_attributes_move_in_steps_of_their_resolution(steps: int) -> None:
    """Every value of density, hat busyness and syncopation is a whole number of its
    resolution (what the knob-holding loop may ask of a knob), and adding one onset moves
    density by exactly one."""
    rng = np.random.default_rng(steps)
    x = np.zeros((200, steps, 27))
    x[..., :9] = rng.random((200, steps, 9)) < 0.25
    for name in ("density", "hat_busyness", "syncopation"):
        step = attributes.resolution(name, steps)
        values = attributes.ATTRIBUTES[name](x) / step
        np.testing.assert_allclose(values, np.round(values), atol=1e-9)
        assert len(np.unique(np.round(values))) > 3, name
    y = x.copy()
    y[:, 0, 0] = 1.0
    added = (x[:, 0, 0] == 0)
    np.testing.assert_allclose((attributes.density(y) - attributes.density(x))[added],
                               attributes.resolution("density", steps))
    assert attributes.resolution("intensity", steps) == 0.0
    with pytest.raises(ValueError):
        attributes.resolution("cowbell", steps)
