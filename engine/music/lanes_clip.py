"""Drums and melody as one MIDI clip: a type-1 file with a drum track and a melody track.

What a DAW gets when both lanes are exported together: track 0 holds the name, 4/4 and the
tempo; track 1 the drums on channel 10 (:func:`engine.music.midifile.pattern_to_midifile`);
track 2 the melody on its lane's channel (:meth:`engine.music.melody.Melody.to_midifile`),
both looped to the same number of bars from the same start, as the clock plays them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import mido

from engine.errors import MidiFileError
from engine.music.drums import GM_NOTE_MAP, NoteMap
from engine.music.melody import DEFAULT_TICKS_PER_BEAT, Melody
from engine.music.midifile import pattern_to_midifile
from engine.music.pattern import Pattern
from models.atomic import atomic_write
from models.pathnames import shown


def _melody_track(melody: Melody, tempo_bpm: float, channel: int) -> mido.MidiTrack:
    track = melody.to_midifile(tempo_bpm, ticks_per_beat=DEFAULT_TICKS_PER_BEAT).tracks[1]
    return mido.MidiTrack(m.copy(channel=channel) if not m.is_meta else m for m in track)


def lanes_midifile(pattern: Pattern, melody: Melody, tempo_bpm: float = 120.0,
                   note_map: NoteMap = GM_NOTE_MAP, melody_channel: int = 0) -> mido.MidiFile:
    """Both lanes as they are (loop them to a common length first).

    Raises:
        ValueError: a bad tempo or channel.
    """
    if not 0 <= melody_channel <= 15:
        raise ValueError(f"melody channel must lie in 0..15, got {melody_channel}")
    midi = pattern_to_midifile(pattern, tempo_bpm, note_map, DEFAULT_TICKS_PER_BEAT)
    midi.tracks.append(_melody_track(melody, tempo_bpm, melody_channel))
    return midi


def melody_midifile(melody: Melody, tempo_bpm: float = 120.0, melody_channel: int = 0) -> mido.MidiFile:
    """The melody lane alone, on its channel."""
    midi = melody.to_midifile(tempo_bpm, ticks_per_beat=DEFAULT_TICKS_PER_BEAT)
    midi.tracks[1] = _melody_track(melody, tempo_bpm, melody_channel)
    return midi


def write_midifile(path: str | os.PathLike[str], make: Callable[[], mido.MidiFile]) -> Path:
    """Write what ``make()`` builds to ``path`` atomically (replacing it).

    Raises:
        MidiFileError: the clip cannot be built or written (names the file and the reason).
    """
    path = Path(path)
    try:
        midi = make()
    except ValueError as err:
        raise MidiFileError(f"{shown(path)}: cannot write clip: {err}") from err
    try:
        atomic_write(path, lambda f: midi.save(file=f))
    except OSError as err:
        raise MidiFileError(f"{shown(path)}: cannot write clip: {err.strerror or err}") from err
    return path
