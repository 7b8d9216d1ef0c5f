"""The melody lane's phrase as a piano roll, with the playhead.

Time runs left to right in 16th steps (bar lines brighter), pitch bottom to top over the
phrase's range plus a little room; each note is a bar from its start to its end (a held
note is one long bar). The playhead is the song position modulo the phrase's length: the
melody loops at its own length against the drums, so this is where in the phrase the clock is.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QWidget

from app import theme
from engine.music.melody import Melody

PITCH_MARGIN = 2  # semitones of room above and below the phrase's range
MIN_PITCH_SPAN = 12  # a narrow phrase is shown over at least an octave


class PianoRoll(QWidget):
    """Paints one :class:`Melody`; ``set_playhead(song_step)`` moves the cursor."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._melody: Melody | None = None
        self._notes: list[tuple[int, int, int]] = []
        self._playhead: int | None = None
        self._shift = 0  # semitones added for display (the lane's key and octave)
        self.setMinimumHeight(90)

    # -- state -----------------------------------------------------------------------------
    @property
    def notes(self) -> list[tuple[int, int, int]]:
        """``[(start_step, end_step, pitch)]`` as shown (the display shift applied)."""
        return [(s, e, p + self._shift) for s, e, p in self._notes]

    @property
    def playhead(self) -> int | None:
        """The phrase step under the cursor (None: stopped)."""
        return self._playhead

    def set_melody(self, melody: Melody | None) -> None:
        self._melody = melody
        self._notes = [] if melody is None else melody.notes()
        self.update()

    def set_shift(self, semitones: int) -> None:
        """Show the pitches moved by the lane's key and octave (what the clock sends)."""
        self._shift = int(semitones)
        self.update()

    def set_playhead(self, song_step: int | None) -> None:
        steps = self._melody.steps if self._melody is not None else 0
        self._playhead = None if song_step is None or steps == 0 else int(song_step) % steps
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(480, 120)

    # -- painting --------------------------------------------------------------------------
    def _pitch_span(self) -> tuple[int, int]:
        pitches = [p for *_, p in self.notes] or [60]
        low, high = min(pitches) - PITCH_MARGIN, max(pitches) + PITCH_MARGIN
        if high - low < MIN_PITCH_SPAN:
            mid = (low + high) // 2
            low, high = mid - MIN_PITCH_SPAN // 2, mid + MIN_PITCH_SPAN // 2
        return low, high

    def paintEvent(self, event: object) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.fillRect(self.rect(), theme.PANEL)
        if self._melody is None:
            p.setPen(theme.TEXT_DIM)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no melody")
            return
        steps = self._melody.steps
        low, high = self._pitch_span()
        w, h = self.width(), self.height()
        sx, sy = w / steps, h / (high - low + 1)
        for pitch in range(low, high + 1):  # black keys shaded
            if pitch % 12 in (1, 3, 6, 8, 10):
                p.fillRect(QRectF(0, h - (pitch - low + 1) * sy, w, sy), theme.CELL_EMPTY)
        spb = self._melody.steps_per_bar
        for step in range(0, steps + 1, 4):
            p.setPen(QPen(theme.BAR_LINE if step % spb == 0 else theme.GRID_LINE, 1))
            p.drawLine(round(step * sx), 0, round(step * sx), h)
        for start, end, pitch in self.notes:
            rect = QRectF(start * sx + 1, h - (pitch - low + 1) * sy + 1, max(2.0, (end - start) * sx - 2),
                          max(2.0, sy - 2))
            p.fillRect(rect, theme.ACCENT)
        if self._playhead is not None:
            x = (self._playhead + 0.5) * sx
            p.setPen(QPen(theme.PLAYHEAD, 2))
            p.drawLine(round(x), 0, round(x), h)
