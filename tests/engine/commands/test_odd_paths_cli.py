"""File names of any bytes in ``generate``, ``transition``, ``eval`` and ``play --clip``: they
work, or fail in one escaped line; printing them never crashes (a real process, strict stdout)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from engine.music.drums import NUM_VOICES, Voice  # noqa: E402
from engine.music.midifile import read_clip, write_clip  # noqa: E402
from engine.music.pattern import Pattern  # noqa: E402
from tests.support.tiny_checkpoint import tiny_checkpoint  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
ODD = b"odd \xe9\nname\x1b.mid"  # Latin-1 byte, newline, escape code, space
ODD_SHOWN = "odd \\xe9\\nname\\x1b.mid"


@pytest.fixture(scope="module")
def ckpt() -> str:
    return str(tiny_checkpoint("fader_vae"))


def odd(folder: Path, name: bytes = ODD) -> Path:
    return Path(os.fsdecode(bytes(folder) + b"/" + name))


def run(*args: str) -> tuple[int, str, str]:
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict")
    proc = subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, env=env,
                          cwd=ROOT, timeout=120)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def groove(seed: int) -> Pattern:
    rng = np.random.default_rng(seed)
    h = rng.random((32, NUM_VOICES)) < 0.2
    h[::4, Voice.KICK] = True
    return Pattern(h, rng.integers(30, 128, h.shape) / 127)


def test_generate_to_an_odd_name_and_refusing_to_overwrite_it(tmp_path, ckpt):
    out = odd(tmp_path)
    code, stdout, stderr = run("generate", "-o", os.fsdecode(out), "--checkpoint", ckpt, "--seed", "1")
    assert code == 0, stderr
    assert stdout == f"wrote {tmp_path}/{ODD_SHOWN}: 4 bars, {read_clip(out).num_hits} notes " \
                     "at 120 BPM\n"
    code, stdout, stderr = run("generate", "-o", os.fsdecode(out), "--checkpoint", ckpt)
    assert code == 1 and stderr == f"groovefader: error: {tmp_path}/{ODD_SHOWN}: exists; refusing to " \
                                   "overwrite it (use --force)\n"


def test_transition_between_odd_names(tmp_path, ckpt):
    a = write_clip(odd(tmp_path, b"a\xe9.mid"), groove(0))
    b = write_clip(odd(tmp_path, b"-b\nx.mid"), groove(1))
    out = odd(tmp_path, b"t\xff.mid")
    code, stdout, stderr = run("transition", os.fsdecode(a), os.fsdecode(b), "-o", os.fsdecode(out),
                               "--checkpoint", ckpt, "--bars", "4")
    assert code == 0, stderr
    assert stdout.startswith(f"wrote {tmp_path}/t\\xff.mid: 4-bar transition") and stdout.count("\n") == 1
    assert read_clip(out).bars == 4


@pytest.mark.parametrize("command", ["transition", "eval", "play"])
def test_a_bad_file_under_an_odd_name_is_one_escaped_line(tmp_path, ckpt, command):
    bad = odd(tmp_path)
    bad.write_bytes(np.random.default_rng(0).bytes(200))
    good = write_clip(tmp_path / "good.mid", groove(0))
    args = {"transition": ["transition", os.fsdecode(bad), str(good), "-o", str(tmp_path / "t.mid"),
                           "--checkpoint", ckpt],
            "eval": ["eval", "--checkpoint", os.fsdecode(bad), "--data", str(tmp_path), "--json",
                     str(tmp_path / "e.json")],
            "play": ["play", "--clip", os.fsdecode(odd(tmp_path, b"gone\xe9.mid"))]}[command]
    code, stdout, stderr = run(*args)
    assert code == 1 and "Traceback" not in stderr
    assert stderr.count("\n") == 1 and stderr.startswith("groovefader: error: ")
    assert ODD_SHOWN in stderr or "gone\\xe9.mid" in stderr
