"""The commands and reports that cross into and out of the clock process."""

from __future__ import annotations

import dataclasses
import pickle
import typing

import numpy as np
import pytest

from engine.audio.kit import KitMix
from engine.audio.settings import AudioSettings
from engine.music.drums import NUM_VOICES
from engine.music.melody import Melody
from engine.music.pattern import Pattern
from engine.ports import PortSpec
from engine.realtime.melody_lane import MelodyControls
from engine.realtime.messages import (
    ClockCommand,
    Close,
    Continue,
    Ping,
    ResetStats,
    SetAudio,
    SetClockSource,
    SetControls,
    SetMelody,
    SetMelodyControls,
    SetMelodyPort,
    SetPattern,
    SetPort,
    Start,
    StatusReport,
    Stop,
)
from engine.realtime.steps import Controls


def _pattern() -> Pattern:
    hits = np.zeros((16, NUM_VOICES), bool)
    hits[0::4, 0] = True
    return Pattern(hits)


COMMANDS = [SetPattern(_pattern(), "bar"), SetControls(Controls(tempo_bpm=90)), Start(), Stop(),
            Continue(), SetPort(PortSpec("out", "jack")), SetPort(None),
            SetClockSource("external", "in", "jack", True), ResetStats(), Ping(), Close(),
            SetMelody(Melody([60] + [-2] * 15), "phrase"), SetMelody(None),
            SetMelodyControls(MelodyControls(channel=2, transpose=-3)),
            SetAudio(AudioSettings(True, KitMix(volume=0.5), "jack")),
            SetMelodyPort("melody"), SetMelodyPort("synth in", virtual=False), SetMelodyPort(None)]


def test_the_examples_cover_every_command_type():
    assert {type(c) for c in COMMANDS} == set(typing.get_args(ClockCommand))


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: type(c).__name__)
def test_commands_pickle_and_are_frozen(command):
    copy = pickle.loads(pickle.dumps(command))
    assert type(copy) is type(command)
    assert repr(copy) == repr(command)
    for f in dataclasses.fields(command):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(command, f.name, None)


def test_commands_check_their_arguments_as_they_are_built():
    with pytest.raises(TypeError, match="needs a Pattern, got str"):
        SetPattern("kick snare")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="quantize must be one of"):
        SetPattern(_pattern(), "verse")
    with pytest.raises(TypeError, match="Controls"):
        SetControls({"tempo_bpm": 90})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Melody or None, got list"):
        SetMelody([60, -2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="whole bars, got 5 steps"):
        SetMelody(Melody([60, -2, -2, -1, -2]))
    with pytest.raises(ValueError, match="quantize must be one of"):
        SetMelody(None, "verse")
    with pytest.raises(TypeError, match="MelodyControls"):
        SetMelodyControls(Controls())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="transpose must be an int in -24..24"):
        MelodyControls(transpose=30)
    with pytest.raises(ValueError, match="a melody port needs a name"):
        SetMelodyPort("  ")
    with pytest.raises(TypeError, match="PortSpec or None, got str"):
        SetPort("groovefader")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'external' or 'link', got 'midi'"):
        SetClockSource("midi")


def test_status_report_pickles_whole():
    report = StatusReport(playing=True, step=7, bpm=120.0, port_state="ok", error=None,
                          port_name="groovefader", clock_source="internal", sounding=2,
                          stats={"count": 3, "p99_ms": 0.2}, forbidden_modules=(), final=False,
                          time_ns=123)
    assert pickle.loads(pickle.dumps(report)) == report
