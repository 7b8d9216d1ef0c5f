"""Undoable pattern changes: each command holds the state before and after.

A state is the pattern with the latent point, pad position and knob settings it came from
(undoing a knob turn turns the knob back, and what it held no longer holds). Grid edits are
one command each; a stream of generated patterns from one knob or pad gesture merges into
one command (``merge_key``), so Ctrl+Z steps back over a whole drag, not one frame of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QUndoCommand

from engine.generation.knobs import KnobState
from engine.music.pattern import Pattern

_MERGE_ID = 1


@dataclass(frozen=True, eq=False)
class PatternState:
    """``z`` None = not known yet (an edited pattern waiting for its encoding)."""

    pattern: Pattern
    z: np.ndarray | None
    pad: tuple[float, float]
    knobs: KnobState | None = None  # None: the knobs as they stand (not known when it was made)


class PatternCommand(QUndoCommand):
    """Apply ``after`` on redo, ``before`` on undo, through ``apply``."""

    def __init__(self, apply: Callable[[PatternState], None], before: PatternState,
                 after: PatternState, text: str, merge_key: int | None = None) -> None:
        super().__init__(text)
        self._apply, self.before, self.after = apply, before, after
        self.merge_key = merge_key
        self._first = True

    def redo(self) -> None:
        if self._first:  # pushed after the change was already shown
            self._first = False
            return
        self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)

    def id(self) -> int:
        return _MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if (isinstance(other, PatternCommand) and self.merge_key is not None
                and other.merge_key == self.merge_key):
            self.after = other.after
            return True
        return False
