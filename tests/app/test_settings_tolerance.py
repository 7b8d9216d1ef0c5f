"""A settings file cut short, edited by hand or full of junk never stops the app from
starting: what is valid is restored, what is not is named in the status line."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import QSettings


def _write(path: str, values: dict) -> None:
    s = QSettings(path, QSettings.Format.IniFormat)
    for key, value in values.items():
        s.setValue(key, value)
    s.sync()


def test_saved_settings_come_back_with_nothing_reported(make_window, settings_path) -> None:
    w = make_window(load=False)
    c = w.controller
    c.transport.set(tempo_bpm=97.0, swing=0.25)
    c.pad_state.move(0.5, -0.25)
    w.save_settings()
    w2 = make_window(load=False)
    assert w2.settings_notes is None
    assert w2.controller.transport.values["tempo_bpm"] == 97.0
    assert w2.controller.pad_state.position == (0.5, -0.25)


def test_junk_of_every_type_is_named_and_the_valid_rest_restored(make_window, settings_path) -> None:
    state = {"tempo_bpm": 101.0, "swing": "lots", "groove": 0.5, "note_map": 5, "quantize": 9,
             "output": [1, 2], "temperature": "hot", "holding": "yes", "pad": ["a", 1],
             "cowbell": 1}
    _write(settings_path, {"window/version": "abc", "window/geometry": "junk", "window/state": 5,
                           "transport/api": 7, "export/bars": "many", "model/checkpoint": 12,
                           "engine/state": json.dumps(state)})
    w = make_window(load=False)
    t = w.controller.transport.values
    assert t["tempo_bpm"] == 101.0 and t["groove"] == 0.5 and t["swing"] == 0.0  # valid kept, junk not
    notes = w.settings_notes
    for key in ("swing", "note_map", "quantize", "output", "temperature", "holding", "pad", "cowbell"):
        assert f"{key} (" in notes, key
    for key in ("tempo_bpm", "groove"):
        assert f"{key} (" not in notes, key
    assert w._status_text.text() == notes and "\n" not in notes


def test_numbers_no_setting_can_hold_are_named_and_the_app_starts(make_window, settings_path) -> None:
    """1e999 in the note map (int(inf) had raised OverflowError: the app could not start), NaN
    for the pad point (an empty first groove) or a knob (saved back as NaN)."""
    note_map = '{"notes": [1e999, 38, 42, 46, 43, 47, 50, 49, 51], "name": "x"}'
    state = {"tempo_bpm": 101.0, "note_map": note_map, "pad": [float("nan"), 0.0],
             "knobs": {"density": float("nan")}}
    _write(settings_path, {"engine/state": json.dumps(state)})
    w = make_window(load=False)
    c = w.controller
    assert c.transport.values["tempo_bpm"] == 101.0 and c.transport.values["note_map"].name == "General MIDI"
    assert all(np.isfinite(c.pad_state.position))
    assert all(np.isfinite(v) for v in c.knob_binding.state.values.values())
    for key in ("note_map", "pad"):
        assert f"{key} (" in w.settings_notes, key


def test_an_engine_state_cut_short_is_read_up_to_its_last_entry(make_window, settings_path) -> None:
    whole = json.dumps({"tempo_bpm": 88.0, "swing": 0.125, "groove": 0.75})
    _write(settings_path, {"engine/state": whole[: whole.index('"groove"') + 5]})
    w = make_window(load=False)
    t = w.controller.transport.values
    assert (t["tempo_bpm"], t["swing"], t["groove"]) == (88.0, 0.125, 1.0)
    assert "ends early" in w.settings_notes and "read up to after 'swing'" in w.settings_notes


def test_a_settings_file_of_random_bytes_starts_with_defaults(make_window, settings_path) -> None:
    import numpy as np

    with open(settings_path, "wb") as f:
        f.write(np.random.default_rng(3).bytes(4000))
    w = make_window(load=False)
    assert w.controller.transport.values["tempo_bpm"] == 120.0


def test_a_played_session_comes_back_with_nothing_reported(ready_window, make_window, qtbot) -> None:
    """Knobs, latent point and bindings saved with a model loaded restore without a note."""
    w = ready_window
    c = w.controller
    c.set_knob("density", w.knobs.knobs["density"].high)
    qtbot.wait(200)
    w.save_settings()
    saved = json.loads(str(w.settings.value("engine/state")))
    assert saved["z"] is not None and "density" in saved["knobs"] and "density" in saved["held"]
    w2 = make_window(load=False)
    assert w2.settings_notes is None
