"""File names as a user's disk holds them, shown safely on one line.

A POSIX file name is any bytes but ``/`` and NUL: Latin-1 names from old archives arrive in
Python as lone surrogates (``'\\udce9'``, PEP 383), and names may hold newlines or escape
codes. Such a string cannot be encoded as UTF-8 (printing or ``str.encode()`` raises) and
a newline in it would split a one-line error. :func:`shown` gives the name as text that
always prints, stays on one line and still tells the user which file is meant;
:func:`name_bytes` gives the exact bytes (for hashing a name without losing it).
"""

from __future__ import annotations

import os
import re

# C0 controls, DEL and C1 controls and the Unicode line separators (each would break a line
# or drive the terminal), and lone surrogates (undecodable bytes; they cannot be encoded)
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, as os.fsdecode keeps it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: str) -> str:
    """``text`` printable on one line: undecodable bytes as ``\\xe9``, control characters
    (newline, tab, ESC, ...) as ``\\n``, ``\\t``, ``\\x1b``; everything else as is.

    The result encodes to UTF-8 and JSON without error and never holds a line break.
    """
    return _UNPRINTABLE.sub(_escape, text)


def shown(path: str | os.PathLike[str] | bytes) -> str:
    """A file name as printable one-line text (see :func:`one_line`)."""
    return one_line(os.fsdecode(path))


def name_bytes(path: str | os.PathLike[str]) -> bytes:
    """The exact bytes of ``path`` as the file system holds them (surrogates → raw bytes)."""
    return os.fsencode(path)


REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def portable(text: str, root: str = REPOSITORY) -> str:
    """``text`` with this machine's paths to the repository ``root`` made relative (``a/b``
    inside it, ``.`` itself) and to the data folder beside it (``../shared/...``): reports
    that are committed quote commands and folders a reader can type on their own machine.
    Nothing else is touched (a temporary folder beside the repository stays as it is)."""
    root = os.path.normpath(root)
    shared = os.path.join(os.path.dirname(root), "shared")
    pairs = [(shared + os.sep, ".." + os.sep + "shared" + os.sep), (shared, ".." + os.sep + "shared"),
             (root + os.sep, ""), (root, ".")]
    pattern = re.compile("|".join(re.escape(old) + r"(?![\w.-])" if not old.endswith(os.sep)
                                  else re.escape(old) for old, _ in pairs))
    table = dict(pairs)
    return pattern.sub(lambda m: table[m.group()], text)
