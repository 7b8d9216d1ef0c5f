"""Atomic file writes: a crash or a full disk never leaves a half-written clip, preset or cache.

The content goes to a temp file in the target's folder (same file system), is flushed and
fsync'ed, gets ordinary file permissions (``mkstemp`` makes 0600, which a DAW run as another
user or a file share cannot read), and then replaces the target in one ``os.replace``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from models.errors import GrooveFaderError
from models.pathnames import shown

FILE_MODE = 0o644  # an exported clip or preset is an ordinary shared file
TEMP_NAME_CHARS = 48  # of the target's name in the temp file's (≤ 4 UTF-8 bytes per char)


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[Any]], object], *,
                 text: bool = False) -> Path:
    """Create or replace ``path`` with what ``write(file_object)`` writes, all or nothing.

    Raises:
        OSError: the folder cannot be written; the target is then left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the temp name is cut short: a target name near the 255-byte limit must still fit
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:TEMP_NAME_CHARS]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w" if text else "wb", **({"encoding": "utf-8"} if text else {})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def check_target(path: str | os.PathLike[str]) -> None:
    """Fail now, not after minutes of work, where :func:`atomic_write` could not write ``path``:
    a folder in its place, or a parent that is a file or cannot be made.

    Raises:
        GrooveFaderError: naming the path and why.
    """
    path = Path(path)
    if path.is_dir():
        raise GrooveFaderError(f"{shown(path)}: a folder; give a file name")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise GrooveFaderError(f"{shown(path)}: {shown(parent)} is a file, not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise GrooveFaderError(f"{shown(path)}: cannot write in {shown(parent)}")
            return
