"""rtmidi ports: outputs that send "now", MIDI input, and port listing (python-rtmidi).

Backends (``api``): ``jack``, ``alsa`` (Linux), ``coremidi`` (macOS), ``winmm`` (Windows).
A *virtual* port named ``groovefader`` is created where the OS allows it (JACK, ALSA,
CoreMIDI); Windows MultiMedia has no virtual ports, so there an existing port (e.g. a
loopMIDI cable) is chosen by name. rtmidi sends "now": on JACK its notes land on period
boundaries; :mod:`engine.ports.jack_backend` is the sample-accurate alternative.

Every failure is a :class:`engine.errors.PortError` with one line saying what to do.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from engine.errors import PortError
from engine.ports.base import (
    INPUT_CLIENT_NAME,
    RECONNECT_S,
    BaseOutput,
    PortSpec,
    default_api,
    find_port,
    is_own_input,
)
from engine.ports.jack_backend import JackServerWatch
from engine.realtime.timebase import FrameClock


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
    """``{"outputs": [...], "inputs": [...]}`` port names other programs offer on ``api``
    (groovefader's own inputs are not outputs to choose)."""
    api = api or default_api()
    if api == "jack":
        try:
            return _list_jack_ports()
        except ImportError:
            pass  # no JACK-Client: rtmidi lists them
    out = _open_rtmidi("out", api, "groovefader-list")
    inp = _open_rtmidi("in", api, "groovefader-list")
    try:
        return {"outputs": [p for p in out.get_ports() if not is_own_input(p)],
                "inputs": list(inp.get_ports())}
    finally:
        out.delete()
        inp.delete()


def _list_jack_ports() -> dict[str, list[str]]:
    """JACK's MIDI ports (the names rtmidi gives them) through JACK-Client, whose calls let go
    of the interpreter lock: rtmidi holds it while it opens a JACK client, which on a busy
    server (the kit's audio client on it) takes seconds — a frozen window.

    Raises:
        ImportError: no JACK-Client; PortError: no JACK server.
    """
    import jack

    try:
        client = jack.Client("groovefader-list", no_start_server=True)
    except jack.JackError as err:
        raise PortError(f"cannot open the jack MIDI backend: {err}. is a JACK server running "
                        "(jackd / qjackctl / pipewire-jack)?") from err
    try:
        return {"outputs": [p.name for p in client.get_ports(is_midi=True, is_input=True)
                            if not is_own_input(p.name)],
                "inputs": [p.name for p in client.get_ports(is_midi=True, is_output=True)]}
    finally:
        client.close()


class RtMidiOutput(BaseOutput):
    """An rtmidi output port (virtual or existing); sends "now".

    On JACK, unless ``spec.time_base`` is ``wall``, :attr:`frame_clock` is JACK's frame
    clock read through the server watch's client: the clock process then schedules on
    frames and hands each message over by the server's cycle counter, in the period before
    the one its frame lands in (:meth:`engine.realtime.timebase.FrameClock.hold`; None: the
    wall clock).

    Raises:
        PortError: backend missing, virtual port impossible (WinMM), port not found.
    """

    lookahead_ns = 0

    def __init__(self, spec: PortSpec) -> None:
        super().__init__(spec.name)
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
                index = find_port(names, spec.name, self.api, "output")
                self._port_name = names[index]
                self._out.open_port(index)
                if self._watch is not None:  # JACK applies the connection at a cycle start
                    self._watch.wait_cycles()
        except PortError:
            self.close()
            raise
        except Exception as err:  # rtmidi raises its own error types
            self.close()
            raise PortError(f"cannot open MIDI output {spec.name!r} on {self.api}: {err}") from err

    def _send(self, data: Sequence[int], deadline_ns: int | None) -> None:
        try:
            self._out.send_message(list(data))
        except Exception as err:
            raise PortError(f"sending to MIDI output {self._port_name!r} failed: {err}") from err

    def _alive(self) -> bool:
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

    def _close(self) -> None:
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


# -- input ---------------------------------------------------------------------------------

MidiCallback = Callable[[tuple[int, ...], int], None]  # (message bytes, arrival perf_counter_ns)


# What rtmidi appends to a port's name that a port coming back may not keep: ALSA's
# "client:port" numbers (a program that quit and came back is a new client), WinMM's device
# index (devices are renumbered as they come and go)
_PORT_ADDRESS = {"alsa": re.compile(r" \d+:\d+$"), "winmm": re.compile(r" \d+$")}


def _returned_port(names: Sequence[str], asked: str, api: str) -> int:
    """The index in ``names`` of the input port ``asked`` for (:func:`find_port`), or else of
    the one port named exactly as ``asked`` but for the number ``api`` appends (a full name as
    listed, the port since numbered anew).

    Raises:
        PortError: no such port, or several.
    """
    try:
        return find_port(names, asked, api, "input")
    except PortError:
        address = _PORT_ADDRESS.get(api)
        if address is None or not address.search(asked):
            raise
        same = [i for i, n in enumerate(names) if address.sub("", n) == address.sub("", asked)]
        if len(same) != 1:
            raise
        return same[0]


class MidiInput:
    """An rtmidi input port calling ``callback(data, arrival_ns)`` from rtmidi's thread.

    Timing messages (clock, start/stop) are delivered, sysex and active sensing are not.
    An existing port that goes away (a controller unplugged, a DAW quit) is listened to
    again when a port of that name is back, looked for every :data:`RECONNECT_S` on a
    thread of its own.
    """

    def __init__(self, name: str, api: str | None, callback: MidiCallback, virtual: bool = False,
                 client_name: str = INPUT_CLIENT_NAME) -> None:
        self.api = api or default_api()
        self._asked = name  # what the user named: the port that comes back may be numbered anew
        self._lock = threading.Lock()  # the port is reopened on one thread, closed on another
        self._closing = threading.Event()
        self.reconnects = 0
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
                index = find_port(names, name, self.api, "input")
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

        self._on_message = _on_message
        self._in.set_callback(_on_message)
        if not virtual:
            threading.Thread(target=self._keep_connected, name="groovefader-input-reconnect",
                             daemon=True).start()

    def _keep_connected(self) -> None:
        """While the port listened to is listed, nothing; once it was gone and a port of the
        name asked for is listed again, reopen onto it (ALSA and CoreMIDI give a returning
        device a new port: the old subscription hears nothing)."""
        gone = False
        while not self._closing.wait(RECONNECT_S):
            with self._lock:
                if self._in is None:
                    return
                try:
                    names = self._in.get_ports()
                    if self.port_name in names and not gone:
                        continue
                    gone = True
                    index = _returned_port(names, self._asked, self.api)
                    self._in.cancel_callback()
                    self._in.close_port()
                    self._in.open_port(index)
                    # set again: reopened, rtmidi's JACK API called it no more
                    self._in.set_callback(self._on_message)
                except Exception:  # not back yet (or ambiguous for now): the next round looks again
                    continue
                self.port_name, gone = names[index], False
                self.reconnects += 1

    def close(self) -> None:
        self._closing.set()
        with self._lock:
            midi_in, self._in = self._in, None
        if midi_in is not None:
            try:
                midi_in.cancel_callback()
                midi_in.close_port()
                midi_in.delete()
            except Exception:
                pass
