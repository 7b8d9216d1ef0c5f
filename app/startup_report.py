"""``--startup-report``: print when the window was shown and when it became playable, then quit.

Times are wall-clock (``time.time()``) so a parent process (``bench/app_startup.py``) can
measure from *its* clock before it started this process: "shown" = the step grid's first
paint; "ready" = the first paint of a pattern decoded by the loaded model.
"""

from __future__ import annotations

import json
import sys
import time

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from app.controller import Controller
from app.main_window import MainWindow

POLL_MS = 5  # cheap: the GUI thread must not starve the model loader of the GIL


class StartupReport(QObject):
    def __init__(self, window: MainWindow, controller: Controller, timeout_s: float = 120.0) -> None:
        super().__init__(window)
        self.window, self.controller = window, controller
        self.shown: float | None = None
        self.model_ready: float | None = None
        self.exit_code = 1
        controller.modelReady.connect(self._on_model)
        controller.modelFailed.connect(self._on_failed)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._timer.start()
        QTimer.singleShot(int(timeout_s * 1000), lambda: self._finish({"error": "timed out"}))

    def _on_model(self, _info: object) -> None:
        self.model_ready = time.time()

    def _on_failed(self, text: str) -> None:
        self._finish({"error": text})

    def _poll(self) -> None:
        shown = self.window.grid.shown_pattern
        if shown is not None and self.shown is None:
            self.shown = self.window.grid.painted_at
        if self.model_ready is not None and shown is not None and shown.num_hits \
                and shown is self.controller.pattern:
            self.exit_code = 0
            self._finish({"ready_unix": self.window.grid.painted_at, "hits": shown.num_hits})

    def _finish(self, extra: dict) -> None:
        self._timer.stop()
        report = {"shown_unix": self.shown, "model_ready_unix": self.model_ready, **extra}
        print(json.dumps(report), flush=True)
        self.window.close()
        QApplication.instance().quit()
        if "error" in extra:
            print(f"groovefader: startup report: {extra['error']}", file=sys.stderr)
