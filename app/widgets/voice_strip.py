"""Mute and solo buttons per voice: the step grid's row header.

Sits left of the :class:`~app.widgets.step_grid.StepGrid`, its rows on the grid's rows.
Click **M** to mute a voice, **S** to solo it; right-click either for MIDI learn. A voice a
solo elsewhere silences is drawn dim. **L** locks a voice: Randomize, Variation, the pad and
the knobs keep it as it plays and redraw the others around it. Plain signals out;
:mod:`app.voice_mute_binding` applies mutes and solos, the controller locks.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QMenu, QSizePolicy, QWidget

from app import theme
from app.widgets.step_grid import _HEADER_H
from engine.music.drums import NUM_VOICES, VOICE_LABELS
from engine.music.voice_mutes import VoiceMutes

_BOX = 20  # px per button
_GAP = 3
MUTE_COLOUR = QColor(230, 120, 60)
SOLO_COLOUR = QColor(235, 200, 70)
LOCK_COLOUR = QColor(110, 170, 235)
KINDS = ("mute", "solo", "lock")


def target_name(kind: str, voice: int) -> str:
    """The MIDI-learn target of a voice's mute or solo button ("Mute Kick", "Solo Snare")."""
    return f"{kind.capitalize()} {VOICE_LABELS[voice]}"


class VoiceStrip(QWidget):
    """Signals:
        muteClicked(int), soloClicked(int), lockClicked(int): a voice's button was clicked.
        learnRequested(str), forgetRequested(str): MIDI learn for a target (see :func:`target_name`).
    """

    muteClicked = Signal(int)
    soloClicked = Signal(int)
    lockClicked = Signal(int)
    learnRequested = Signal(str)
    forgetRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._mutes = VoiceMutes()
        self._bindings: dict[str, str] = {}
        self._locked: frozenset[int] = frozenset()
        self.setFixedWidth(len(KINDS) * _BOX + (len(KINDS) + 1) * _GAP)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.setToolTip("M = mute, S = solo (a solo silences every voice not soloed), L = lock "
                        "(kept while the rest changes); right-click M or S for MIDI learn")

    @property
    def mutes(self) -> VoiceMutes:
        return self._mutes

    def set_mutes(self, mutes: VoiceMutes) -> None:
        if mutes != self._mutes:
            self._mutes = mutes
            self.update()

    @property
    def locked(self) -> frozenset[int]:
        return self._locked

    def set_locked(self, voices: frozenset[int]) -> None:
        if voices != self._locked:
            self._locked = frozenset(voices)
            self.update()

    def set_bindings(self, labels: dict[str, str]) -> None:
        """Target → CC label ("CC 20 ch 1"), shown in the buttons' tooltips."""
        self._bindings = dict(labels)

    # -- geometry ----------------------------------------------------------------------------
    def _row_height(self) -> float:
        return (self.height() - _HEADER_H - 2) / NUM_VOICES  # the grid's rows

    def button_rect(self, kind: str, voice: int) -> QRectF:
        """Widget rectangle of a voice's ``mute``, ``solo`` or ``lock`` button (tests click its centre)."""
        ch = self._row_height()
        x = _GAP + KINDS.index(kind) * (_BOX + _GAP)
        h = min(_BOX, ch - 2)
        return QRectF(x, _HEADER_H + voice * ch + (ch - h) / 2, _BOX, h)

    def button_at(self, pos: QPoint) -> tuple[str, int] | None:
        for voice in range(NUM_VOICES):
            for kind in KINDS:
                if self.button_rect(kind, voice).contains(pos.toPointF()):
                    return kind, voice
        return None

    def sizeHint(self) -> QSize:
        return QSize(self.width(), _HEADER_H + NUM_VOICES * 24)

    # -- input -------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        hit = self.button_at(event.position().toPoint())
        if hit is None:
            return
        kind, voice = hit
        if event.button() == Qt.MouseButton.LeftButton:
            {"mute": self.muteClicked, "solo": self.soloClicked, "lock": self.lockClicked}[kind].emit(voice)
        elif event.button() == Qt.MouseButton.RightButton and kind != "lock":
            self._learn_menu(target_name(kind, voice), event.globalPosition().toPoint())

    def _learn_menu(self, target: str, where: QPoint) -> None:
        menu = QMenu(self)
        menu.addAction(f"MIDI learn: {target}", lambda: self.learnRequested.emit(target))
        if self._bindings.get(target):
            menu.addAction(f"Forget {self._bindings[target]}", lambda: self.forgetRequested.emit(target))
        menu.popup(where)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        hit = self.button_at(event.position().toPoint())
        if hit is None:
            return
        if hit[0] == "lock":
            self.setToolTip(f"Lock {VOICE_LABELS[hit[1]]}: keep it as it plays while the rest changes")
            return
        target = target_name(*hit)
        bound = self._bindings.get(target)
        self.setToolTip(f"{target}" + (f" ({bound})" if bound else " · right-click: MIDI learn"))

    # -- painting ----------------------------------------------------------------------------
    def paintEvent(self, event: object) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), theme.BACKGROUND)
        silenced = self._mutes.silenced()
        for voice in range(NUM_VOICES):
            for kind, on, colour, letter in (("mute", voice in self._mutes.muted, MUTE_COLOUR, "M"),
                                             ("solo", voice in self._mutes.soloed, SOLO_COLOUR, "S"),
                                             ("lock", voice in self._locked, LOCK_COLOUR, "L")):
                r = self.button_rect(kind, voice)
                fill = colour if on else theme.CELL_EMPTY
                if not on and voice in silenced:
                    fill = theme.CELL_EMPTY.darker(140)
                p.fillRect(r, fill)
                p.setPen(QPen(theme.BACKGROUND if on else theme.TEXT_DIM))
                p.drawText(r, Qt.AlignmentFlag.AlignCenter, letter)
        p.end()
