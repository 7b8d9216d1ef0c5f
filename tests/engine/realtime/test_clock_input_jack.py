"""The clock's MIDI input on JACK while the sample-accurate output plays, at a real JACK
server: switching the clock source never stalls the server's cycles, so every note still
ends at the receiver and the port plays on."""

from __future__ import annotations

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
    after = [(ns - mark) / 1e6 for _f, m, ns in events if ns > mark and m[0] == 0x99]
    # the port plays on (if not: what the clock said, for the rare run where it did not)
    assert len(after) >= 4, (f"{len(after)} note-ons after the last play, at {after} ms; "
                             f"{len(events)} events in all; last status {status}")

