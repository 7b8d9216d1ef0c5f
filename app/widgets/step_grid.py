"""The step grid: 9 voices × steps, velocity as shade, micro-timing as a tick, playhead.

Each hit is a filled cell whose brightness is its velocity; a thin vertical tick inside
the cell sits left of centre when the hit pushes ahead of the grid and right of centre
when it lays back (shifted by ``offset × cell width``). Clicking a cell reports
``cellClicked(step, voice)``; the controller decides what that means (toggle + undo).

What never changes between two patterns (labels, bar numbers, the empty cells, bar lines)
is drawn once per size into a pixmap; a paint then draws only the hits over it, so a new
pattern is painted at once, in a fraction of a millisecond, ahead of the rest of the window.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QPixmap, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from app import theme
from engine.music.drums import NUM_VOICES, VOICE_LABELS
from engine.music.pattern import Pattern

_LABEL_W = 78  # px for the voice names
_HEADER_H = 16  # px for bar/beat numbers


def _shade(velocity: float) -> QColor:
    """Accent colour scaled by velocity (0..1): quiet ghost notes stay visible but dim."""
    t = 0.25 + 0.75 * max(0.0, min(1.0, velocity))
    base, acc = theme.CELL_EMPTY, theme.ACCENT
    return QColor(int(base.red() + (acc.red() - base.red()) * t),
                  int(base.green() + (acc.green() - base.green()) * t),
                  int(base.blue() + (acc.blue() - base.blue()) * t))


class StepGrid(QWidget):
    """Paints a :class:`Pattern`; reports clicks. ``shown_pattern`` is what was last painted."""

    cellClicked = Signal(int, int)  # step, voice
    velocityNudged = Signal(int, int, float)  # step, voice, change in [−1, 1] velocity units

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pattern = Pattern.empty()
        self._playhead: int | None = None
        self.shown_pattern: Pattern | None = None  # set in paintEvent: benchmarks read it
        self._backdrop: QPixmap | None = None  # everything but hits and playhead
        self._backdrop_key: tuple = ()
        self.painted_at = 0.0  # time.time() at the end of the last paint
        self.setMinimumSize(520, 9 * 18 + _HEADER_H)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Click a cell to toggle a hit (Ctrl+Z undoes); mouse wheel over a hit sets its"
                        " velocity. Brightness = velocity; the tick shows micro-timing (left = ahead,"
                        " right = behind).")

    @property
    def pattern(self) -> Pattern:
        return self._pattern

    def set_pattern(self, pattern: Pattern) -> None:
        """Show ``pattern``, painted now when the grid is visible: a knob's new groove
        should not wait for the knobs and meters it also changed to repaint first."""
        if pattern is not self._pattern:
            self._pattern = pattern
            if self.isVisible():
                self.repaint()
            if self.shown_pattern is not pattern:  # not on screen yet: at its first paint
                self.update()

    def set_playhead(self, step: int | None) -> None:
        if step is not None:
            step %= self._pattern.steps
        if step != self._playhead:
            self._playhead = step
            self.update()

    # -- geometry --------------------------------------------------------------------------
    def _cell_size(self) -> tuple[float, float]:
        return ((self.width() - _LABEL_W - 2) / self._pattern.steps,
                (self.height() - _HEADER_H - 2) / NUM_VOICES)

    def cell_rect(self, step: int, voice: int) -> QRectF:
        """Widget rectangle of one cell (tests click its centre)."""
        cw, ch = self._cell_size()
        return QRectF(_LABEL_W + step * cw, _HEADER_H + voice * ch, cw, ch)

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        cw, ch = self._cell_size()
        step, voice = int((x - _LABEL_W) // cw), int((y - _HEADER_H) // ch)
        if x < _LABEL_W or y < _HEADER_H or not (0 <= step < self._pattern.steps
                                                  and 0 <= voice < NUM_VOICES):
            return None
        return step, voice

    def sizeHint(self) -> QSize:
        return QSize(_LABEL_W + 32 * 22, _HEADER_H + NUM_VOICES * 24)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        cell = self.cell_at(event.position().x(), event.position().y())
        if cell is not None:
            self.cellClicked.emit(*cell)

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Wheel over a hit: velocity up/down by 8/127 per notch (1/127 with Shift)."""
        cell = self.cell_at(event.position().x(), event.position().y())
        if cell is None or not self._pattern.hits[cell]:
            event.ignore()
            return
        fine = event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        notches = event.angleDelta().y() / 120.0
        self.velocityNudged.emit(*cell, notches * (1 if fine else 8) / 127.0)
        event.accept()

    # -- painting --------------------------------------------------------------------------
    def _draw_backdrop(self, p: QPainter, steps: int, spb: int) -> None:
        """Background, bar.beat numbers, voice names, empty cells and beat/bar lines."""
        p.fillRect(self.rect(), theme.BACKGROUND)
        cw, ch = self._cell_size()
        beat = max(1, spb // 4)
        p.setPen(theme.TEXT_DIM)
        for step in range(0, steps, beat):
            label = f"{step // spb + 1}" if step % spb == 0 else f".{(step % spb) // beat + 1}"
            p.drawText(QRectF(_LABEL_W + step * cw + 2, 0, cw * beat, _HEADER_H),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, label)
        odd = theme.CELL_EMPTY.darker(115)
        for voice in range(NUM_VOICES):
            y = _HEADER_H + voice * ch
            p.setPen(theme.TEXT)
            p.drawText(QRectF(4, y, _LABEL_W - 8, ch),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, VOICE_LABELS[voice])
            for step in range(steps):
                p.fillRect(QRectF(_LABEL_W + step * cw + 1, y + 1, cw - 2, ch - 2),
                           theme.CELL_EMPTY if (step // beat) % 2 == 0 else odd)
        self._draw_lines(p, steps, spb)

    def _draw_lines(self, p: QPainter, steps: int, spb: int) -> None:
        cw, ch = self._cell_size()
        beat = max(1, spb // 4)
        top, bottom = _HEADER_H, _HEADER_H + NUM_VOICES * ch
        for step in range(0, steps + 1, beat):
            x = _LABEL_W + step * cw
            on_bar = step % spb == 0
            p.setPen(QPen(theme.BAR_LINE if on_bar else theme.GRID_LINE, 2 if on_bar else 1))
            p.drawLine(int(x), int(top), int(x), int(bottom))

    def _backdrop_for(self, steps: int, spb: int) -> QPixmap:
        ratio = self.devicePixelRatioF()
        key = (self.width(), self.height(), steps, spb, ratio)
        if self._backdrop is None or key != self._backdrop_key:
            pix = QPixmap(round(self.width() * ratio), round(self.height() * ratio))
            pix.setDevicePixelRatio(ratio)
            painter = QPainter(pix)
            painter.setFont(self.font())
            self._draw_backdrop(painter, steps, spb)
            painter.end()
            self._backdrop, self._backdrop_key = pix, key
        return self._backdrop

    def paintEvent(self, event: object) -> None:
        pat = self._pattern
        spb = pat.steps_per_bar
        p = QPainter(self)
        p.drawPixmap(0, 0, self._backdrop_for(pat.steps, spb))
        cw, ch = self._cell_size()
        hits, vel, off = pat.hits, pat.velocities, pat.offsets
        tick = QPen(theme.BACKGROUND, 2)
        for step, voice in zip(*hits.nonzero(), strict=True):
            r = QRectF(_LABEL_W + step * cw + 1, _HEADER_H + voice * ch + 1, cw - 2, ch - 2)
            p.fillRect(r, _shade(float(vel[step, voice])))
            # micro-timing tick: centre = on the grid
            tx = r.center().x() + float(off[step, voice]) * cw
            p.setPen(tick)
            p.drawLine(int(tx), int(r.top() + 3), int(tx), int(r.bottom() - 3))
        if hits.any():  # lines over the hits, as over the empty cells
            self._draw_lines(p, pat.steps, spb)
        top, bottom = _HEADER_H, _HEADER_H + NUM_VOICES * ch
        if self._playhead is not None:
            r = QRectF(_LABEL_W + self._playhead * cw, top, cw, bottom - top)
            colour = QColor(theme.PLAYHEAD)
            colour.setAlpha(70)
            p.fillRect(r, colour)
            p.setPen(QPen(theme.PLAYHEAD, 2))
            p.drawRect(r)
        p.end()
        self.shown_pattern = pat
        self.painted_at = time.time()
