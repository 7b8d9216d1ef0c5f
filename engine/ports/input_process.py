"""A MIDI input in a small process of its own, its messages handed to a callback here.

Why a process: on JACK the input (:mod:`engine.ports.jack_input`) runs a Python callback
every JACK period. Beside a thread that keeps the interpreter busy — the app's window — that
callback waits for the interpreter lock, and a synchronous JACK server waits for it: the
server's xruns grow a hundredfold (``bench/midi_input_xruns.py``). In a process of its own
the callback has an interpreter to itself. Opening or closing the input never holds this
process's interpreter lock either (rtmidi's did, for seconds, while JACK answered). The
process imports only the ports (no torch, no Qt); messages come over a socket, read by a
thread here.

It is started with ``subprocess`` (``python -m engine.ports.input_child``, its socket
passed as a file descriptor), so a daemon process — which ``multiprocessing`` forbids
children — may start one too; where descriptors cannot be passed (Windows) a
``multiprocessing`` spawn starts it instead.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import socket
import subprocess
import sys
import threading
import types
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from engine.errors import PortError
from engine.ports.rtmidi_backend import MidiCallback

ROOT = Path(__file__).resolve().parents[2]  # the directory holding the engine package
START_TIMEOUT_S = 15.0  # spawn + imports + opening the port, on a loaded 2-core machine
CLOSE_TIMEOUT_S = 3.0
POLL_S = 0.05  # the process looks for "close" (or its parent's end) this often


class InputProcess:
    """Listen on MIDI input ``name`` (see :func:`engine.ports.open_input`) in a process of its
    own; ``callback(data, arrival_ns)`` is called from a reader thread here.

    ``arrival_ns`` is ``perf_counter_ns`` as the input process read it (the same clock here
    on Linux, macOS and Windows: it is system-wide).

    Raises:
        PortError: the input cannot be opened (its one line), or the process did not start.
    """

    def __init__(self, name: str, api: str | None, callback: MidiCallback, virtual: bool = False,
                 start_timeout_s: float = START_TIMEOUT_S) -> None:
        if os.name == "posix":
            ours, theirs = socket.socketpair()
            self._conn = Connection(ours.detach())
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
            try:
                self._proc: Any = _Exec(subprocess.Popen(
                    [sys.executable, "-m", "engine.ports.input_child", str(theirs.fileno()), name,
                     api or "", "1" if virtual else "0"],
                    pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL, cwd=str(ROOT)))
            except OSError as err:
                self._conn.close()
                raise PortError(f"cannot start the MIDI input's process: {err}") from err
            finally:
                theirs.close()
        else:
            ctx = mp.get_context("spawn")
            self._conn, child = ctx.Pipe()
            self._proc = ctx.Process(target=serve, args=(name, api, virtual, child),
                                     name="groovefader-midi-in", daemon=True)
            _start_without_main(self._proc)
            child.close()
        try:
            reply = self._conn.recv() if self._conn.poll(start_timeout_s) else ("error", "")
        except (EOFError, OSError):
            reply = ("error", "")
        if reply[0] != "ok":
            self._stop()
            raise PortError(reply[1] or "the MIDI input's process did not start")
        self.port_name: str = reply[1]
        self._reader = threading.Thread(target=self._read, args=(callback,),
                                        name="groovefader-midi-in-reader", daemon=True)
        self._reader.start()

    def _read(self, callback: MidiCallback) -> None:
        while True:
            try:
                data, arrival = self._conn.recv()
            except (EOFError, OSError):  # closed, or the process is gone
                return
            callback(tuple(data), arrival)

    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    def close(self) -> None:
        """Stop listening (idempotent): the process closes its input and ends."""
        if self._proc is None:
            return
        self._stop()
        self._reader.join(CLOSE_TIMEOUT_S)

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        with contextlib.suppress(OSError, ValueError):
            self._conn.send("close")
        proc.join(CLOSE_TIMEOUT_S)
        if proc.is_alive():
            proc.terminate()
            proc.join(CLOSE_TIMEOUT_S)
        self._conn.close()


def serve(name: str, api: str | None, virtual: bool, conn: Any) -> None:
    """The input process: open, say so, forward every message until told to close (or the
    parent is gone), close."""
    from engine.ports.factory import open_input

    inbox: queue.SimpleQueue[tuple[tuple[int, ...], int]] = queue.SimpleQueue()
    try:
        inp = open_input(name, api, lambda data, t: inbox.put((data, t)), virtual=virtual)
    except PortError as err:
        conn.send(("error", str(err)))
        return
    except Exception as err:  # a backend library's own error: one line all the same
        conn.send(("error", f"cannot open MIDI input {name!r}: {err}"))
        return
    try:
        conn.send(("ok", inp.port_name))
        while True:
            try:
                conn.send(inbox.get(timeout=POLL_S))
            except queue.Empty:
                if conn.poll():  # "close", or end of file: the parent is gone
                    return
    except (OSError, ValueError):
        return
    finally:
        inp.close()


class _Exec:
    """A ``subprocess`` child with the two calls of a ``multiprocessing`` process used here."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._p = proc

    def is_alive(self) -> bool:
        return self._p.poll() is None

    def join(self, timeout: float) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._p.wait(timeout)

    def terminate(self) -> None:
        self._p.terminate()


def _start_without_main(proc: Any) -> None:
    """Start a spawn-context process without re-importing the caller's ``__main__`` (the app
    or a tool that imports torch), as the sequencer's clock process is started."""
    real_main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        proc.start()
    finally:
        sys.modules["__main__"] = real_main
