"""A preset brings back the groove it was saved with: after a knob turn the decode holds the
turned knob and the other attributes where the groove had them (the anchor), so a preset
keeps which knobs are held, the one turned and the anchor, not only the knob values."""

from __future__ import annotations

import json

import numpy as np

from app.presets import Preset, load_preset, preset_from_json, save_preset


def test_a_preset_saved_after_a_knob_turn_plays_the_same_groove(ready_window, qtbot, tmp_path) -> None:
    w = ready_window
    c = w.controller
    with qtbot.waitSignal(c.patternChanged, timeout=20_000):
        w.actions.randomize.trigger()
    with qtbot.waitSignal(c.patternChanged, timeout=20_000):
        c.set_knob("density", w.knobs.knobs["density"].high)
    qtbot.wait(500)
    saved, held = c.pattern, c.knob_binding.held
    preset = load_preset(save_preset(tmp_path / "turned.json", c.current_preset()))
    with qtbot.waitSignal(c.patternChanged, timeout=20_000):
        w.actions.randomize.trigger()
    with qtbot.waitSignal(c.patternChanged, timeout=20_000):
        c.apply_preset(preset)
    qtbot.wait(300)
    assert c.knob_binding.held == held == {"density"}
    np.testing.assert_array_equal(c.pattern.hits, saved.hits)
    np.testing.assert_array_equal(c.pattern.midi_velocities(), saved.midi_velocities())


def test_knobs_showing_a_loaded_grooves_values_are_not_held_by_its_preset(ready_window, qtbot,
                                                                           tmp_path) -> None:
    """An edit sets every knob to what the pattern measures without holding them (dim arcs);
    its preset loads with the same knobs held (none), not every knob off its default."""
    w = ready_window
    c = w.controller
    c.reset_knobs()
    c.toggle_cell(3, 2)
    qtbot.waitUntil(lambda: c.z is not None, timeout=20_000)
    qtbot.wait(500)
    assert c.knob_binding.held == set()
    preset = load_preset(save_preset(tmp_path / "edited.json", c.current_preset()))
    with qtbot.waitSignal(c.patternChanged, timeout=20_000):
        c.apply_preset(preset)
    assert c.knob_binding.held == set()


def test_the_knob_state_round_trips_and_older_presets_still_load(tmp_path) -> None:
    p = Preset(knobs={"density": 0.9, "syncopation": 1.0}, held=("density",), turning="density",
               anchor={"density": 0.3, "syncopation": 1.0})
    back = load_preset(save_preset(tmp_path / "p.json", p))
    assert back.held == ("density",) and back.turning == "density"
    assert back.anchor == {"density": 0.3, "syncopation": 1.0} and not back.ignored
    older = {"format": "groovefader-preset", "version": 1, "knobs": {"density": 0.9}}
    old = preset_from_json(older)
    assert old.held is None and old.turning is None and old.anchor is None and not old.ignored
    junk = preset_from_json({**older, "held": "density", "turning": 3, "anchor": {"density": "x"}})
    assert junk.held is None and junk.turning is None and junk.anchor == {}
    assert {i.split(" ")[0] for i in junk.ignored} == {"held", "turning", "anchor.density"}
    json.dumps(back.to_json())
