"""A rotary knob for one attribute (or temperature): name, value, drag, reset, MIDI learn.

Interaction: drag up/down (the full range over 200 px; hold Shift for 10× finer), mouse
wheel or arrow keys (1 % per notch, 0.1 % with Shift), double-click resets to the default,
right-click opens MIDI learn. The knob only reports what the user did (``valueEdited``);
the controller owns the value and pushes it back with :meth:`Knob.set_value`, so MIDI CC
and presets move the knob without echoing.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QContextMenuEvent, QKeyEvent, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QMenu, QSizePolicy, QWidget

from app import theme

_DRAG_RANGE_PX = 200.0  # pixels of vertical drag for the whole range
_FINE_FACTOR = 0.1  # Shift makes every gesture this much finer
_SWEEP_DEG = 270.0  # the arc from minimum (7:30 o'clock) to maximum (4:30 o'clock)


class Knob(QWidget):
    """Rotary control over ``[low, high]`` in the attribute's raw units.

    Signals:
        valueEdited(float): the user moved the knob (drag, wheel, keys).
        resetRequested(): double-click: back to the default, and let the groove decide.
        learnRequested(): "MIDI learn" chosen from the context menu.
        forgetRequested(): "Forget MIDI CC" chosen from the context menu.
    """

    valueEdited = Signal(float)
    resetRequested = Signal()
    learnRequested = Signal()
    forgetRequested = Signal()

    def __init__(self, name: str, low: float, high: float, default: float, *,
                 label: str | None = None, decimals: int = 2, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if not high > low:
            raise ValueError(f"knob {name}: high ({high}) must exceed low ({low})")
        self.name = name
        self.label = label or name.replace("_", " ")
        self._low, self._high = float(low), float(high)
        self._default = self._clamp(default)
        self._value = self._default
        self._decimals = decimals
        self._drag_origin: QPointF | None = None
        self._drag_value = 0.0
        self._binding = ""  # e.g. "CC 74", shown under the value
        self._learning = False
        self._measured: float | None = None  # the attribute measured on the playing pattern
        self._held = True  # False: the generator leaves this attribute to the model (dim arc)
        self._detents: tuple[float, ...] = ()  # where a turn plays another recorded groove
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setToolTip(f"{self.label}: drag up/down (Shift = fine), wheel, double-click = reset,"
                        " right-click = MIDI learn. The blue dot: the value measured on the pattern."
                        " A bright arc: the knob is set and held; dim: the groove decides. The ticks: its"
                        " detents, where a turn plays another recorded groove (between them the"
                        " groove playing is carried on).")

    # -- state -----------------------------------------------------------------------------
    @property
    def value(self) -> float:
        return self._value

    @property
    def low(self) -> float:
        return self._low

    @property
    def high(self) -> float:
        return self._high

    @property
    def default(self) -> float:
        return self._default

    def set_value(self, value: float) -> None:
        """Show a value set elsewhere (controller, MIDI CC, preset); emits nothing."""
        value = self._clamp(value)
        if value != self._value:
            self._value = value
            self.update()

    def set_binding(self, text: str) -> None:
        self._binding = text
        self.update()

    def set_measured(self, value: float | None) -> None:
        """Mark where the pattern actually is (a dot on the arc): knob = asked, dot = got."""
        if value != self._measured:  # a drag that keeps the groove repaints only the knob turned
            self._measured = value
            self.update()

    @property
    def measured(self) -> float | None:
        return self._measured

    @property
    def detents(self) -> tuple[float, ...]:
        return self._detents

    def set_detents(self, values: tuple[float, ...] | list[float]) -> None:
        """Ticks around the arc where a turn plays another recorded groove (none: empty)."""
        values = tuple(float(v) for v in values)
        if values != self._detents:
            self._detents = values
            self.update()

    @property
    def held(self) -> bool:
        return self._held

    def set_held(self, held: bool) -> None:
        """Bright arc: the user set this knob and the generator holds it; dim: the model's."""
        if bool(held) != self._held:
            self._held = bool(held)
            self.update()

    def set_learning(self, learning: bool) -> None:
        self._learning = learning
        self.update()

    def _clamp(self, value: float) -> float:
        return min(self._high, max(self._low, float(value)))

    def _edit(self, value: float) -> None:
        value = self._clamp(value)
        if value != self._value:
            self._value = value
            self.update()
            self.valueEdited.emit(value)

    def _span(self) -> float:
        return self._high - self._low

    # -- input -----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag_origin = event.position()
            self._drag_value = self._value
            event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_origin is None:
            return
        dy = self._drag_origin.y() - event.position().y()
        scale = _FINE_FACTOR if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1.0
        if scale != 1.0:  # fine mode: restart from here so switching modes does not jump
            self._drag_origin = event.position()
            self._drag_value = self._value
        self._edit(self._drag_value + dy / _DRAG_RANGE_PX * self._span() * scale)
        if scale != 1.0:
            self._drag_value = self._value

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag_origin = None

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self._value = self._default
        self.update()
        self.resetRequested.emit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        notches = event.angleDelta().y() / 120.0
        fine = event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        self._edit(self._value + notches * self._span() * (0.001 if fine else 0.01))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        fine = event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        step = self._span() * (0.001 if fine else 0.01)
        if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Right):
            self._edit(self._value + step)
        elif event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Left):
            self._edit(self._value - step)
        elif event.key() in (Qt.Key.Key_Home, Qt.Key.Key_Backspace):
            self._edit(self._default)
        else:
            super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = QMenu(self)
        menu.addAction("MIDI learn", self.learnRequested.emit)
        forget = menu.addAction("Forget MIDI CC", self.forgetRequested.emit)
        forget.setEnabled(bool(self._binding))
        menu.addAction("Reset", lambda: self._edit(self._default))
        menu.exec(event.globalPos())

    # -- painting --------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(84, 108)

    def paintEvent(self, event: object) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w = self.width()
        size = min(w, self.height() - 40) - 12
        rect = QRectF((w - size) / 2, 18, size, size)
        p.setPen(theme.TEXT)
        p.drawText(QRectF(0, 0, w, 16), Qt.AlignmentFlag.AlignCenter, self.label)
        frac = (self._value - self._low) / self._span()
        track = QPen(theme.CELL_EMPTY, 6)
        track.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(track)
        start = int(225.0 * 16)  # Qt angles are 1/16 degree, counter-clockwise from 3 o'clock
        p.drawArc(rect, start, int(-_SWEEP_DEG * 16))
        colour = theme.PLAYHEAD if self._learning else theme.ACCENT if self._held else theme.TEXT_DIM
        arc = QPen(colour, 6)
        arc.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(arc)
        p.drawArc(rect, start, int(-_SWEEP_DEG * frac * 16))
        if self._detents:  # short ticks just outside the track
            rc, rr = rect.center(), rect.width() / 2
            p.setPen(QPen(theme.TEXT_DIM, 1.5))
            for d in self._detents:
                a = math.radians(225.0 - _SWEEP_DEG * min(1.0, max(0.0, (d - self._low) / self._span())))
                ca, sa = math.cos(a), -math.sin(a)
                p.drawLine(QPointF(rc.x() + (rr + 4) * ca, rc.y() + (rr + 4) * sa),
                           QPointF(rc.x() + (rr + 8) * ca, rc.y() + (rr + 8) * sa))
        if self._measured is not None:  # what the decoded pattern measures, on the same scale
            m = min(1.0, max(0.0, (self._measured - self._low) / self._span()))
            a = math.radians(225.0 - _SWEEP_DEG * m)
            rc = rect.center()
            rr = rect.width() / 2
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.PLAYHEAD)
            p.drawEllipse(QPointF(rc.x() + rr * math.cos(a), rc.y() - rr * math.sin(a)), 3.5, 3.5)
            p.setBrush(Qt.BrushStyle.NoBrush)
        # pointer line from the centre toward the value
        angle = math.radians(225.0 - _SWEEP_DEG * frac)
        c = rect.center()
        r = size / 2 - 8
        p.setPen(QPen(theme.TEXT, 2))
        p.drawLine(c, QPointF(c.x() + r * math.cos(angle), c.y() - r * math.sin(angle)))
        text = "learn…" if self._learning else f"{self._value:.{self._decimals}f}"
        p.setPen(theme.TEXT if not self._learning else theme.PLAYHEAD)
        p.drawText(QRectF(0, rect.bottom() + 2, w, 14), Qt.AlignmentFlag.AlignCenter, text)
        if self._binding:
            p.setPen(theme.TEXT_DIM)
            p.drawText(QRectF(0, rect.bottom() + 16, w, 12), Qt.AlignmentFlag.AlignCenter, self._binding)
        if self.hasFocus():
            p.setPen(QPen(theme.GRID_LINE, 1, Qt.PenStyle.DotLine))
            p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        p.end()


