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


SLOW_WRITE = """
import os, signal, sys, time
from app import cli
from models.atomic import atomic_write

args = cli.build_parser().parse_args(["data", "somewhere"])

def write_then_get_killed(_args):
    def write(f):
        f.write(b"x" * 4096)
        os.kill(os.getpid(), signal.SIGTERM)  # kill, timeout, a cancelled job: mid-write
        time.sleep(30)
    atomic_write(sys.argv[1], write)

args.func = write_then_get_killed
cli.build_parser = lambda *_: type("P", (), {"parse_args": lambda self, a: args})()
sys.exit(cli.main(["data", "somewhere"]))
"""


def test_sigterm_mid_write_leaves_no_temp_file(tmp_path) -> None:
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "out"
    out.mkdir()
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", SLOW_WRITE, str(out / "big.wav")], cwd=repo,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 128 + 15, done.stderr  # ended as Ctrl-C would, by an exception
    assert list(out.iterdir()) == []  # the half-written temp file was removed on the way out
