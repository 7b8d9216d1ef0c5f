"""The melody lane's tune keeps its place in the model through a preset, a restart and a
transition: Variation, the pad and Bars go on from the tune that plays."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app import melody_lane as lane_module
from tests.support.melody import memorised_checkpoint

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def melody_ckpt(tmp_path_factory) -> Path:
    return memorised_checkpoint(str(tmp_path_factory.getbasetemp() / "melody"))


def _melody_window(make_window, qtbot):
    w = make_window(None, load=False)
    with qtbot.waitSignal(w.melody.lane.melodyChanged, timeout=60_000):
        w.controller.load_model(Path(w.settings.fileName()).parent / "no-drum-model.pt")
    return w


@pytest.fixture
def melody_window(make_window, melody_ckpt, monkeypatch, qtbot):
    monkeypatch.setattr(lane_module, "default_melody_checkpoint", lambda: melody_ckpt)
    return _melody_window(make_window, qtbot)


def _four_bars(w, qtbot) -> None:
    panel, lane = w.melody.panel, w.melody.lane
    with qtbot.waitSignal(lane.melodyChanged, timeout=10_000):
        panel.bars.setCurrentIndex(panel.bars.findData(4))
    assert lane.z is not None and lane.z.shape[0] == 2


def test_a_preset_keeps_the_tunes_codes_and_variation_goes_on_from_it(melody_window, monkeypatch, qtbot,
                                                                       tmp_path) -> None:
    from PySide6.QtWidgets import QFileDialog

    w = melody_window
    panel, lane = w.melody.panel, w.melody.lane
    _four_bars(w, qtbot)
    z = lane.z.copy()
    path = tmp_path / "p.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    said: list[str] = []
    w.controller.message.connect(lambda _level, text: said.append(text))
    w.handlers.save_preset()
    w.handlers.load_preset()
    assert not any("melody z" in text for text in said), said
    assert lane.z is not None and np.allclose(lane.z, z)
    said.clear()
    with qtbot.waitSignal(lane.melodyChanged, timeout=10_000):
        panel.variation_button.click()
    assert not any("Randomize first" in text for text in said) and lane.melody.bars == 4


def test_a_restart_keeps_the_tunes_codes_and_its_place_on_the_pad(make_window, melody_ckpt, monkeypatch,
                                                                   qtbot) -> None:
    monkeypatch.setattr(lane_module, "default_melody_checkpoint", lambda: melody_ckpt)
    w = _melody_window(make_window, qtbot)
    _four_bars(w, qtbot)
    lane = w.melody.lane
    z, pad, melody = lane.z.copy(), lane.pad, lane.melody
    w.save_settings()
    assert len(json.loads(str(w.settings.value("melody/state")))["z"]) == 2
    w.close()
    again = make_window(None, load=False).melody.lane
    assert again.melody == melody and again.z is not None and np.allclose(again.z, z)
    assert again.pad == pad


def test_a_transition_sets_bars_to_its_length_and_bars_and_variation_go_on_from_it(melody_window,
                                                                                    qtbot) -> None:
    panel, lane = melody_window.melody.panel, melody_window.melody.lane
    said: list[str] = []
    lane.message.connect(lambda _level, text: said.append(text))
    panel.transition_bars.setCurrentIndex(panel.transition_bars.findData(8))
    with qtbot.waitSignal(lane.melodyChanged, timeout=10_000):
        panel.transition_new.click()
    played = lane.melody
    assert played.bars == 8 and panel.bars.currentData() == 8 and lane.settings_.bars == 8
    panel.bars.setCurrentIndex(panel.bars.findData(4))  # cut to its first 4 bars, as a clip is
    assert lane.melody == played.bar_slice(0, 4) and panel.roll.notes == lane.played().notes()
    panel.bars.setCurrentIndex(panel.bars.findData(8))
    assert lane.melody == played
    lane.model.wait_idle(30)
    qtbot.waitUntil(lambda: lane.z is not None, timeout=10_000)  # placed in the model
    with qtbot.waitSignal(lane.melodyChanged, timeout=10_000):
        panel.variation_button.click()
    assert not any("Randomize first" in text for text in said)


def test_a_clip_or_a_presets_tune_brings_its_key_with_it_not_to_the_tune_before(qtbot, tmp_path) -> None:
    """The lane's key changes as a clip in G loads, but the tune that plays until the clip takes
    over (the next bar, or phrase) stays in its own key: the key goes to the clock with the clip."""
    from engine.realtime.messages import SetMelody, SetMelodyControls
    from tests.support.melody import melody_a, melody_b

    posted: list[object] = []
    lane = lane_module.MelodyLane(posted.append, lambda: (None, 120.0, None))
    try:
        lane.restore_settings({"lane": {"key": "C"}, "events": melody_a().events.tolist()})
        posted.clear()
        clip = tmp_path / "in_g.mid"
        melody_b().transpose(7).write_midi(clip)
        lane.load_clip(clip)
        qtbot.waitUntil(lambda: lane.settings_.key == "G", timeout=5_000)
        assert not any(isinstance(c, SetMelodyControls) for c in posted), posted
        sent = [c for c in posted if isinstance(c, SetMelody)]
        assert sent[-1].melody == lane.played() and sent[-1].controls == lane.settings_.controls()
        shift = sent[-1].controls.shift  # as written: in G
        in_g = [p for *_, p in melody_b().transpose(7).notes()]
        assert [p + shift for *_, p in sent[-1].melody.notes()] == in_g
        posted.clear()
        lane.restore_settings({"lane": {"key": "Eb", "channel": 4}, "events": melody_a().events.tolist()})
        assert not any(isinstance(c, SetMelodyControls) for c in posted), posted
        assert posted[-1].melody == melody_a() and posted[-1].controls == lane.settings_.controls()
        posted.clear()
        lane.update(octave=1)  # a setting of the musician's reaches the tune that plays at once
        assert posted == [SetMelodyControls(lane.settings_.controls())]
    finally:
        lane.close()


def test_a_preset_with_a_tune_and_another_length_starts_no_decode_of_the_tune_before(melody_window,
                                                                                      qtbot) -> None:
    """Restoring a preset's tune with its own length and scale: the lane plays that tune, and
    neither decodes the tune before at the new length nor sends it re-scaled first."""
    from engine.realtime.messages import SetMelody
    from tests.support.melody import melody_a

    w = melody_window
    lane = w.melody.lane
    assert lane.z is not None and lane.settings_.bars == 2  # the model's tune plays
    jobs: list[str] = []
    call = lane.model.call
    lane.model.call = lambda kind, job, done: (jobs.append(kind), call(kind, job, done))[1]
    sent: list = []
    post = lane._post
    lane._post = lambda message: (sent.append(message), post(message))[1]
    tune = melody_a()
    assert lane.restore_settings({"lane": {"bars": 4, "scale": "dorian"},
                                  "events": tune.events.tolist()}) == []
    qtbot.wait(300)
    assert "decode" not in jobs, jobs
    melodies = [m.melody for m in sent if isinstance(m, SetMelody)]
    assert len(melodies) == 1 and lane.melody == tune and lane.settings_.bars == 4
