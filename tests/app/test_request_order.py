"""What the user did last is what plays, whatever order the model worker answers in.

The worker is held on a gate while requests queue behind it, so each race is played out the
same way every run: the older request is answered first, then the newer one.
"""

from __future__ import annotations

import threading

import pytest


@pytest.fixture
def held_worker(ready_window, qtbot):
    """``hold()`` parks the model worker on a gate; ``release()`` lets it go and waits until
    every queued answer reached the GUI thread."""
    c = ready_window.controller
    gate = threading.Event()
    parked = threading.Event()

    def park(_g):
        parked.set()
        gate.wait(20)

    class Held:
        def hold(self) -> None:
            c.model.call("hold", park, lambda _r: None)
            assert parked.wait(10)

        def release(self) -> None:
            gate.set()
            qtbot.waitUntil(lambda: c.model.wait_idle(0.01), timeout=30_000)
            qtbot.wait(50)

    yield Held()
    gate.set()


def _stack(c) -> list[str]:
    return [c.history.stack.text(i) for i in range(c.history.stack.count())]


def test_randomize_pressed_while_a_transition_computes_wins(ready_window, held_worker) -> None:
    c = ready_window.controller
    g = c.generator.generator
    target = g.decode(g.sample_like_data(1, seed=11)[0])
    shown = []
    c.patternChanged.connect(shown.append)
    held_worker.hold()
    c.make_transition(target, 4, 1)
    c.randomize()  # the user's last word
    held_worker.release()
    assert _stack(c)[-1] == "Randomize"
    assert c.pattern.bars == g.steps // g.steps_per_bar  # a groove, not the 4-bar transition
    assert shown and shown[-1] is c.pattern


def test_a_transition_requested_after_a_knob_turn_is_not_replaced_by_it(ready_window, held_worker) -> None:
    w = ready_window
    c = w.controller
    g = c.generator.generator
    target = g.decode(g.sample_like_data(1, seed=12)[0])
    held_worker.hold()
    c.set_knob("density", w.knobs.knobs["density"].high)
    c.make_transition(target, 4, 1)
    held_worker.release()
    assert _stack(c)[-1] == "Transition (4 bars)" and c.pattern.bars == 4


@pytest.mark.parametrize("edit", ["toggle", "nudge"])
def test_a_grid_edit_is_not_replaced_by_a_decode_asked_for_before_it(ready_window, held_worker,
                                                                     edit) -> None:
    w = ready_window
    c = w.controller
    sent = []
    c.transport.send_pattern = sent.append  # what the sequencer is handed
    held_worker.hold()
    c.set_knob("density", w.knobs.knobs["density"].low)  # a decode queued behind the gate
    step, voice = 5, 6
    if edit == "toggle":
        before = bool(c.pattern.hits[step, voice])
        c.toggle_cell(step, voice)
        assert bool(c.pattern.hits[step, voice]) != before
    else:
        if not c.pattern.hits[step, voice]:
            c.toggle_cell(step, voice)
        c.nudge_velocity(step, voice, -0.2)
    edited = c.pattern
    held_worker.release()
    assert c.pattern is edited
    assert sent[-1] is edited  # the sequencer plays the edit too
