"""The rtmidi input's watch for a port that went away, on the port lists ALSA and Windows'
backend give (rtmidi's MidiIn stood in for: no sound system needed)."""

from __future__ import annotations

import threading
import time

import pytest

from engine.ports import rtmidi_backend
from engine.ports.rtmidi_backend import MidiInput

THROUGH = "Midi Through:Midi Through Port-0 14:0"
DAW = "Bitwig Studio:Bitwig Out 129:0"


class FakeMidiIn:
    """What MidiInput calls on rtmidi's MidiIn; ``ports`` is what the system lists now."""

    def __init__(self, ports: list[str]) -> None:
        self.ports, self.opened, self.callback = list(ports), [], None

    def ignore_types(self, **_kwargs) -> None:
        pass

    def get_ports(self) -> list[str]:
        return list(self.ports)

    def open_port(self, index: int) -> None:
        self.opened.append(self.ports[index])

    def open_virtual_port(self, name: str) -> None:
        self.opened.append(name)

    def set_callback(self, callback) -> None:
        self.callback = callback

    def cancel_callback(self) -> None:
        self.callback = None

    def close_port(self) -> None:
        pass

    def delete(self) -> None:
        pass


def _until(condition, timeout_s: float = 3.0) -> bool:
    end = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < end:
        time.sleep(0.005)
    return condition()


def _watchers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "groovefader-input-reconnect"]


@pytest.fixture
def system(monkeypatch):
    """``system(ports)``: the port list the next MidiInput opens on; it returns that MidiIn."""
    made: list[FakeMidiIn] = []
    monkeypatch.setattr(rtmidi_backend, "RECONNECT_S", 0.01)
    monkeypatch.setattr(rtmidi_backend, "_open_rtmidi", lambda kind, api, name: made[-1])

    def with_ports(ports: list[str]) -> FakeMidiIn:
        made.append(FakeMidiIn(ports))
        return made[-1]

    return with_ports


@pytest.mark.parametrize("api, before, after, back", [
    # ALSA: a program that quit and came back is a new client, its port numbered anew
    ("alsa", [THROUGH, DAW], [THROUGH, "Bitwig Studio:Bitwig Out 131:0"], "Bitwig Studio:Bitwig Out 131:0"),
    # WinMM: a device index after the name; the devices are renumbered as they come and go
    ("winmm", ["nanoKEY2 0", "Launchpad Mini 1"], ["Launchpad Mini 0", "nanoKEY2 1"], "Launchpad Mini 0"),
])
def test_a_port_asked_for_by_its_listed_name_is_found_again_under_a_new_number(system, api, before, after,
                                                                                back) -> None:
    midi_in = system(before)
    inp = MidiInput(before[1], api, lambda data, t: None)
    try:
        assert midi_in.opened == [before[1]]
        midi_in.ports = before[:1]  # it went away ...
        time.sleep(0.05)
        midi_in.ports = after  # ... and came back
        assert _until(lambda: inp.reconnects == 1), "the input never reopened onto the port"
        assert midi_in.opened == [before[1], back] and inp.port_name == back
        assert midi_in.callback is not None
    finally:
        inp.close()


def test_only_the_same_name_under_another_number_is_taken_for_it(system) -> None:
    midi_in = system([THROUGH, DAW])
    inp = MidiInput(DAW, "alsa", lambda data, t: None)
    try:
        midi_in.ports = [THROUGH, "Bitwig Studio:Bitwig Out 2 131:0"]  # another port of the program
        time.sleep(0.1)
        assert inp.reconnects == 0 and midi_in.opened == [DAW]
        # the same name twice: which one is it? neither, until one goes
        midi_in.ports = [THROUGH, "Bitwig Studio:Bitwig Out 131:0", "Bitwig Studio:Bitwig Out 132:0"]
        time.sleep(0.1)
        assert inp.reconnects == 0
        midi_in.ports = [THROUGH, "Bitwig Studio:Bitwig Out 132:0"]
        assert _until(lambda: inp.reconnects == 1) and inp.port_name == "Bitwig Studio:Bitwig Out 132:0"
    finally:
        inp.close()


def test_a_port_that_never_comes_back_is_looked_for_until_close_without_an_error(system, monkeypatch) -> None:
    errors: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    midi_in = system([THROUGH, DAW])
    before = set(_watchers())
    inp = MidiInput(DAW, "alsa", lambda data, t: None)
    watcher = (set(_watchers()) - before).pop()
    midi_in.ports = [THROUGH]
    time.sleep(0.1)
    inp.close()
    watcher.join(1.0)
    assert not watcher.is_alive() and errors == [] and inp.reconnects == 0


def test_a_virtual_input_starts_no_watch(system) -> None:
    system([THROUGH])
    before = set(_watchers())
    inp = MidiInput("groovefader-clock-in", "alsa", lambda data, t: None, virtual=True)
    try:
        assert set(_watchers()) == before
    finally:
        inp.close()
