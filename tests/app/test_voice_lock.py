"""Lock a voice from the grid's row header: Randomize keeps it and changes the rest."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from engine.music.drums import Voice

PRESSES = 12


def test_locked_kick_survives_randomize_and_an_edit_moves_the_lock(qtbot, ready_window):
    w = ready_window
    c = w.controller
    strip = w.voice_strip
    kick_before = c.pattern.to_array()[:, [Voice.KICK, Voice.KICK + 9, Voice.KICK + 18]].copy()
    with qtbot.waitSignal(c.lockChanged, timeout=5_000):
        qtbot.mouseClick(strip, Qt.MouseButton.LeftButton,
                         pos=strip.button_rect("lock", Voice.KICK).center().toPoint())
    assert strip.locked == {Voice.KICK} and c.lock.voices == {Voice.KICK}
    others = set()
    for _ in range(PRESSES):
        with qtbot.waitSignal(c.patternChanged, timeout=30_000):
            w.actions.randomize.trigger()
        a = c.pattern.to_array()
        np.testing.assert_array_equal(a[:, [Voice.KICK, Voice.KICK + 9, Voice.KICK + 18]], kick_before)
        others.add((a[:, [Voice.SNARE, Voice.CLOSED_HAT, Voice.RIDE]] > 0.5).tobytes())
    assert len(others) > PRESSES // 2  # the rest keeps changing
    # a grid edit of the locked voice is what the lock keeps from then on
    step = int(np.flatnonzero(c.pattern.hits[:, Voice.KICK] == 0)[0])
    c.toggle_cell(step, Voice.KICK)
    assert c.pattern.hits[step, Voice.KICK]
    with qtbot.waitSignal(c.patternChanged, timeout=30_000):
        w.actions.randomize.trigger()
    assert c.pattern.hits[step, Voice.KICK]
    # unlocked: Randomize is free again
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton,
                     pos=strip.button_rect("lock", Voice.KICK).center().toPoint())
    assert not c.lock.active and strip.locked == frozenset()
