"""MIDI ports: spec validation, clear errors, the base class (validation, lock, close,
panic), the recording fake, and real JACK ports."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence

import pytest

from engine.errors import PortError
from engine.ports import (
    BaseOutput,
    JackOutput,
    MidiOutput,
    PortSpec,
    RtMidiOutput,
    check_message,
    list_ports,
    open_input,
)
from engine.ports.fake import RecordingOutput


def test_spec_rejects_unknown_api():
    with pytest.raises(PortError, match="unknown MIDI API 'oss'"):
        PortSpec(api="oss")


def test_sample_accurate_needs_jack():
    with pytest.raises(PortError, match="needs JACK"):
        PortSpec(api="alsa", sample_accurate=True)


def test_recording_output_is_a_midi_output_and_records():
    out = RecordingOutput()
    assert isinstance(out, MidiOutput)
    out.send((0x99, 36, 100), 123)
    out.panic()
    assert [m for _, _, m in out.sent] == [(0x99, 36, 100), (0xB9, 123, 0)]
    out.is_alive = False
    with pytest.raises(PortError):
        out.send((0x89, 36, 0))


@pytest.mark.parametrize("data", [(0x99, 36, 100), (0x89, 36, 0), (0xB9, 123, 0), (0xC9, 5), (0xF8,),
                                  (0xFA,), (0xFC,), (0xF2, 0x10, 0x01), b"\x99\x24\x64", [0x99, 36, 0]])
def test_check_message_accepts_short_messages(data):
    check_message(data)


@pytest.mark.parametrize("data", [(), (36, 100), (0x99, 36), (0x99, 36, 100, 1), (0x99, 36, 128),
                                  (0x99, -1, 0), (0xC9, 5, 0), (0xF8, 0), (0xF0, 1, 0xF7), (0xF4,),
                                  (0x100,)])
def test_check_message_rejects_malformed_messages(data):
    with pytest.raises(ValueError, match="MIDI"):
        check_message(data)


def test_base_output_validates_before_the_backend_sees_a_message():
    out = RecordingOutput()
    with pytest.raises(ValueError):
        out.send((0x99, 36, 200))
    assert out.sent == []


def test_closed_output_refuses_sends_and_panics_quietly():
    out = RecordingOutput()
    out.close()
    assert out.closed and not out.alive()
    with pytest.raises(PortError, match="'recording' is closed"):
        out.send((0x99, 36, 100))
    out.panic()  # nothing to release on a closed port, and no error
    out.close()  # idempotent
    assert out.sent == []


def test_panic_is_all_notes_off_on_each_channel():
    out = RecordingOutput()
    out.panic(channels=(9, 0))
    assert [m for _, _, m in out.sent] == [(0xB9, 123, 0), (0xB0, 123, 0)]


def test_every_backend_takes_send_panic_and_close_from_the_base_class():
    for cls in (RtMidiOutput, JackOutput, RecordingOutput):
        assert issubclass(cls, BaseOutput)
        assert not {"send", "panic", "close", "alive"} & set(vars(cls)), cls.__name__


class _SlowOutput(BaseOutput):
    """Records how many sends were inside the backend at once."""

    def __init__(self) -> None:
        super().__init__("slow")
        self.inside = 0
        self.most_inside = 0
        self.count = 0

    def _send(self, data: Sequence[int], deadline_ns: int | None) -> None:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        time.sleep(0.0002)
        self.count += 1
        self.inside -= 1


def test_sends_from_several_threads_never_overlap_in_the_backend():
    out = _SlowOutput()

    def hammer() -> None:
        for _ in range(50):
            out.send((0x99, 36, 100))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out.count == 200 and out.most_inside == 1


@pytest.mark.skipif(os.path.exists("/dev/snd/seq"), reason="this machine has an ALSA sequencer")
def test_missing_alsa_is_one_clear_line():
    with pytest.raises(PortError) as info:
        RtMidiOutput(PortSpec(api="alsa"))
    message = str(info.value)
    assert "\n" not in message and "alsa" in message and "/dev/snd/seq" in message


def test_winmm_elsewhere_is_a_clear_error():
    with pytest.raises(PortError, match="winmm|Windows"):
        RtMidiOutput(PortSpec(api="winmm"))


@pytest.mark.jack
def test_virtual_port_appears_and_existing_port_is_found(jack_server, port_name):
    out = RtMidiOutput(PortSpec(port_name, "jack"))
    try:
        assert jack_server.wait_port(f"{port_name}:{port_name}", 5)
        assert out.alive()
        # the virtual port is an output others read from: it is listed as an input of ours
        assert any(port_name in name for name in list_ports("jack")["inputs"])
    finally:
        out.close()
    with pytest.raises(PortError, match="does not exist on jack; available"):
        RtMidiOutput(PortSpec("no-such-port", "jack", virtual=False))


@pytest.mark.jack
def test_input_callback_receives_what_an_output_sends(jack_server, port_name):
    out = RtMidiOutput(PortSpec(port_name, "jack"))
    received = []
    inp = open_input(f"{port_name}:{port_name}", "jack", lambda data, t: received.append((data, t)))
    try:
        time.sleep(0.2)
        before = time.perf_counter_ns()
        out.send((0xF8,))
        out.send((0x99, 38, 90))
        end = time.monotonic() + 5
        while len(received) < 2 and time.monotonic() < end:
            time.sleep(0.01)
    finally:
        inp.close()
        out.close()
    assert [d for d, _ in received] == [(0xF8,), (0x99, 38, 90)]  # clock is not filtered out
    assert all(t >= before for _, t in received)


@pytest.mark.jack
@pytest.mark.parametrize("sample_accurate", [False, True], ids=["rtmidi", "sample-accurate"])
def test_last_messages_before_close_reach_the_reader(jack_server, recorder_factory, sample_accurate):
    """close() waits for the JACK cycles that carry what was just sent (the Ctrl-C note-offs).

    Without it, rtmidi's ringbuffer was left unread by a port unregistered first: on a loaded
    machine 24 of 99 note-offs sent right before close never arrived.
    """
    from engine.ports import open_output

    rec = recorder_factory(jack_server, None)
    trials = 6
    for i in range(trials):
        out = open_output(PortSpec(rec.port, "jack", virtual=False, sample_accurate=sample_accurate))
        assert rec.wait_connected(5)
        out.send((0x99, 40 + i, 100))
        out.send((0x89, 40 + i, 0))
        out.send((0xB9, 123, 0))
        out.close()
    time.sleep(0.2)
    msgs = [e[1] for e in rec.stop()]
    assert [m for m in msgs if m[0] == 0x89] == [(0x89, 40 + i, 0) for i in range(trials)]
    assert msgs.count((0xB9, 123, 0)) >= trials


@pytest.mark.jack
def test_jack_listing_names_the_ports_as_rtmidi_does(jack_server, port_name):
    """Listed through JACK-Client (which lets go of the interpreter lock while JACK answers),
    the names are rtmidi's, so a listed port opens by its name."""
    from engine.ports.rtmidi_backend import _open_rtmidi

    out = RtMidiOutput(PortSpec(port_name, "jack"))
    try:
        assert jack_server.wait_port(f"{port_name}:{port_name}", 5)
        listed = list_ports("jack")
        probe_out, probe_in = _open_rtmidi("out", "jack", "probe"), _open_rtmidi("in", "jack", "probe")
        try:
            assert sorted(listed["outputs"]) == sorted(probe_out.get_ports())
            assert sorted(listed["inputs"]) == sorted(probe_in.get_ports())
        finally:
            probe_out.delete()
            probe_in.delete()
        inp = open_input(next(n for n in listed["inputs"] if port_name in n), "jack", lambda data, t: None)
        inp.close()
    finally:
        out.close()


