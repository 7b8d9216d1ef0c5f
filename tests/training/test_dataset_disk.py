"""The dataset cache on a full or read-only disk (a real small tmpfs): the build still gives
its dataset, says in one line that the cache was not written, and leaves no partial file."""

from __future__ import annotations

import numpy as np
import pytest

from engine.music.drums import NUM_VOICES, Voice
from engine.music.midifile import write_clip
from engine.music.pattern import Pattern
from tests.support.small_disk import small_disk
from training.dataset import build


def grooves(folder, n: int = 6) -> None:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        h = rng.random((64, NUM_VOICES)) < 0.3
        h[::4, Voice.KICK] = True
        write_clip(folder / f"g{i}.mid", Pattern(h, rng.integers(30, 128, h.shape) / 127))


@pytest.mark.parametrize("full", [True, False], ids=["full", "read-only"])
def test_a_cache_that_cannot_be_written_loses_nothing(tmp_path, full) -> None:
    grooves(tmp_path / "src")
    with small_disk(tmp_path / "cache", size_kb=64) as disk:
        disk.fill() if full else disk.read_only()
        ds, summary = build(tmp_path / "src", cache_dir=disk.root, workers=1)
        assert ds is not None and summary["files_used"] == 6 and len(ds) > 0
        why = "No space left on device" if full else "Read-only file system"
        assert summary["cache"] == f"not written: {why}"
        assert not list(disk.root.glob("dataset-*")) and disk.leftovers() == []
