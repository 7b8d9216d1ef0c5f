"""Pure app state: preset files and MIDI-learn bindings (no Qt)."""

from __future__ import annotations

import json

import pytest

from app.midi_learn import CCBindings
from app.presets import Preset, PresetError, load_preset, save_preset
from engine.music.drums import NOTE_MAP_PRESETS


def test_preset_round_trip(tmp_path) -> None:
    p = Preset(knobs={"density": 1.25, "syncopation": 3.0}, temperature=0.4, z=(0.1, -2.0, 3.5),
               pad=(0.25, -0.75), pad_mode="corners", note_map=NOTE_MAP_PRESETS["Ableton Drum Rack"],
               tempo_bpm=92.5, swing=0.3, groove=0.6, velocity_scale=1.2)
    path = save_preset(tmp_path / "p.json", p)
    assert load_preset(path) == p
    assert not list(tmp_path.glob(".*tmp"))  # the atomic write left nothing behind


@pytest.mark.parametrize("content, reason", [
    ("{", "not a valid preset"),
    (json.dumps({"format": "something-else", "version": 1}), "not a groovefader preset"),
    (json.dumps({"format": "groovefader-preset", "version": 99}), "version 99"),
    ("[1, 2]", "expected a JSON object, got list"),
    ("\x00\x01 not json", "not a valid preset"),
])
def test_bad_presets_name_the_file_and_the_reason(tmp_path, content: str, reason: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(PresetError) as err:
        load_preset(path)
    assert str(path) in str(err.value) and reason in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_preset_file(tmp_path) -> None:
    with pytest.raises(PresetError, match="cannot read preset"):
        load_preset(tmp_path / "nope.json")


def test_learn_binds_the_next_cc_and_maps_values() -> None:
    b = CCBindings()
    assert b.handle(0, 74, 64) is None  # nothing bound, nothing armed
    b.arm("density")
    first = b.handle(0, 74, 0)
    assert first is not None and first.learned and first.target == "density" and first.fraction == 0.0
    assert b.armed is None and b.binding_of("density") == (0, 74)
    move = b.handle(0, 74, 127)
    assert move is not None and not move.learned and move.fraction == 1.0
    assert b.handle(1, 74, 64) is None  # same CC on another channel is another control
    b.arm("density")  # rebinding moves the knob to the new control
    b.handle(2, 10, 5)
    assert b.binding_of("density") == (2, 10) and b.handle(0, 74, 1) is None
    assert b.label_of("density") == "CC 10 ch 3"
    b.forget("density")
    assert b.binding_of("density") is None


def test_bindings_json_round_trip_and_junk() -> None:
    b = CCBindings()
    for target, cc in (("density", 20), ("temperature", 21)):
        b.arm(target)
        b.handle(0, cc, 0)
    again = CCBindings.from_json(b.to_json())
    assert again.binding_of("density") == (0, 20) and again.binding_of("temperature") == (0, 21)
    junk = CCBindings.from_json('[[0, 300, "x"], [99, 1, "y"], "z", [0, 5, "ok"]]')
    assert junk.binding_of("ok") == (0, 5) and junk.binding_of("x") is None and junk.binding_of("y") is None
    assert CCBindings.from_json("not json").binding_of("ok") is None


def test_playhead_extrapolates_between_clock_reports_but_not_beyond() -> None:
    from app.transport_state import estimate_step

    # 120 BPM = 8 steps/s: 62.5 ms after a report at step 10 the clock is at 10.5 → 10
    assert estimate_step(10, 1.0, 1.0625, 120.0) == 10
    assert estimate_step(10, 1.0, 1.13, 120.0) == 11
    # 300 BPM = 20 steps/s: 120 ms later = 2.4 steps on
    assert estimate_step(10, 1.0, 1.12, 300.0) == 12
    # a stalled clock (no report for 2 s) holds within one report period of its last step
    assert estimate_step(10, 1.0, 3.0, 120.0) == 11
    assert estimate_step(10, 1.0, 0.5, 120.0) == 10  # a clock that went backwards: no change
