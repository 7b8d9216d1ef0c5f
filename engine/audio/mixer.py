"""The voice mixer: what an audio callback does, and all it does.

:class:`VoiceMixer` keeps a fixed number of voice slots (a hit = a slot playing one kit
buffer from a start offset with a left and a right gain) and mixes them into two output
arrays per block. Everything it touches is allocated when it is built: the kit buffers, the
slot table (plain lists) and one scratch array; a block is in-place numpy on slices of those
(``np.multiply(..., out=)``, ``np.add(..., out=)``), so no audio-sized array is made while
playing and no lock is taken. The only shared state is the gain table, replaced by
reference (:meth:`VoiceMixer.set_mix`), which a block reads once.

The same mixer renders the offline WAV (:mod:`engine.audio.render`), so what is exported
is what plays live.
"""

from __future__ import annotations

import numpy as np

from engine.audio.kit import Kit, KitMix, velocity_gain
from engine.music.drums import Voice

POLYPHONY = 48  # simultaneous hits; a full kit's ring at 300 BPM stays under this
MAX_BLOCK_FRAMES = 8192  # the largest block a host may ask for at once
FREE = -1


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
        self.kit = kit
        self._samples = kit.samples
        self._lengths = tuple(len(s) for s in kit.samples)
        self._gains = (mix or KitMix()).gains()
        self._scratch = np.zeros(max_block, np.float32)
        self.max_block = max_block
        self._voice = [FREE] * polyphony
        self._pos = [0] * polyphony  # frame of the buffer at the next block's start (< 0: starts later)
        self._left = [0.0] * polyphony
        self._right = [0.0] * polyphony
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
        if gain <= 0.0 or not 0 <= voice < len(self._samples):
            return
        slots = self._voice
        if voice == Voice.CLOSED_HAT:
            for i, v in enumerate(slots):
                if v == Voice.OPEN_HAT and self._pos[i] + offset > 0:
                    slots[i] = FREE  # started before this hit: the pedal closes it
        try:
            slot = slots.index(FREE)
        except ValueError:
            slot = max(range(len(slots)), key=self._pos.__getitem__)
            self.stolen += 1
        gains = self._gains
        slots[slot] = voice
        self._pos[slot] = -int(offset)
        self._left[slot] = float(gains[voice, 0]) * gain
        self._right[slot] = float(gains[voice, 1]) * gain
        self.triggered += 1

    def mix_into(self, left: np.ndarray, right: np.ndarray, frames: int) -> None:
        """Overwrite ``left[:frames]`` and ``right[:frames]`` (float32, may be strided views)
        with this block, and move every slot on by ``frames``."""
        left[:frames] = 0.0
        right[:frames] = 0.0
        scratch = self._scratch
        samples, lengths, slots, positions = self._samples, self._lengths, self._voice, self._pos
        for i, voice in enumerate(slots):
            if voice == FREE:
                continue
            pos = positions[i]
            start = -pos if pos < 0 else 0
            if start < frames:
                src = pos + start
                n = min(frames - start, lengths[voice] - src)
                seg = samples[voice][src:src + n]
                tmp = scratch[:n]
                out_l = left[start:start + n]
                np.multiply(seg, self._left[i], out=tmp)
                np.add(out_l, tmp, out=out_l)
                out_r = right[start:start + n]
                np.multiply(seg, self._right[i], out=tmp)
                np.add(out_r, tmp, out=out_r)
            pos += frames
            positions[i] = pos
            if pos >= lengths[voice]:
                slots[i] = FREE
