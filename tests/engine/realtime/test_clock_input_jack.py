"""The clock's MIDI input on JACK while the sample-accurate output plays, at a real JACK
server: switching the clock source never stalls the server's cycles, so every note still
ends at the receiver and the port plays on."""

from __future__ import annotations

import contextlib
import os
import time

import pytest

from engine.realtime.sequencer import Sequencer
from engine.realtime.steps import Controls
from tests.engine.realtime.test_clock_port_change import every_step
from tests.support.jack_server import check_note_pairs

pytestmark = pytest.mark.jack


def test_switching_to_an_external_clock_and_back_while_the_sample_accurate_output_plays(
        jack_server, recorder_factory, port_name):
    seq = Sequencer(port_name=port_name, api="jack", virtual=True, sample_accurate=True,
                    controls=Controls(tempo_bpm=300, groove=0.0, gate_steps=3.0))
    try:
        assert jack_server.wait_port(f"{port_name}:{port_name}", 10)
        rec = recorder_factory(jack_server, f"{port_name}:{port_name}")
        assert rec.wait_connected()
        seq.set_pattern(every_step(), "step")
        for _ in range(3):
            seq.play()
            time.sleep(0.4)
            # no master on that port: the input opens, the loop stops and waits for one
            seq.set_clock_source("external", f"{port_name}-clock", "jack", virtual=True)
            assert seq.sync().clock_source == "external"
            assert jack_server.wait_port(f"groovefader-in:{port_name}-clock", 5)
            seq.set_clock_source("internal")
            assert seq.sync().clock_source == "internal"
        mark = time.perf_counter_ns()
        seq.play()
        time.sleep(0.4)
        seq.stop()
        time.sleep(0.3)
        status = seq.sync()
        assert status.port_state == "ok", status.error
    finally:
        seq.close()
    events = rec.stop()
    messages = [m for _f, m, _ns in events]
    assert check_note_pairs(messages) == []  # none left to CC 123, none stuck
    assert sum(1 for _f, m, ns in events if ns > mark and m[0] == 0x99) >= 4  # the port plays on


def _children(pid: int) -> list[str]:
    """Command lines of ``pid``'s child processes (Linux /proc)."""
    kids = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            kids += f.read().split()
    lines = []
    for kid in kids:
        with contextlib.suppress(OSError), open(f"/proc/{kid}/cmdline", "rb") as f:
            lines.append(f.read().replace(b"\0", b" ").decode())
    return lines


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads Linux's /proc")
def test_on_jack_the_external_clock_is_heard_in_a_process_of_its_own(jack_server, port_name):
    """JACK calls an input's Python callback every period: in the clock process it would wait
    for the clock loop's interpreter lock, and a synchronous server for it. The clock still
    follows a master through it."""
    from engine.ports import PortSpec, RtMidiOutput

    seq = Sequencer(port_name=port_name, api="jack", virtual=True, controls=Controls(tempo_bpm=120))
    try:
        seq.set_clock_source("external", f"{port_name}-clock", "jack", virtual=True)
        assert seq.sync().clock_source == "external"
        assert jack_server.wait_port(f"groovefader-in:{port_name}-clock", 10)
        assert any("engine.ports.input_child" in c for c in _children(seq.pid))
        master = RtMidiOutput(PortSpec(f"groovefader-in:{port_name}-clock", "jack", virtual=False))
        try:
            master.send((0xFA,))  # Start, then 24 pulses a quarter at 150 BPM
            for _ in range(48):
                master.send((0xF8,))
                time.sleep(60 / 150 / 24)
            assert seq.wait_status(lambda s: s.playing and abs(s.bpm - 150) < 3, 5), seq.status()
        finally:
            master.close()
        seq.set_clock_source("internal")
        assert seq.sync().clock_source == "internal"
        end = time.monotonic() + 5
        while any("engine.ports.input_child" in c for c in _children(seq.pid)) and time.monotonic() < end:
            time.sleep(0.05)
        assert not any("engine.ports.input_child" in c for c in _children(seq.pid))
    finally:
        seq.close()
