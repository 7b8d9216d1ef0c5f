"""The melody panel offscreen: without a melody model, Randomize, key/scale/octave, clips,
exports (one clip with two tracks), settings. The JACK side is in test_melody_jack."""

from __future__ import annotations

import json
from pathlib import Path

import mido
import numpy as np
import pytest

from app import melody_lane as lane_module
from engine.music.melody import Melody, read_melody_file
from tests.support.melody import melody_a, melody_b, memorised_checkpoint

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def melody_ckpt(tmp_path_factory) -> Path:
    return memorised_checkpoint(str(tmp_path_factory.getbasetemp() / "melody"))


@pytest.fixture
def melody_window(make_window, melody_ckpt, monkeypatch, qtbot):
    """A window without a drum model (its failure starts the melody model's load) whose melody
    model is the tiny memorised one; returns it once the first melody is shown."""
    monkeypatch.setattr(lane_module, "default_melody_checkpoint", lambda: melody_ckpt)
    w = make_window(None, load=False)
    lane = w.melody.lane
    with qtbot.waitSignal(lane.melodyChanged, timeout=60_000):
        w.controller.load_model(Path(w.settings.fileName()).parent / "no-drum-model.pt")
    return w


def test_without_a_melody_model_the_panel_says_so_and_clips_still_work(make_window, monkeypatch, qtbot,
                                                                        tmp_path) -> None:
    monkeypatch.setattr(lane_module, "default_melody_checkpoint", lambda: tmp_path / "absent.pt")
    w = make_window(None, load=False)
    panel, lane = w.melody.panel, w.melody.lane
    with qtbot.waitSignal(lane.modelFailed, timeout=10_000):
        w.controller.load_model(tmp_path / "no-drum-model.pt")
    assert "No melody model at" in panel.status.text() and "melody train" in panel.status.text()
    assert not panel.randomize_button.isEnabled() and not panel.pad.isEnabled()
    clip = tmp_path / "tune.mid"
    melody_b().write_midi(clip)
    lane.load_clip(clip)  # what Load clip… does with the chosen file
    assert panel.roll.notes == melody_b().notes()
    out = panel.export(str(tmp_path / "out.mid"), with_drums=False)
    assert out is not None and read_melody_file(out) == melody_b()


def test_a_clip_in_another_key_plays_as_written_and_the_key_control_moves_it(melody_window, tmp_path) -> None:
    w = melody_window
    panel, lane = w.melody.panel, w.melody.lane
    in_g = melody_b().transpose(7)  # C major up a fifth: G major
    clip = tmp_path / "in_g.mid"
    in_g.write_midi(clip)
    lane.load_clip(clip)
    # the lane holds it in C, as the model's melodies, and its key is the clip's
    assert lane.settings_.key == "G" and panel.key.currentData() == "G"
    assert [p % 12 for *_, p in lane.melody.notes()] == [p % 12 for *_, p in melody_b().notes()]
    out = panel.export(str(tmp_path / "as_written.mid"), with_drums=False)
    assert out is not None and [p % 12 for *_, p in read_melody_file(out).notes()] == \
        [p % 12 for *_, p in in_g.notes()]
    # the key control moves it from G: to D, a fifth up again
    panel.key.setCurrentIndex(panel.key.findData("D"))
    out = panel.export(str(tmp_path / "in_d.mid"), with_drums=False)
    assert out is not None and [p % 12 for *_, p in read_melody_file(out).notes()] == \
        [(p + 2) % 12 for *_, p in melody_b().notes()]


def test_the_melody_pad_shows_the_register_of_its_tunes_and_follows_the_length(melody_window, qtbot) -> None:
    panel, lane = melody_window.melody.panel, melody_window.melody.lane
    qtbot.waitUntil(lambda: bool(panel._heat_values), timeout=10_000)
    assert panel.heat.currentData() == "register" and panel.pad._heat is not None
    assert panel.pad._heat_label == "register"
    panel.heat.setCurrentIndex(panel.heat.findData(""))
    assert panel.pad._heat is None and panel.pad._heat_label == ""
    panel.heat.setCurrentIndex(panel.heat.findData("notes"))
    assert panel.pad._heat is not None and panel.pad._heat_label == "notes per bar"
    # a longer tune plays from the map of whole tunes: its heat is asked again
    with qtbot.waitSignal(lane.heatReady, timeout=10_000) as got:
        panel.bars.setCurrentIndex(panel.bars.findData(8))
    assert set(got.args[0]) == {"register", "notes"}


