"""The clock process's handles on the kit's own processes: on JACK
(:mod:`engine.audio.kit_process`) and on the audio device (:mod:`engine.audio.device_process`,
handled by :class:`engine.audio.device_host.DeviceProcess`).

Nothing here blocks the clock thread: the process is started with ``subprocess`` (the clock
process is a daemon, which ``multiprocessing`` forbids children; and a plain interpreter
imports only the kit), commands are small pickled dataclasses written to a socket, replies
are read when :meth:`AudioProcess.poll` finds them waiting, and its counters are read from
shared memory (a ``memfd``, or an unlinked temporary file where there is none). Closing
asks it to stop and leaves the waiting to a reaper thread; if the clock process dies, the
kit process reads end-of-file and stops by itself.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import socket
import subprocess
import sys
import tempfile
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from engine.audio.kit_messages import KitFailed, KitReady, StartKit, StopKit
from engine.audio.kit_process import HIST_BUCKETS, STATS_FIELDS, STATS_SLOTS

ROOT = Path(__file__).resolve().parents[2]  # the directory holding the engine package
STOP_WAIT_S = 3.0  # the reaper waits this long for a clean exit, then kills it


def _shared_counters(size: int) -> tuple[int, mmap.mmap]:
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("groovefader-audio-stats")
    else:
        fd, name = tempfile.mkstemp(prefix="groovefader-audio-")
        os.unlink(name)
    os.ftruncate(fd, size)
    return fd, mmap.mmap(fd, size)


class AudioProcess:
    """One audio process (``python -m MODULE FD STATS_FD``), from start to stop: the socket,
    the shared counters, the replies, the bounded stop.

    Attributes:
        ready: it is playing.
        error: one line once it failed or stopped on its own; None otherwise.
    """

    MODULE = ""
    WHAT = "audio"  # its name in messages

    def __init__(self, start: Any, slots: int) -> None:
        self.start = start
        self.ready = False
        self.error: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stats: Any = np.zeros(slots, np.int64)  # until it runs: the shared counters
        ours, theirs = socket.socketpair()
        self._conn = Connection(ours.detach())
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        stats_fd = -1
        try:
            stats_fd, self._shared = _shared_counters(8 * slots)
            self._stats = np.ndarray((slots,), np.int64, buffer=self._shared)
            self._proc = subprocess.Popen(
                [sys.executable, "-m", self.MODULE, str(theirs.fileno()), str(stats_fd)],
                pass_fds=(theirs.fileno(), stats_fd), env=env, stdin=subprocess.DEVNULL, cwd=str(ROOT))
        except (OSError, ValueError) as err:  # ValueError: no fd passing (Windows)
            self.error = f"cannot start the {self.WHAT}'s process: {err}"
        finally:
            theirs.close()
            if stats_fd >= 0:
                os.close(stats_fd)
        if self._proc is not None:
            self.send(start)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _take(self, reply: object) -> None:
        """A reply other than :class:`KitFailed` (the subclass's ready message)."""

    def send(self, command: Any) -> None:
        """Post a command (never waits on the process)."""
        if self.error is not None:
            return
        try:
            self._conn.send(command)
        except OSError as err:
            self.error = f"the {self.WHAT}'s process stopped ({err})"

    def poll(self) -> None:
        """Take in whatever it said: ready, failed, or gone."""
        if self.error is not None or self._proc is None:
            return
        try:
            while self._conn.poll(0):
                match self._conn.recv():
                    case KitFailed(error):
                        self.error = error
                    case reply:
                        self._take(reply)
        except (EOFError, OSError):
            if self.error is None:
                self.error = f"the {self.WHAT}'s process stopped"
        if self.error is not None:
            self.ready = False

    def close(self, wait_s: float | None = None) -> None:
        """Ask it to stop. A reaper thread waits (bounded) and kills it if it does not; with
        ``wait_s`` the caller waits instead (exit paths and tests that must see it gone)."""
        self.send(StopKit())
        self.ready = False
        if self.error is None:
            self.error = "stopped"
        with contextlib.suppress(OSError):
            self._conn.close()
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if wait_s is not None:
            _reap(proc, wait_s)
        else:
            threading.Thread(target=_reap, args=(proc,), name="groovefader-audio-reaper", daemon=True).start()


class KitProcess(AudioProcess):
    """The kit's JACK process (:mod:`engine.audio.kit_process`).

    Attributes:
        ports, rate, note, callback: once :attr:`ready`: its audio ports, the server's rate,
            the soundfont's note, and which process callback plays (``C`` or ``Python (...)``).
    """

    MODULE = "engine.audio.kit_process"
    WHAT = "kit"

    def __init__(self, start: StartKit) -> None:
        self.ports: tuple[str, ...] = ()
        self.rate = 0
        self.note: str | None = None
        self.callback = ""
        super().__init__(start, STATS_SLOTS)

    def _take(self, reply: object) -> None:
        match reply:
            case KitReady(ports, rate, note, callback):
                self.ready, self.ports, self.rate, self.note = True, ports, rate, note
                self.callback = callback
            case _:
                pass

    def stats(self) -> dict[str, int]:
        """Its counters now: periods mixed, time spent in the callback (ns, sum and max), hits."""
        return {name: int(v) for name, v in zip(STATS_FIELDS, self._stats, strict=False)}

    def callback_us(self) -> dict[str, float]:
        """Its callback's time per period, percentiles in µs (whole µs; 2,047 = that or more)."""
        return callback_percentiles(self._stats[len(STATS_FIELDS):])


def _reap(proc: subprocess.Popen[bytes], timeout_s: float = STOP_WAIT_S) -> None:
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


PERCENTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "p999": 0.999}


def callback_percentiles(hist: np.ndarray) -> dict[str, float]:
    """Percentiles (µs) of a ``(HIST_BUCKETS,)`` count of callbacks per whole µs; {} for none."""
    counts = np.cumsum(hist[:HIST_BUCKETS])
    total = int(counts[-1])
    if total == 0:
        return {}
    at = np.searchsorted(counts, [q * total for q in PERCENTILES.values()])
    return {name: float(a) for name, a in zip(PERCENTILES, at, strict=True)}
