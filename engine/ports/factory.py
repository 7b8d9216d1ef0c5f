"""Opening a port by its spec: the one place that chooses between the backends."""

from __future__ import annotations

from engine.ports.base import BaseOutput, PortSpec
from engine.ports.jack_backend import JackOutput
from engine.ports.rtmidi_backend import RtMidiOutput


def open_output(spec: PortSpec) -> BaseOutput:
    """Open the output ``spec`` describes: JACK sample-accurate, else rtmidi.

    Raises:
        PortError: the backend is missing or the port cannot be opened (one line).
    """
    if spec.sample_accurate:
        return JackOutput(spec)
    return RtMidiOutput(spec)
