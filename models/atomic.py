"""Atomic file writes: a crash or a full disk never leaves a half-written clip, preset or cache.

The content goes to a temp file in the target's folder (same file system), is flushed and
fsync'ed, and then replaces the target in one ``os.replace``. The file's mode is the one the
user would get without the temp file: a replaced file keeps its own (a clip kept private at
0600, or shared at 0664, stays so after ``--force``); a new file gets what ``open`` gives under
the process's umask. The temp file is created with that mode by the kernel rather than by
``mkstemp``, whose 0600 a DAW run as another user or a file share cannot read.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from models.errors import GrooveFaderError
from models.pathnames import shown

NEW_FILE_MODE = 0o666  # before the umask, as open() asks: the user's umask decides who reads
TEMP_NAME_CHARS = 48  # of the target's name in the temp file's (≤ 4 UTF-8 bytes per char)
TEMP_ATTEMPTS = 100  # names tried before giving up (a clash needs another writer's same draw)


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[Any]], object], *,
                 text: bool = False) -> Path:
    """Create or replace ``path`` with what ``write(file_object)`` writes, all or nothing.

    Raises:
        OSError: the folder cannot be written; the target is then left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kept_mode = _existing_mode(path)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "w" if text else "wb", **({"encoding": "utf-8"} if text else {})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if kept_mode is not None:
            os.chmod(tmp, kept_mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _existing_mode(path: Path) -> int | None:
    """The permission bits of the file ``path`` names (through a symlink), or None where there
    is none to keep. Set-id and sticky bits are left out: they belong to the old file's owner."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode) & 0o777
    except OSError:
        return None


def _create_temp(path: Path) -> tuple[int, str]:
    """A new, empty temp file beside ``path``: ``(fd, name)``.

    Created with :data:`NEW_FILE_MODE` so the kernel applies the umask (and a folder's default
    ACL) exactly as for a plain ``open``; reading the umask instead would mean setting it,
    which races with other threads creating files.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    # the temp name is cut short: a target name near the 255-byte limit must still fit
    prefix = f".{path.name[:TEMP_NAME_CHARS]}."
    for _ in range(TEMP_ATTEMPTS):
        tmp = os.path.join(path.parent, f"{prefix}{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, NEW_FILE_MODE), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{shown(path)}: no free temp file name beside it")


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
