"""The vocabulary the engine and the networks share: drum voices, the pattern codec's shape,
voice layers and the knobs' names.

One home, below both (``app → engine → models``): ``engine.music`` builds patterns,
attributes and MIDI on it, ``models`` sizes its networks and soft attributes with it.
Plain Python, no torch.
"""

from __future__ import annotations

import enum


class Voice(enum.IntEnum):
    """The nine drum voices, in tensor column order (Magenta's 9-class drum mapping)."""

    KICK = 0
    SNARE = 1
    CLOSED_HAT = 2
    OPEN_HAT = 3
    LOW_TOM = 4
    MID_TOM = 5
    HIGH_TOM = 6
    CRASH = 7
    RIDE = 8


NUM_VOICES = len(Voice)
FEATURES = 3 * NUM_VOICES  # per step: hits, velocities, offsets of every voice
STEPS_PER_BAR = 16  # 16th notes in one 4/4 bar

# Voice layers the attributes speak of.
TIME_KEEPERS: tuple[int, ...] = (Voice.CLOSED_HAT, Voice.OPEN_HAT, Voice.RIDE)
DRUM_LAYER: tuple[int, ...] = (Voice.KICK, Voice.SNARE, Voice.LOW_TOM, Voice.MID_TOM, Voice.HIGH_TOM)
CYMBAL_LAYER: tuple[int, ...] = (Voice.CLOSED_HAT, Voice.OPEN_HAT, Voice.CRASH, Voice.RIDE)

# The knobs (attributes) in the order a checkpoint's attribute vector holds them.
KNOB_NAMES: tuple[str, ...] = ("density", "syncopation", "intensity", "laid_back", "hat_busyness")
DENSITY_KNOB = KNOB_NAMES.index("density")
HAT_BUSYNESS_KNOB = KNOB_NAMES.index("hat_busyness")
