"""Keys and scales for the melody lane: scale-aware transposition of a C-major melody.

The melody model writes in C major (its training tunes were moved there). A musician asks
for a key (a tonic: the line is moved chromatically at play time, see
:class:`engine.realtime.melody_lane.MelodyControls`), a scale (the line's C-major degrees
re-spelled in another mode: C major → C minor lowers the 3rd, 6th and 7th) and a shift by
scale degrees (a diatonic transposition: up a "third" stays in the scale). A note outside C
major (a passing chromatic note) keeps its distance from the degree below it.
"""

from __future__ import annotations

import numpy as np

from engine.music.melody import MAJOR_SCALE, Melody

# Pitch classes of each mode on C, degree by degree (1..7).
SCALES: dict[str, tuple[int, ...]] = {
    "major": MAJOR_SCALE,
    "minor": (0, 2, 3, 5, 7, 8, 10),  # natural minor (aeolian)
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
}
MAX_DEGREES = 7  # a shift of up to an octave's worth of degrees either way


def _degree_of(pitch: int) -> tuple[int, int, int]:
    """``(octave, degree 0-6, chromatic rest 0/1)`` of ``pitch`` read in C major."""
    octave, pc = divmod(int(pitch), 12)
    degree = max(i for i, d in enumerate(MAJOR_SCALE) if d <= pc)
    return octave, degree, pc - MAJOR_SCALE[degree]


def respell(pitch: int, scale: str = "major", degrees: int = 0) -> int:
    """``pitch`` (read in C major) as the same degree of ``scale``, ``degrees`` degrees up."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; known: {', '.join(SCALES)}")
    octave, degree, rest = _degree_of(pitch)
    octave_shift, degree = divmod(degree + int(degrees), 7)
    return 12 * (octave + octave_shift) + SCALES[scale][degree] + rest


def in_scale(melody: Melody, scale: str = "major", degrees: int = 0) -> Melody:
    """Every note of ``melody`` re-spelled in ``scale`` and moved ``degrees`` scale degrees.

    Durations and rests are kept; a note leaving MIDI's range folds back by octaves.

    Raises:
        ValueError: an unknown scale, or ``degrees`` beyond ±7.
    """
    if not -MAX_DEGREES <= int(degrees) <= MAX_DEGREES:
        raise ValueError(f"a degree shift must lie in -{MAX_DEGREES}..{MAX_DEGREES}, got {degrees}")
    if scale == "major" and degrees == 0:
        return melody
    ev = melody.events.astype(np.int32)
    for i in np.nonzero(ev >= 0)[0]:
        p = respell(int(ev[i]), scale, degrees)
        while p > 127:
            p -= 12
        while p < 0:
            p += 12
        ev[i] = p
    return Melody(ev, melody.steps_per_bar)
