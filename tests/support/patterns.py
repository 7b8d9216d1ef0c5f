"""Hand-made patterns for the engine tests."""

import numpy as np

from engine.music.drums import NUM_VOICES
from engine.music.pattern import Pattern


def pattern_from_cells(cells, steps=32):
    """A pattern from ``{(step, voice): (velocity 0-1, offset in steps)}``."""
    hits = np.zeros((steps, NUM_VOICES), bool)
    vel = np.zeros((steps, NUM_VOICES), np.float32)
    off = np.zeros((steps, NUM_VOICES), np.float32)
    for (s, v), (ve, o) in cells.items():
        hits[s, v], vel[s, v], off[s, v] = True, ve, o
    return Pattern(hits, vel, off)
