"""MIDI ports: the output protocol the clock process sends through, its rtmidi and fake
implementations, port listing, and MIDI input (external clock, MIDI learn).

Backends (``api``): ``jack``, ``alsa`` (Linux), ``coremidi`` (macOS), ``winmm`` (Windows).
A *virtual* port named ``groovefader`` is created where the OS allows it (JACK, ALSA,
CoreMIDI); Windows MultiMedia has no virtual ports, so there an existing port (e.g. a
loopMIDI cable) is chosen by name. rtmidi sends "now": on JACK its notes land on period
boundaries; :mod:`engine.ports.jack_backend` is the sample-accurate alternative.

Every failure is a :class:`engine.errors.PortError` with one line saying what to do.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from engine.errors import PortError
from engine.music.drums import GM_DRUM_CHANNEL
from engine.music.midi_messages import all_notes_off
from engine.realtime.timebase import FrameClock, cycle_frame_reader

API_CHOICES: tuple[str, ...] = ("jack", "alsa", "coremidi", "winmm")
# What the clock schedules on: JACK's frame clock (what a DAW on JACK records by), the wall
# clock, or auto = frames where the API is JACK and a JACK client can read them, else wall.
TIME_BASE_CHOICES: tuple[str, ...] = ("auto", "wall", "jack")
DEFAULT_PORT_NAME = "groovefader"
DRAIN_CYCLES = 3  # JACK cycles to let pass before a port closes (see wait_jack_cycles)
DRAIN_TIMEOUT_S = 0.5  # ... but never wait longer than this (a stalled or dying server)


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


def _rtmidi_api(api: str) -> int:
    import rtmidi

    table = {"jack": rtmidi.API_UNIX_JACK, "alsa": rtmidi.API_LINUX_ALSA,
             "coremidi": rtmidi.API_MACOSX_CORE, "winmm": rtmidi.API_WINDOWS_MM}
    code = table[api]
    if code not in rtmidi.get_compiled_api():
        raise PortError(f"this python-rtmidi build has no {api} support "
                        f"(it has: {', '.join(rtmidi.get_api_name(a) for a in rtmidi.get_compiled_api())})")
    return code


def _open_rtmidi(kind: str, api: str, client_name: str) -> Any:
    import rtmidi

    os.environ.setdefault("JACK_NO_START_SERVER", "1")  # never spawn a server behind the user
    cls = rtmidi.MidiOut if kind == "out" else rtmidi.MidiIn
    try:
        return cls(_rtmidi_api(api), name=client_name)
    except rtmidi.RtMidiError as err:
        hint = {"jack": "is a JACK server running (jackd / qjackctl / pipewire-jack)?",
                "alsa": "is the ALSA sequencer available (/dev/snd/seq)?"}.get(api, "")
        reason = str(err).rstrip(".")
        raise PortError(f"cannot open the {api} MIDI backend: {reason}. {hint}".strip()) from err


def list_ports(api: str | None = None) -> dict[str, list[str]]:
    """``{"outputs": [...], "inputs": [...]}`` port names other programs offer on ``api``."""
    api = api or default_api()
    out = _open_rtmidi("out", api, "groovefader-list")
    inp = _open_rtmidi("in", api, "groovefader-list")
    try:
        return {"outputs": list(out.get_ports()), "inputs": list(inp.get_ports())}
    finally:
        out.delete()
        inp.delete()


def _find_port(names: Sequence[str], wanted: str, api: str, direction: str) -> int:
    if wanted in names:
        return list(names).index(wanted)
    matches = [i for i, n in enumerate(names) if wanted.lower() in n.lower()]
    if len(matches) == 1:
        return matches[0]
    listing = ", ".join(repr(n) for n in names) or "none"
    why = "is ambiguous" if matches else "does not exist"
    raise PortError(f"MIDI {direction} port {wanted!r} {why} on {api}; available: {listing}")


class JackServerWatch:
    """Notices when the JACK server dies (rtmidi does not tell; its sends just vanish).

    A tiny inactive-process JACK client whose shutdown callback raises a flag. A client of a
    dead server must not be closed (libjack crashes), so it is dropped without closing.
    """

    def __init__(self, name: str = "groovefader-watch") -> None:
        import jack

        self._jack = jack
        self._dead = threading.Event()
        try:
            self._client = jack.Client(name, no_start_server=True)
        except jack.JackError as err:
            raise PortError(f"cannot reach the JACK server: {err}") from err
        self._client.set_shutdown_callback(lambda status, reason: self._dead.set())
        self._client.activate()

    def alive(self) -> bool:
        return not self._dead.is_set()

    def frame_clock(self) -> FrameClock | None:
        """JACK's frame clock read through this client (see :mod:`engine.realtime.timebase`); None
        (the caller stays on the wall clock) when it cannot be read."""
        try:
            return FrameClock(cycle_frame_reader(self._client), self._client.samplerate, dead=self._dead)
        except Exception:
            return None

    def wait_cycles(self, cycles: int = DRAIN_CYCLES, timeout_s: float = DRAIN_TIMEOUT_S) -> bool:
        """Wait (bounded) until the server has started ``cycles`` more process cycles."""
        return wait_jack_cycles(self._client, cycles, timeout_s, self._dead)

    def close(self) -> None:
        release_jack_client(self._client, self._dead.is_set())


def wait_jack_cycles(client: Any, cycles: int = DRAIN_CYCLES, timeout_s: float = DRAIN_TIMEOUT_S,
                     dead: threading.Event | None = None) -> bool:
    """Block until JACK has begun ``cycles`` process cycles after this call; False on timeout.

    Why: a JACK MIDI output only reaches its readers in the next process cycle (rtmidi
    queues ``send_message`` in a ringbuffer its process callback empties; the sample-accurate
    output writes in its own callback). Closing the port before that cycle ran loses what was
    just sent — the final note-offs at Ctrl-C on a loaded machine. The cycle that is running
    now may have passed its drain already, the next one drains, and the one after starts
    only once it is complete (``-S``); one more covers an asynchronous server.
    ``last_frame_time`` is the server's frame count at the latest cycle start (readable from
    any thread); it moves by one period per cycle.
    """
    try:
        start = client.last_frame_time
        need = cycles * max(1, client.blocksize)
    except Exception:  # closed client or dead server: nothing to wait for
        return False
    end = time.monotonic() + timeout_s
    while dead is None or not dead.is_set():
        try:
            if (client.last_frame_time - start) % 2**32 >= need:
                return True
        except Exception:
            return False
        if time.monotonic() >= end:
            return False
        time.sleep(0.0005)
    return False


def release_jack_client(client: Any, server_dead: bool) -> None:
    """Close a JACK-Client client, or abandon it if its server died (closing then segfaults)."""
    import jack

    if server_dead:
        client._ptr = jack._ffi.NULL  # noqa: SLF001 - the only way to skip jack_client_close
        return
    with contextlib.suppress(jack.JackError):
        client.deactivate()
    client.close()


class RtMidiOutput:
    """An rtmidi output port (virtual or existing); sends "now".

    On JACK, unless ``spec.time_base`` is ``wall``, :attr:`frame_clock` is JACK's frame
    clock read through the server watch's client: the clock process then schedules on
    frames and sends at the wall time their frames come (None: the wall clock).

    Raises:
        PortError: backend missing, virtual port impossible (WinMM), port not found.
    """

    lookahead_ns = 0

    def __init__(self, spec: PortSpec) -> None:
        self.spec = spec
        self.api = spec.resolved_api()
        self._watch: JackServerWatch | None = None
        self.frame_clock: FrameClock | None = None
        self._port_name = spec.name
        if self.api == "jack":
            self._watch = JackServerWatch(f"{spec.name}-watch")
            if spec.time_base != "wall":
                self.frame_clock = self._watch.frame_clock()
        try:
            self._out = _open_rtmidi("out", self.api, spec.name)
        except PortError:
            if self._watch:
                self._watch.close()
            raise
        try:
            if spec.virtual:
                if self.api == "winmm":
                    raise PortError(
                        "Windows MultiMedia has no virtual MIDI ports; pick an existing port with "
                        "--port NAME (e.g. a loopMIDI cable); available: "
                        + (", ".join(repr(p) for p in self._out.get_ports()) or "none"))
                self._out.open_virtual_port(spec.name)
            else:
                names = self._out.get_ports()
                index = _find_port(names, spec.name, self.api, "output")
                self._port_name = names[index]
                self._out.open_port(index)
        except PortError:
            self.close()
            raise
        except Exception as err:  # rtmidi raises its own error types
            self.close()
            raise PortError(f"cannot open MIDI output {spec.name!r} on {self.api}: {err}") from err

    def send(self, data: Sequence[int], deadline_ns: int | None = None) -> None:
        try:
            self._out.send_message(list(data))
        except Exception as err:
            raise PortError(f"sending to MIDI output {self._port_name!r} failed: {err}") from err

    def panic(self, channels: Sequence[int] = (GM_DRUM_CHANNEL,)) -> None:
        for ch in channels:
            self.send(all_notes_off(ch))

    def alive(self) -> bool:
        if self._watch is not None and not self._watch.alive():
            return False
        if not self.spec.virtual:  # the port we connected to may have gone
            try:
                return self._port_name in self._out.get_ports()
            except Exception:
                return False
        return True

    def drain(self) -> bool:
        """Wait until what was sent has left rtmidi's JACK ringbuffer and reached the readers.

        rtmidi's ``close_port`` waits for one callback only, which may be one that already
        passed its ringbuffer read: under load the last note-offs were lost that way.
        """
        if self._watch is None or getattr(self, "_out", None) is None or not self._watch.alive():
            return False
        return self._watch.wait_cycles()

    def close(self) -> None:
        self.drain()  # the note-offs just sent reach the readers before the port goes
        out, self._out = getattr(self, "_out", None), None
        if out is not None:
            try:
                out.close_port()
                out.delete()
            except Exception:
                pass
        if self.frame_clock is not None:
            self.frame_clock.stop()  # its client closes next
        if self._watch is not None:
            self._watch.close()
            self._watch = None


class RecordingOutput:
    """Fake output for tests: records ``(sent_ns, deadline_ns, data)``; can be made to fail."""

    def __init__(self, lookahead_ns: int = 0) -> None:
        self.lookahead_ns = lookahead_ns
        self.sent: list[tuple[int, int | None, tuple[int, ...]]] = []
        self.is_alive = True
        self.closed = False

    def send(self, data: Sequence[int], deadline_ns: int | None = None) -> None:
        if not self.is_alive:
            raise PortError("recording output is down")
        self.sent.append((time.perf_counter_ns(), deadline_ns, tuple(data)))

    def panic(self, channels: Sequence[int] = (GM_DRUM_CHANNEL,)) -> None:
        for ch in channels:
            self.send(all_notes_off(ch))

    def alive(self) -> bool:
        return self.is_alive

    def close(self) -> None:
        self.closed = True


def open_output(spec: PortSpec) -> MidiOutput:
    """Open the output ``spec`` describes (rtmidi, or JACK sample-accurate)."""
    if spec.sample_accurate:
        from engine.ports.jack_backend import JackOutput

        return JackOutput(spec)
    return RtMidiOutput(spec)


# -- input ---------------------------------------------------------------------------------

MidiCallback = Callable[[tuple[int, ...], int], None]  # (message bytes, arrival perf_counter_ns)


class MidiInput:
    """An rtmidi input port calling ``callback(data, arrival_ns)`` from rtmidi's thread.

    Timing messages (clock, start/stop) are delivered, sysex and active sensing are not.
    """

    def __init__(self, name: str, api: str | None, callback: MidiCallback, virtual: bool = False,
                 client_name: str = "groovefader-in") -> None:
        self.api = api or default_api()
        self._in = _open_rtmidi("in", self.api, client_name)
        self._in.ignore_types(sysex=True, timing=False, active_sense=True)
        try:
            if virtual:
                if self.api == "winmm":
                    raise PortError("Windows MultiMedia has no virtual MIDI ports; choose an input by name")
                self._in.open_virtual_port(name)
                self.port_name = name
            else:
                names = self._in.get_ports()
                index = _find_port(names, name, self.api, "input")
                self.port_name = names[index]
                self._in.open_port(index)
        except PortError:
            self._in.delete()
            raise
        except Exception as err:
            self._in.delete()
            raise PortError(f"cannot open MIDI input {name!r} on {self.api}: {err}") from err

        def _on_message(event: tuple[list[int], float], _data: Any = None) -> None:
            arrival = time.perf_counter_ns()
            callback(tuple(event[0]), arrival)

        self._in.set_callback(_on_message)

    def close(self) -> None:
        if self._in is not None:
            try:
                self._in.cancel_callback()
                self._in.close_port()
                self._in.delete()
            except Exception:
                pass
            self._in = None


def open_input(name: str, api: str | None, callback: MidiCallback, virtual: bool = False) -> MidiInput:
    """Open MIDI input ``name`` (existing port, or a new virtual one) with ``callback``."""
    return MidiInput(name, api, callback, virtual=virtual)
