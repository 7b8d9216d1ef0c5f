"""``generate`` and clip export on a full or read-only disk (a real small tmpfs): one line, no
partial clip, the previous clip whole."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from engine.errors import MidiFileError  # noqa: E402
from engine.music.drums import NUM_VOICES  # noqa: E402
from engine.music.midifile import read_clip, write_clip  # noqa: E402
from engine.music.pattern import Pattern  # noqa: E402
from tests.support.small_disk import small_disk  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


def long_pattern(bars: int) -> Pattern:
    rng = np.random.default_rng(0)
    return Pattern(rng.random((bars * 16, NUM_VOICES)) < 0.5, rng.random((bars * 16, NUM_VOICES)))


@pytest.mark.parametrize("full", [True, False], ids=["full", "read-only"])
def test_export_over_a_clip_keeps_it_whole(tmp_path, full) -> None:
    with small_disk(tmp_path / "disk", size_kb=128) as disk:
        clip = write_clip(disk.root / "groove.mid", long_pattern(2))
        before = clip.read_bytes()
        disk.fill() if full else disk.read_only()
        with pytest.raises(MidiFileError) as caught:
            write_clip(clip, long_pattern(64), force=True)  # ~60 kB: more than is left
        why = "No space left on device" if full else "Read-only file system"
        assert str(caught.value) == f"{clip}: cannot write clip: {why}"
        assert clip.read_bytes() == before and disk.leftovers() == []
        assert read_clip(clip).bars == 2


def test_generate_on_a_full_disk_is_one_line(tmp_path) -> None:
    from models.checkpoint import save_checkpoint
    from models.config import PRESETS
    from models.fader_vae import FaderVAE
    from tests.models.test_checkpoint import make_meta

    model = FaderVAE(PRESETS["tiny"])  # untrained: this test is about the disk, not the groove
    ckpt = save_checkpoint(tmp_path / "tiny.pt", model, PRESETS["tiny"], make_meta(model))
    with small_disk(tmp_path / "disk", size_kb=64) as disk:
        disk.fill()
        out = disk.root / "pack"
        proc = subprocess.run([sys.executable, "-m", "app.cli", "generate", "-o", str(out / "a.mid"),
                               "--checkpoint", str(ckpt), "--bars", "8"], capture_output=True, text=True,
                              cwd=ROOT, timeout=120)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        expected = f"{out / 'a.mid'}: cannot write clip: No space left on device"
        assert proc.stderr == f"groovefader: error: {expected}\n"
        assert not (out / "a.mid").exists() and disk.leftovers() == []