def test_listing_jack_without_a_server_is_one_clear_error(monkeypatch):
    pytest.importorskip("jack")
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "groovefader-no-such-server")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    with pytest.raises(PortError, match="is a JACK server running"):
        list_ports("jack")


def test_own_inputs_are_told_by_their_client():
    from engine.ports.base import is_own_input

    assert is_own_input("groovefader-in:in") and is_own_input("groovefader-in-01:groovefader-in-clock")
    assert is_own_input("groovefader-in:in 129:0")  # ALSA's naming through rtmidi
    assert not is_own_input("groovefader:groovefader")  # our output: an input elsewhere lists it
    assert not is_own_input("groovefader-input-synth:in") and not is_own_input("Surge XT:in")


@pytest.mark.jack
def test_groovefaders_own_inputs_are_not_offered_as_outputs(jack_server, monkeypatch):
    """Sending the drums to the app's own MIDI-learn or clock input would feed it its own notes
    and clock: the outputs listed leave them out (JACK-Client's listing and rtmidi's alike),
    while another program's input stays."""
    import jack

    from engine.ports import rtmidi_backend

    learn = open_input("learn", "jack", lambda data, t: None, virtual=True)
    clock = open_input("clock", "jack", lambda data, t: None, virtual=True)  # a second client
    synth = jack.Client("synth", no_start_server=True)
    synth.midi_inports.register("in")
    synth.activate()
    try:
        assert jack_server.wait_port("synth:in", 5)
        raw = rtmidi_backend._open_rtmidi("out", "jack", "probe")
        try:
            ours = [n for n in raw.get_ports() if n.startswith("groovefader-in")]
        finally:
            raw.delete()
        assert len(ours) == 2  # both exist and rtmidi would list them
        assert "synth:in" in list_ports("jack")["outputs"]
        assert not set(ours) & set(list_ports("jack")["outputs"])

        def no_jack_client() -> dict:
            raise ImportError("JACK-Client")

        monkeypatch.setattr(rtmidi_backend, "_list_jack_ports", no_jack_client)  # rtmidi lists
        listed = list_ports("jack")["outputs"]
        assert "synth:in" in listed and not set(ours) & set(listed)
    finally:
        synth.close()
        clock.close()
        learn.close()
