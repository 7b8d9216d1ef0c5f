"""Local file paths from dropped URLs, byte for byte.

A file manager drops ``file:///…/caf%E9.mid`` for a file whose name is Latin-1 bytes; Qt's
``QUrl.toLocalFile`` decodes that as UTF-8 and puts U+FFFD in place of the byte, naming a
file that does not exist. The percent-encoded path keeps the bytes, and ``os.fsdecode``
turns them into the str Python's file functions open.
"""

from __future__ import annotations

import os
from urllib.parse import unquote_to_bytes

from PySide6.QtCore import QUrl


def local_path(url: QUrl) -> str:
    """The exact local path of a ``file:`` URL (any bytes), or ``url.toLocalFile()`` when the
    URL names a host (a network share Qt resolves)."""
    if url.host():
        return url.toLocalFile()
    return os.fsdecode(unquote_to_bytes(url.path(QUrl.ComponentFormattingOption.FullyEncoded)))
