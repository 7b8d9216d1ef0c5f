"""Property tests (hypothesis): whatever JSON a preset or the saved engine state holds,
reading it gives a value or the one domain error, never another exception."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.presets import FIELDS, Preset, preset_from_json
from app.settings_check import engine_state
from app.tolerant_json import loads_object

PROFILE = settings(max_examples=150, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
leaves = st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats() | st.text(max_size=8)
json_values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)
preset_like = st.fixed_dictionaries(
    {"format": st.just("groovefader-preset"), "version": st.just(1)},
    optional={k: json_values for k in FIELDS if k not in ("format", "version")}
    | {"cowbell": json_values})


@PROFILE
@given(preset_like)
def test_any_preset_json_loads_what_is_valid(data: dict) -> None:
    p = preset_from_json(data)
    assert isinstance(p, Preset)
    json.dumps(p.to_json())  # what loaded saves again
    for key in data:
        if key not in ("format", "version"):
            used = key in p.to_json() and p.to_json()[key] == data[key]
            named = any(item.startswith((f"{key} (", f"{key}.")) for item in p.ignored)
            assert used or named or key in ("pad", "note_map"), key  # these two are normalised on load


@PROFILE
@given(st.text(max_size=200))
def test_any_text_is_an_object_or_a_value_error(text: str) -> None:
    try:
        data, note = loads_object(text)
    except ValueError:
        return
    assert isinstance(data, dict) and (note is None or "ends early" in note)


@PROFILE
@given(json_values, st.integers(0, 60))
def test_a_saved_state_cut_anywhere_reads_as_an_object(value, cut: int) -> None:
    text = json.dumps({"tempo_bpm": 100, "state": value})
    data, notes = engine_state(text[:max(1, len(text) - cut)])
    assert isinstance(data, dict) and all("\n" not in n for n in notes)
    if cut == 0:
        assert data == json.loads(text) and notes == []


def test_any_engine_state_restores_without_an_exception(make_window) -> None:
    """The controller's restore takes every key of any type (what a hand-edited file holds)."""
    from app import settings_check

    c = make_window(load=False).controller
    keys = st.sampled_from(["tempo_bpm", "swing", "groove", "velocity_scale", "quantize", "clock_source",
                            "note_map", "output", "input", "bindings", "temperature", "holding", "pad",
                            "heatmap", "z", "knobs", "held", "turning", "anchor", "hold_knobs"])

    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.dictionaries(keys | st.text(max_size=5), json_values, max_size=8))
    def check(state: dict) -> None:
        c.restore_settings(state)
        notes = settings_check.ignored_entries(state, c.settings())
        assert all("\n" not in n for n in notes)
        json.dumps(c.settings())  # what was restored saves again

    check()


def test_null_knobs_are_named_and_a_null_anchor_is_none() -> None:
    """The example hypothesis found: ``"knobs": null`` is not an object of knobs."""
    p = preset_from_json({"format": "groovefader-preset", "version": 1, "knobs": None, "anchor": None})
    assert any(item.startswith("knobs (") for item in p.ignored)
    assert not any(item.startswith("anchor") for item in p.ignored)
