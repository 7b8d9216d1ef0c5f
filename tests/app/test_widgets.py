"""Each widget on its own: real Qt widgets offscreen, real mouse/keyboard events, real Patterns."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest

from app.widgets.knob import Knob, KnobPanel
from app.widgets.step_grid import StepGrid
from app.widgets.transport import VIRTUAL_OUTPUT, Transport
from app.widgets.xy_pad import CORNERS, XYPad, heat_to_image
from engine.music.drums import Voice
from engine.music.pattern import Pattern


def _drag(qtbot, widget, start: QPoint, end: QPoint, modifier=Qt.KeyboardModifier.NoModifier,
          steps: int = 8) -> None:
    QTest.mousePress(widget, Qt.MouseButton.LeftButton, modifier, start)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        QTest.mouseMove(widget, p)  # QTest.mouseMove carries no modifier: use events below for Shift
    QTest.mouseRelease(widget, Qt.MouseButton.LeftButton, modifier, end)


def _move_event(widget, pos: QPointF, modifiers) -> None:
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent
    ev = QMouseEvent(QEvent.Type.MouseMove, pos, widget.mapToGlobal(pos), Qt.MouseButton.NoButton,
                     Qt.MouseButton.LeftButton, modifiers)
    widget.mouseMoveEvent(ev)


def test_knob_drag_up_raises_and_double_click_resets(qtbot) -> None:
    knob = Knob("density", 0.0, 2.0, 0.5)
    qtbot.addWidget(knob)
    knob.show()
    edits: list[float] = []
    knob.valueEdited.connect(edits.append)
    c = knob.rect().center()
    _drag(qtbot, knob, c, c - QPoint(0, 50))  # 50 px of 200 px = a quarter of the range
    assert knob.value == pytest.approx(1.0, abs=0.02)
    assert edits and edits[-1] == knob.value
    resets: list[bool] = []
    knob.resetRequested.connect(lambda: resets.append(True))
    n_edits = len(edits)
    QTest.mouseDClick(knob, Qt.MouseButton.LeftButton, pos=c)
    assert knob.value == pytest.approx(0.5)
    assert resets == [True] and len(edits) == n_edits  # a reset, not an edit: it releases the knob
    _drag(qtbot, knob, c, c + QPoint(0, 400))  # far below: clamps at the minimum
    assert knob.value == 0.0


def test_knob_shift_is_ten_times_finer(qtbot) -> None:
    knob = Knob("x", 0.0, 1.0, 0.5)
    qtbot.addWidget(knob)
    knob.show()
    c = QPointF(knob.rect().center())
    QTest.mousePress(knob, Qt.MouseButton.LeftButton, pos=c.toPoint())
    _move_event(knob, c - QPointF(0, 40), Qt.KeyboardModifier.ShiftModifier)
    QTest.mouseRelease(knob, Qt.MouseButton.LeftButton, pos=c.toPoint())
    assert knob.value == pytest.approx(0.5 + 0.1 * 40 / 200, abs=1e-6)


def test_knob_keys_and_set_value_do_not_echo(qtbot) -> None:
    knob = Knob("x", -1.0, 1.0, 0.0)
    qtbot.addWidget(knob)
    edits: list[float] = []
    knob.valueEdited.connect(edits.append)
    knob.set_value(0.3)  # the controller pushing a value: no signal back
    assert knob.value == pytest.approx(0.3) and not edits
    QTest.keyClick(knob, Qt.Key.Key_Up)
    assert knob.value == pytest.approx(0.32) and edits == [pytest.approx(0.32)]
    knob.set_value(5.0)
    assert knob.value == 1.0  # clamped


def test_knob_panel_builds_one_knob_per_spec(qtbot) -> None:
    panel = KnobPanel()
    qtbot.addWidget(panel)
    got: list[tuple[str, float]] = []
    panel.knobEdited.connect(lambda n, v: got.append((n, v)))
    panel.build([("density", 0.1, 1.5, 0.6), ("temperature", 0.0, 1.5, 0.0)])
    assert list(panel.knobs) == ["density", "temperature"]
    QTest.keyClick(panel.knobs["density"], Qt.Key.Key_Down)
    assert got == [("density", pytest.approx(0.6 - 0.014))]
    panel.set_bindings({"density": "CC 74 ch 1"})
    panel.build([("syncopation", 0.0, 4.0, 1.0)])  # a new model replaces the knobs
    assert list(panel.knobs) == ["syncopation"]


def test_step_grid_click_reports_the_cell_and_paints_velocity(qtbot) -> None:
    grid = StepGrid()
    qtbot.addWidget(grid)
    grid.resize(800, 260)
    grid.show()
    qtbot.waitExposed(grid)
    pat = Pattern.empty().with_hit(4, Voice.SNARE, True, velocity=1.0).with_hit(
        6, Voice.SNARE, True, velocity=0.2, offset=0.4)
    grid.set_pattern(pat)
    clicks: list[tuple[int, int]] = []
    grid.cellClicked.connect(lambda s, v: clicks.append((s, v)))
    r = grid.cell_rect(12, int(Voice.CLOSED_HAT))
    QTest.mouseClick(grid, Qt.MouseButton.LeftButton, pos=r.center().toPoint())
    assert clicks == [(12, int(Voice.CLOSED_HAT))]
    img = grid.grab().toImage()
    loud = QColor(img.pixel(grid.cell_rect(4, Voice.SNARE).topLeft().toPoint() + QPoint(3, 3)))
    quiet = QColor(img.pixel(grid.cell_rect(6, Voice.SNARE).topLeft().toPoint() + QPoint(3, 3)))
    empty = QColor(img.pixel(grid.cell_rect(5, Voice.SNARE).topLeft().toPoint() + QPoint(3, 3)))
    assert loud.lightness() > quiet.lightness() > empty.lightness() - 1
    assert grid.shown_pattern is pat


def test_step_grid_shows_micro_timing_tick_off_centre(qtbot) -> None:
    grid = StepGrid()
    qtbot.addWidget(grid)
    grid.resize(900, 260)
    grid.show()
    qtbot.waitExposed(grid)
    grid.set_pattern(Pattern.empty().with_hit(3, Voice.KICK, True, velocity=1.0, offset=0.4))
    img = grid.grab().toImage()
    r = grid.cell_rect(3, Voice.KICK)
    y = int(r.center().y())
    # the tick is drawn in the background colour: find the darkest column inside the cell
    xs = range(int(r.left()) + 2, int(r.right()) - 1)
    darkest = min(xs, key=lambda x: QColor(img.pixel(x, y)).lightness())
    assert darkest > r.center().x() + 0.25 * r.width()  # laid back: right of centre


def test_xy_pad_drag_emits_plane_coordinates(qtbot) -> None:
    pad = XYPad()
    qtbot.addWidget(pad)
    pad.resize(300, 300)
    pad.show()
    moves: list[tuple[float, float]] = []
    pad.moved.connect(lambda x, y: moves.append((x, y)))
    start = pad.to_widget(0.0, 0.0).toPoint()
    end = pad.to_widget(0.5, -0.5).toPoint()
    with qtbot.waitSignal(pad.released):
        _drag(qtbot, pad, start, end)
    assert moves[-1] == pytest.approx((0.5, -0.5), abs=0.02)
    assert pad.position == moves[-1]
    pad.set_mode(CORNERS)
    pad.set_corner_labels(["kick", "", "", "fill"])
    pad.grab()  # paints in corners mode without error
    with pytest.raises(ValueError):
        pad.set_mode("nope")


def test_heat_map_image_puts_y_minus_one_at_the_bottom() -> None:
    values = np.zeros((4, 4))
    values[0, :] = 1.0  # row 0 = y = -1 = bottom of the pad
    img = heat_to_image(values)
    bottom, top = QColor(img.pixel(0, 3)), QColor(img.pixel(0, 0))
    assert bottom.lightness() > top.lightness()


def test_transport_signals(qtbot) -> None:
    t = Transport()
    qtbot.addWidget(t)
    with qtbot.waitSignal(t.playToggled) as sig:
        t.play_button.click()
    assert sig.args == [True] and t.play_button.text().startswith("■")
    with qtbot.waitSignal(t.swingChanged) as sig:
        t.swing.setValue(33)
    assert sig.args == [pytest.approx(0.33)]
    with qtbot.waitSignal(t.quantizeChanged) as sig:
        t.quantize.setCurrentText("beat")
    assert sig.args == ["beat"]
    t.set_ports(["Synth A", "DAW in"], ["Keys"])
    assert t.output.itemText(0) == VIRTUAL_OUTPUT and t.output.findText("DAW in") > 0
    with qtbot.waitSignal(t.portChosen) as sig:
        t.output.setCurrentIndex(t.output.findText("DAW in"))
        t.output.activated.emit(t.output.currentIndex())
    assert sig.args == ["DAW in", "", False]
    t.set_status("error", "MIDI: no backend")
    assert "no backend" in t.status.text()


def _grid_image(grid: StepGrid):
    return grid.grab().toImage()


def test_step_grid_paints_a_new_pattern_at_once_and_forgets_the_old(qtbot) -> None:
    def shown(size: tuple[int, int], *patterns: Pattern) -> tuple[StepGrid, object]:
        grid = StepGrid()
        qtbot.addWidget(grid)
        grid.resize(*size)
        with qtbot.waitExposed(grid):
            grid.show()
        for pat in patterns:
            grid.set_pattern(pat)
            assert grid.shown_pattern is pat  # painted in set_pattern, no event loop needed
        return grid, _grid_image(grid)

    a = Pattern.empty().with_hit(0, Voice.KICK, True, velocity=0.9).with_hit(
        4, Voice.SNARE, True, velocity=0.5, offset=-0.3)
    b = Pattern.empty().with_hit(8, Voice.CLOSED_HAT, True, velocity=0.7, offset=0.2)
    grid, _ = shown((700, 240), a)
    grid.resize(910, 270)  # the cached backdrop follows the size
    grid.set_pattern(b)
    assert _grid_image(grid) == shown((910, 270), b)[1]  # nothing of a is left, all of b is there
    assert _grid_image(grid) != shown((910, 270), a)[1]


def test_knob_paints_a_tick_at_each_detent(qtbot) -> None:
    import math

    knob = Knob("density", 0.0, 1.0, 0.5)
    qtbot.addWidget(knob)
    knob.resize(knob.sizeHint())
    plain = knob.grab().toImage()
    knob.set_detents((0.0, 0.3, 1.0))
    ticked = knob.grab().toImage()
    assert knob.detents == (0.0, 0.3, 1.0)
    # where the tick at 0.3 lies: just outside the track, at that value's angle
    w = knob.width()
    size = min(w, knob.height() - 40) - 12
    cx, cy, r = w / 2, 18 + size / 2, size / 2 + 6
    a = math.radians(225.0 - 270.0 * 0.3)
    x, y = round(cx + r * math.cos(a)), round(cy - r * math.sin(a))
    assert ticked.pixelColor(x, y) != plain.pixelColor(x, y)
    knob.set_detents(())
    assert knob.grab().toImage() == plain
