"""A handle you drag a MIDI clip out of: drop it on a DAW track or a file manager.

On drag start the handle asks for a file (``clip_factory()`` writes a temporary ``.mid``
of the current pattern) and hands the OS a file URL, which DAWs and file managers accept.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QDrag, QMouseEvent
from PySide6.QtWidgets import QApplication, QLabel, QWidget


class ClipDragHandle(QLabel):
    """Press and drag to carry the current pattern as a ``.mid`` file.

    Signals:
        failed(str): the clip could not be written.
    """

    failed = Signal(str)

    def __init__(self, clip_factory: Callable[[], Path], parent: QWidget | None = None) -> None:
        super().__init__("⇲ Drag MIDI clip", parent)
        self._factory = clip_factory
        self._press: QPoint | None = None
        self.last_mime: QMimeData | None = None  # what the last drag carried (tests read it)
        self.setToolTip("Drag this into your DAW or a folder to drop the pattern as a MIDI clip")
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.setStyleSheet("QLabel { border: 1px dashed #777; border-radius: 4px; padding: 3px 8px; }")

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is None:
            return
        if (event.position().toPoint() - self._press).manhattanLength() < QApplication.startDragDistance():
            return
        self._press = None
        self.start_drag()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._press = None

    def make_mime(self) -> QMimeData | None:
        """Write the clip and wrap its URL; None (and ``failed``) when writing fails."""
        try:
            path = self._factory()
        except Exception as err:  # a full disk must not end the app
            self.failed.emit(f"Cannot write the clip: {err}")
            return None
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        mime.setData("audio/midi", path.read_bytes())
        self.last_mime = mime
        return mime

    def start_drag(self) -> None:
        mime = self.make_mime()
        if mime is None:
            return
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.exec(Qt.DropAction.CopyAction)
