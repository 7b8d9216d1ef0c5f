"""What every MIDI output shares: the port spec, message validation, a send lock, ``panic()``.

A backend subclasses :class:`BaseOutput` and implements ``_send`` (and, where it has them,
``_alive`` and ``_close``); the base class checks each message, refuses sends on a closed
port and holds a lock around every send and the close, so a backend never sees a malformed
message, a send racing its close, or two sends interleaved. This module imports no backend
library: the backends import it, never the other way round.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from engine.errors import PortError
from engine.music.drums import GM_DRUM_CHANNEL
from engine.music.midi_messages import all_notes_off

API_CHOICES: tuple[str, ...] = ("jack", "alsa", "coremidi", "winmm")
# What the clock schedules on: JACK's frame clock (what a DAW on JACK records by), the wall
# clock, or auto = frames where the API is JACK and a JACK client can read them, else wall.
TIME_BASE_CHOICES: tuple[str, ...] = ("auto", "wall", "jack")
DEFAULT_PORT_NAME = "groovefader"
# the client of groovefader's own MIDI inputs (MIDI learn, the external clock); JACK and ALSA
# number a second one ("groovefader-in-01")
INPUT_CLIENT_NAME = "groovefader-in"

RECONNECT_S = 0.5  # how often an input looks for the port it lost (a sender that quit and came back)


def is_own_input(port: str) -> bool:
    """Whether ``port`` (``client:port`` as rtmidi and JACK name it) is one of groovefader's
    own inputs: never offered as an output, which would feed the app its own notes and clock."""
    client = port.split(":", 1)[0].strip()
    return client == INPUT_CLIENT_NAME or (client.startswith(INPUT_CLIENT_NAME + "-")
                                           and client[len(INPUT_CLIENT_NAME) + 1:].isdigit())


def default_api() -> str:
    """The platform's MIDI API: CoreMIDI on macOS, WinMM on Windows, else JACK when a JACK
    server is configured (``JACK_DEFAULT_SERVER`` set or its socket present), else ALSA."""
    if sys.platform == "darwin":
        return "coremidi"
    if sys.platform.startswith("win"):
        return "winmm"
    if os.environ.get("JACK_DEFAULT_SERVER") or _jack_socket_present():
        return "jack"
    return "alsa"


def _jack_socket_present() -> bool:
    try:
        names = os.listdir("/dev/shm")
    except OSError:
        return False
    return any(n.startswith("jack_default_") for n in names)


@dataclass(frozen=True)
class PortSpec:
    """Which output to open.

    Args:
        name: virtual port name to create, or (``virtual=False``) the existing port to use;
            an exact name or a unique substring of one.
        api: one of :data:`API_CHOICES`, or None for the platform default.
        virtual: create a port others connect to (not on ``winmm``).
        sample_accurate: on JACK, send through :class:`engine.ports.jack_backend.JackOutput`
            (events placed at exact frames) instead of rtmidi.
        time_base: one of :data:`TIME_BASE_CHOICES`: what rtmidi's sends are timed by
            (:mod:`engine.realtime.timebase`). ``jack`` falls back to the wall clock, silently, when
            no JACK client can read the frame clock (the report says which was used). The
            sample-accurate path always follows frames.
    """

    name: str = DEFAULT_PORT_NAME
    api: str | None = None
    virtual: bool = True
    sample_accurate: bool = False
    time_base: str = "auto"

    def __post_init__(self) -> None:
        if self.api is not None and self.api not in API_CHOICES:
            raise PortError(f"unknown MIDI API {self.api!r}; choose one of {', '.join(API_CHOICES)}")
        if self.sample_accurate and self.resolved_api() != "jack":
            raise PortError("the sample-accurate path needs JACK (--midi-api jack)")
        if self.time_base not in TIME_BASE_CHOICES:
            raise PortError(f"unknown time base {self.time_base!r}; "
                            f"choose one of {', '.join(TIME_BASE_CHOICES)}")
        if self.time_base == "jack" and self.resolved_api() != "jack":
            raise PortError("the JACK time base needs JACK (--midi-api jack)")
        if self.time_base == "wall" and self.sample_accurate:
            raise PortError("the sample-accurate path always follows JACK's frame clock "
                            "(--time-base wall is for rtmidi)")

    def resolved_api(self) -> str:
        return self.api or default_api()


def find_port(names: Sequence[str], wanted: str, api: str, direction: str) -> int:
    """The index of port ``wanted`` in ``names``: its exact name, or a unique part of one.

    Raises:
        PortError: no such port, or several match (the line lists what there is).
    """
    if wanted in names:
        return list(names).index(wanted)
    matches = [i for i, n in enumerate(names) if wanted.lower() in n.lower()]
    if len(matches) == 1:
        return matches[0]
    listing = ", ".join(repr(n) for n in names) or "none"
    why = "is ambiguous" if matches else "does not exist"
    raise PortError(f"MIDI {direction} port {wanted!r} {why} on {api}; available: {listing}")


@runtime_checkable
class MidiOutput(Protocol):
    """What the clock process needs from an output.

    ``lookahead_ns`` > 0 means the output places events itself: give it each message that
    long before its deadline (``send(data, deadline_ns)``). 0 means it sends "now": call
    ``send`` at the deadline.
    """

    lookahead_ns: int

    def send(self, data: Sequence[int], deadline_ns: int | None = None) -> None: ...

    def panic(self, channels: Sequence[int] = (GM_DRUM_CHANNEL,)) -> None: ...

    def alive(self) -> bool: ...

    def close(self) -> None: ...


def _data_lengths() -> tuple[int, ...]:
    """Data bytes each status byte takes; -1 for what these ports never carry (data bytes
    as status, sysex, undefined system messages)."""
    table = [-1] * 256
    for status in range(0x80, 0xF0):  # channel voice: program change, channel pressure take one
        table[status] = 1 if status & 0xF0 in (0xC0, 0xD0) else 2
    # MTC quarter frame, song position, song select, tune request, then the realtime bytes
    for status, count in ((0xF1, 1), (0xF2, 2), (0xF3, 1), (0xF6, 0), (0xF8, 0), (0xFA, 0),
                          (0xFB, 0), (0xFC, 0), (0xFE, 0), (0xFF, 0)):
        table[status] = count
    return tuple(table)


DATA_LENGTHS = _data_lengths()


def check_message(data: Sequence[int]) -> None:
    """Raise ``ValueError`` unless ``data`` is one complete short MIDI message.

    Cheap enough for every send of the clock loop (a table look-up and up to two compares,
    nothing allocated).
    """
    count = len(data)
    status = data[0] if count else -1
    if not 0x80 <= status <= 0xFF or DATA_LENGTHS[status] != count - 1:
        raise ValueError(f"not a MIDI message these ports send: {tuple(data)!r}")
    for i in range(1, count):
        if not 0 <= data[i] <= 0x7F:
            raise ValueError(f"MIDI data byte out of 0..127 in {tuple(data)!r}")


class BaseOutput:
    """An output port: validation, locking and ``panic()`` here; the backend sends.

    Subclasses call ``super().__init__(name)`` before opening anything (a failed open may
    then call :meth:`close`), implement :meth:`_send` and, where they have them,
    :meth:`_alive` and :meth:`_close`.

    Attributes:
        name: the port's name as the user knows it (for messages).
        closed: True once :meth:`close` ran; sends then raise :class:`PortError`.
        lookahead_ns: see :class:`MidiOutput` (0: the port sends "now").
    """

    lookahead_ns: int = 0

    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False
        self._lock = threading.Lock()

    def send(self, data: Sequence[int], deadline_ns: int | None = None) -> None:
        """Send one message (a deadline on the clock process's timeline where the port places
        events itself).

        Raises:
            ValueError: ``data`` is not one short MIDI message.
            PortError: the port is closed, or the backend failed.
        """
        check_message(data)
        with self._lock:
            if self.closed:
                raise PortError(f"MIDI output {self.name!r} is closed")
            self._send(data, deadline_ns)

    def panic(self, channels: Sequence[int] = (GM_DRUM_CHANNEL,)) -> None:
        """All Notes Off (CC 123) on each of ``channels``; nothing on a closed port.

        The catch-all for whatever a receiver holds (from before this port opened, or from a
        port that died). The note-offs of the notes the clock knows are sounding are the
        scheduler's (:meth:`engine.realtime.scheduler.Scheduler.flush`): it sends them in
        order with everything else, which a port cannot do on the sample-accurate path,
        where the JACK thread pulls events without going through :meth:`send`.
        """
        if self.closed:
            return
        for channel in channels:
            self.send(all_notes_off(channel))

    def alive(self) -> bool:
        """Open and, as far as the backend can tell, still reaching its receivers."""
        return not self.closed and self._alive()

    def close(self) -> None:
        """Close the port (idempotent); a send already under way finishes first."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
        self._close()

    def __enter__(self) -> BaseOutput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<{type(self).__name__} {self.name!r} ({state})>"

    # -- what a backend implements -----------------------------------------------------------
    def _send(self, data: Sequence[int], deadline_ns: int | None) -> None:
        raise NotImplementedError

    def _alive(self) -> bool:
        return True

    def _close(self) -> None:
        pass
