"""``--screenshot``: wait until the window shows what a player sees — the drum model loaded and
a pattern painted, the melody lane's model loaded and a melody drawn (or its failure shown),
the MIDI link past "starting" — then grab, save, quit."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from app.controller import Controller
from app.main_window import MainWindow
from models.pathnames import shown

SETTLE_MS = 600  # let the heat-map and a few repaints land before grabbing


class ScreenshotWhenReady(QObject):
    """Saves the window to ``path`` once ready (or, after ``timeout_s``, as it is, exit 1)."""

    def __init__(self, window: MainWindow, controller: Controller, path: Path, timeout_s: float) -> None:
        super().__init__(window)
        self.window, self.controller, self.path = window, controller, path
        self.exit_code = 1
        self._model_ok = False
        self._done = False
        self._settling = False
        # what still has to land before the window is worth a picture
        self._waiting = {"pattern"}
        lane = getattr(getattr(window, "melody", None), "lane", None)
        if lane is not None:
            self._waiting.add("melody")
            lane.modelFailed.connect(lambda _t: self._landed("melody"))
            lane.melodyChanged.connect(lambda m: m is not None and self._landed("melody"))
        link = controller.transport.link
        if link is not None:
            self._waiting.add("midi")
            link.statusChanged.connect(lambda st: st.state != "starting" and self._landed("midi"))
        controller.modelReady.connect(self._on_model)
        controller.modelFailed.connect(lambda _t: self._settle_then_grab(ok=False))
        controller.patternChanged.connect(self._on_pattern)
        QTimer.singleShot(int(timeout_s * 1000), lambda: self._grab(ok=False, reason="timed out"))

    def _on_model(self, _info: object) -> None:
        self._model_ok = True
        if not self.window.pad_panel.heat_box.currentData():  # show off the heat-map
            box = self.window.pad_panel.heat_box
            if box.count() > 1:
                box.setCurrentIndex(1)

    def _on_pattern(self, pattern: object) -> None:
        if self._model_ok and getattr(pattern, "num_hits", 0):
            self._landed("pattern")

    def _landed(self, what: str) -> None:
        self._waiting.discard(what)
        if not self._waiting and not self._settling:
            self._settling = True
            self._settle_then_grab(ok=True)

    def _settle_then_grab(self, ok: bool) -> None:
        QTimer.singleShot(SETTLE_MS, lambda: self._grab(ok, "" if ok else "model not loaded"))

    def _grab(self, ok: bool, reason: str = "") -> None:
        if self._done:
            return
        self._done = True
        try:
            why = ""
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                why = f": {err.strerror or err}"
            saved = not why and self.window.grab().save(str(self.path), "PNG")
            if not saved:
                print(f"groovefader: error: cannot write screenshot {shown(self.path)}{why}", file=sys.stderr)
            elif not ok:
                print(f"groovefader: screenshot {shown(self.path)} taken, but {reason}", file=sys.stderr)
            self.exit_code = 0 if (saved and ok) else 1
        finally:  # whatever happened, the run ends
            self.window.close()
            QApplication.instance().quit()
