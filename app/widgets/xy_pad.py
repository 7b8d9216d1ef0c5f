"""The groove pad: drag across the checkpoint's map of grooves (or its latent plane) or blend four corners.

The pad works in ``[-1, 1]²`` (x right, y up). Behind the cursor it can show a heat-map
of one attribute over the pad, a ``(res, res)`` array computed elsewhere (row 0 = y = -1,
column 0 = x = -1), so a user sees where dense or syncopated grooves lie. In "corners"
mode the four corners carry user patterns (Beat Blender style) and the pad point blends
them; the labels say which corner holds what.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import theme

PLANE, CORNERS = "plane", "corners"
CORNER_NAMES = ("A", "B", "C", "D")  # bottom-left, bottom-right, top-left, top-right

# A few anchor colours of a perceptual dark→bright map (magma-like), interpolated.
_CMAP_ANCHORS = np.array([[0, 0, 4], [59, 15, 112], [140, 41, 129], [222, 73, 104],
                          [254, 159, 109], [252, 253, 191]], dtype=np.float64)


def heat_to_image(values: np.ndarray, low: float | None = None, high: float | None = None) -> QImage:
    """``(res, res)`` values → RGB QImage, row 0 at the bottom (y = -1)."""
    v = np.asarray(values, dtype=np.float64)
    lo = float(np.nanmin(v)) if low is None else low
    hi = float(np.nanmax(v)) if high is None else high
    t = np.clip((v - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.zeros_like(v)
    t = np.nan_to_num(t)[::-1]  # image rows go top-down
    pos = t * (len(_CMAP_ANCHORS) - 1)
    i = np.minimum(pos.astype(int), len(_CMAP_ANCHORS) - 2)
    frac = (pos - i)[..., None]
    rgb = (_CMAP_ANCHORS[i] * (1 - frac) + _CMAP_ANCHORS[i + 1] * frac).astype(np.uint8)
    rgb = np.ascontiguousarray(rgb)
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class XYPad(QWidget):
    """Square pad; ``moved(x, y)`` while pressed or dragged, ``released()`` at the end."""

    moved = Signal(float, float)
    released = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._x, self._y = 0.0, 0.0
        self._heat: QImage | None = None
        self._heat_label = ""
        self._mode = PLANE
        self._corner_labels: list[str] = ["", "", "", ""]
        self._style_labels: list[tuple[str, float, float]] = []
        self._dragging = False
        self._enabled_text = ""
        self.setMinimumSize(220, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Drag across the map of grooves: neighbouring points play related grooves, "
                        "styles are written where their grooves gather")

    # -- state -----------------------------------------------------------------------------
    @property
    def position(self) -> tuple[float, float]:
        return self._x, self._y

    def set_position(self, x: float, y: float) -> None:
        x, y = max(-1.0, min(1.0, x)), max(-1.0, min(1.0, y))
        if (x, y) != (self._x, self._y):
            self._x, self._y = x, y
            self.update()

    def set_heatmap(self, values: np.ndarray | None, label: str = "") -> None:
        self._heat = None if values is None else heat_to_image(values)
        self._heat_label = label if values is not None else ""
        self.update()

    def set_mode(self, mode: str) -> None:
        if mode not in (PLANE, CORNERS):
            raise ValueError(f"pad mode must be {PLANE!r} or {CORNERS!r}, got {mode!r}")
        self._mode = mode
        self.update()

    def set_style_labels(self, labels: list[tuple[str, float, float]]) -> None:
        """Styles written where their grooves gather on the map: ``(name, x, y)``, or none."""
        self._style_labels = [(str(n), float(x), float(y)) for n, x, y in labels]
        self.update()

    @property
    def style_labels(self) -> list[tuple[str, float, float]]:
        return list(self._style_labels)

    def set_corner_labels(self, labels: list[str]) -> None:
        self._corner_labels = list(labels)
        self.update()

    def set_overlay_text(self, text: str) -> None:
        """A message drawn over the pad (e.g. "loading model…"); empty hides it."""
        self._enabled_text = text
        self.update()

    # -- geometry --------------------------------------------------------------------------
    def _square(self) -> QRectF:
        side = min(self.width(), self.height()) - 2
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def to_widget(self, x: float, y: float) -> QPointF:
        sq = self._square()
        return QPointF(sq.left() + (x + 1) / 2 * sq.width(), sq.bottom() - (y + 1) / 2 * sq.height())

    def from_widget(self, pos: QPointF) -> tuple[float, float]:
        sq = self._square()
        x = (pos.x() - sq.left()) / sq.width() * 2 - 1
        y = (sq.bottom() - pos.y()) / sq.height() * 2 - 1
        return max(-1.0, min(1.0, x)), max(-1.0, min(1.0, y))

    def sizeHint(self) -> QSize:
        return QSize(300, 300)

    # -- input -----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._dragging = True
            self._move_to(event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._dragging:
            self._move_to(event.position())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._dragging:
            self._dragging = False
            self.released.emit()

    def _move_to(self, pos: QPointF) -> None:
        x, y = self.from_widget(pos)
        if (x, y) != (self._x, self._y):
            self._x, self._y = x, y
            self.update()
            self.moved.emit(x, y)

    # -- painting --------------------------------------------------------------------------
    def paintEvent(self, event: object) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        sq = self._square()
        p.fillRect(self.rect(), theme.BACKGROUND)
        if self._heat is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(sq, self._heat)
        else:
            p.fillRect(sq, theme.PANEL)
        p.setPen(QPen(theme.GRID_LINE, 1, Qt.PenStyle.DashLine))
        c = sq.center()
        p.drawLine(QPointF(sq.left(), c.y()), QPointF(sq.right(), c.y()))
        p.drawLine(QPointF(c.x(), sq.top()), QPointF(c.x(), sq.bottom()))
        p.setPen(QPen(theme.BAR_LINE, 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(sq)
        if self._heat_label:  # on a dark band: readable over bright heat too
            top = sq.top() if self._mode == PLANE else sq.center().y() + 24  # corners use the edges
            band = QRectF(sq.left(), top, sq.width(), 20)
            shade = QColor(theme.BACKGROUND)
            shade.setAlpha(170)
            p.fillRect(band, shade)
            p.setPen(theme.TEXT)
            p.drawText(band, Qt.AlignmentFlag.AlignCenter, self._heat_label)
        if self._mode == PLANE and self._style_labels:
            shade = QColor(theme.BACKGROUND)
            shade.setAlpha(150)
            metrics = p.fontMetrics()
            for name, x, y in self._style_labels:  # on a dark tag: readable over bright heat
                at = self.to_widget(x, y)
                w = metrics.horizontalAdvance(name) + 8
                r = QRectF(min(max(at.x() - w / 2, sq.left()), sq.right() - w), at.y() - 8, w, 16)
                p.fillRect(r, shade)
                p.setPen(theme.TEXT)
                p.drawText(r, Qt.AlignmentFlag.AlignCenter, name)
        if self._mode == CORNERS:
            corners = [(sq.left() + 6, sq.bottom() - 6, Qt.AlignmentFlag.AlignLeft),
                       (sq.right() - 6, sq.bottom() - 6, Qt.AlignmentFlag.AlignRight),
                       (sq.left() + 6, sq.top() + 18, Qt.AlignmentFlag.AlignLeft),
                       (sq.right() - 6, sq.top() + 18, Qt.AlignmentFlag.AlignRight)]
            for (x, y, align), name, label in zip(corners, CORNER_NAMES, self._corner_labels, strict=True):
                p.setPen(theme.TEXT if label else theme.TEXT_DIM)
                text = f"{name}: {label}" if label else f"{name}: (empty)"
                r = QRectF(x - 150, y - 14, 150, 16) if align == Qt.AlignmentFlag.AlignRight \
                    else QRectF(x, y - 14, 150, 16)
                p.drawText(r, align | Qt.AlignmentFlag.AlignVCenter, text)
        if self._enabled_text:  # no model: no cursor, just the reason
            p.setPen(theme.TEXT)
            p.drawText(sq, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._enabled_text)
            p.end()
            return
        pt = self.to_widget(self._x, self._y)
        glow = QColor(theme.ACCENT)
        glow.setAlpha(90)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(glow))
        p.drawEllipse(pt, 14, 14)
        p.setBrush(QBrush(theme.ACCENT))
        p.setPen(QPen(theme.TEXT, 2))
        p.drawEllipse(pt, 7, 7)
        p.end()


class PadPanel(QWidget):
    """The pad with its mode switch, heat-map chooser and corner buttons.

    Signals:
        modeChanged(str): "plane" or "corners".
        heatmapRequested(str): attribute name, or "" for no heat-map.
        cornerSetRequested(int): corner index 0..3 to take the current pattern.
        cornerClipRequested(int): corner index 0..3 to take a MIDI clip (the button's menu).
    """

    modeChanged = Signal(str)
    heatmapRequested = Signal(str)
    cornerSetRequested = Signal(int)
    cornerClipRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pad = XYPad(self)
        self.mode_box = QComboBox()
        self.mode_box.addItem("Groove map", PLANE)
        self.mode_box.addItem("Blend corners", CORNERS)
        self.heat_box = QComboBox()
        self.heat_box.addItem("No heat-map", "")
        self.heat_box.setToolTip("Colour the pad by an attribute of the pattern the model decodes "
                                 "there before the knobs are held: where the pad pulls the groove")
        top = QHBoxLayout()
        top.addWidget(self.mode_box)
        top.addWidget(self.heat_box)
        corners = QHBoxLayout()
        corners.addWidget(QLabel("Corner ←"))
        self.corner_buttons: list[QToolButton] = []
        for i, name in enumerate(CORNER_NAMES):
            b = QToolButton()
            b.setText(name)
            b.setToolTip(f"Put the current pattern in corner {name} "
                         f"({['bottom-left', 'bottom-right', 'top-left', 'top-right'][i]})")
            b.clicked.connect(lambda _=False, i=i: self.cornerSetRequested.emit(i))
            menu = QMenu(b)
            menu.addAction("Current pattern", lambda i=i: self.cornerSetRequested.emit(i))
            menu.addAction("MIDI clip…", lambda i=i: self.cornerClipRequested.emit(i))
            b.setMenu(menu)
            b.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
            corners.addWidget(b)
            self.corner_buttons.append(b)
        corners.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.pad, 1)
        lay.addLayout(corners)
        self.mode_box.currentIndexChanged.connect(self._mode_changed)
        self.heat_box.currentIndexChanged.connect(
            lambda _i: self.heatmapRequested.emit(self.heat_box.currentData() or ""))

    def set_attributes(self, names: list[str]) -> None:
        """Offer one heat-map per checkpoint attribute."""
        self.heat_box.blockSignals(True)
        while self.heat_box.count() > 1:
            self.heat_box.removeItem(1)
        for name in names:
            self.heat_box.addItem(f"Heat-map: {name.replace('_', ' ')}", name)
        self.heat_box.blockSignals(False)

    def set_mode(self, mode: str) -> None:
        idx = self.mode_box.findData(mode)
        if idx >= 0 and idx != self.mode_box.currentIndex():
            self.mode_box.blockSignals(True)
            self.mode_box.setCurrentIndex(idx)
            self.mode_box.blockSignals(False)
        self.pad.set_mode(mode)

    def _mode_changed(self, _index: int) -> None:
        mode = self.mode_box.currentData()
        self.pad.set_mode(mode)
        self.modeChanged.emit(mode)
