"""MIDI input on JACK through ``JACK-Client``: a JACK MIDI in port whose messages reach a callback.

Why not rtmidi on JACK: python-rtmidi holds the interpreter lock while it opens its JACK
client, and a busy server (the built-in kit's audio client on it) takes up to seconds to
answer — every other thread of the process stands still meanwhile, the app's window
included. JACK-Client's calls let go of the lock, so opening, connecting and closing this
input never stall another thread. The cost: its process callback is Python, run once per
JACK period (a few µs when no message came), which waits for the interpreter lock wherever
another thread keeps it busy — so the app runs it in a process of its own
(:mod:`engine.ports.input_process`). Messages reach ``callback(data, arrival_ns)``
from JACK's thread, as rtmidi's do, filtered the same way: timing messages (clock,
start/stop) are delivered; sysex and active sensing are not.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from engine.errors import PortError
from engine.ports.base import INPUT_CLIENT_NAME, RECONNECT_S, find_port
from engine.ports.jack_backend import release_jack_client
from engine.ports.rtmidi_backend import MidiCallback

SYSEX = 0xF0
ACTIVE_SENSING = 0xFE
LOCAL_PORT = "in"  # our port's name when it listens to another program's port


class JackMidiInput:
    """A JACK client ``client_name`` with one MIDI in port.

    Args:
        name: virtual: the name of the port to create (others connect to
            ``<client_name>:<name>``); else the output port to listen to — an exact JACK
            port name or a unique part of one (the names :func:`engine.ports.list_ports`
            gives as inputs).
        callback: called from JACK's thread with each message's bytes and its arrival time
            (``perf_counter_ns`` at the start of the period's callback plus the message's
            offset in the period, so a clock's pulses keep their spacing).

    Raises:
        PortError: no JACK server, or the port to listen to does not exist (one line).
    """

    def __init__(self, name: str, callback: MidiCallback, virtual: bool = False,
                 client_name: str = INPUT_CLIENT_NAME) -> None:
        import jack

        self.api = "jack"
        self._callback = callback
        self._dead = threading.Event()
        self._closing = threading.Event()
        self._client_lock = threading.Lock()
        try:
            self._client: Any = jack.Client(client_name, no_start_server=True)
        except jack.JackError as err:
            raise PortError(f"cannot open the jack MIDI backend: {err}. is a JACK server running "
                            "(jackd / qjackctl / pipewire-jack)?") from err
        try:
            self._ns_per_frame = 1e9 / self._client.samplerate
            self._port = self._client.midi_inports.register(name if virtual else LOCAL_PORT)
            self._client.set_process_callback(self._process)
            self._client.set_shutdown_callback(lambda status, reason: self._dead.set())
            self._client.activate()
            if virtual:
                self.port_name = name
            else:
                names = [p.name for p in self._client.get_ports(is_midi=True, is_output=True)]
                self.port_name = names[find_port(names, name, "jack", "input")]
                self._client.connect(self.port_name, self._port)
                # a sender that quits and comes back (a DAW restarted) is listened to again
                threading.Thread(target=self._keep_connected, name="groovefader-input-reconnect",
                                 daemon=True).start()
        except PortError:
            self.close()
            raise
        except jack.JackError as err:
            self.close()
            raise PortError(f"cannot open MIDI input {name!r} on jack: {err}") from err

    def _process(self, frames: int) -> None:
        start = None
        for offset, data in self._port.incoming_midi_events():
            message = tuple(bytes(data))
            if not message or message[0] in (SYSEX, ACTIVE_SENSING):
                continue
            if start is None:
                start = time.perf_counter_ns()
            self._callback(message, start + round(offset * self._ns_per_frame))

    def _keep_connected(self) -> None:
        """Every :data:`RECONNECT_S`: if the port listened to is there again but no longer
        connected to ours (its program quit and came back), connect it. On a thread of its
        own: JACK forbids server calls in its notification callbacks, and a connect waits for
        the server, which the clock's thread must never do."""
        import jack

        while not self._closing.wait(RECONNECT_S):
            with self._client_lock:  # close() never frees the client under a call of ours
                client = self._client
                if client is None or self._dead.is_set():
                    return
                try:
                    if not self._port.connections and any(
                            p.name == self.port_name for p in client.get_ports(is_midi=True, is_output=True)):
                        client.connect(self.port_name, self._port)
                except jack.JackError:
                    continue  # gone again meanwhile: the next round tries

    def alive(self) -> bool:
        return self._client is not None and not self._dead.is_set()

    def close(self) -> None:
        """Stop listening (idempotent); a client of a server that died is let go unclosed."""
        self._closing.set()
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            release_jack_client(client, self._dead.is_set())
