"""The command table's last guard: a disk error no command foresaw is one line, the file's
name escaped, never a traceback."""

from __future__ import annotations

import errno
import os

import pytest

from app import cli


@pytest.mark.parametrize(("error", "line"), [
    (OSError(errno.ENOSPC, "No space left on device", os.fsdecode(b"/out/r\xe9port\n.json")),
     "groovefader: error: /out/r\\xe9port\\n.json: No space left on device\n"),
    (OSError(errno.EROFS, "Read-only file system"), "groovefader: error: Read-only file system\n"),
    (cli.GrooveFaderError(os.fsdecode(b"/in/caf\xe9.mid: not a readable MIDI file\n(more)")),
     "groovefader: error: /in/caf\\xe9.mid: not a readable MIDI file\\n(more)\n"),
])
def test_errors_end_in_one_escaped_line(monkeypatch, capsys, error, line) -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["data", "somewhere"])

    def fail(_args):
        raise error

    args.func = fail
    monkeypatch.setattr(cli, "build_parser", lambda *_: type("P", (), {"parse_args": lambda self, a: args})())
    assert cli.main(["data", "somewhere"]) == 1
    assert capsys.readouterr().err == line
