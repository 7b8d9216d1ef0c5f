"""The kit on JACK, in a process of its own: a MIDI-in → audio-out drum synth.

Why a process: in the clock process the kit's callback had to win the interpreter lock
from the clock's other threads each period, and with the other core busy the server reported
more xruns with the kit on than off (docs/benchmarks.md). Why C: even alone, a Python
callback ran 20-50 µs a period with caches gone cold (JACK-Client's reading of the MIDI and
port buffers, numpy's calls). So the process callback is ``kit_process`` in
engine/audio/kit_dsp.c (:mod:`engine.audio.kit_native` builds it with the system's C
compiler the first time): a few µs a period, no Python, no lock. Where it cannot be built
the Python callback plays, mixing through the preallocated
:class:`~engine.audio.ring_mixer.RingMixer` (a hit's sound is added into a ring ahead of
time; a period is a copy out) and reading MIDI only in periods that have some. Either way
the main thread blocks in a socket read and wakes only for a control message (mix, note map,
a new MIDI port); the kit's sounds are rendered before the client activates; its counters
go to the clock process through shared memory, which needs no wake-up at all.

Why MIDI in: its input port is connected from groovefader's MIDI output port, so JACK runs
this client after that one in every cycle and hands it the very events, at their frame
offsets, that a DAW on the port records. Each hit's first sample lands on its note-on's
frame, and the kit follows every pattern, tempo, mute and clock change the MIDI does, with
nothing to keep in step. Note-ons on the drums' channel play the voice the note map sends
that pitch for; everything else is ignored (drums ring out: no note-off).

Run as ``python -m engine.audio.kit_process FD STATS_FD`` by :class:`engine.audio.kit_host.KitProcess`;
FD is its end of the socket pair, STATS_FD the shared counters (:data:`STATS_FIELDS`).
"""

from __future__ import annotations

import contextlib
import gc
import mmap
import os
import sys
import threading
import time
from multiprocessing.connection import Connection, wait
from typing import Any

import numpy as np

from engine.audio.kit import Kit
from engine.audio.kit_messages import (
    NO_VOICE,
    FollowMidi,
    KitFailed,
    KitReady,
    SetKitMix,
    SetKitNotes,
    StartKit,
    StopKit,
)
from engine.audio.kit_native import NativeMixer, load_library

STATS_FIELDS = ("blocks", "busy_ns", "busy_max_ns", "hits", "alive")
HIST_BUCKETS = 2048  # callback times by whole µs after the fields; the last: 2,047 µs or more
STATS_SLOTS = len(STATS_FIELDS) + HIST_BUCKETS
STATS_BYTES = 8 * STATS_SLOTS
PORT_NAMES = ("audio_L", "audio_R")
MIDI_IN = "midi_in"
NOTE_ON = 0x90
SWITCH_INTERVAL_S = 0.0002
CALLBACK_ENV = "GROOVEFADER_KIT_CALLBACK"  # "python": the Python callback even where C builds
HIST_AT, HIST_LAST = len(STATS_FIELDS), HIST_BUCKETS - 1


