"""The melody lane on an output of its own, beside the drums' port.

The clock process (:mod:`engine.realtime.clock_process`) keeps one output per lane when the
melody is given a port of its own (:class:`~engine.realtime.messages.SetMelodyPort`): every
message of the melody lane (its notes, their note-offs, its CC 123) goes there, everything
else (the drums, MIDI clock, transport) to the drums' port. The melody's port is opened on
the drums' MIDI API and path and follows that port's life: it opens after it, closes before
it, and is dropped with it when the drums' port is lost.

On the sample-accurate path the melody's port is a JACK client of its own that pulls the
melody lane's messages in its own process callback, as the drums' client pulls theirs
(:meth:`engine.realtime.scheduler.Scheduler.due` with ``lane=``); both place each event at its
frame through one timeline — the drums' output's frame clock, shared — so the two lanes land
on the same frames as they do on one port. Through rtmidi it is a port that sends "now", timed
by the loop like the drums' port.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from engine.errors import PortError
from engine.ports import MidiOutput, PortSpec
from engine.realtime.messages import SetMelodyPort


def melody_port_spec(drums: PortSpec, want: SetMelodyPort) -> PortSpec:
    """The melody's port: ``want``'s name and kind on the drums' API, path and time base
    (through rtmidi the wall clock: the loop times every send by the drums' port's clock)."""
    assert want.name is not None
    return replace(drums, name=want.name, virtual=want.virtual,
                   time_base=drums.time_base if drums.sample_accurate else "wall")


class SharedFrameClock:
    """The drums' output's frame clock as seen by the melody's JACK output: the same
    timeline (one server, one frame counter), never stopped by the melody's port (the drums'
    output owns it)."""

    name = "jack"

    def __init__(self, clock: Any) -> None:
        self._clock = clock

    @property
    def timeline(self) -> Any:
        return self._clock.timeline

    def now_ns(self) -> int:
        return int(self._clock.now_ns())

    def alive(self) -> bool:
        return bool(self._clock.alive())

    def stop(self) -> None:
        """The melody's port closes: the drums' clock runs on."""


def open_melody_output(open_output: Callable[[PortSpec], MidiOutput], drums_spec: PortSpec,
                       drums_out: MidiOutput, want: SetMelodyPort, channel: int) -> MidiOutput:
    """Open the melody lane's port beside ``drums_out`` and release whatever its receivers
    held on the melody's ``channel`` (CC 123).

    Raises:
        PortError: the port cannot be opened (one line; a backend's own error included).
    """
    spec = melody_port_spec(drums_spec, want)
    try:
        out = open_output(spec)
    except PortError:
        raise
    except Exception as err:  # a backend library's own error: never crash the clock
        raise PortError(f"cannot open the melody's MIDI output {spec.name!r}: {err}") from err
    shared = getattr(drums_out, "frame_clock", None)
    if getattr(out, "set_pull", None) is not None and shared is not None:
        out.frame_clock = SharedFrameClock(shared)  # type: ignore[attr-defined]
    try:
        out.panic((channel,))
    except PortError:
        out.close()
        raise
    return out
