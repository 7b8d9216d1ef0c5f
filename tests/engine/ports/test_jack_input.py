"""MIDI input on JACK through JACK-Client, against a real JACK server: what another JACK
client sends arrives (filtered as rtmidi filters), by a virtual port or by listening to an
existing one, and the failures are one line."""

from __future__ import annotations

import time

import pytest

from engine.errors import PortError
from engine.ports import JackMidiInput, PortSpec, RtMidiOutput, open_input

pytestmark = pytest.mark.jack


def _wait(received: list, count: int, timeout_s: float = 5.0) -> None:
    end = time.monotonic() + timeout_s
    while len(received) < count and time.monotonic() < end:
        time.sleep(0.01)


def test_jack_input_opens_through_jack_client(jack_server, port_name):
    inp = open_input(port_name, "jack", lambda data, t: None, virtual=True)
    try:
        assert isinstance(inp, JackMidiInput)
        assert jack_server.wait_port(f"groovefader-in:{port_name}", 5)
    finally:
        inp.close()
        inp.close()  # idempotent


def test_a_virtual_jack_input_hears_another_client_and_filters_as_rtmidi(jack_server, port_name):
    received: list[tuple[tuple[int, ...], int]] = []
    inp = JackMidiInput(port_name, lambda data, t: received.append((data, t)), virtual=True,
                        client_name=f"{port_name}-in")
    sender = RtMidiOutput(PortSpec(f"{port_name}-in:{port_name}", "jack", virtual=False))
    try:
        assert jack_server.wait_port(f"{port_name}-in:{port_name}", 5)
        time.sleep(0.1)
        before = time.perf_counter_ns()
        for message in ((0xFE,), (0xF8,), (0xB2, 21, 64), (0xFA,)):  # active sensing is dropped
            sender.send(message)
        _wait(received, 3)
        time.sleep(0.05)
    finally:
        sender.close()
        inp.close()
    assert [d for d, _ in received] == [(0xF8,), (0xB2, 21, 64), (0xFA,)]
    assert all(t >= before for _, t in received)


def test_a_jack_input_listens_to_an_existing_output_by_a_part_of_its_name(jack_server, port_name):
    received: list[tuple[int, ...]] = []
    out = RtMidiOutput(PortSpec(port_name, "jack"))
    try:
        assert jack_server.wait_port(f"{port_name}:{port_name}", 5)
        inp = JackMidiInput(port_name, lambda data, t: received.append(data), client_name=f"{port_name}-in")
        try:
            assert inp.port_name == f"{port_name}:{port_name}"
            assert f"{port_name}-in:in" in jack_server.connections()[f"{port_name}:{port_name}"]
            out.send((0xB0, 7, 100))
            _wait(received, 1)
        finally:
            inp.close()
    finally:
        out.close()
    assert received == [(0xB0, 7, 100)]


def test_a_missing_jack_port_is_one_line_naming_what_there_is(jack_server, port_name):
    with pytest.raises(PortError, match=r"'no-such-port' does not exist on jack; available"):
        JackMidiInput("no-such-port", lambda data, t: None, client_name=f"{port_name}-in")
    assert f"{port_name}-in:in" not in jack_server.ports()  # the client went with the error


def test_a_jack_input_without_a_server_is_one_clear_error(monkeypatch):
    pytest.importorskip("jack")
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "groovefader-no-such-server")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    with pytest.raises(PortError, match="is a JACK server running"):
        open_input("anything", "jack", lambda data, t: None)
