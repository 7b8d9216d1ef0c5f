"""Presets edited by hand or cut short: what is valid loads, what is not is named; names of
any bytes save and load."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.presets import Preset, load_preset, save_preset
from engine.music.drums import GM_NOTE_MAP, NOTE_MAP_PRESETS

FULL = Preset(knobs={"density": 1.25, "syncopation": 3.0}, temperature=0.4, z=(0.1, -2.0),
              pad=(0.25, -0.75), pad_mode="corners", note_map=NOTE_MAP_PRESETS["Ableton Drum Rack"],
              tempo_bpm=92.5, swing=0.3, groove=0.6, velocity_scale=1.2)


def test_wrong_types_and_unknown_keys_load_the_rest_and_are_named(tmp_path) -> None:
    data = FULL.to_json()
    data.update(tempo_bpm=900, swing="lots", knobs={"density": 1.5, "syncopation": "x"},
                note_map={"notes": [1, 2]}, pad=[0.5], cowbell=True, pad_mode="spiral", z=[1.0, "nan"])
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    p = load_preset(path)
    assert p.knobs == {"density": 1.5}
    assert (p.temperature, p.groove, p.velocity_scale) == (0.4, 0.6, 1.2)  # valid fields kept
    assert (p.tempo_bpm, p.swing, p.note_map, p.pad, p.pad_mode, p.z) == (120.0, 0.0, GM_NOTE_MAP,
                                                                          (0.0, 0.0), "plane", None)
    named = " | ".join(p.ignored)
    for key in ("tempo_bpm (900 is outside [30, 300])", "swing ('lots' is not a number)",
                "knobs.syncopation ('x' is not a number)", "note_map (not a note map", "pad (not [x, y])",
                "cowbell (unknown)", "pad_mode ('spiral'", "z ('nan' is not a number)"):
        assert key in named, key


def test_a_preset_cut_short_loads_up_to_its_last_whole_field(tmp_path) -> None:
    text = json.dumps(FULL.to_json())
    path = tmp_path / "cut.json"
    path.write_text(text[: text.index('"swing"') + 4])  # the fields are written in order
    p = load_preset(path)
    assert p.tempo_bpm == 92.5 and p.note_map == FULL.note_map and p.knobs == FULL.knobs
    assert p.swing == 0.0 and p.groove == 1.0  # lost with the end of the file
    assert "the file ends early" in p.ignored[0] and "read up to after 'tempo_bpm'" in p.ignored[0]


def test_a_file_far_larger_than_any_preset_is_refused_at_once(tmp_path) -> None:
    """A 41 MB file cut short took 4.4 s of repairing on the GUI thread; a preset is a few KB."""
    from app.presets import MAX_PRESET_BYTES, PresetError

    path = tmp_path / "huge.json"
    path.write_text('{"format": "groovefader-preset", "notes": "' + "x" * MAX_PRESET_BYTES)
    with pytest.raises(PresetError, match="not a preset .*a preset is a few KB"):
        load_preset(path)
    assert len(json.dumps(FULL.to_json())) < MAX_PRESET_BYTES // 100


def test_presets_under_names_of_any_bytes(tmp_path) -> None:
    path = Path(os.fsdecode(bytes(tmp_path) + b"/groove \xe9\n.json"))
    assert load_preset(save_preset(path, FULL)) == FULL
    assert load_preset(path).ignored == ()


def test_the_window_loads_a_hand_edited_preset_and_says_what_it_ignored(make_window, tmp_path,
                                                                         monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    data = FULL.to_json()
    data.update(tempo_bpm="fast", cowbell=1)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    w = make_window(load=False)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "")))
    w.actions.load_preset.trigger()
    t = w.controller.transport.values
    assert t["swing"] == 0.3 and t["tempo_bpm"] == 120.0
    text = w._status_text.text()
    assert text.startswith(f"Loaded preset {path}; ignored: ") and "tempo_bpm" in text and "cowbell" in text


@pytest.mark.parametrize("full", [True, False], ids=["full", "read-only"])
def test_saving_a_preset_on_a_disk_that_cannot_take_it_keeps_the_old_one(tmp_path, full) -> None:
    from app.presets import PresetError
    from tests.support.small_disk import small_disk

    with small_disk(tmp_path / "disk", size_kb=64) as disk:
        path = save_preset(disk.root / "groove.json", FULL)
        before = path.read_bytes()
        disk.fill() if full else disk.read_only()
        with pytest.raises(PresetError) as caught:
            save_preset(path, Preset(z=tuple(range(4000))))  # larger than what is left
        why = "No space left on device" if full else "Read-only file system"
        assert str(caught.value) == f"{path}: cannot write preset: {why}"
        assert path.read_bytes() == before and disk.leftovers() == []
        assert load_preset(path) == FULL
