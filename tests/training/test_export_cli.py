"""``groovefader export``: the command writes a verified export and says so in one line;
mistakes are one line on stderr."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")

from app.cli import main  # noqa: E402
from engine.generation.onnx_nets import find_export  # noqa: E402
from tests.support.tiny_checkpoint import tiny_checkpoint  # noqa: E402


def test_export_command_writes_a_verified_folder(tmp_path: Path, capsys) -> None:
    ckpt = Path(shutil.copy(tiny_checkpoint("fader_vae"), tmp_path / "model.pt"))
    out = tmp_path / "elsewhere"
    assert main(["export", "--checkpoint", str(ckpt), "-o", str(out)]) == 0
    said = capsys.readouterr().out.strip().splitlines()
    assert len(said) == 1 and "largest difference from torch" in said[0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["checkpoint"]["name"] == "model.pt"
    assert find_export(out, "drums")[0] is not None  # a folder is its own export
    assert find_export(ckpt, "drums")[0] is None  # not beside the checkpoint: -o was given
    assert main(["export", "--checkpoint", str(ckpt), "-o", str(out)]) == 0  # an export is replaced


@pytest.mark.parametrize("there", ["folder", "file", "cwd"])
def test_export_never_replaces_what_is_not_an_export(tmp_path: Path, capsys, monkeypatch, there: str) -> None:
    ckpt = Path(shutil.copy(tiny_checkpoint("fader_vae"), tmp_path / "model.pt"))
    mine = tmp_path / "mine"
    if there == "file":
        mine.write_text("keep")
    else:
        mine.mkdir()
        (mine / "notes.txt").write_text("keep")
    if there == "cwd":
        monkeypatch.chdir(mine)
    assert main(["export", "--checkpoint", str(ckpt), "-o", "." if there == "cwd" else str(mine)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not a groovefader export" in err[0]
    assert (mine.read_text() if there == "file" else (mine / "notes.txt").read_text()) == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "model.pt"]  # nothing left beside


@pytest.mark.parametrize("bad", ["missing.pt", "folder"])
def test_export_mistakes_are_one_line(tmp_path: Path, capsys, bad: str) -> None:
    (tmp_path / "folder").mkdir()
    assert main(["export", "--checkpoint", str(tmp_path / bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("groovefader: error:")


def test_an_autoregressive_decoder_is_not_exported(tmp_path: Path, capsys) -> None:
    import dataclasses

    from models.checkpoint import load_checkpoint, save_checkpoint
    from models.fader_vae import FaderVAE

    tiny = load_checkpoint(tiny_checkpoint("vae"))
    cfg = dataclasses.replace(tiny.config, decoder_cell="gru")
    path = save_checkpoint(tmp_path / "gru.pt", FaderVAE(cfg), cfg, tiny.meta)
    assert main(["export", "--checkpoint", str(path)]) == 1
    assert "autoregressive" in capsys.readouterr().err
    assert not (tmp_path / "gru-onnx").exists()
