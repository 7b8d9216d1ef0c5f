"""The knob panel's Qt adapter: what it announces, and what it keeps in the settings."""

from __future__ import annotations

import numpy as np
import pytest

from app.knob_binding import TEMPERATURE, KnobBinding, measure
from engine.generation.knobs import TEMPERATURE_RANGE
from engine.music.drums import Voice
from engine.music.pattern import Pattern

RANGES = {"density": (0.1, 0.5), "syncopation": (0.0, 2.0)}
DEFAULTS = {"density": 0.25, "syncopation": 0.8}


def _groove(kicks: int) -> Pattern:
    p = Pattern.empty()
    for s in range(0, 32, 32 // kicks):
        p = p.with_hit(s, int(Voice.KICK), True)
    return p


@pytest.fixture
def binding(qtbot) -> tuple[KnobBinding, list[tuple[str, object]]]:
    b = KnobBinding()
    b.adopt_model(RANGES, DEFAULTS, another=False)
    seen: list[tuple[str, object]] = []
    b.knobChanged.connect(lambda n, v: seen.append((n, v)))
    b.heldChanged.connect(lambda held: seen.append(("held", held)))
    b.holdingChanged.connect(lambda on: seen.append(("holding", on)))
    return b, seen


def test_a_turn_is_announced_clipped_and_anchored_on_the_playing_groove(binding) -> None:
    b, seen = binding
    playing = _groove(4)
    assert b.turn("density", 9.0, playing)
    assert seen == [("density", 0.5), ("held", {"density"})]
    assert b.state.anchor == measure(playing, ("density", "syncopation"))
    seen.clear()
    assert b.turn("density", 0.3, _groove(8))  # the same turn: same anchor, held already
    assert seen == [("density", 0.3)]
    assert b.state.anchor == measure(playing, ("density", "syncopation"))
    # nothing playing: nothing of the groove is held
    b.new_groove()
    b.turn("syncopation", 1.0, Pattern.empty())
    assert b.state.anchor == {}
    np.testing.assert_array_equal(b.state.targets(), [0.3, 1.0])


def test_knobs_the_model_lacks_do_nothing(binding) -> None:
    b, seen = binding
    assert not b.turn("cowbell", 1.0, _groove(4)) and not b.release("cowbell")
    assert seen == [] and b.range_of("cowbell") is None
    assert b.range_of(TEMPERATURE) == TEMPERATURE_RANGE and b.range_of("density") == RANGES["density"]


def test_release_reset_and_holding(binding) -> None:
    b, seen = binding
    b.turn("density", 0.4, _groove(4))
    b.turn("syncopation", 1.5, _groove(4))
    seen.clear()
    assert b.release("density")
    assert seen == [("density", 0.25), ("held", {"syncopation"})]
    seen.clear()
    assert b.reset()
    assert seen == [("held", set()), ("density", 0.25), ("syncopation", 0.8)]
    assert b.set_holding(False) and not b.set_holding(False)
    assert seen[-1] == ("holding", False)
    b.followingChanged.connect(lambda on: seen.append(("following", on)))
    assert b.following and b.set_following(False) and not b.set_following(False)
    assert seen[-1] == ("following", False)
    b.keepingChanged.connect(lambda on: seen.append(("keeping", on)))
    assert not b.keeping and b.set_keeping(True) and not b.set_keeping(True)
    assert seen[-1] == ("keeping", True)
    b.keepingHitsChanged.connect(lambda on: seen.append(("keeping_hits", on)))
    assert not b.keeping_hits and b.set_keeping_hits(True) and not b.set_keeping_hits(True)
    assert seen[-1] == ("keeping_hits", True)


def test_settings_round_trip_and_older_names_are_read(binding, qtbot) -> None:
    b, _ = binding
    b.turn("density", 0.4, _groove(4))
    b.set_temperature(0.7)
    b.set_holding(False)
    b.set_following(False)
    b.set_keeping(True)
    b.set_keeping_hits(True)
    again = KnobBinding()
    again.restore_settings(b.settings())
    again.adopt_model(RANGES, DEFAULTS, another=False)
    assert again.state == b.state and again.temperature == 0.7 and again.holding is False
    assert again.following is False and again.keeping is True and again.keeping_hits is True
    old = KnobBinding()
    old.restore_settings({"engaged": ["syncopation"], "hold_knobs": False, "temperature": 9.0,
                          "knobs": {"syncopation": 1.9}})
    old.adopt_model(RANGES, DEFAULTS, another=False)
    assert old.held == {"syncopation"} and old.holding is False
    assert old.temperature == 0.0  # out of range: skipped
    assert old.values["syncopation"] == 1.9


def test_a_preset_names_the_knobs_the_model_lacks(binding) -> None:
    b, seen = binding
    unknown = b.apply_preset({"density": 0.45, "syncopation": 0.8, "cowbell": 1.0}, 0.5)
    assert unknown == ["cowbell"] and b.held == {"density"}  # syncopation at its default: the groove's
    assert ("density", 0.45) in seen and seen[-1] == (TEMPERATURE, 0.5)
