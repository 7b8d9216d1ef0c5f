"""The voice mixer: what an audio callback does, and all it does.

:class:`VoiceMixer` keeps a fixed number of voice slots (a hit = a slot playing one kit
buffer from a start offset with a left and a right gain) and mixes them into two output
arrays per block.

Why it is vectorised over the slots: the JACK callback runs Python, and every bytecode it
runs is a moment another thread of the clock process can take the interpreter lock from it
(a Python loop over the sounding voices costs about 2.4 µs a voice, and with the other core
busy such a loop made the server report more xruns; docs/benchmarks.md). So the kit's
buffers live in one *bank*, each voice between zero pads at least
:data:`PAD_FRAMES` long; a slot is a *cursor* into the bank. A block is the same six numpy
calls whatever sounds: the cursors plus a ramp give a ``(slots, frames)`` index table,
``np.take`` gathers the samples (a slot whose hit starts later in the block, or whose
buffer has ended, reads pad zeros), one ``matmul`` with the ``(2, slots)`` gains mixes
them to left and right, the cursors move on. Everything is preallocated (per block size:
made again only when the host changes it), so nothing is allocated while playing and no
lock is taken; :meth:`VoiceMixer.set_mix` swaps the gain table by reference.

The same mixer renders the offline WAV (:mod:`engine.audio.render`), so what is exported
is what plays live.
"""

from __future__ import annotations

import numpy as np

from engine.audio.kit import Kit, KitMix, velocity_gain
from engine.music.drums import Voice

POLYPHONY = 32  # simultaneous hits; past that the hit that has played longest gives way
MAX_BLOCK_FRAMES = 8192  # the largest block a host may ask for at once
PAD_FRAMES = 2 * MAX_BLOCK_FRAMES  # zeros around each voice: a start offset up to this is exact
FREE = -1
_IDLE_END = np.iinfo(np.int64).max  # a free slot never "ends"


class VoiceMixer:
    """Mixes triggered kit voices into stereo blocks.

    Call :meth:`trigger` for the hits that start in the next block (``offset`` = frames into
    it), then :meth:`mix_into` once for the block. Both belong to one thread (the audio
    callback); only :meth:`set_mix` may be called from another.

    Args:
        kit: the voice buffers (at the output's sample rate).
        mix: levels, pans and master volume.
        polyphony: voice slots; a hit with none free takes the slot that has played longest.
        max_block: the largest ``frames`` :meth:`mix_into` accepts.
    """

    def __init__(self, kit: Kit, mix: KitMix | None = None, polyphony: int = POLYPHONY,
                 max_block: int = MAX_BLOCK_FRAMES) -> None:
        if max_block > MAX_BLOCK_FRAMES:
            raise ValueError(f"max_block must be at most {MAX_BLOCK_FRAMES}, got {max_block}")
        self.kit = kit
        self.max_block = max_block
        parts, bases = [np.zeros(PAD_FRAMES, np.float32)], []
        at = PAD_FRAMES
        for buf in kit.samples:  # [pad | voice 0 | pad | voice 1 | ... | pad]
            bases.append(at)
            parts += [buf, np.zeros(PAD_FRAMES, np.float32)]
            at += len(buf) + PAD_FRAMES
        self._bank = np.concatenate(parts)
        self._base = tuple(bases)
        self._lengths = tuple(len(s) for s in kit.samples)
        self._gains = (mix or KitMix()).gains()  # (9, 2), swapped whole by set_mix
        self._voice = [FREE] * polyphony
        self._cursor = np.zeros(polyphony, np.int64)  # bank index of each slot's next frame
        self._end = np.full(polyphony, _IDLE_END, np.int64)  # bank index where its buffer ends
        self._moving = np.zeros(polyphony, np.int64)  # 1 for a sounding slot
        self._slot_gains = np.zeros((2, polyphony), np.float32)  # left, right per slot
        self._step = np.zeros(polyphony, np.int64)
        self._done = np.zeros(polyphony, bool)
        self._frames = 0
        self.triggered = 0
        self.stolen = 0  # hits that had to take a sounding slot

    def set_mix(self, mix: KitMix) -> None:
        """New levels, pans and volume from the next hit on (one reference swap)."""
        self._gains = mix.gains()

    @property
    def active(self) -> int:
        """Slots sounding now."""
        return sum(1 for v in self._voice if v != FREE)

    def trigger(self, offset: int, voice: int, velocity: int) -> None:
        """Start ``voice`` ``offset`` frames into the next block at MIDI ``velocity``.

        A closed hi-hat chokes a ringing open one, as the pedal does on a real kit.
        """
        gain = velocity_gain(velocity)
        if gain <= 0.0 or not 0 <= voice < len(self._base):
            return
        offset = min(max(0, int(offset)), PAD_FRAMES)
        slots = self._voice
        if voice == Voice.CLOSED_HAT:
            for i, v in enumerate(slots):
                if v == Voice.OPEN_HAT and self._cursor[i] - self._base[v] + offset > 0:
                    self._free(i)  # started before this hit: the pedal closes it
        try:
            slot = slots.index(FREE)
        except ValueError:
            played = [int(self._cursor[i]) - self._base[v] for i, v in enumerate(slots)]
            slot = played.index(max(played))
            self.stolen += 1
        gains = self._gains
        slots[slot] = voice
        self._cursor[slot] = self._base[voice] - offset
        self._end[slot] = self._base[voice] + self._lengths[voice]
        self._moving[slot] = 1
        self._slot_gains[0, slot] = float(gains[voice, 0]) * gain
        self._slot_gains[1, slot] = float(gains[voice, 1]) * gain
        self.triggered += 1

    def mix_into(self, left: np.ndarray, right: np.ndarray, frames: int) -> None:
        """Overwrite ``left[:frames]`` and ``right[:frames]`` (float32, may be strided views)
        with this block, and move every sounding slot on by ``frames``."""
        if frames != self._frames:
            self._size_for(frames)
        np.add(self._cursor[:, None], self._ramp, out=self._index)
        np.take(self._bank, self._index, out=self._values, mode="clip")  # clip: never buffered
        np.matmul(self._slot_gains, self._values, out=self._lr)
        left[:frames] = self._lr[0]
        right[:frames] = self._lr[1]
        np.multiply(self._moving, frames, out=self._step)
        np.add(self._cursor, self._step, out=self._cursor)
        np.greater_equal(self._cursor, self._end, out=self._done)
        if self._done.any():  # a voice ran out (a few times a second at most)
            for i in np.flatnonzero(self._done):
                self._free(int(i))

    # -- internals ---------------------------------------------------------------------------
    def _size_for(self, frames: int) -> None:
        """The per-block tables for a block size (once, and when the host changes it)."""
        if not 0 < frames <= self.max_block:
            raise ValueError(f"frames must lie in 1..{self.max_block}, got {frames}")
        slots = len(self._voice)
        self._ramp = np.arange(frames, dtype=np.int64)
        self._index = np.zeros((slots, frames), np.int64)
        self._values = np.zeros((slots, frames), np.float32)
        self._lr = np.zeros((2, frames), np.float32)
        self._frames = frames

    def _free(self, slot: int) -> None:
        self._voice[slot] = FREE
        self._cursor[slot] = 0  # the leading pad: reads zeros
        self._end[slot] = _IDLE_END
        self._moving[slot] = 0
        self._slot_gains[:, slot] = 0.0
