"""MIDI clips written without freezing the window.

A clip of a few bars writes in milliseconds, but the export dialog takes up to 256 bars of a
busy groove (about 0.2 s of building and writing messages): every export runs on a thread of
its own and its result (the path written, or the error) is handed back on the GUI thread.
A write is not a daemon: quitting waits for it, so the file is whole or not there.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.file_reads import FileThreads
from engine.errors import GrooveFaderError
from models.pathnames import one_line

log = logging.getLogger(__name__)


class FileWrites(FileThreads):
    _deliver = Signal(object, object)  # (handler, value) from writer threads

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._deliver.connect(lambda handler, value: handler(value))

    def write(self, write: Callable[[], Path], done: Callable[[Path], None],
              failed: Callable[[GrooveFaderError], None]) -> None:
        """``write()`` on a thread, then ``done(path)`` or ``failed(error)`` on the GUI thread."""

        def work() -> None:
            handler: Callable[[Any], None]
            try:
                handler, value = done, write()
            except GrooveFaderError as err:
                handler, value = failed, err
            except Exception as err:  # noqa: BLE001 - a writer's surprise is one line, never a crash
                log.exception("writing a clip failed")
                handler, value = failed, GrooveFaderError(f"cannot write the clip ({one_line(str(err))})")
            with contextlib.suppress(RuntimeError):  # the window is gone: nobody to tell
                self._deliver.emit(handler, value)

        self._start(work, "groovefader-file-write", daemon=False)
