"""Undo steps back over a knob turn whole: the groove, the knob's value and what it held."""

from __future__ import annotations

import pytest


def _settle(qtbot, w) -> None:
    """Wait until the generator worker is idle and its results reached the GUI thread."""
    gen = w.controller.generator
    qtbot.waitUntil(lambda: gen.wait_idle(0.01), timeout=20_000)
    qtbot.wait(30)


def test_undoing_a_knob_turn_turns_the_knob_back(ready_window, qtbot) -> None:
    w = ready_window
    c = w.controller
    from app.pattern_history import GESTURE_GAP_S

    qtbot.wait(int(GESTURE_GAP_S * 1000) + 100)  # the turn is a step of its own, not the load's
    before_value = c.knobs["density"]
    before_pattern = c.pattern
    assert "density" not in c.knob_binding.held
    c.set_knob("density", w.knobs.knobs["density"].high)
    _settle(qtbot, w)
    assert "density" in c.knob_binding.held and c.pattern is not before_pattern
    turned = c.knobs["density"]
    c.history.stack.undo()
    assert c.pattern is before_pattern
    assert c.knobs["density"] == pytest.approx(before_value)
    assert w.knobs.knobs["density"].value == pytest.approx(before_value)  # the knob shows it
    assert "density" not in c.knob_binding.held  # a Randomize now is free to move it
    c.history.stack.redo()
    assert c.knobs["density"] == pytest.approx(turned) and "density" in c.knob_binding.held
    # a grid edit after the turn, undone, leaves the turned knob as it was
    c.toggle_cell(0, 0)
    c.history.stack.undo()
    assert c.knobs["density"] == pytest.approx(turned) and "density" in c.knob_binding.held
