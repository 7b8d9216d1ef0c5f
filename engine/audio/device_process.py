"""The kit on the system's audio device (PortAudio), in a process of its own.

Why: PortAudio calls the kit's audio callback on a thread of its own, and through
``sounddevice`` that callback is Python: in the clock process it took the interpreter lock
from the clock's threads every block (and waited for it while they ran), so the clock's
timing and the audio shared one lock. Here the callback
(:class:`~engine.audio.device.DeviceAudio`'s) shares its process only with a main thread
that blocks in a socket read, wakes for a note or a command (microseconds), and copies the
counters into shared memory every :data:`COUNTERS_INTERVAL_S`.

The design is the JACK kit's (:mod:`engine.audio.kit_process`): started with ``subprocess``
by :class:`engine.audio.device_host.DeviceProcess`, frozen dataclasses over a socket pair
(:mod:`engine.audio.kit_messages`), handled by one ``match``; counters in shared memory. The
clock process sends each note-on as it sends the MIDI, stamped with its deadline on the wall
clock (``perf_counter_ns``: one clock for every process of the machine), and the callback
places it ``delay`` after that, as before.

Run as ``python -m engine.audio.device_process FD STATS_FD``.
"""

from __future__ import annotations

import contextlib
import gc
import mmap
import sys
from multiprocessing.connection import Connection, wait
from typing import Any

import numpy as np

from engine.audio.kit_messages import DeviceNote, DeviceReady, KitFailed, SetKitMix, StartDevice, StopKit

STATS_FIELDS = ("alive", "notes", "hits", "late", "underruns", "blocks", "busy_ns", "busy_max_ns")
STATS_BYTES = 8 * len(STATS_FIELDS)
COUNTERS_INTERVAL_S = 0.1  # the counters in shared memory are this fresh
SWITCH_INTERVAL_S = 0.0002  # the callback waits at most this for the main thread's lock


def _copy_counters(audio: Any, stats: np.ndarray, notes: int) -> None:
    stats[1:] = (notes, audio.mixer.triggered, audio.notes.late, audio.underruns, audio.blocks,
                 audio.busy_ns, audio.busy_max_ns)


def serve(conn: Connection, stats: np.ndarray) -> int:
    """Open the device as the first message says, say so, then play notes and follow commands
    until told to stop or the clock process is gone (its end of the socket closes)."""
    from engine.audio.device import DeviceAudio
    from engine.audio.errors import AudioError
    from engine.audio.soundfont import kit_with_soundfont

    try:
        start = conn.recv()
    except (EOFError, OSError):
        return 0
    if not isinstance(start, StartDevice):
        return 2
    notes: list[str | None] = [None]

    def kit_for(rate: int) -> Any:
        kit, notes[0] = kit_with_soundfont(rate, start.soundfont)
        return kit

    try:
        audio = DeviceAudio(start.mix, start.device, start.delay_ns, kit_for=kit_for)
    except AudioError as err:
        with contextlib.suppress(OSError):
            conn.send(KitFailed(str(err)))
        return 1
    except Exception as err:  # noqa: BLE001 - a library's own error: one line back
        with contextlib.suppress(OSError):
            conn.send(KitFailed(f"audio output failed: {err}"))
        return 1
    received = 0
    stats[0] = 1
    gc.freeze()  # start-up's objects are never scanned again
    gc.disable()  # and no collection while playing: what runs here makes no reference cycles
    conn.send(DeviceReady(audio.device_name, audio.rate, notes[0]))
    try:
        while True:
            if conn in wait([conn], COUNTERS_INTERVAL_S):  # blocks with the lock let go
                try:
                    command = conn.recv()
                except (EOFError, OSError):
                    break
                match command:
                    case DeviceNote(wall_ns, voice, velocity):
                        audio.note(wall_ns, voice, velocity)
                        received += 1
                    case SetKitMix(mix):
                        audio.set_mix(mix)
                    case StopKit():
                        break
                    case _:
                        pass
            _copy_counters(audio, stats, received)
    finally:
        stats[0] = 0
        audio.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    conn = Connection(int(args[0]))
    shared = mmap.mmap(int(args[1]), STATS_BYTES)
    stats: Any = np.ndarray((len(STATS_FIELDS),), np.int64, buffer=shared)
    try:
        return serve(conn, stats)
    finally:
        del stats
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
