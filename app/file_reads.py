"""MIDI files read without freezing the window.

A drum clip or a tune is a few KB and parses in milliseconds, so it is read at once and the
window shows it in the same gesture. A whole song's file is another matter (a 2 MB file takes
seconds to parse): one larger than :data:`AT_ONCE_BYTES` is read on a thread of its own and
its result handed back on the GUI thread. The latest read of each purpose wins: a read asked
for again (another file dropped) makes the older one's result be dropped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal

from engine.errors import GrooveFaderError
from models.pathnames import one_line, shown

log = logging.getLogger(__name__)
T = TypeVar("T")

AT_ONCE_BYTES = 64 * 1024  # read on the GUI thread up to this size (tens of ms at most)


class FileThreads(QObject):
    """Threads of file work whose results come back as events on the GUI thread."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threads: list[threading.Thread] = []

    def _start(self, work: Callable[[], None], name: str, daemon: bool) -> None:
        thread = threading.Thread(target=work, name=name, daemon=daemon)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no thread of file work runs (tests, shutdown); the results still come as
        events."""
        for thread in list(self._threads):
            thread.join(timeout)
        return not any(t.is_alive() for t in self._threads)


class FileReads(FileThreads):
    """Signals:
        started(str): a large file is being read in the background (its name, for the status line).
    """

    started = Signal(str)
    _deliver = Signal(object, object)  # ((purpose, token, handler), value) from reader threads

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._latest: dict[str, object] = {}
        self._deliver.connect(self._on_deliver)

    def read(self, purpose: str, path: str | os.PathLike[str], read: Callable[[Path], T],
             done: Callable[[T], None], failed: Callable[[GrooveFaderError], None]) -> None:
        """``read(path)``, then ``done(result)`` or ``failed(error)`` on the GUI thread (at once
        for a small file, later for a large one)."""
        path = Path(path)
        token = object()
        self._latest[purpose] = token
        try:
            size = path.stat().st_size
        except OSError:
            size = 0  # the reader names what is wrong with it
        if size <= AT_ONCE_BYTES:
            handler, value = _run(read, path, done, failed)
            del self._latest[purpose]
            handler(value)
            return
        self.started.emit(f"Reading {shown(path.name)} ({size / 1e6:.1f} MB)…")

        def work() -> None:
            result = _run(read, path, done, failed)
            with contextlib.suppress(RuntimeError):  # the window is gone: nobody to tell
                self._deliver.emit((purpose, token, result[0]), result[1])

        self._start(work, "groovefader-file-read", daemon=True)

    def _on_deliver(self, key: tuple[str, object, Callable[[Any], None]], value: Any) -> None:
        purpose, token, handler = key
        if self._latest.get(purpose) is token:  # not asked for again meanwhile
            del self._latest[purpose]
            handler(value)


def _run(read: Callable[[Path], T], path: Path, done: Callable[[T], None],
         failed: Callable[[GrooveFaderError], None]) -> tuple[Callable[[Any], None], Any]:
    try:
        return done, read(path)
    except GrooveFaderError as err:
        return failed, err
    except Exception as err:  # noqa: BLE001 - a reader's surprise is one line, never a crash
        log.exception("reading %s failed", path)
        return failed, GrooveFaderError(f"{shown(path)}: cannot read it ({one_line(str(err))})")
