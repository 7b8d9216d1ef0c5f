"""The Fader adversarial game is wired the right way round (cheap, synthetic, deterministic)."""

from __future__ import annotations

import numpy as np
import torch

from engine.music import attributes as attr_lib
from models import losses as L
from models.config import PRESETS
from models.fader_vae import FaderVAE
from training.synthetic import synthetic_patterns

torch.set_num_threads(1)


def test_discriminator_learns_and_the_encoder_step_defeats_it() -> None:
    torch.manual_seed(0)
    model = FaderVAE(PRESETS["tiny"])
    x_np = synthetic_patterns(128, 32, seed=2)
    raw = attr_lib.compute(x_np, tuple(attr_lib.ATTRIBUTES))
    a = torch.from_numpy(((raw - raw.mean(0)) / (raw.std(0) + 1e-6)).astype(np.float32))
    x = torch.from_numpy(x_np)
    disc_opt = torch.optim.Adam(model.disc.parameters(), lr=1e-2)

    def disc_error() -> float:
        with torch.no_grad():
            return float(L.disc_mse(model.discriminator(model.encode(x)[0]), a).mean())

    start = disc_error()
    for _ in range(100):  # the discriminator alone: it learns attributes from z
        with torch.no_grad():
            mu = model.encode(x)[0]
        loss = L.disc_mse(model.discriminator(mu), a).mean()
        disc_opt.zero_grad()
        loss.backward()
        disc_opt.step()
    learned = disc_error()
    assert learned < 0.9 * start and learned < 1.0

    enc_opt = torch.optim.Adam(model.encoder.parameters(), lr=1e-2)
    for _ in range(40):  # the encoder alone, against the frozen discriminator
        loss = 1.0 * L.encoder_adversarial(model.discriminator(model.encode(x)[0]), a)
        enc_opt.zero_grad()
        loss.backward()
        enc_opt.step()
    fooled = disc_error()
    assert fooled > learned + 0.1, (start, learned, fooled)