def test_a_new_length_reaches_the_tune_that_plays(melody_window, qtbot, tmp_path) -> None:
    panel, lane = melody_window.melody.panel, melody_window.melody.lane
    before = lane.melody
    assert before.bars == 2
    with qtbot.waitSignal(lane.melodyChanged, timeout=10_000):
        panel.bars.setCurrentIndex(panel.bars.findData(8))
    assert lane.melody.bars == 8 and np.array_equal(lane.melody.events[:32], before.events)
    assert panel.roll.notes == lane.melody.notes()
    # a clip loops to the new length, and back to its own
    clip = tmp_path / "tune.mid"
    melody_b().write_midi(clip)
    lane.load_clip(clip)
    assert lane.melody == melody_b() and lane.settings_.bars == 2
    panel.bars.setCurrentIndex(panel.bars.findData(4))
    assert lane.melody.bars == 4 and np.array_equal(lane.melody.events, np.tile(melody_b().events, 2))
    panel.bars.setCurrentIndex(panel.bars.findData(2))
    assert lane.melody == melody_b()


def test_randomize_variation_and_the_pad_change_the_melody(melody_window, qtbot) -> None:
    w = melody_window
    panel, lane = w.melody.panel, w.melody.lane
    assert panel.randomize_button.isEnabled() and "Melody model" in panel.status.text()
    first = lane.melody
    assert first is not None and first.num_notes > 0 and panel.roll.notes == first.notes()
    seen = {first}
    # the tiny model's draws are its two stored tunes: each press picks one, so all 12 alike
    # has odds of 1 in 2,048 (with 4 presses, 1 in 8 — a flaky test)
    for _ in range(12):
        with qtbot.waitSignal(lane.melodyChanged, timeout=10_000):
            panel.randomize_button.click()
        seen.add(lane.melody)
    assert len(seen) > 1
    with qtbot.waitSignal(lane.melodyChanged, timeout=10_000):
        panel.variation_button.click()
    with qtbot.waitSignal(lane.melodyChanged, timeout=10_000):
        panel.pad.moved.emit(0.9, -0.9)
    assert lane.pad == (0.9, -0.9)
    # the pad is a map of the stored tunes: at a node it plays one of them
    with qtbot.waitSignal(lane.melodyChanged, timeout=10_000):
        panel.pad.moved.emit(1.0, 1.0)
    assert lane.pad == (1.0, 1.0) and lane.melody in (melody_a(), melody_b())


def test_key_octave_and_scale_move_the_pitches(melody_window, qtbot) -> None:
    w = melody_window
    panel, lane = w.melody.panel, w.melody.lane
    written = lane.played()
    panel.key.setCurrentIndex(panel.key.findData("D"))
    panel.octave.setValue(-1)
    assert lane.settings_.controls().shift == 2 - 12
    assert panel.roll.notes == [(s, e, p + 2 - 12) for s, e, p in written.notes()]
    with qtbot.waitSignal(lane.melodyChanged, timeout=2_000):
        panel.scale.setCurrentIndex(panel.scale.findData("minor"))
    minor = lane.played()
    # E, A, B of C major become Eb, Ab, Bb; the rest stay
    flat = {4: 3, 9: 8, 11: 10}
    assert [p for *_, p in minor.notes()] == [p - (p % 12 - flat[p % 12]) if p % 12 in flat else p
                                              for *_, p in written.notes()]


def test_export_drums_and_melody_reads_back_as_two_tracks(melody_window, tmp_path, qtbot) -> None:
    w = melody_window
    panel, lane, c = w.melody.panel, w.melody.lane, w.controller
    clip = tmp_path / "drums.mid"
    from engine.music.midifile import write_clip
    from tests.support.patterns import pattern_from_cells

    write_clip(clip, pattern_from_cells({(s, 0): (0.8, 0.0) for s in range(0, 32, 4)}))
    c.load_clip(clip)
    panel.channel.setValue(3)
    panel.key.setCurrentIndex(panel.key.findData("F"))
    out = panel.export(str(tmp_path / "both.mid"), with_drums=True)
    assert out is not None
    midi = mido.MidiFile(out)
    tracks = [t for t in midi.tracks if any(m.type == "note_on" for m in t)]
    assert len(tracks) == 2
    channels = [{m.channel for m in t if m.type == "note_on"} for t in tracks]
    assert channels == [{9}, {2}]
    kicks = [m for m in tracks[0] if m.type == "note_on" and m.velocity > 0]
    bars = lane.melody.bars
    assert len(kicks) == 8 * bars // 2
    played = read_melody_file(out)  # the melody track as the clock plays it: up a fourth (F)
    assert played.notes() == [(s, e, p + 5) for s, e, p in lane.played().notes()]


