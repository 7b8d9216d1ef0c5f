"""MIDI ports: the output base class, its rtmidi and JACK backends, port listing and input.

:mod:`engine.ports.base` holds what every output shares (the spec, validation, the send
lock, ``panic()``); :mod:`engine.ports.rtmidi_backend` sends "now" through python-rtmidi and
reads MIDI input; :mod:`engine.ports.jack_backend` places events at exact JACK frames;
:mod:`engine.ports.jack_input` reads MIDI on JACK without holding the interpreter lock,
:mod:`engine.ports.input_process` reads an input in a process of its own;
:mod:`engine.ports.fake` records sends for tests. Every failure is a
:class:`engine.errors.PortError` with one line saying what to do.
"""

from engine.ports.base import (
    API_CHOICES,
    DEFAULT_PORT_NAME,
    TIME_BASE_CHOICES,
    BaseOutput,
    MidiOutput,
    PortSpec,
    check_message,
    default_api,
)
from engine.ports.factory import open_input, open_output
from engine.ports.input_process import InputProcess
from engine.ports.jack_backend import JackOutput, JackServerWatch
from engine.ports.jack_input import JackMidiInput
from engine.ports.rtmidi_backend import MidiCallback, MidiInput, RtMidiOutput, list_ports

__all__ = [
    "API_CHOICES", "DEFAULT_PORT_NAME", "TIME_BASE_CHOICES", "BaseOutput", "InputProcess", "JackMidiInput",
    "JackOutput",
    "JackServerWatch", "MidiCallback", "MidiInput", "MidiOutput", "PortSpec", "RtMidiOutput",
    "check_message", "default_api", "list_ports", "open_input", "open_output",
]
