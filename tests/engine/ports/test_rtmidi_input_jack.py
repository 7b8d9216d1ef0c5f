"""The rtmidi input (ALSA, CoreMIDI and Windows' backend; here rtmidi's JACK API, on a real
JACK server): an existing port that goes away and comes back is listened to again."""

from __future__ import annotations

import time

import pytest

from engine.ports import PortSpec, RtMidiOutput
from engine.ports.rtmidi_backend import MidiInput

pytestmark = pytest.mark.jack


def _until(condition, timeout_s: float = 10.0) -> bool:
    end = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < end:
        time.sleep(0.02)
    return condition()


def test_an_rtmidi_input_hears_a_sender_that_quit_and_came_back(jack_server, port_name):
    received: list[tuple[int, ...]] = []
    sender = RtMidiOutput(PortSpec(port_name, "jack"))
    assert jack_server.wait_port(f"{port_name}:{port_name}", 5)
    inp = MidiInput(port_name, "jack", lambda data, t: received.append(data), client_name=f"{port_name}-in")
    try:
        listened = inp.port_name
        sender.send((0xB0, 7, 100))
        assert _until(lambda: received == [(0xB0, 7, 100)]), received
        sender.close()  # the sender quits ...
        assert _until(lambda: f"{port_name}:{port_name}" not in jack_server.ports())
        time.sleep(0.6)  # ... long enough for the input to see it gone
        sender = RtMidiOutput(PortSpec(port_name, "jack"))  # ... and comes back under its name
        assert _until(lambda: inp.reconnects == 1), "the input never reopened onto the port"
        assert inp.port_name == listened
        sender.send((0xB0, 7, 50))
        links = {k: v for k, v in jack_server.connections().items() if "system" not in k}
        assert _until(lambda: len(received) == 2), (received, links)
        assert received[-1] == (0xB0, 7, 50)
        time.sleep(1.2)  # a port that stays is never reopened
        assert inp.reconnects == 1
    finally:
        inp.close()
        inp.close()  # idempotent, the watching thread ended
        sender.close()


def test_a_virtual_rtmidi_input_watches_nothing(jack_server, port_name):
    inp = MidiInput(port_name, "jack", lambda data, t: None, virtual=True, client_name=f"{port_name}-in")
    try:
        time.sleep(0.7)
        assert inp.reconnects == 0
    finally:
        inp.close()
