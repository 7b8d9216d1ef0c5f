"""Melody test helpers: two small real-looking melodies and a tiny model that memorises them."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from engine.music.melody import NO_EVENT, NOTE_OFF, Melody, codec_meta


def melody_a() -> Melody:
    """2 bars, C major: a rising line with held notes and one rest."""
    ev = [NO_EVENT] * 32
    for step, pitch in [(0, 60), (4, 62), (8, 64), (12, 65), (16, 67), (20, 69), (24, 67)]:
        ev[step] = pitch
    ev[28] = NOTE_OFF
    return Melody(ev)


def melody_b() -> Melody:
    """2 bars: a falling line in 8ths and quarters, a different rhythm from A."""
    ev = [NO_EVENT] * 32
    for step, pitch in [(0, 72), (2, 71), (4, 69), (6, 67), (8, 65), (12, 64), (16, 62), (18, 60),
                        (20, 59), (24, 60)]:
        ev[step] = pitch
    return Melody(ev)


@functools.lru_cache(maxsize=1)
def memorised_checkpoint(folder: str) -> Path:
    """A ``melody_tiny`` checkpoint trained (~1 s) to reconstruct A and B exactly."""
    import torch
    import torch.nn.functional as F

    from models.melody_checkpoint import save_melody_checkpoint
    from models.melody_vae import MelodyVAE, kl_divergence, preset

    torch.set_num_threads(1)  # a shared CI machine: one thread is faster than contended many
    torch.manual_seed(0)
    model = MelodyVAE(preset("melody_tiny", dec_hidden=32, enc_hidden=32))
    x = torch.from_numpy(np.stack([melody_a().to_classes(), melody_b().to_classes()]))
    opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    model.eval()  # z = mu (no sampling noise) and no dropout: memorising is quick
    for step in range(400):
        logits, mu, sigma = model(x)
        if step % 10 == 9 and torch.equal(model.decode(mu.detach()), x):
            break  # greedy decoding (what the tests use) reproduces both
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x.reshape(-1)) \
            + 1e-3 * kl_divergence(mu, sigma).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        mu, _ = model.encode(x)
    meta = {"data_fingerprint": "test", "metrics": {}, "codec": codec_meta(),
            "latent": {"mean": mu.mean(0).tolist(), "std": mu.std(0).tolist(),
                       "anchors": mu.tolist(), "anchor_noise": 0.0}}
    return save_melody_checkpoint(Path(folder) / "melody_tiny.pt", model, meta)
