"""Drum clips in and out of the app: the window of a clip the model sees, and the current
pattern looped to a clip's length on export."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from engine.music.pattern import Pattern
from models.pathnames import shown

if TYPE_CHECKING:
    from engine.music.drums import NoteMap


def loop_to_bars(pattern: Pattern, bars: int) -> Pattern:
    """``pattern`` repeated and cut to exactly ``bars`` bars (export length)."""
    if bars <= 0:
        raise ValueError(f"bars must be positive, got {bars}")
    reps = -(-bars // pattern.bars)
    return Pattern.concatenate([pattern] * reps).bar_slice(0, bars)


MAX_EXPORT_BARS = 256


def export_bars(saved: int, pattern_bars: int) -> int:
    """The export length to offer: the length used last, rounded up to whole loops of the
    pattern that plays (a 16-bar transition is not cut to the 8 bars exported before), at most
    :data:`MAX_EXPORT_BARS`."""
    whole = -(-max(1, saved) // pattern_bars) * pattern_bars
    return whole if whole <= MAX_EXPORT_BARS else max(pattern_bars, min(saved, MAX_EXPORT_BARS))


def display_name(path: str | Path) -> str:
    """A clip's file name for messages: a name of any bytes escaped (Qt would drop the
    bytes that are not UTF-8, and a newline would split the status line)."""
    return shown(Path(path).name)


def read_window(path: str | Path, steps: int) -> tuple[Pattern, Pattern]:
    """The clip at ``path`` and its first ``steps`` steps (a shorter clip looped to them).

    Raises:
        MidiFileError: the file cannot be read as a drum clip (names it and the reason).
    """
    from engine.music.midifile import read_clip  # MIDI file support loads on first use

    clip = read_clip(path)
    bars = steps // clip.steps_per_bar
    return clip, clip.bar_slice(0, bars) if clip.steps >= steps else loop_to_bars(clip, bars)


def export(path: str | Path, pattern: Pattern, bars: int, tempo_bpm: float, note_map: NoteMap) -> Path:
    """``pattern`` looped to ``bars`` bars, written to ``path`` (replaced atomically).

    Raises:
        MidiFileError: the file cannot be written (names it and the reason).
    """
    from engine.music.midifile import write_clip

    return write_clip(path, loop_to_bars(pattern, bars), tempo_bpm=tempo_bpm, note_map=note_map,
                      force=True)


class TempClips:
    """A folder of this run's own for clips dragged into a DAW or file manager (the drop
    target reads the file after the drag, so it must outlive it; removed on close)."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="groovefader-")

    def path(self, tempo_bpm: float, bars: int) -> Path:
        """A fresh file name saying what the clip is."""
        return Path(self._dir.name) / f"groovefader-{tempo_bpm:g}bpm-{bars}bars-{int(time.time())}.mid"

    def cleanup(self) -> None:
        self._dir.cleanup()
