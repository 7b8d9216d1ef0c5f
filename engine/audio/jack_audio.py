"""The kit on JACK: two audio ports on the MIDI output's own JACK client.

Why the same client: its process callback already writes every MIDI event at its frame
(:class:`engine.ports.jack_backend.JackOutput`); triggering the kit there, at the offset the
MIDI event was written to, puts each hit's first sample on the note's frame, in the same
period. Audio and MIDI then follow one clock, one pattern and one set of controls, with
nothing to keep in step. The JACK thread calls :meth:`JackAudio.trigger` and
:meth:`JackAudio.process`; both only run the preallocated :class:`~engine.audio.mixer.VoiceMixer`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from engine.audio.errors import AudioError
from engine.audio.kit import Kit, KitMix, build_kit
from engine.audio.mixer import MAX_BLOCK_FRAMES, VoiceMixer

PORT_NAMES = ("audio_L", "audio_R")


class JackAudio:
    """Audio ports ``<client>:audio_L`` / ``audio_R`` fed by the kit.

    Args:
        client: an active ``jack.Client`` (the MIDI output's).
        mix: levels, pans, volume.
        connect: connect to the server's first two physical playback ports (the speakers).
        kit_for: the kit at a sample rate (a cache, so turning the kit on again costs nothing).

    Raises:
        AudioError: the ports cannot be registered (one line).
    """

    def __init__(self, client: Any, mix: KitMix, connect: bool = True,
                 kit_for: Callable[[int], Kit] = build_kit) -> None:
        import jack

        if client.blocksize > MAX_BLOCK_FRAMES:
            raise AudioError(f"JACK period {client.blocksize} frames is over {MAX_BLOCK_FRAMES}")
        self.rate = client.samplerate
        self.mixer = VoiceMixer(kit_for(self.rate), mix)
        self._client = client
        try:
            self._ports = tuple(client.outports.register(name) for name in PORT_NAMES)
        except jack.JackError as err:
            raise AudioError(f"cannot register JACK audio ports: {err}") from err
        self.port_names = tuple(p.name for p in self._ports)
        self.connected: list[str] = []
        if connect:
            speakers = [p.name for p in client.get_ports(is_audio=True, is_input=True, is_physical=True)]
            for port, target in zip(self._ports, (speakers * 2)[:2], strict=False):
                try:
                    client.connect(port, target)
                    self.connected.append(target)
                except jack.JackError:
                    pass  # someone else routes it (a patchbay); the ports are there to connect
        self.blocks = 0
        self.busy_ns = 0  # time spent mixing, summed over the blocks
        self.busy_max_ns = 0

    # -- the JACK thread ---------------------------------------------------------------------
    def trigger(self, offset: int, voice: int, velocity: int) -> None:
        """A note-on written at ``offset`` frames into this period."""
        self.mixer.trigger(offset, voice, velocity)

    def process(self, frames: int) -> None:
        """Mix this period into the two port buffers (and time it: the kit's share of the period)."""
        t0 = time.perf_counter_ns()
        left, right = self._ports
        self.mixer.mix_into(left.get_array(), right.get_array(), frames)
        spent = time.perf_counter_ns() - t0
        self.blocks += 1
        self.busy_ns += spent
        if spent > self.busy_max_ns:
            self.busy_max_ns = spent

    # -- elsewhere ---------------------------------------------------------------------------
    def set_mix(self, mix: KitMix) -> None:
        self.mixer.set_mix(mix)

    def close(self) -> None:
        """Unregister the ports; call only once the process callback no longer calls in."""
        import jack

        for port in self._ports:
            with contextlib.suppress(jack.JackError, AttributeError):
                port.unregister()
