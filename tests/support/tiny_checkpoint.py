"""A tiny real checkpoint for generator/transition/eval tests, trained in a few seconds.

Uses the model engineer's model, losses, latent statistics and checkpoint writer on
synthetic grooves (kick/snare/hat families with varying density, velocity and timing),
so tests exercise the real inference path without the shipped checkpoint or the data.
One checkpoint per kind per test session (cached in a temp folder).
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np

from engine.music import attributes as attr_lib
from engine.music.drums import GM_NOTE_MAP, Voice

NAMES = attr_lib.DEFAULT_ATTRIBUTES
STEPS = 32


def synthetic_patterns(n: int, seed: int = 0) -> np.ndarray:
    """``(n, 32, 27)`` codec arrays of simple rock/funk-like grooves."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, STEPS, 27), np.float32)
    t = np.arange(STEPS)
    for i in range(n):
        hits = np.zeros((STEPS, 9), bool)
        hat_every = rng.choice([1, 2, 4])
        hits[t % hat_every == 0, Voice.CLOSED_HAT] = True
        hits[t % 16 == 8, Voice.SNARE] = True
        hits[t % 16 == 0, Voice.KICK] = True
        extra_kicks = rng.choice([0, 1, 2, 3])
        for s in rng.choice([3, 6, 10, 11, 14], size=extra_kicks, replace=False):
            hits[[s, s + 16], Voice.KICK] = True
        if rng.random() < 0.3:
            hits[[0], Voice.CRASH] = True
        vel_level = rng.uniform(0.4, 0.95)
        shift = rng.uniform(-0.15, 0.15)
        x[i, :, :9] = hits
        x[i, :, 9:18] = hits * np.clip(vel_level + rng.normal(0, 0.05, (STEPS, 9)), 0.05, 1.0)
        x[i, :, 18:] = hits * np.clip(shift + rng.normal(0, 0.03, (STEPS, 9)), -0.5, 0.5)
    return x


def train_tiny(kind: str = "fader_vae", steps: int = 300, seed: int = 0):
    """(model, config, meta) of a tiny model trained on synthetic grooves for ``steps`` batches."""
    import torch

    from models.config import PRESETS
    from models.fader_vae import FaderVAE
    from models.latent import attribute_stats, attribute_vectors, latent_summary, normalise
    from models.losses import kl_divergence, reconstruction_terms

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    x_np = synthetic_patterns(512, seed)
    raw = attr_lib.compute(x_np, NAMES)
    stats = attribute_stats(raw, NAMES)
    fader = kind.startswith("fader_vae")   # "fader_vae_vtrunk": with a velocity trunk
    cfg = dataclasses.replace(PRESETS["tiny"], num_attributes=len(NAMES) if fader else 0,
                              decoder_size=32, decoder_layers=2, beta=0.05,
                              velocity_trunk=16 if kind == "fader_vae_vtrunk" else 0)
    model = FaderVAE(cfg)
    x_all = torch.from_numpy(x_np)
    a_all = torch.from_numpy(normalise(raw, stats))
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    gen = torch.Generator().manual_seed(seed)
    for step in range(steps):
        idx = torch.randint(0, len(x_all), (64,), generator=gen)
        xb, ab = x_all[idx], a_all[idx]
        # half of the batches teacher-forced at random steps, so teacher forcing works too
        mask = (torch.rand(xb.shape[:2], generator=gen) < 0.5) if step % 2 else None
        out, mu, logvar = model(xb, ab if fader else None, teacher_mask=mask)
        rec = reconstruction_terms(out, xb)
        loss = (rec.hits + 5 * rec.velocities + 5 * rec.offsets
                + cfg.beta * min(1.0, step / 100) * kl_divergence(mu, logvar)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        mu, _ = model.encode(x_all)
    mu_np = mu.numpy().astype(np.float64)
    meta = {"attributes": stats, "note_map": GM_NOTE_MAP.to_json(), "data_fingerprint": "synthetic",
            "metrics": {}, "latent": latent_summary(mu_np)}
    if not fader:
        meta["attribute_vectors"] = attribute_vectors(mu_np, raw, NAMES)
    return model, cfg, meta


def _session_folder(prefix: str) -> Path:
    """A temporary folder removed when the test process exits (the cached checkpoints outlive
    every test that reads them, but not the session)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@functools.cache
def tiny_checkpoint(kind: str = "fader_vae") -> Path:
    """Path of a trained tiny checkpoint of ``kind`` ('fader_vae' | 'fader_vae_vtrunk' | 'vae'),
    made once per session."""
    from models.checkpoint import save_checkpoint

    model, cfg, meta = train_tiny(kind)
    folder = _session_folder("groovefader-tiny-")
    return save_checkpoint(folder / f"{kind}.pt", model, cfg, meta)


@functools.cache
def mapped_checkpoint(grooves: int = 120, grid: int = 3, seed: int = 9) -> tuple[Path, dict]:
    """The tiny fader-VAE with a map of ``grooves`` synthetic grooves (two styles) on a
    ``grid``² pad, made once per session: its path and the map's arrays."""
    import numpy as np

    from engine.generation.generator import Generator
    from engine.music import attributes as attr_lib
    from models.checkpoint import load_checkpoint, save_checkpoint
    from training.data_map import MapConfig, build_data_map

    ckpt = load_checkpoint(tiny_checkpoint("fader_vae"))
    plain = Generator(ckpt.model, ckpt.meta, ckpt.config)
    pats = synthetic_patterns(grooves, seed=seed)
    arrays, info = build_data_map(plain, pats, attr_lib.compute(pats, plain.attribute_names),
                                  np.arange(grooves) % 2, ["funk", "rock"],
                                  MapConfig(rows=grid, cols=grid, epochs=max(2, grid)))
    folder = _session_folder("groovefader-mapped-")
    meta = dict(ckpt.meta, data_map=info)
    path = save_checkpoint(folder / "mapped.pt", ckpt.model, ckpt.config, meta, arrays)
    return path, arrays
