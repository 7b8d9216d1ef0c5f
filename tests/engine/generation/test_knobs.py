"""The knob rules, without a model, torch or Qt."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.generation.knobs import KnobState

RANGES = {"density": (0.1, 0.5), "syncopation": (0.0, 2.0), "laid_back": (-0.2, 0.2)}
DEFAULTS = {"density": 0.25, "syncopation": 0.8, "laid_back": 0.0}
GROOVE = {"density": 0.3, "syncopation": 1.5, "laid_back": 0.05}  # a playing pattern's attributes


@pytest.fixture
def fresh() -> KnobState:
    return KnobState.for_model(RANGES, DEFAULTS)


def test_a_fresh_model_holds_nothing(fresh: KnobState) -> None:
    assert fresh.names == ("density", "syncopation", "laid_back")
    assert fresh.inputs == DEFAULTS and fresh.held == frozenset() and fresh.turning is None
    assert np.isnan(fresh.targets()).all()  # the groove plays as the model decodes it


def test_only_set_knobs_are_held(fresh: KnobState) -> None:
    s = fresh.set("syncopation", 1.9)
    assert s.held == {"syncopation"}
    np.testing.assert_array_equal(s.targets(), [np.nan, 1.9, np.nan])
    assert s.inputs == {**DEFAULTS, "syncopation": 1.9}
    # a command line may ask beyond the data's range; set does not clip, no turn begins
    s = s.set("density", 0.9)
    assert s.targets()[0] == 0.9 and s.turning is None and s.anchor is None
    assert fresh.held == frozenset()  # immutable: the old state is unchanged


def test_unknown_knobs_are_refused_with_the_models_names(fresh: KnobState) -> None:
    with pytest.raises(ValueError, match=r"unknown attribute\(s\) \['cowbell'\]; this model has"):
        fresh.set_all({"density": 0.3, "cowbell": 1.0})
    with pytest.raises(ValueError, match="unknown attribute"):
        fresh.turn("cowbell", 1.0, GROOVE)
    with pytest.raises(ValueError, match="unknown attribute"):
        fresh.release("cowbell")


def test_while_one_turns_the_others_stay_where_the_groove_had_them(fresh: KnobState) -> None:
    s = fresh.set("laid_back", 0.1).new_groove()
    assert s.begins_turn("density")
    s = s.turn("density", 0.45, GROOVE)
    assert s.turning == "density" and s.held == {"density", "laid_back"}
    # the turned knob and the knobs set at their values; the rest at the groove's
    np.testing.assert_allclose(s.targets(), [0.45, GROOVE["syncopation"], 0.1])
    # the turn goes on: the anchor is the one taken when it began, not the new groove's
    assert not s.begins_turn("density")
    s = s.turn("density", 0.2, {"density": 0.2, "syncopation": 0.1, "laid_back": 0.0})
    np.testing.assert_allclose(s.targets(), [0.2, GROOVE["syncopation"], 0.1])
    # turning another knob begins a new turn, anchored on the groove then playing
    later = {"density": 0.2, "syncopation": 0.4, "laid_back": 0.0}
    assert s.begins_turn("syncopation")
    s = s.turn("syncopation", 1.0, later)
    assert s.turning == "syncopation"
    np.testing.assert_allclose(s.targets(), [0.2, 1.0, 0.1])  # density is held: set by the user


def test_a_turn_clips_to_the_range_and_nothing_playing_anchors_nothing(fresh: KnobState) -> None:
    s = fresh.turn("density", 9.0, {})
    assert s.values["density"] == RANGES["density"][1] and s.anchor == {}
    np.testing.assert_array_equal(s.targets(), [0.5, np.nan, np.nan])


def test_a_new_groove_drops_the_anchor_but_keeps_what_was_set(fresh: KnobState) -> None:
    s = fresh.turn("density", 0.4, GROOVE).new_groove()
    assert s.anchor is None and s.held == {"density"}
    assert s.begins_turn("density")  # the next move of the same knob anchors on the new groove
    np.testing.assert_array_equal(s.targets(), [0.4, np.nan, np.nan])


def test_double_click_release_gives_the_attribute_back_to_the_groove(fresh: KnobState) -> None:
    s = fresh.turn("density", 0.45, GROOVE).turn("syncopation", 0.2, GROOVE)
    r = s.release("syncopation")
    assert r.values["syncopation"] == DEFAULTS["syncopation"] and "syncopation" not in r.held
    assert r.turning is None and r.anchor is None
    np.testing.assert_array_equal(r.targets(), [0.45, np.nan, np.nan])
    # releasing a knob that is not turning keeps the turning one, drops the anchor
    r2 = s.release("density")
    assert r2.turning == "syncopation" and r2.anchor is None and r2.held == {"syncopation"}


def test_reset_puts_every_knob_back_and_holds_none(fresh: KnobState) -> None:
    s = fresh.turn("density", 0.45, GROOVE).set("laid_back", -0.1).reset()
    assert s.inputs == DEFAULTS and s.held == frozenset() and s.turning is None and s.anchor is None
    assert np.isnan(s.targets()).all()


def test_taking_a_grooves_values_sets_the_knobs_and_keeps_what_is_held(fresh: KnobState) -> None:
    s = fresh.turn("density", 0.45, GROOVE).take_groove({"density": 0.05, "syncopation": 1.2, "x": 3})
    assert s.values["density"] == RANGES["density"][0]  # clipped
    assert s.values["syncopation"] == 1.2 and "x" not in s.values
    assert s.anchor is None and s.held == {"density"}


def test_a_preset_holds_the_knobs_it_moves_off_their_defaults(fresh: KnobState) -> None:
    s = fresh.turn("density", 0.45, GROOVE).from_preset({"density": 0.25, "syncopation": 5.0, "x": 1.0})
    assert s.held == {"syncopation"} and s.turning is None and s.anchor is None
    assert "x" not in s.values  # a knob this model lacks is ignored
    assert s.values["syncopation"] == 2.0 and s.values["density"] == 0.25
    # before a model is known every preset knob counts as set and is kept as it is
    early = KnobState().from_preset({"density": 0.9})
    assert early.held == {"density"} and early.values == {"density": 0.9}


def test_another_model_keeps_what_fits_it() -> None:
    s = KnobState().restored({"knobs": {"density": 0.9, "gone": 1.0}, "held": ["density", "gone"],
                              "turning": "gone", "anchor": {"syncopation": 1.0, "gone": 2.0}})
    m = s.with_model(RANGES, DEFAULTS)
    assert m.values == {"density": 0.5, "syncopation": 0.8, "laid_back": 0.0}  # clipped; defaults
    assert m.held == {"density"} and m.turning is None and m.anchor == {"syncopation": 1.0}
    with pytest.raises(ValueError, match="ranges name"):
        KnobState().with_model(RANGES, {"density": 0.2})


def test_settings_round_trip_through_json_and_skip_what_is_malformed(fresh: KnobState) -> None:
    s = fresh.set("laid_back", 0.1).turn("density", 0.45, GROOVE)
    back = fresh.restored(json.loads(json.dumps(s.to_dict())))
    assert back == s
    np.testing.assert_array_equal(back.targets(), s.targets())
    # an older settings file says "engaged"; junk is skipped, the rest read
    old = fresh.restored({"knobs": {"density": "loud", "syncopation": 1.0}, "engaged": ["syncopation"],
                          "turning": 3, "anchor": [1, 2]})
    assert old.values["syncopation"] == 1.0 and old.values["density"] == DEFAULTS["density"]
    assert old.held == {"syncopation"} and old.turning is None and old.anchor is None


def test_a_state_cannot_be_changed_in_place(fresh: KnobState) -> None:
    s = fresh.set("density", 0.3)
    with pytest.raises(TypeError):
        s.values["density"] = 0.4  # type: ignore[index]
    with pytest.raises(AttributeError):
        s.turning = "density"  # type: ignore[misc]


def test_detents_sit_around_where_a_turn_starts() -> None:
    from engine.generation.groove_bank import detent_values, nearest_detent

    state = KnobState.for_model({"a": (0.0, 1.0), "b": (0.0, 8.0)}, {"a": 0.5, "b": 4.0})
    measured = {"a": 0.3, "b": 7.0}
    marks = state.detents(measured, 5)  # a detent every quarter of the range
    assert marks["a"] == pytest.approx((0.0, 0.05, 0.3, 0.55, 0.8, 1.0))
    marks_a = marks["a"]
    assert marks["b"] == pytest.approx((0.0, 1.0, 3.0, 5.0, 7.0, 8.0))
    turned = state.turn("a", 0.9, {"a": 0.6, "b": 2.0})  # the anchor: where this turn started
    marks = turned.detents({"a": 0.95, "b": 2.5}, 5)
    assert marks["a"] == pytest.approx((0.0, 0.1, 0.35, 0.6, 0.85, 1.0))
    assert marks["b"] == pytest.approx((0.0, 0.5, 2.5, 4.5, 6.5, 8.0))  # from the groove playing now
    # every setting's nearest detent is one of those shown
    near = nearest_detent(np.linspace(0, 1, 41), 0.6, 0.0, 1.0, 5)
    assert set(np.round(near, 9)) <= set(np.round(marks["a"], 9))
    assert state.detents(measured, 0) == {"a": (), "b": ()}  # no detents
    assert state.detents(measured, 5, kept=("b",))["b"] == ()  # a feel knob editing the groove
    assert state.detents(measured, 5, kept=("b",))["a"] == marks_a
    assert state.detents({}, 5)["a"] == ()  # nothing measured: nothing to show
    assert detent_values(1.4, 0.0, 1.0, 5) == pytest.approx([0.0, 0.15, 0.4, 0.65, 0.9, 1.0])
