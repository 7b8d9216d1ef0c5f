"""The kit's live mixer on JACK: hits are added into a ring ahead of time, so a period is only
a copy out and a clear.

Why: :class:`~engine.audio.mixer.VoiceMixer` does the same eight numpy calls every period
(a gather over every slot and a matrix product): about 60-80 µs of a 1,333 µs period in a
JACK callback on this machine, every period, sounding or not. Here the work goes with the
hits instead: a hit's sound, scaled by its stereo gain, is added into a ring from its frame
on, :data:`CHUNK_FRAMES` at a time (the first chunk when it is triggered, the next one
whenever the ring's written part comes within a chunk of the block being played), and
:meth:`RingMixer.mix_into` copies the period out and zeroes it behind itself. A period
without a chunk due costs three numpy calls; a chunk, four more on 2,048 frames. Nothing is
allocated but small views; no lock is taken.

Same sound as :class:`~engine.audio.mixer.VoiceMixer` (the offline renderer's): the same
buffers, gains, velocity curve, hits at their offsets, the same choke (a closed hi-hat
silences a ringing open one from the start of the block it comes in). No polyphony limit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.audio.kit import Kit, KitMix, velocity_gain
from engine.audio.mixer import MAX_BLOCK_FRAMES, PAD_FRAMES
from engine.music.drums import Voice

CHUNK_FRAMES = 2048  # a hit's sound is written this much at a time (43 ms at 48 kHz)


class RingMixer:
    """Mixes triggered kit voices into stereo blocks (the :class:`VoiceMixer` interface).

    Call :meth:`trigger` for the hits that start in the next block (``offset`` = frames into
    it, up to :data:`~engine.audio.mixer.PAD_FRAMES`), then :meth:`mix_into` once for the
    block. Both belong to one thread (the audio callback); only :meth:`set_mix` may be called
    from another.
    """

    def __init__(self, kit: Kit, mix: KitMix | None = None, max_block: int = MAX_BLOCK_FRAMES) -> None:
        if not 0 < max_block <= MAX_BLOCK_FRAMES:
            raise ValueError(f"max_block must lie in 1..{MAX_BLOCK_FRAMES}, got {max_block}")
        self.kit = kit
        self.max_block = max_block
        span = kit.longest + PAD_FRAMES + 2 * max_block + CHUNK_FRAMES  # the furthest ahead it writes
        self._size = 1 << (span - 1).bit_length()  # a power of two: power-of-two blocks never wrap
        self._ring = np.zeros((2, self._size), np.float32)  # left row, right row
        self._scratch = np.zeros(kit.longest, np.float32)
        for buf in (self._ring, self._scratch):
            buf.fill(0.0)  # every page touched now, not first in the audio callback
        self._gains = (mix or KitMix()).gains()  # (9, 2), swapped whole by set_mix
        self._now = 0  # frames mixed so far: the next block's first frame
        # each sounding hit: [voice, start, end, left gain, right gain, written up to] (frames)
        self._hits: list[list[Any]] = []
        self.triggered = 0
        self.stolen = 0  # never: every hit rings out (kept for the VoiceMixer interface)

    def set_mix(self, mix: KitMix) -> None:
        """New levels, pans and volume from the next hit on (one reference swap)."""
        self._gains = mix.gains()

    @property
    def active(self) -> int:
        """Hits sounding now."""
        return sum(1 for hit in self._hits if hit[2] > self._now)

    def trigger(self, offset: int, voice: int, velocity: int) -> None:
        """Start ``voice`` ``offset`` frames into the next block at MIDI ``velocity``.

        A closed hi-hat chokes a ringing open one, as the pedal does on a real kit.
        """
        gain = velocity_gain(velocity)
        if gain <= 0.0 or not 0 <= voice < len(self.kit.samples):
            return
        start = self._now + min(max(0, int(offset)), PAD_FRAMES)
        now = self._now
        if voice == Voice.CLOSED_HAT:
            for hit in self._hits:
                if hit[0] == Voice.OPEN_HAT and hit[1] < start and hit[2] > now:
                    cut = max(now, hit[1])  # silent from this block on, as VoiceMixer frees its slot
                    if hit[5] > cut:
                        self._write(hit, cut, hit[5], sign=-1.0)  # take back what was written past it
                    hit[2] = hit[5] = cut
        self._hits = [hit for hit in self._hits if hit[2] > now]  # a few entries at most
        gains = self._gains
        hit = [voice, start, start + len(self.kit.samples[voice]),
               float(gains[voice, 0]) * gain, float(gains[voice, 1]) * gain, start]
        self._hits.append(hit)
        self._write(hit, start, min(hit[2], start + CHUNK_FRAMES))
        self.triggered += 1

    def mix_into(self, left: np.ndarray, right: np.ndarray, frames: int) -> None:
        """Overwrite ``left[:frames]`` and ``right[:frames]`` (float32) with this block."""
        if not 0 < frames <= self.max_block:
            raise ValueError(f"frames must lie in 1..{self.max_block}, got {frames}")
        ahead = self._now + frames + CHUNK_FRAMES
        for hit in self._hits:
            if hit[5] < hit[2] and hit[5] < ahead:  # its sound is written a chunk past this block
                self._write(hit, hit[5], min(hit[2], max(ahead, hit[5] + CHUNK_FRAMES)))
        at = self._now % self._size
        first = min(frames, self._size - at)
        block = self._ring[:, at:at + first]
        left[:first] = block[0]
        right[:first] = block[1]
        block.fill(0.0)
        if first < frames:  # a block size that does not divide the ring: the rest from its start
            rest = self._ring[:, :frames - first]
            left[first:frames] = rest[0]
            right[first:frames] = rest[1]
            rest.fill(0.0)
        self._now += frames

    def _write(self, hit: list[Any], begin: int, end: int, sign: float = 1.0) -> None:
        """Add ``hit``'s sound over frames ``[begin, end)`` into the ring (``sign`` -1: take it
        out again), and note how far it is written."""
        voice, start = hit[0], hit[1]
        sample = self.kit.samples[voice][begin - start:end - start]
        n = len(sample)
        if n > 0:
            pos = begin % self._size
            first = min(n, self._size - pos)
            scaled = self._scratch[:n]
            for row, gain in ((0, hit[3]), (1, hit[4])):
                np.multiply(sample, sign * gain, out=scaled)
                target = self._ring[row, pos:pos + first]
                np.add(target, scaled[:first], out=target)
                if first < n:
                    target = self._ring[row, :n - first]
                    np.add(target, scaled[first:], out=target)
        if sign > 0:
            hit[5] = max(hit[5], end)