class KnobPanel(QWidget):
    """A row of knobs, one per checkpoint attribute plus temperature, built from the model.

    Signals:
        knobEdited(str, float): name, raw value.
        knobReset(str): name (double-click).
        learnRequested(str) / forgetRequested(str): name.
    """

    knobEdited = Signal(str, float)
    knobReset = Signal(str)
    learnRequested = Signal(str)
    forgetRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from PySide6.QtWidgets import QHBoxLayout, QLabel

        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self._placeholder = QLabel("Knobs appear when a model is loaded.")
        self._placeholder.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        self._layout.addWidget(self._placeholder)
        self._layout.addStretch(1)
        self.knobs: dict[str, Knob] = {}

    def build(self, specs: list[tuple[str, float, float, float]]) -> None:
        """(name, low, high, default) per knob, in display order; replaces existing knobs."""
        for knob in self.knobs.values():
            self._layout.removeWidget(knob)
            knob.deleteLater()
        self.knobs.clear()
        self._placeholder.setVisible(not specs)
        for i, (name, low, high, default) in enumerate(specs):
            span = high - low
            decimals = 3 if span < 1 else 2 if span < 10 else 1
            knob = Knob(name, low, high, default, decimals=decimals, parent=self)
            knob.setToolTip(f"{knob.label}: {low:.{decimals}f} … {high:.{decimals}f}, default "
                            f"{default:.{decimals}f}. " + knob.toolTip().split(": ", 1)[1])
            knob.valueEdited.connect(lambda v, n=name: self.knobEdited.emit(n, v))
            knob.resetRequested.connect(lambda n=name: self.knobReset.emit(n))
            knob.learnRequested.connect(lambda n=name: self.learnRequested.emit(n))
            knob.forgetRequested.connect(lambda n=name: self.forgetRequested.emit(n))
            self._layout.insertWidget(1 + i, knob)
            self.knobs[name] = knob

    def set_value(self, name: str, value: float) -> None:
        if name in self.knobs:
            self.knobs[name].set_value(value)

    def set_bindings(self, labels: dict[str, str]) -> None:
        for name, knob in self.knobs.items():
            knob.set_binding(labels.get(name, ""))

    def set_learning(self, name: str) -> None:
        for n, knob in self.knobs.items():
            knob.set_learning(n == name)

    def set_held(self, names: object) -> None:
        """The attribute knobs the generator holds (the others show a dim arc)."""
        held = set(names)  # type: ignore[call-overload]
        for n, knob in self.knobs.items():
            if n != "temperature":
                knob.set_held(n in held)

    def set_measured(self, values: dict[str, float]) -> None:
        """Attribute values measured on the current pattern (knobs without one show none)."""
        for n, knob in self.knobs.items():
            knob.set_measured(values.get(n))

    def set_detents(self, values: dict[str, tuple[float, ...]]) -> None:
        """Each attribute knob's detents (knobs not named show none)."""
        for n, knob in self.knobs.items():
            knob.set_detents(values.get(n, ()))
