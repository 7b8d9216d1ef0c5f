"""Edits the step grid makes to a pattern: pure functions, so the rules are tested alone."""

from __future__ import annotations

import numpy as np

from engine.music.pattern import Pattern

MIN_VELOCITY = 1 / 127  # a hit stays a hit: its velocity never nudges down to 0


def toggled(pattern: Pattern, step: int, voice: int) -> tuple[Pattern, str]:
    """``pattern`` with the hit at (step, voice) added or removed, and the undo text."""
    on = not bool(pattern.hits[step, voice])
    return pattern.with_hit(step, voice, on), f"{'Add' if on else 'Remove'} hit"


def nudged(pattern: Pattern, step: int, voice: int, delta: float) -> Pattern | None:
    """The hit at (step, voice) with its velocity moved by ``delta`` (velocity units, 1/127
    per MIDI step) within [1/127, 1]; None when there is no hit or nothing changes."""
    if not pattern.hits[step, voice]:
        return None
    old = float(pattern.velocities[step, voice])
    new = float(np.clip(old + delta, MIN_VELOCITY, 1.0))
    return None if new == old else pattern.with_hit(step, voice, True, velocity=new)
