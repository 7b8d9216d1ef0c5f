"""The instrument without torch: ``app``, ``play``, ``generate`` and ``transition`` on the
shipped checkpoints' ONNX exports, each in a fresh process where importing torch fails
(what a runtime-only install is) and ``sys.modules`` is checked at exit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[3]

# Runs ``groovefader ARGS`` with torch made unimportable; prints whether torch got loaded.
RUNNER = """
import atexit, importlib.abc, sys

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)  # as when not installed
        return None

sys.meta_path.insert(0, NoTorch())
atexit.register(lambda: print("TORCH_LOADED", "torch" in sys.modules, file=sys.stderr))
from app.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_without_torch(*args: str, timeout: float = 120, rc: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "GROOVEFADER_BACKEND": "auto"}
    proc = subprocess.run([sys.executable, "-c", RUNNER, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == rc, proc.stderr[-2000:]
    assert "TORCH_LOADED False" in proc.stderr, proc.stderr[-2000:]
    return proc


def test_generate_and_transition_without_torch(tmp_path: Path) -> None:
    clip = tmp_path / "a.mid"
    run_without_torch("generate", "-o", str(clip), "--bars", "4", "--seed", "1", "--knob", "density=0.8")
    run_without_torch("generate", "-o", str(tmp_path / "pack"), "--count", "3", "--pad", "random",
                      "--seed", "2")
    run_without_torch("transition", str(clip), str(clip), "--bars", "4", "--strategy", "3",
                      "-o", str(tmp_path / "t.mid"))
    run_without_torch("generate", "--melody", "-o", str(tmp_path / "tune.mid"), "--bars", "4", "--seed", "1")
    tune = str(tmp_path / "tune.mid")
    run_without_torch("transition", tune, tune, "--melody", "--ends", "searched",
                      "-o", str(tmp_path / "m.mid"))
    # refining the ends by gradient needs torch: one line says so, and nothing is written
    refused = run_without_torch("transition", tune, tune, "--melody", "--ends", "refined",
                                "-o", str(tmp_path / "r.mid"), rc=1)
    assert "needs torch" in refused.stderr and not (tmp_path / "r.mid").exists()
    assert clip.stat().st_size > 0 and (tmp_path / "t.mid").stat().st_size > 0
    assert len(list((tmp_path / "pack").glob("*.mid"))) == 3
    assert (tmp_path / "tune.mid").stat().st_size > 0


def test_app_screenshot_without_torch(tmp_path: Path) -> None:
    out = tmp_path / "shot.png"
    run_without_torch("app", "--settings", str(tmp_path / "s.ini"), "--screenshot", str(out), timeout=180)
    assert out.stat().st_size > 10_000


@pytest.mark.jack
def test_play_with_melody_to_jack_without_torch(jack_server, port_name) -> None:
    proc = run_without_torch("play", "--midi-api", "jack", "--port", port_name, "--melody", "--bpm", "240",
                             "--seconds", "2", "--stats", "--quiet")
    assert '"count"' in proc.stdout  # --stats: notes were scheduled and sent


def test_a_checkpoint_without_export_is_one_line_without_torch(tmp_path: Path) -> None:
    ckpt = tmp_path / "model.pt"
    shutil.copy(ROOT / "checkpoints" / "default.pt", ckpt)  # its export stays in checkpoints/
    proc = run_without_torch("generate", "--checkpoint", str(ckpt), "-o", str(tmp_path / "a.mid"), rc=1)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("groovefader: error:")]
    assert len(lines) == 1 and "no ONNX export" in lines[0] and "torch is not installed" in lines[0]
    assert "Traceback" not in proc.stderr and not (tmp_path / "a.mid").exists()


def test_training_commands_say_what_to_install_without_torch(tmp_path: Path) -> None:
    proc = run_without_torch("export", "--checkpoint", str(ROOT / "checkpoints" / "default.pt"),
                             "-o", str(tmp_path / "out"), rc=1)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("groovefader: error:")]
    assert lines == ["groovefader: error: 'export' needs torch, which the runtime install leaves out: "
                     "pip install 'groovefader[train]'"]
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()
