"""What the clock process and the kit's own process say to each other: frozen dataclasses,
pickled over a socket pair and handled by one ``match`` on each side."""

from __future__ import annotations

from dataclasses import dataclass

from engine.audio.kit import KitMix
from engine.music.drums import GM_DRUM_CHANNEL, NoteMap

NO_VOICE = -1


def voices_by_pitch(note_map: NoteMap) -> tuple[int, ...]:
    """``(128,)``: the drum voice each MIDI pitch plays under ``note_map``, or :data:`NO_VOICE`."""
    table = [NO_VOICE] * 128
    for voice, pitch in enumerate(note_map.notes):
        table[pitch] = voice
    return tuple(table)


# -- clock process → kit process -------------------------------------------------------------
@dataclass(frozen=True)
class StartKit:
    """The first message: what the kit process opens.

    Args:
        client_name: its JACK client's name (the server may add a suffix if taken).
        midi_source: the MIDI output port it plays (``client:port``), or None.
        mix: levels, pans, volume.
        voices: :func:`voices_by_pitch` of the note map the MIDI is sent with.
        channel: the drums' MIDI channel (0-based); other channels are not the kit's.
        soundfont: an SF2 file to take the kit's sounds from, or None for the built-in kit.
        connect: connect the audio ports to the first two physical playback ports.
    """

    client_name: str
    midi_source: str | None
    mix: KitMix
    voices: tuple[int, ...]
    channel: int = GM_DRUM_CHANNEL
    soundfont: str | None = None
    connect: bool = True


@dataclass(frozen=True)
class SetKitMix:
    mix: KitMix


@dataclass(frozen=True)
class SetKitNotes:
    """A new note map or drum channel (the MIDI's): which pitches play which voice."""

    voices: tuple[int, ...]
    channel: int


@dataclass(frozen=True)
class FollowMidi:
    """Play this MIDI port from now on (the output was reopened); None: no port."""

    source: str | None


@dataclass(frozen=True)
class StopKit:
    pass


KitCommand = StartKit | SetKitMix | SetKitNotes | FollowMidi | StopKit


# -- kit process → clock process -------------------------------------------------------------
@dataclass(frozen=True)
class KitReady:
    """Playing: its audio ports, the server's rate, a soundfont note (one line) or None, and
    which process callback plays (``C``, or ``Python (why not C)``)."""

    ports: tuple[str, ...]
    rate: int
    note: str | None = None
    callback: str = ""


@dataclass(frozen=True)
class KitFailed:
    """It could not open, or stopped playing (one line: no JACK server, ports refused, the
    server went away)."""

    error: str


KitReply = KitReady | KitFailed


# -- the audio device's own process (engine/audio/device_process.py) ---------------------------
@dataclass(frozen=True)
class StartDevice:
    """The first message to the device process: what it opens.

    Args:
        mix: levels, pans, volume.
        device: PortAudio's output device (name or index), or None for the default.
        delay_ns: a note sounds this long after its deadline (see engine/audio/device.py).
        soundfont: an SF2 file to take the kit's sounds from, or None for the built-in kit.
    """

    mix: KitMix
    device: str | int | None = None
    delay_ns: int = 12_000_000
    soundfont: str | None = None


@dataclass(frozen=True)
class DeviceNote:
    """A note-on the clock sent (or is sending) at ``wall_ns`` (``perf_counter_ns``, the
    same clock in every process of the machine)."""

    wall_ns: int
    voice: int
    velocity: int


@dataclass(frozen=True)
class DeviceReady:
    """Playing: the device's name, its rate, and a soundfont note (one line) or None."""

    device_name: str
    rate: int
    note: str | None = None


DeviceCommand = StartDevice | DeviceNote | SetKitMix | StopKit
