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
