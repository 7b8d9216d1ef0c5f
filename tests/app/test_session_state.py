"""What a preset and the saved session hold: round trips through the real parts (no model,
no sequencer), and malformed saved values skipped."""

from __future__ import annotations

import numpy as np

from app.knob_binding import KnobBinding
from app.model_worker import ModelWorker
from app.pad_jobs import PadJobs
from app.pad_state import PadState
from app.session_state import SessionState
from app.transport_state import TransportState
from engine.music.drums import NOTE_MAP_PRESETS


def _session() -> SessionState:
    knobs = KnobBinding()
    knobs.adopt_model({"density": (0.0, 10.0), "syncopation": (0.0, 1.0)},
                      {"density": 4.0, "syncopation": 0.2}, another=False)
    return SessionState(knobs, PadJobs(PadState(), ModelWorker(), lambda: {}), TransportState())


def test_a_preset_carries_knobs_pad_and_transport_to_another_session(qtbot):
    a = _session()
    a.knobs.turn("density", 7.5, _empty())
    a.knobs.set_temperature(0.4)
    a.pad_jobs.pad.move(0.25, -0.5)
    a.pad_jobs.set_mode("corners")
    note_map = NOTE_MAP_PRESETS["Roland TD"]
    a.transport.set(tempo_bpm=97.0, swing=0.3, note_map=note_map)
    preset = a.preset(np.array([0.5, -1.0]))
    b = _session()
    assert b.apply(preset) == []
    assert b.knobs.values["density"] == 7.5 and b.knobs.temperature == 0.4
    assert b.pad_jobs.pad.position == (0.25, -0.5) and b.pad_jobs.pad.mode == "corners"
    assert (b.transport["tempo_bpm"], b.transport["swing"], b.transport["note_map"]) == (97.0, 0.3, note_map)
    assert b.preset(np.array([0.5, -1.0])) == preset
    assert preset.z == (0.5, -1.0)


def test_session_settings_round_trip_and_malformed_values_are_skipped(qtbot):
    a = _session()
    a.transport.set(tempo_bpm=133.0)
    a.pad_jobs.pad.move(-0.75, 0.5)
    saved = a.settings(np.array([1.0, 2.0, 3.0]))
    b = _session()
    z = b.restore(saved)
    np.testing.assert_array_equal(z, [1.0, 2.0, 3.0])
    assert b.transport["tempo_bpm"] == 133.0 and b.pad_jobs.pad.position == (-0.75, 0.5)
    assert b.settings(z) == saved
    assert b.restore({**saved, "z": ["x"], "pad": "junk"}) is None  # skipped, the rest kept
    assert b.pad_jobs.pad.position == (-0.75, 0.5)


def _empty():
    from engine.music.pattern import Pattern

    return Pattern.empty()


def test_a_saved_latent_with_nan_inf_or_a_bool_is_not_restored(qtbot):
    s = _session()
    np.testing.assert_array_equal(s.restore({"z": [0.5, -1]}), [0.5, -1.0])
    for bad in ([0.5, float("nan")], [float("inf"), 0.0], [0.5, True], [0.5, "1"]):
        assert s.restore({"z": bad}) is None, bad
