"""training.relatent: a checkpoint's pad plane recomputed from its training MIDI, weights kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.music.drums import NUM_VOICES, Voice
from engine.music.midifile import write_clip
from engine.music.pattern import Pattern
from models.checkpoint import load_checkpoint, save_checkpoint
from tests.support.tiny_checkpoint import tiny_checkpoint
from training.relatent import main


def _groove(seed: int) -> Pattern:
    rng = np.random.default_rng(seed)
    h = rng.random((64, NUM_VOICES)) < 0.1
    h[::4, Voice.KICK] = True
    h[::2, Voice.CLOSED_HAT] = True
    return Pattern(h, rng.integers(30, 128, h.shape) / 127, rng.uniform(-0.3, 0.3, h.shape))


def test_relatent_puts_the_pad_centre_on_a_training_code(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GROOVEFADER_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "midi"
    data.mkdir()
    for i in range(6):
        write_clip(data / f"g{i}.mid", _groove(i), tempo_bpm=100)
    ck_path = tmp_path / "ck.pt"
    shutil.copy(tiny_checkpoint("fader_vae"), ck_path)
    ck = load_checkpoint(ck_path)
    meta = dict(ck.meta)
    meta["latent"]["plane"]["origin"] = [0.0] * ck.config.z_dim  # the old definition's kind of origin
    save_checkpoint(ck_path, ck.model, ck.config, meta)

    assert main([str(ck_path), "--data", str(data)]) == 0
    assert "origin_norm" in capsys.readouterr().out
    after = load_checkpoint(ck_path)
    for name, tensor in ck.model.state_dict().items():
        assert torch.equal(tensor, after.model.state_dict()[name]), name
    from training.dataset import build_dataset

    ds = build_dataset(data, attributes=tuple(meta["attributes"]["names"]))
    with torch.no_grad():
        mu = after.model.encode(torch.from_numpy(ds.patterns.astype(np.float32)))[0].double().numpy()
    origin = np.array(after.meta["latent"]["plane"]["origin"])
    assert np.abs(mu - origin).max(axis=1).min() == pytest.approx(0.0, abs=1e-5)
    assert np.linalg.norm(origin) > 0


def test_relatent_refuses_a_folder_without_midi(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GROOVEFADER_CACHE", str(tmp_path / "cache"))
    ck_path = tmp_path / "ck.pt"
    shutil.copy(tiny_checkpoint("fader_vae"), ck_path)
    before = ck_path.read_bytes()
    (tmp_path / "empty").mkdir()
    assert main([str(ck_path), "--data", str(tmp_path / "empty")]) == 1
    assert capsys.readouterr().err.startswith("error: ")
    assert ck_path.read_bytes() == before
