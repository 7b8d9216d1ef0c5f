"""Opening a port: the one place that chooses between the backends."""

from __future__ import annotations

from engine.ports.base import BaseOutput, PortSpec, default_api
from engine.ports.jack_backend import JackOutput
from engine.ports.jack_input import JackMidiInput
from engine.ports.rtmidi_backend import MidiCallback, MidiInput, RtMidiOutput


def open_output(spec: PortSpec) -> BaseOutput:
    """Open the output ``spec`` describes: JACK sample-accurate, else rtmidi.

    Raises:
        PortError: the backend is missing or the port cannot be opened (one line).
    """
    if spec.sample_accurate:
        return JackOutput(spec)
    return RtMidiOutput(spec)


def open_input(name: str, api: str | None, callback: MidiCallback,
               virtual: bool = False) -> MidiInput | JackMidiInput:
    """Open MIDI input ``name`` (an existing port, or a new virtual one) with ``callback``.

    On JACK through JACK-Client where it can be loaded (:mod:`engine.ports.jack_input`: its
    calls let go of the interpreter lock, so opening it never stalls another thread), else
    rtmidi.

    Raises:
        PortError: the backend is missing or the port cannot be opened (one line).
    """
    if (api or default_api()) == "jack":
        try:
            import jack  # noqa: F401 - JACK-Client, or its libjack, may be missing
        except (ImportError, OSError):
            pass
        else:
            return JackMidiInput(name, callback, virtual=virtual)
    return MidiInput(name, api, callback, virtual=virtual)
