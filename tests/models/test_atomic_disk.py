"""Writes on a full or read-only disk (a real small tmpfs): an error naming the file, no
partial file, the previous file whole."""

from __future__ import annotations

import errno

import pytest
import torch

from engine.errors import CheckpointError
from models.atomic import atomic_write
from models.checkpoint import load_checkpoint, save_checkpoint
from models.config import PRESETS
from models.fader_vae import FaderVAE
from tests.models.test_checkpoint import make_meta
from tests.support.small_disk import small_disk

torch.set_num_threads(1)


def test_a_full_disk_keeps_the_old_file_and_leaves_no_temp(tmp_path) -> None:
    with small_disk(tmp_path / "disk", size_kb=128) as disk:
        target = disk.root / "state.bin"
        atomic_write(target, lambda f: f.write(b"old" * 1000))
        disk.fill()
        with pytest.raises(OSError) as caught:
            atomic_write(target, lambda f: f.write(b"new" * 100_000))
        assert caught.value.errno == errno.ENOSPC
        assert target.read_bytes() == b"old" * 1000
        assert disk.leftovers() == []


def test_a_read_only_disk_keeps_the_old_file(tmp_path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        target = disk.root / "state.txt"
        atomic_write(target, lambda f: f.write("old"), text=True)
        disk.read_only()
        with pytest.raises(OSError) as caught:
            atomic_write(target, lambda f: f.write("new"), text=True)
        assert caught.value.errno == errno.EROFS
        assert target.read_text() == "old"


@pytest.mark.parametrize("full", [True, False], ids=["full", "read-only"])
def test_a_checkpoint_save_that_cannot_write_is_one_line_and_the_old_one_loads(tmp_path, full) -> None:
    cfg = PRESETS["tiny"]
    model = FaderVAE(cfg)
    with small_disk(tmp_path / "disk", size_kb=512) as disk:
        path = save_checkpoint(disk.root / "model.pt", model, cfg, make_meta(model))
        before = path.read_bytes()
        disk.fill() if full else disk.read_only()
        with pytest.raises(CheckpointError) as caught:
            save_checkpoint(path, FaderVAE(cfg), cfg, make_meta(model, seed=1))
        why = "No space left on device" if full else "Read-only file system"
        assert str(caught.value) == f"{path}: cannot write checkpoint: {why}"
        assert path.read_bytes() == before and disk.leftovers() == []
        load_checkpoint(path)


def test_a_checkpoint_that_fills_the_disk_partway_is_one_line(tmp_path) -> None:
    """The disk has room for part of the file: torch's own zip writer answered that with an
    internal RuntimeError; the checkpoint says the disk is full."""
    import numpy as np

    cfg = PRESETS["tiny"]
    model = FaderVAE(cfg)
    with small_disk(tmp_path / "disk", size_kb=768) as disk:
        path = disk.root / "map.pt"
        bank = {"codes": np.random.default_rng(0).standard_normal((4096, 64)).astype(np.float32)}  # 1 MB
        with pytest.raises(CheckpointError) as caught:
            save_checkpoint(path, model, cfg, make_meta(model), arrays=bank)
        assert str(caught.value) == f"{path}: cannot write checkpoint: No space left on device"
        assert not path.exists() and disk.leftovers() == []


def test_check_target_fails_before_the_work_where_a_write_could_not_be_made(tmp_path) -> None:
    from models.atomic import check_target
    from models.errors import GrooveFaderError

    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-folder").mkdir()
    check_target(tmp_path / "new" / "deeper" / "out.json")  # folders to be made: fine
    check_target(tmp_path / "a-folder" / "out.json")
    with pytest.raises(GrooveFaderError, match="a folder; give a file name"):
        check_target(tmp_path / "a-folder")
    with pytest.raises(GrooveFaderError, match="is a file, not a folder"):
        check_target(tmp_path / "a-file" / "out.json")
