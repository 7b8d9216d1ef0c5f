"""The melody lane's settings from a hand-edited preset or settings file: what is valid is
restored, what is not is named, and the lane (and the next start) carry on."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.melody_lane import LaneSettings, MelodyLane
from engine.music.melody import Melody
from engine.realtime.messages import SetMelody, SetMelodyControls
from tests.support.melody import melody_a


@pytest.fixture
def lane(qtbot):
    posted: list = []
    lane = MelodyLane(posted.append, lambda: (None, 120.0, None))
    lane.posted = posted
    yield lane
    lane.close()


@pytest.mark.parametrize("field, value", [("channel", True), ("octave", 1.0), ("degrees", False),
                                          ("bars", 4.0), ("temperature", True)])
def test_a_bool_or_float_is_not_a_whole_number_setting(field, value) -> None:
    with pytest.raises(ValueError, match=field):
        LaneSettings(**{field: value})


def test_malformed_fields_are_named_and_the_rest_is_restored(lane) -> None:
    skipped = lane.restore_settings({"lane": {"channel": True, "key": "G", "bars": 4.0, "octave": 1},
                                     "events": melody_a().events.tolist(), "z": [0.5, float("nan")],
                                     "pad": [0.25, True]})
    assert skipped == ["melody channel", "melody bars", "melody z", "melody pad"]
    assert lane.settings_ == LaneSettings(key="G", octave=1)
    assert lane.melody == melody_a() and lane.z is None and lane.pad != (0.25, 1.0)
    # the clock got the controls the lane shows, and the lane still takes changes
    # (with the restored tune, which they take over with)
    controls = [c.controls for c in lane.posted if getattr(c, "controls", None) is not None]
    assert controls[-1] == lane.settings_.controls()
    lane.update(key="D", channel=3)
    assert lane.posted[-1] == SetMelodyControls(LaneSettings(key="D", octave=1, channel=3).controls())
    saved = json.loads(json.dumps(lane.settings()))
    assert type(saved["lane"]["channel"]) is int and type(saved["lane"]["bars"]) is int
    # a pad point anywhere on the pad ([-1, 1]², as the melody pad maps it) comes back
    assert lane.restore_settings({"events": melody_a().events.tolist(), "pad": [-0.5, 0.75]}) == []
    assert lane.pad == (-0.5, 0.75)


@pytest.mark.parametrize("events", [[99999] * 16, [65596] * 16, [60.5] * 16, [True] * 16, "x", [60] * 5])
def test_events_out_of_range_or_not_whole_bars_are_skipped(lane, events) -> None:
    lane.restore_settings({"events": melody_a().events.tolist()})
    before = lane.melody
    sent = sum(isinstance(c, SetMelody) for c in lane.posted)
    assert lane.restore_settings({"events": events}) == ["melody events"]
    assert lane.melody == before and sum(isinstance(c, SetMelody) for c in lane.posted) == sent


def test_a_melody_never_wraps_an_event_into_range() -> None:
    with pytest.raises(ValueError, match="-2..127"):
        Melody(np.array([65596] * 16))  # 60 once cast to int16


def test_the_app_starts_from_a_settings_file_whose_lane_is_malformed(make_window, settings_path) -> None:
    from app.main import make_settings

    store = make_settings(settings_path)
    store.setValue("melody/state", json.dumps({"lane": {"channel": True, "key": "G"}}))
    store.sync()
    del store
    w = make_window(None, load=False)
    assert w.melody.lane.settings_ == LaneSettings(key="G")
    w.save_settings()
    assert json.loads(str(w.settings.value("melody/state")))["lane"]["channel"] == 0


def test_a_preset_whose_lane_is_malformed_loads_the_rest_and_says_what_it_ignored(make_window, monkeypatch,
                                                                                 tmp_path, qtbot) -> None:
    from PySide6.QtWidgets import QFileDialog

    path = tmp_path / "hand-edited.json"
    path.write_text(json.dumps({"format": "groovefader-preset", "version": 1, "tempo_bpm": 97.0,
                                "melody": {"lane": {"channel": True, "key": "G"}}}))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    w = make_window(None, load=False)
    said: list[tuple[str, str]] = []
    w.controller.message.connect(lambda level, text: said.append((level, text)))
    w.handlers.load_preset()
    assert w.melody.lane.settings_ == LaneSettings(key="G")
    assert said[-1][0] == "warning" and "ignored: melody channel" in said[-1][1]
    w.melody.lane.update(key="D")  # the lane still takes changes
    assert w.melody.lane.settings_.key == "D"


def test_the_drums_channel_is_refused_while_the_melody_shares_the_drums_port(lane) -> None:
    """Channel 10 on the drums' port: the built-in kit (and a DAW's drum track on that port)
    played the melody's notes as drums. Refused in one line, from either side (the channel
    chosen, or the lane's own port cleared); on a port of its own the channel is the melody's."""
    with pytest.raises(ValueError, match=r"^melody lane: channel 10 is the drums' channel"):
        lane.update(channel=9)
    assert lane.settings_ == LaneSettings() and lane.posted == []
    lane.update(port="tune")
    lane.update(channel=9)
    assert lane.posted[-1] == SetMelodyControls(LaneSettings(channel=9, port="tune").controls())
    with pytest.raises(ValueError, match="channel 10 is the drums' channel"):
        lane.update(port="")
    assert lane.settings_ == LaneSettings(channel=9, port="tune")


def test_a_saved_lane_on_channel_10_of_its_own_port_is_restored(lane) -> None:
    """The port is restored before the channel, or channel 10 would meet the drums' port."""
    assert lane.restore_settings({"lane": {"channel": 9, "key": "G", "port": "tune"}}) == []
    assert lane.settings_ == LaneSettings(channel=9, key="G", port="tune")


def test_the_channel_box_steps_over_the_drums_channel_and_refuses_it_typed(lane, qtbot) -> None:
    """On the drums' port the arrows go 9 -> 11 -> 9; a typed 10 goes back with a warning
    (never an exception out of the slot: the app's handler would stop playback)."""
    from app.melody_panel import MelodyPanel

    panel = MelodyPanel(lane)
    qtbot.addWidget(panel)
    messages: list[tuple[str, str]] = []
    lane.message.connect(lambda level, text: messages.append((level, text)))
    panel.channel.setValue(9)
    panel.channel.stepBy(1)
    assert (panel.channel.value(), lane.settings_.channel) == (11, 10)
    panel.channel.stepBy(-1)
    assert (panel.channel.value(), lane.settings_.channel) == (9, 8)
    panel.channel.setValue(10)  # as typed
    assert (panel.channel.value(), lane.settings_.channel) == (9, 8)
    assert messages and messages[-1][0] == "warning" and "channel 10 is the drums'" in messages[-1][1]
    panel.port.setText("tune")
    panel.port.editingFinished.emit()
    panel.channel.stepBy(1)  # a port of its own: 10 is the melody's
    assert (panel.channel.value(), lane.settings_.channel) == (10, 9)
    panel.port.setText("")
    panel.port.editingFinished.emit()
    assert panel.port.text() == "tune" and lane.settings_.port == "tune"
    assert "channel 10 is the drums'" in messages[-1][1]
