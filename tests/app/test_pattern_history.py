"""Which pattern changes are one undo step."""

from __future__ import annotations

import time

import numpy as np

from app import pattern_history
from app.pattern_history import PatternHistory
from app.undo import PatternState
from engine.music.drums import Voice
from engine.music.pattern import Pattern


def _state(kicks: int) -> PatternState:
    p = Pattern.empty()
    for s in range(kicks):
        p = p.with_hit(s, int(Voice.KICK), True)
    return PatternState(p, np.zeros(2), (0.0, 0.0))


def test_one_gesture_is_one_step_and_a_named_one_stands_alone(qtbot, monkeypatch) -> None:
    shown: list[int] = []
    h = PatternHistory(lambda s: shown.append(s.pattern.num_hits))
    states = [_state(k) for k in range(6)]
    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    h.push(states[0], states[1], "Generate", h.generated_key(named=False))
    clock[0] += 0.1
    h.push(states[1], states[2], "Generate", h.generated_key(named=False))  # same drag
    assert h.stack.count() == 1
    clock[0] += pattern_history.GESTURE_GAP_S + 0.1
    h.push(states[2], states[3], "Generate", h.generated_key(named=False))  # a pause: a new step
    h.push(states[3], states[4], "Randomize", h.generated_key(named=True))
    h.push(states[4], states[5], "Generate", h.generated_key(named=False))  # never merges into it
    assert [h.stack.text(i) for i in range(h.stack.count())] == [
        "Generate", "Generate", "Randomize", "Generate"]
    h.stack.undo()
    h.stack.undo()
    h.stack.undo()
    assert shown == [4, 3, 2]  # each undo shows the state before its step


def test_nudges_on_one_cell_merge_and_another_cell_starts_a_step(qtbot, monkeypatch) -> None:
    h = PatternHistory(lambda s: None)
    clock = [5.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    keys = [h.nudge_key(0, 1), h.nudge_key(0, 1), h.nudge_key(4, 1)]
    assert keys[0] == keys[1] != keys[2]
    clock[0] += pattern_history.GESTURE_GAP_S + 0.1
    assert h.nudge_key(4, 1) != keys[2]
    # a generated pattern right after a nudge is a step of its own
    assert h.generated_key(named=False) != h.nudge_key(4, 1) - 1


def test_merged_steps_leave_no_command_behind(qtbot) -> None:
    """A drag of many frames is one command alive, not one per frame (PySide6 keeps a merged
    command that QUndoStack deleted alive, patterns and all, if it is ever pushed)."""
    import gc

    from app.undo import PatternCommand

    def alive() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, PatternCommand))

    h = PatternHistory(lambda s: None)
    before = alive()
    states = [_state(k % 8) for k in range(301)]
    for i in range(300):  # three drags of 100 frames
        h.push(states[i], states[i + 1], "Generate", i // 100)
    assert h.stack.count() == 3
    assert alive() - before == 3
    h.stack.undo()  # the last drag is undone as one step: back to where it started
    h.stack.redo()
    assert h.stack.command(2).before is states[200] and h.stack.command(2).after is states[300]
