"""``--startup-report``: print when the window was shown, became playable and had its MIDI
port, then quit.

Times are wall-clock (``time.time()``) so a parent process (``bench/app_startup.py``) can
measure from *its* clock before it started this process: "shown" = the step grid's first
paint; "ready" = the first paint of a pattern decoded by the loaded model, with this
process's CPU time (all threads) at that moment; "midi" = the first sequencer status after
that, port open ('ok') or its failure explained ('error'), the clock process having started.
"""

from __future__ import annotations

import json
import resource
import sys
import time

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from app.controller import Controller
from app.main_window import MainWindow

POLL_MS = 5  # cheap: the GUI thread must not starve the model loader of the GIL
MIDI_WAIT_S = 30.0


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class StartupReport(QObject):
    def __init__(self, window: MainWindow, controller: Controller, timeout_s: float = 120.0) -> None:
        super().__init__(window)
        self.window, self.controller = window, controller
        self.report: dict = {"shown_unix": None, "model_ready_unix": None}
        self.exit_code = 1
        self._ready = False
        controller.modelReady.connect(lambda _i: self.report.__setitem__("model_ready_unix", time.time()))
        controller.modelFailed.connect(lambda text: self._finish(error=text))
        controller.transport.status.connect(self._on_status)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._timer.start()
        QTimer.singleShot(int(timeout_s * 1000), lambda: self._finish(error="timed out"))

    def _poll(self) -> None:
        grid = self.window.grid
        shown = grid.shown_pattern
        if shown is not None and self.report["shown_unix"] is None:
            self.report["shown_unix"] = grid.painted_at
        if (self.report["model_ready_unix"] is not None and shown is not None and shown.num_hits
                and shown is self.controller.pattern):
            self._timer.stop()
            self._ready = True
            self.exit_code = 0
            self.report.update(ready_unix=grid.painted_at, cpu_s_at_ready=_cpu_s(), hits=shown.num_hits)
            if self.controller.transport.link is None:
                self._finish()
            else:
                QTimer.singleShot(int(MIDI_WAIT_S * 1000), lambda: self._finish(midi="timed out"))

    def _on_status(self, status: object) -> None:
        state = getattr(status, "state", "")
        if self._ready and state in ("ok", "error", "unavailable"):
            self._finish(midi=state)

    def _finish(self, error: str | None = None, midi: str | None = None) -> None:
        if self.report.get("done"):
            return
        self.report["done"] = True
        self._timer.stop()
        if midi is not None:
            self.report.update(midi_unix=time.time(), midi_state=midi)
        if error is not None:
            self.report["error"] = error
            self.exit_code = 1
            print(f"groovefader: startup report: {error}", file=sys.stderr)
        print(json.dumps(self.report), flush=True)
        self.window.close()
        QApplication.instance().quit()
