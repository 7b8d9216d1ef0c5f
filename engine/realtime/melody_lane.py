"""The melody lane's pure logic: which notes a melody starts at a step, and for how long.

Beside the drums' :mod:`engine.realtime.steps` and shaped like it: nothing here reads a clock or
sends. A :class:`~engine.music.melody.Melody` (MusicVAE events: pitch = a note starts,
``NO_EVENT`` = it is held, ``NOTE_OFF`` = a rest) is flattened once into a
:class:`MelodyTable` of note starts with their lengths in steps, so a held note is one
note-on and one note-off ``length`` steps later (a tie is not re-struck). The melody loops at
its own length (2, 4, 8 or 16 bars, any whole number of bars) against the song position, so
``song_step % melody.steps`` is its phase: the drums (2 bars) and the melody stay in phase
whatever their lengths.

Transpose and octave apply at play time (:class:`MelodyControls`); a pitch pushed outside
MIDI's 0..127 folds back by octaves rather than being dropped.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any

from engine.music.melody import MELODY_CHANNEL, MELODY_VELOCITY, Melody

MELODY_VOICE = 100  # the ``voice`` of melody notes in the scheduler (drum voices are 0-8)
MAX_TRANSPOSE = 24  # semitones either way
MAX_OCTAVE = 3  # octaves either way


@dataclass(frozen=True)
class MelodyControls:
    """One immutable snapshot of the melody lane's settings.

    Args:
        channel: zero-based MIDI channel (0 = "channel 1", the default).
        transpose: semitones added to every pitch at play time, -24..24 (the key).
        octave: whole octaves added at play time, -3..3.
        velocity: MIDI velocity of every note, 1-127 (the encoding has none).
        mute: the lane plays nothing (its sounding note ends).
    """

    channel: int = MELODY_CHANNEL
    transpose: int = 0
    octave: int = 0
    velocity: int = MELODY_VELOCITY
    mute: bool = False

    def __post_init__(self) -> None:
        for name, value, low, high in (("channel", self.channel, 0, 15),
                                       ("transpose", self.transpose, -MAX_TRANSPOSE, MAX_TRANSPOSE),
                                       ("octave", self.octave, -MAX_OCTAVE, MAX_OCTAVE),
                                       ("velocity", self.velocity, 1, 127)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"melody {name} must be an int in {low}..{high}, got {value!r}")
        if not isinstance(self.mute, bool):
            raise TypeError(f"melody mute must be a bool, got {type(self.mute).__name__}")

    @property
    def shift(self) -> int:
        """Semitones added to every written pitch."""
        return self.transpose + 12 * self.octave

    def pitch(self, written: int) -> int:
        """The MIDI note played for ``written``; outside 0..127 it folds back by octaves."""
        p = written + self.shift
        while p > 127:
            p -= 12
        while p < 0:
            p += 12
        return p


@dataclass(frozen=True)
class MelodyTable:
    """A melody flattened for the clock loop: its notes, and a look-up by step.

    Small on purpose: it is built in the caller's process and crosses to the clock process in
    every melody change, where unpickling (and building) a table of one entry per step cost
    the clock about a millisecond a change on a loaded machine. Only ``notes`` is pickled; the
    look-ups are rebuilt from them (tens of microseconds).

    Attributes:
        steps: the loop length in steps.
        steps_per_bar: 16 for 4/4 at 16ths.
        notes: ``(start_step, end_step, pitch)`` of every note in order (end exclusive).
    """

    steps: int
    steps_per_bar: int
    notes: tuple[tuple[int, int, int], ...]
    _starts: dict[int, tuple[int, int]] = field(init=False, repr=False, compare=False)
    _onsets: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", {s: (p, e - s) for s, e, p in self.notes})
        object.__setattr__(self, "_onsets", tuple(s for s, _, _ in self.notes))

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.steps, self.steps_per_bar, self.notes)

    @classmethod
    def from_melody(cls, melody: Melody) -> MelodyTable:
        """Raises ValueError for an empty melody or one that is not whole bars."""
        if melody.steps == 0 or melody.steps % melody.steps_per_bar:
            raise ValueError(f"a melody lane plays whole bars; got {melody.steps} steps of "
                             f"{melody.steps_per_bar} per bar")
        notes = tuple((int(s), int(e), int(p)) for s, e, p in melody.notes())
        return cls(melody.steps, melody.steps_per_bar, notes)

    def start_at(self, phase: int) -> tuple[int, int] | None:
        """``(pitch, length_steps)`` of the note starting at ``phase``, or None."""
        return self._starts.get(phase)

    def covering(self, phase: int) -> tuple[int, int, int] | None:
        """``(start_step, pitch, end_step)`` of the note sounding through ``phase`` (a note
        entering there when a melody takes over mid-note), or None."""
        i = bisect.bisect_right(self._onsets, phase) - 1
        if i >= 0:
            start, end, pitch = self.notes[i]
            if start <= phase < end:
                return start, pitch, end
        return None

    @property
    def bars(self) -> int:
        return self.steps // self.steps_per_bar


@dataclass(frozen=True, order=True)
class MelodyNote:
    """One melody note to play: ``pitch`` (after transpose/octave) for ``length_steps``."""

    pitch: int
    velocity: int
    length_steps: int


def melody_note_for_step(table: MelodyTable, step: int, controls: MelodyControls,
                         entering: bool = False) -> MelodyNote | None:
    """The note the melody starts at song position ``step`` (None: none, or muted).

    Args:
        table: the playing melody; it loops, so ``step`` is taken modulo its length.
        step: song position in steps (any non-negative int).
        controls: transpose, octave, velocity, mute.
        entering: the melody takes over at ``step``: a note it holds through ``step`` is
            struck here for what is left of it (so a swap mid-note is heard at once).
    """
    if controls.mute:
        return None
    phase = step % table.steps
    start = table.start_at(phase)
    if start is not None:
        pitch, length = start
        return MelodyNote(controls.pitch(pitch), controls.velocity, length)
    covering = table.covering(phase) if entering else None
    if covering is not None:
        _, pitch, end = covering
        return MelodyNote(controls.pitch(pitch), controls.velocity, end - phase)
    return None


def phrase_steps(*lengths: int) -> int:
    """Where two loops are both at their top: the least common multiple of their lengths."""
    return math.lcm(*lengths)
