"""The kit on the system's audio device (PortAudio through ``sounddevice``), where JACK is not.

The clock process hands over each note-on as it sends it, stamped with its deadline on
the wall clock (``perf_counter_ns``). The audio callback places a hit at
``deadline + delay``, at the sample of its block that time falls on, so the micro-timing
between hits survives (a hit is never moved to a block boundary); :data:`DELAY_NS` is
what that costs in latency. The block's wall time comes from :class:`BlockClock`: the
callbacks' own wake-ups, smoothed, because a callback that runs late must not shift the
music.

The callback mixes with the preallocated :class:`~engine.audio.ring_mixer.RingMixer` (a
hit's sound is added ahead of time; a block is a copy out); notes arrive through a
``collections.deque`` (its append and popleft need no lock). It runs in a process of its own
(engine/audio/device_process.py) so that its Python never waits for the clock's, nor the
clock's for it.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from engine.audio.errors import AudioError
from engine.audio.kit import Kit, KitMix, build_kit
from engine.audio.mixer import VoiceMixer
from engine.audio.ring_mixer import RingMixer

BLOCK_FRAMES = 256  # PortAudio block: 5.3 ms at 48 kHz
DELAY_NS = 12_000_000  # a note sounds this long after its deadline: a block plus the clock loop's slack
REANCHOR_NS = 3_000_000  # a block this far off its expected time (an underrun, a suspend) re-anchors
SLEW = 0.02  # fraction of the difference between expected and measured block time taken per block


class BlockClock:
    """The wall time of each block's first sample, from the callbacks' wake-up times.

    Expected = previous + frames / rate; measured = now. The expected time is slewed a little
    toward the measured one each block (following the device's clock rate) and reset when
    they differ by more than :data:`REANCHOR_NS` (the stream was interrupted).
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._next: float | None = None
        self.reanchors = 0

    def block_start(self, now_ns: int, frames: int) -> int:
        if self._next is None or abs(now_ns - self._next) > REANCHOR_NS:
            if self._next is not None:
                self.reanchors += 1
            self._next = float(now_ns)
        else:
            self._next += (now_ns - self._next) * SLEW
        start = self._next
        self._next = start + frames * 1e9 / self.rate
        return round(start)


class NoteQueue:
    """Note-ons in deadline order, from the clock thread to the audio callback."""

    def __init__(self) -> None:
        self._notes: deque[tuple[int, int, int]] = deque()
        self.late = 0  # hits placed at a block's start because their time had passed

    def put(self, wall_ns: int, voice: int, velocity: int) -> None:
        self._notes.append((wall_ns, voice, velocity))

    def feed(self, mixer: VoiceMixer | RingMixer, block_start_ns: int, frames: int, rate: int,
             delay_ns: int) -> None:
        """Trigger every note whose ``wall + delay`` falls before this block's end."""
        notes = self._notes
        end_ns = block_start_ns + frames * 1e9 / rate
        while notes:
            wall_ns, voice, velocity = notes[0]
            at = wall_ns + delay_ns
            if at >= end_ns:
                return
            notes.popleft()
            offset = round((at - block_start_ns) * rate / 1e9)
            if offset < 0:
                self.late += 1
                offset = 0
            mixer.trigger(offset, voice, velocity)


class DeviceAudio:
    """An output stream on the default (or named) audio device playing the kit.

    Raises:
        AudioError: no PortAudio library, no output device, or the stream cannot open (one line).
    """

    _import_reference_dropped = False  # per process: see __init__

    def __init__(self, mix: KitMix, device: str | int | None = None, delay_ns: int = DELAY_NS,
                 kit_for: Callable[[int], Kit] = build_kit) -> None:
        try:
            import sounddevice as sd
        except OSError as err:  # the Python module is there, the PortAudio library is not
            raise AudioError(f"no audio device: PortAudio is missing ({err}); "
                             "install libportaudio2") from err
        except ImportError as err:
            raise AudioError("no audio device: the sounddevice package is not installed") from err
        if not DeviceAudio._import_reference_dropped:
            # ``import sounddevice`` initialised PortAudio once, with the devices of that
            # moment; from here each output holds one reference of its own (see close)
            DeviceAudio._import_reference_dropped = True
            with contextlib.suppress(Exception):
                sd._terminate()  # noqa: SLF001
        sd._initialize()  # noqa: SLF001 - reference-counted; the first one reads the devices
        self._sd = sd
        try:
            info = sd.query_devices(device, "output")
        except (ValueError, sd.PortAudioError) as err:
            self.close()
            if device is None:
                raise AudioError("no audio output device found") from err
            raise AudioError(f"no audio output device {device!r} ({err})") from err
        self.rate = int(info["default_samplerate"])
        self.device_name = str(info["name"])
        self.mixer = RingMixer(kit_for(self.rate), mix)
        self.clock = BlockClock(self.rate)
        self.notes = NoteQueue()
        self.delay_ns = delay_ns
        self.underruns = 0
        self.blocks = self.busy_ns = self.busy_max_ns = 0  # the callback's own time
        try:
            self._stream = sd.OutputStream(samplerate=self.rate, blocksize=BLOCK_FRAMES, device=device,
                                           channels=2, dtype="float32", latency="low",
                                           callback=self._callback)
            self._stream.start()
        except (sd.PortAudioError, ValueError) as err:
            self.close()
            raise AudioError(f"cannot open audio device {self.device_name!r}: {err}") from err

    def note(self, wall_ns: int, voice: int, velocity: int) -> None:
        """A note-on the clock sent (or is sending) for ``wall_ns``."""
        self.notes.put(wall_ns, voice, velocity)

    def set_mix(self, mix: KitMix) -> None:
        self.mixer.set_mix(mix)

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        t0 = time.perf_counter_ns()
        if status.output_underflow:
            self.underruns += 1
        start = self.clock.block_start(t0, frames)
        self.notes.feed(self.mixer, start, frames, self.rate, self.delay_ns)
        self.mixer.mix_into(outdata[:, 0], outdata[:, 1], frames)
        spent = time.perf_counter_ns() - t0
        self.blocks += 1
        self.busy_ns += spent
        if spent > self.busy_max_ns:
            self.busy_max_ns = spent

    def close(self) -> None:
        """Close the stream and let go of PortAudio.

        Why: PortAudio reads the device list when it initialises (a JACK server started later
        would never be seen), and on JACK it holds a client; if that server is gone by the
        time the process exits, PortAudio's exit handler aborts on an assertion. Each output
        holds one reference to PortAudio and lets go of it here, so with none open it is
        terminated, and the next output reads the devices afresh.
        """
        stream = getattr(self, "_stream", None)
        if stream is not None:
            self._stream = None
            with contextlib.suppress(Exception):
                stream.stop()
                stream.close()
        sd, self._sd = getattr(self, "_sd", None), None
        if sd is not None and sd._initialized > 0:  # noqa: SLF001 - this output's reference
            with contextlib.suppress(Exception):
                sd._terminate()  # noqa: SLF001
