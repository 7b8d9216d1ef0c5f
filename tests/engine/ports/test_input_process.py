"""A MIDI input in a process of its own, against a real JACK server: what another JACK
client sends arrives here, a port that is not there is one line, and closing ends the
process."""

from __future__ import annotations

import time

import pytest

from engine.errors import PortError
from engine.ports import InputProcess, PortSpec, RtMidiOutput

pytestmark = pytest.mark.jack


def test_a_cc_sent_by_another_jack_client_reaches_the_callback(jack_server, port_name):
    received: list[tuple[tuple[int, ...], int]] = []
    inp = InputProcess(port_name, "jack", lambda data, t: received.append((data, t)), virtual=True)
    try:
        assert inp.alive() and inp.port_name == port_name
        assert jack_server.wait_port(f"groovefader-in:{port_name}", 5)
        sender = RtMidiOutput(PortSpec(f"groovefader-in:{port_name}", "jack", virtual=False))
        try:
            time.sleep(0.1)
            before = time.perf_counter_ns()
            sender.send((0xB2, 21, 64))
            sender.send((0xB2, 21, 65))
            end = time.monotonic() + 5
            while len(received) < 2 and time.monotonic() < end:
                time.sleep(0.01)
        finally:
            sender.close()
    finally:
        inp.close()
        inp.close()  # idempotent
    assert [d for d, _ in received] == [(0xB2, 21, 64), (0xB2, 21, 65)]
    assert all(t >= before for _, t in received)  # the same clock in both processes
    assert not inp.alive()
    assert f"groovefader-in:{port_name}" not in jack_server.ports()


def test_a_missing_port_is_the_inputs_own_line(jack_server):
    with pytest.raises(PortError, match=r"'no-such-port' does not exist on jack; available"):
        InputProcess("no-such-port", "jack", lambda data, t: None)


def test_a_sender_that_quits_and_comes_back_is_listened_to_again(jack_server, port_name):
    """The MIDI-learn input listens to a controller's port; its program quits and comes back
    under the same name (a DAW or a controller bridge restarted): its CCs reach the callback
    again, as the clock input's do."""
    received: list[tuple[int, ...]] = []
    first = RtMidiOutput(PortSpec(port_name, "jack"))
    assert jack_server.wait_port(f"{port_name}:{port_name}", 5)
    inp = InputProcess(f"{port_name}:{port_name}", "jack", lambda data, t: received.append(data))
    second = None
    try:
        first.send((0xB0, 7, 1))
        _wait_for(received, 1)
        first.close()
        second = RtMidiOutput(PortSpec(port_name, "jack"))  # back, under the same name
        end = time.monotonic() + 5
        while "groovefader-in:in" not in jack_server.connections().get(f"{port_name}:{port_name}", []) \
                and time.monotonic() < end:
            time.sleep(0.05)
        second.send((0xB0, 7, 2))
        _wait_for(received, 2)
    finally:
        if second is not None:
            second.close()
        inp.close()
    assert received == [(0xB0, 7, 1), (0xB0, 7, 2)]


def _wait_for(received: list, count: int, timeout_s: float = 5.0) -> None:
    end = time.monotonic() + timeout_s
    while len(received) < count and time.monotonic() < end:
        time.sleep(0.01)