def test_transition_to_a_clip_and_settings_round_trip(melody_window, qtbot, tmp_path) -> None:
    w = melody_window
    panel, lane = w.melody.panel, w.melody.lane
    target = tmp_path / "b.mid"
    melody_b().write_midi(target)
    panel.transition_bars.setCurrentIndex(panel.transition_bars.findData(4))
    said: list[str] = []
    lane.message.connect(lambda _level, text: said.append(text))
    with qtbot.waitSignal(lane.melodyChanged, timeout=10_000):
        panel.transition(str(target))
    assert lane.melody.bars == 4
    # the default strategy is the latent path, whose middles were the most tune-like
    assert any("strategy 1 per bar" in t for t in said)
    # ends on B: the last bar is B's own, fitted to the model's pitch range, so its last note
    # and most of the others are B's
    last, want = lane.melody.bar_slice(3, 4).notes(), melody_b().bar_slice(1, 2).notes()
    same = sum(a == b for a, b in zip(last, want, strict=False))
    assert last[-1] == want[-1] and same >= len(want) // 2
    panel.mute.setChecked(True)
    panel.channel.setValue(7)
    w.save_settings()
    saved = json.loads(str(w.settings.value("melody/state")))
    assert saved["lane"]["mute"] is True and saved["lane"]["channel"] == 6
    other = lane_module.MelodyLane(None, lambda: (None, 120.0, None))
    other.restore_settings(saved)
    assert other.settings_ == lane.settings_ and other.melody == lane.melody
    other.restore_settings({"lane": {"key": "H", "bars": 3}, "events": ["x"]})  # malformed: skipped
    assert other.settings_ == lane.settings_
    other.close()


def test_a_melody_from_a_chord_clip_is_one_arpeggiated_line(melody_window, tmp_path) -> None:
    lane = melody_window.melody.lane
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    for note in (60, 64, 67):  # a C major chord for one bar
        track.append(mido.Message("note_on", note=note, velocity=80, time=0))
    for i, note in enumerate((60, 64, 67)):
        track.append(mido.Message("note_off", note=note, velocity=0, time=4 * 480 if i == 0 else 0))
    midi.tracks.append(track)
    path = tmp_path / "chord.mid"
    midi.save(path)
    lane.load_clip(path)
    notes = lane.melody.notes()
    assert [p for *_, p in notes[:3]] == [60, 64, 67] and lane.melody.bars == 2
    assert isinstance(lane.melody, Melody) and np.all(np.diff([s for s, *_ in notes[:3]]) > 0)


def test_a_preset_keeps_the_melody_lane(melody_window, monkeypatch, tmp_path) -> None:
    from PySide6.QtWidgets import QFileDialog

    from app.presets import load_preset

    w = melody_window
    panel, lane = w.melody.panel, w.melody.lane
    panel.key.setCurrentIndex(panel.key.findData("Bb"))
    panel.scale.setCurrentIndex(panel.scale.findData("dorian"))
    saved_settings, saved_melody = lane.settings_, lane.melody
    path = tmp_path / "with-melody.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    w.handlers.save_preset()
    assert load_preset(path).melody["lane"]["key"] == "Bb"
    panel.key.setCurrentIndex(panel.key.findData("E"))
    clip = tmp_path / "b.mid"
    melody_b().write_midi(clip)
    lane.load_clip(clip)
    w.handlers.load_preset()
    assert lane.settings_ == saved_settings and lane.melody == saved_melody
    assert panel.key.currentData() == "Bb" and panel.roll.notes[0][2] == lane.played().notes()[0][2] - 2
    path.write_text(path.read_text().replace('"melody": {', '"melody": 7, "x": {'))
    assert any(i.startswith("melody (not an object)") for i in load_preset(path).ignored)


def test_a_model_loaded_again_never_plays_a_draw_the_one_before_made(melody_window, qtbot) -> None:
    """Randomize decodes its next draw ahead; a checkpoint loaded again (retrained at the same
    path) must not answer the next press with the old model's draw."""
    lane = melody_window.melody.lane
    lane.model.wait_idle(30)
    qtbot.waitUntil(lambda: lane._ahead is not None, timeout=30_000)  # noqa: SLF001 - the draw ahead
    stale = lane._ahead[1]  # noqa: SLF001
    with qtbot.waitSignal(lane.modelReady, timeout=60_000):
        lane.load_model(lane.model_path)
    with qtbot.waitSignal(lane.melodyChanged, timeout=30_000):
        lane.randomize()
    assert lane.melody is not stale.melody  # a draw of the model loaded now