class JackKit:
    """The JACK client: ``midi_in`` → the kit → ``audio_L`` / ``audio_R``.

    Raises:
        jack.JackError: no server, or the ports cannot be registered.
        ValueError: a period longer than the mixer takes.
    """

    def __init__(self, start: StartKit, stats: np.ndarray) -> None:
        import jack

        from engine.audio.mixer import MAX_BLOCK_FRAMES
        from engine.audio.ring_mixer import RingMixer
        from engine.audio.soundfont import kit_with_soundfont

        self._jack = jack
        self._jlib, self._jffi = jack._lib, jack._ffi  # noqa: SLF001 - the callback's fast path
        self._stats = stats
        self._dead = threading.Event()
        self.wake_r, self._wake_w = os.pipe()  # the server's end reaches the main thread's wait
        client = self._client = jack.Client(start.client_name, no_start_server=True)
        if client.blocksize > MAX_BLOCK_FRAMES:
            raise ValueError(f"JACK period {client.blocksize} frames is over {MAX_BLOCK_FRAMES}")
        self.rate = client.samplerate
        kit, self.note = kit_with_soundfont(self.rate, start.soundfont)  # all rendering: before playing
        self._notes = (start.voices, NOTE_ON | start.channel)  # swapped whole by set_notes
        self._midi_in = client.midi_inports.register(MIDI_IN)
        self._outs = tuple(client.outports.register(name) for name in PORT_NAMES)
        self.port_names = tuple(p.name for p in self._outs)
        self._source: str | None = None
        self.mixer: Any
        self.callback = "C"
        try:
            self.mixer = self._native_callback(kit, start)
        except OSError as err:  # no compiler or library: the Python callback plays
            self.callback = f"Python ({err})"
            self.mixer = RingMixer(kit, start.mix)
            self._ptrs = tuple(port._ptr for port in (self._midi_in, *self._outs))  # noqa: SLF001
            self._arrays: dict[int, np.ndarray] = {}
            client.set_process_callback(self._process)
        # No other callback: JACK calls notifications (xruns, ports, ...) on a thread of its
        # own, which would take the interpreter lock a Python process callback needs.
        client.set_shutdown_callback(self._on_shutdown)
        client.activate()
        self.follow(start.midi_source)
        if start.connect:
            speakers = [p.name for p in client.get_ports(is_audio=True, is_input=True, is_physical=True)]
            for port, target in zip(self._outs, (speakers * 2)[:2], strict=False):
                with contextlib.suppress(jack.JackError):
                    client.connect(port, target)  # else someone routes it (a patchbay)

    def _native_callback(self, kit: Kit, start: StartKit) -> NativeMixer:
        """The C kit (engine/audio/kit_dsp.c) as the process callback: no Python per period.

        Raises:
            OSError: it cannot be built or loaded here.
        """
        from jack import _ffi, _lib

        if os.environ.get(CALLBACK_ENV, "").lower() == "python":
            raise OSError(f"{CALLBACK_ENV}=python")
        mixer = NativeMixer(load_library(), kit, start.mix)
        mixer.set_notes(*self._notes)
        address = lambda cdata: int(_ffi.cast("uintptr_t", cdata))  # noqa: E731
        mixer.set_jack(tuple(address(_ffi.addressof(_lib, name)) for name in
                             ("jack_port_get_buffer", "jack_midi_get_event_count", "jack_midi_event_get")),
                       tuple(address(port._ptr) for port in (self._midi_in, *self._outs)))  # noqa: SLF001
        mixer.set_stats(self._stats, HIST_AT, HIST_LAST)
        callback = _ffi.cast("JackProcessCallback", mixer.process_callback)
        if _lib.jack_set_process_callback(self._client._ptr, callback,  # noqa: SLF001
                                          _ffi.cast("void *", mixer.pointer)) != 0:
            raise OSError("JACK refused the kit's process callback")
        self._keep = callback
        return mixer

    # -- the JACK thread (the Python callback, where the C one cannot be built) ------------
    def _process(self, frames: int) -> None:
        t0 = time.perf_counter_ns()
        from_jack = self._jlib
        mixer = self.mixer
        midi_ptr, left_ptr, right_ptr = self._ptrs
        if from_jack.jack_midi_get_event_count(from_jack.jack_port_get_buffer(midi_ptr, frames)):
            voices, status = self._notes
            for offset, data in self._midi_in.incoming_midi_events():
                if len(data) == 3:
                    event = bytes(data)
                    if event[0] == status and event[2] > 0:
                        voice = voices[event[1]]
                        if voice != NO_VOICE:
                            mixer.trigger(offset, voice, event[2])  # on the note's own frame
        mixer.mix_into(self._array(left_ptr, frames), self._array(right_ptr, frames), frames)
        spent = time.perf_counter_ns() - t0
        stats = self._stats
        stats[0] += 1
        stats[1] += spent
        if spent > stats[2]:
            stats[2] = spent
        stats[3] = mixer.triggered
        stats[HIST_AT + min(spent // 1000, HIST_LAST)] += 1

    def _array(self, port: Any, frames: int) -> np.ndarray:
        """A port's buffer this period as an array: made once per buffer JACK hands out (it
        hands out the same few), not each period (np.frombuffer: ~9 µs a port in the callback)."""
        ptr = self._jlib.jack_port_get_buffer(port, frames)
        key = int(self._jffi.cast("uintptr_t", ptr)) << 14 | frames
        array = self._arrays.get(key)
        if array is None:
            if len(self._arrays) > 64:  # buffers that move about: keep the latest only
                self._arrays.clear()
            array = self._arrays[key] = np.frombuffer(self._jffi.buffer(ptr, frames * 4), np.float32)
        return array

    def _on_shutdown(self, status: object, reason: str) -> None:
        self._dead.set()
        os.write(self._wake_w, b"x")

    # -- the main thread ---------------------------------------------------------------------
    def follow(self, source: str | None) -> None:
        """Take MIDI from ``source`` (and from nothing else)."""
        jack = self._jack
        for peer in self._client.get_all_connections(self._midi_in):
            with contextlib.suppress(jack.JackError):
                self._client.disconnect(peer, self._midi_in)
        self._source = source
        if source is not None:
            with contextlib.suppress(jack.JackError):
                self._client.connect(source, self._midi_in)

    def set_notes(self, voices: tuple[int, ...], channel: int) -> None:
        self._notes = (voices, NOTE_ON | channel)
        if isinstance(self.mixer, NativeMixer):
            self.mixer.set_notes(voices, NOTE_ON | channel)

    def alive(self) -> bool:
        return not self._dead.is_set()

    def close(self) -> None:
        if self._dead.is_set():  # a client of a dead server must not be closed (libjack crashes)
            self._client._ptr = self._jack._ffi.NULL  # noqa: SLF001 - nor closed at exit
            return
        with contextlib.suppress(self._jack.JackError):
            self._client.deactivate()
        self._client.close()


def serve(conn: Connection, stats: np.ndarray) -> int:
    """Open the kit as the first message says, say so, then follow commands until told to stop
    or the clock process is gone (its end of the socket closes)."""
    try:
        start = conn.recv()
    except (EOFError, OSError):
        return 0
    if not isinstance(start, StartKit):
        return 2
    try:
        kit = JackKit(start, stats)
    except Exception as err:  # noqa: BLE001 - one line back to the clock process, whatever it was
        with contextlib.suppress(OSError):
            conn.send(KitFailed(f"cannot open the kit's JACK client: {err}"))
        return 1
    stats[4] = 1
    gc.freeze()  # start-up's objects are never scanned again
    gc.disable()  # and no collection while playing: what runs here makes no reference cycles
    try:
        conn.send(KitReady(kit.port_names, kit.rate, kit.note, kit.callback))
    except OSError:  # the clock process went while the kit opened (the app quit at once)
        stats[4] = 0
        kit.close()
        return 0
    try:
        while True:
            if kit.wake_r in wait([conn, kit.wake_r]):  # blocks with the interpreter lock let go
                with contextlib.suppress(OSError):
                    conn.send(KitFailed("the JACK server stopped"))
                break
            try:
                command = conn.recv()
            except (EOFError, OSError):
                break
            match command:
                case SetKitMix(mix):
                    kit.mixer.set_mix(mix)
                case SetKitNotes(voices, channel):
                    kit.set_notes(voices, channel)
                case FollowMidi(source):
                    kit.follow(source)
                case StopKit():
                    break
                case _:
                    pass
    finally:
        stats[4] = 0
        kit.close()
    if not kit.alive():
        # libjack's own exit handlers crash once its server is gone: leave without them
        # (nothing here is buffered: the reply went out on the socket above)
        os._exit(0)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # Should the callback want the interpreter lock while the main thread runs (starting up,
    # or a command), it waits at most this long (Python's default: 5 ms).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    conn = Connection(int(args[0]))
    shared = mmap.mmap(int(args[1]), STATS_BYTES)
    stats: Any = np.ndarray((STATS_SLOTS,), np.int64, buffer=shared)
    try:
        return serve(conn, stats)
    finally:
        del stats
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
