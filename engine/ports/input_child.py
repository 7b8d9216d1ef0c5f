"""The MIDI input process's entry point, started by :class:`engine.ports.InputProcess`:
``python -m engine.ports.input_child FD NAME API VIRTUAL``. A module of its own, so that
running it does not import :mod:`engine.ports.input_process` a second time as ``__main__``."""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection

from engine.ports.input_process import serve

if __name__ == "__main__":
    serve(sys.argv[2], sys.argv[3] or None, sys.argv[4] == "1", Connection(int(sys.argv[1])))
