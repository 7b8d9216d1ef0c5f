"""The shipped models' recipes: they build the shipped model configs exactly and they train;
every new checkpoint records its training config and code revision."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from app.cli import build_parser, main
from models.checkpoint import load_checkpoint
from models.config import PRESETS, FaderVAEConfig
from training.config import TrainConfig, code_revision
from training.recipe import model_differences
from training.train_cli import build_config

torch.set_num_threads(1)

CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"
SHIPPED = ("default", "baseline_groovae")


def recipe(name: str) -> dict:
    return json.loads((CHECKPOINTS / f"{name}.train.json").read_text())


@pytest.mark.parametrize("name", SHIPPED)
def test_recipe_builds_the_shipped_model_config_exactly(name: str) -> None:
    cfg = TrainConfig.from_dict(recipe(name))
    assert set(recipe(name)) == set(TrainConfig.__dataclass_fields__)  # every field written out
    sidecar = json.loads((CHECKPOINTS / f"{name}.json").read_text())
    shipped = FaderVAEConfig.from_dict(sidecar["config"])
    assert model_differences(cfg, shipped) == []
    assert cfg.model_config() == shipped
    # the checkpoint (its embedded metadata, which the loader reads) carries the same recipe
    ck = load_checkpoint(CHECKPOINTS / f"{name}.pt")
    assert ck.config == shipped
    assert ck.meta["training"]["config"] == recipe(name) == sidecar["training"]["config"]
    assert re.fullmatch(r"[0-9a-f]{40}", ck.meta["training"]["code_revision"])


def test_the_shipped_model_is_not_its_preset() -> None:
    """Why the recipe is needed: preset fader_2bar alone builds another model."""
    bare = TrainConfig.from_dict({**recipe("default"), "model": {}})
    shipped = load_checkpoint(CHECKPOINTS / "default.pt").config
    fields = {d.split(":")[0] for d in model_differences(bare, shipped)}
    assert fields == {"beta", "dropout", "velocity_weight", "offset_weight", "monotone_density",
                      "monotone_hats", "monotone_hats_trade"}


def test_the_shipped_recipe_trains(tmp_path: Path, capsys) -> None:
    """``groovefader train --config checkpoints/default.train.json`` on a tiny synthetic set:
    two optimiser steps (480 training grooves, batch 256) of the shipped model."""
    run = tmp_path / "run"
    assert main(["train", "--config", str(CHECKPOINTS / "default.train.json"), "synthetic",
                 "--synthetic-size", "600", "--epochs", "1", "--run-dir", str(run), "--quiet"]) == 0
    assert str(run / "checkpoint.pt") in capsys.readouterr().out
    ck = load_checkpoint(run / "checkpoint.pt")
    assert ck.meta["metrics"]["step"] == 2
    assert ck.config == load_checkpoint(CHECKPOINTS / "default.pt").config
    expected = {**recipe("default"), "data": "synthetic", "synthetic_size": 600, "epochs": 1,
                "run_dir": str(run)}
    assert ck.meta["training"]["config"] == expected
    assert json.loads((run / "config.json").read_text()) == expected
    revision, dirty = code_revision()
    assert ck.meta["training"]["code_revision"] == revision
    assert ck.meta["training"]["dirty"] == dirty
    # the run ends with the map of its training grooves: the knobs walk it, the pad shows it
    assert ck.meta["data_map"]["size"] == len(ck.arrays["bank.codes"]) > 0
    assert ck.arrays["pad.nodes"].shape == (32, 32)
    # and with the spread of velocities and timing its decodes are given back, fitted on them
    assert set(ck.meta["expression"]) == {"velocity", "timing"}
    assert all(0 < v <= 3 for v in ck.meta["expression"].values())


def test_code_revision_inside_and_outside_a_checkout(tmp_path: Path) -> None:
    revision, dirty = code_revision()
    assert re.fullmatch(r"[0-9a-f]{40}", revision) and isinstance(dirty, bool)
    assert code_revision(tmp_path) == ("unknown", None)


def test_config_from_a_checkpoint_metadata_file(tmp_path: Path) -> None:
    args = build_parser().parse_args(["train", "--config", str(CHECKPOINTS / "default.json")])
    assert build_config(args) == TrainConfig.from_dict(recipe("default"))
    bare = tmp_path / "old.json"
    bare.write_text(json.dumps({"format_version": 1, "config": PRESETS["tiny"].to_dict()}))
    args = build_parser().parse_args(["train", "--config", str(bare)])
    with pytest.raises(Exception, match="holds no training config"):
        build_config(args)


def test_attaching_a_recipe_keeps_the_checkpoint_playable(tmp_path: Path) -> None:
    """The recipe is written into the checkpoint in place: its weights and its stored map of
    the data (arrays) must survive, or the instrument can no longer load it."""
    import shutil

    import numpy as np

    from engine.generation.generator import Generator
    from training.recipe import attach

    ck_path = Path(shutil.copy(CHECKPOINTS / "default.pt", tmp_path / "model.pt"))
    shutil.copy(CHECKPOINTS / "default.json", tmp_path / "model.json")
    original = load_checkpoint(ck_path)
    assert original.arrays  # the shipped model carries its map of the data
    record = attach(ck_path, CHECKPOINTS / "default.train.json", "abc123", note="kept")
    assert record["code_revision"] == "abc123"
    again = load_checkpoint(ck_path)
    assert set(again.arrays) == set(original.arrays)
    assert all(np.array_equal(again.arrays[k], original.arrays[k]) for k in original.arrays)
    assert again.meta["training"]["note"] == "kept"
    Generator.from_checkpoint(ck_path, backend="torch")  # the instrument loads it


@pytest.mark.parametrize("extra", [["--epochs", "4"], ["--set", "z_dim=8"], ["synthetic"]])
def test_resume_refuses_flags_it_would_ignore(tmp_path: Path, extra: list[str]) -> None:
    """--resume goes on as the run was configured: a flag given with it is said to be refused,
    not silently dropped (a resumed run had exited 0 with --epochs 4 ignored)."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(recipe("default")))
    args = build_parser().parse_args(["train", "--resume", str(run), *extra])
    with pytest.raises(Exception, match="as it was configured; drop"):
        build_config(args)
    assert build_config(build_parser().parse_args(["train", "--resume", str(run)])) == \
        TrainConfig.from_dict(recipe("default"))
