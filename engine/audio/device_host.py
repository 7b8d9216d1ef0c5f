"""The clock process's handle on the audio device's own process (:mod:`engine.audio.device_process`).

It stands where :class:`~engine.audio.device.DeviceAudio` stood in the clock process (the
same ``note``, ``set_mix``, ``close``, ``rate``, ``device_name``), but the PortAudio stream
and its callback live in the other process. A note-on is one small message on the socket;
nothing here waits on the other process: :meth:`DeviceProcess.note` drops a note (and counts
it) rather than let the socket's buffer fill while that process is stuck, and
:meth:`DeviceProcess.open`, which waits for the device to open (a few hundred ms), runs on
the opening thread, never on the clock thread.
"""

from __future__ import annotations

import contextlib
import socket
import time

from engine.audio.device import DELAY_NS
from engine.audio.device_process import STATS_FIELDS
from engine.audio.errors import AudioError
from engine.audio.kit import KitMix
from engine.audio.kit_host import AudioProcess
from engine.audio.kit_messages import DeviceNote, DeviceReady, SetKitMix, StartDevice

OPEN_TIMEOUT_S = 15.0  # PortAudio's start-up, and the first build of a soundfont's kit
MAX_IN_FLIGHT = 64  # notes sent and not yet taken in; past that the process is stuck: drop
SEND_BUFFER_BYTES = 1 << 16


class DeviceProcess(AudioProcess):
    """The kit on the audio device, in its own process.

    Attributes:
        device_name, rate, note: once :attr:`ready`: the device, its rate, the soundfont's note.
        dropped: notes not sent because the process had not taken in the earlier ones.
    """

    MODULE = "engine.audio.device_process"
    WHAT = "audio device"

    def __init__(self, start: StartDevice) -> None:
        self.device_name = ""
        self.rate = 0
        self.note_text: str | None = None
        self.sent = 0
        self.dropped = 0
        super().__init__(start, len(STATS_FIELDS))
        with contextlib.suppress(OSError):  # room for every note in flight (macOS: 8 KB else)
            sock = socket.socket(fileno=self._conn.fileno())
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
            finally:
                sock.detach()

    @classmethod
    def open(cls, mix: KitMix, device: str | int | None = None, delay_ns: int = DELAY_NS,
             soundfont: str | None = None, timeout_s: float = OPEN_TIMEOUT_S) -> DeviceProcess:
        """Start it and wait until it plays (call off the clock thread).

        Raises:
            AudioError: it could not open the device, or did not say so in time (one line).
        """
        proc = cls(StartDevice(mix, device, delay_ns, soundfont))
        end = time.monotonic() + timeout_s
        while not proc.ready and proc.error is None and time.monotonic() < end:
            if proc._conn.poll(0.05):  # noqa: SLF001 - waits here, on the opening thread
                proc.poll()
        if not proc.ready:
            error = proc.error or f"the audio device's process did not start in {timeout_s:.0f} s"
            proc.close()
            raise AudioError(error)
        return proc

    def _take(self, reply: object) -> None:
        match reply:
            case DeviceReady(name, rate, note):
                self.ready, self.device_name, self.rate, self.note_text = True, name, rate, note
            case _:
                pass

    def note(self, wall_ns: int, voice: int, velocity: int) -> None:
        """A note-on the clock sent (or is sending) for ``wall_ns``: sent on, never waited for."""
        if self.sent - int(self._stats[1]) >= MAX_IN_FLIGHT:
            self.dropped += 1
            return
        self.sent += 1
        self.send(DeviceNote(wall_ns, voice, velocity))

    def set_mix(self, mix: KitMix) -> None:
        self.send(SetKitMix(mix))

    def counters(self) -> dict[str, int]:
        """What it counted (refreshed every 0.1 s): notes taken in, hits, late, underruns, the
        callback's blocks and time (ns), and the notes dropped here."""
        out = {name: int(v) for name, v in zip(STATS_FIELDS, self._stats, strict=True)}
        out["dropped"] = self.dropped
        return out
