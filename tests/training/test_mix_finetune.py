"""The decoder fine-tune on mixes: what it changes, what it keeps."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from engine.music import attributes as attr_lib  # noqa: E402
from models.checkpoint import load_checkpoint  # noqa: E402
from models.latent import normalise  # noqa: E402
from tests.support.tiny_checkpoint import NAMES, synthetic_patterns, tiny_checkpoint  # noqa: E402
from training.mix_finetune import MixFinetuneConfig, distill_terms, finetune, mix_codes  # noqa: E402


def test_mix_codes_keep_the_ends_and_their_length() -> None:
    a, b = torch.tensor([[3.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    assert torch.allclose(mix_codes(a, b, torch.zeros(1, 1)), a)
    assert torch.allclose(mix_codes(a, b, torch.ones(1, 1)), b)
    half = mix_codes(a, b, torch.full((1, 1), 0.5))
    assert half.norm().item() == pytest.approx(2.0)  # the mean of the lengths, not the shrunken mean
    assert torch.allclose(half / half.norm(), torch.tensor([[0.9487, 0.3162]]), atol=1e-4)


def test_finetune_moves_the_decoder_only_and_keeps_reconstructions() -> None:
    ckpt = load_checkpoint(tiny_checkpoint("fader_vae"))
    model = ckpt.model
    x_np = synthetic_patterns(256, seed=5)
    x = torch.from_numpy(x_np)
    a = torch.from_numpy(normalise(attr_lib.compute(x_np, NAMES), ckpt.meta["attributes"]).astype(np.float32))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        mu0, _ = model.encode(x)
        hits0 = model.decode(mu0, a).hit_logits > 0
    cfg = dataclasses.replace(MixFinetuneConfig(), steps=40, batch_size=32, critic_channels=16)
    record = finetune(model, x, a, cfg, log=lambda _: None)
    assert record["steps"] == 40 and set(record["last"]) >= {"reconstruction", "mix", "distill", "critic"}
    after = model.state_dict()
    enc = [k for k in before if k.startswith("encoder.") or k.startswith("disc.")]
    dec = [k for k in before if k.startswith("decoder.")]
    assert enc and all(torch.equal(before[k], after[k]) for k in enc)  # codes stay where they were
    assert any(not torch.equal(before[k], after[k]) for k in dec)
    assert not model.training
    with torch.no_grad():
        mu1, _ = model.encode(x)
        hits1 = model.decode(mu1, a).hit_logits > 0
    assert torch.equal(mu0, mu1)
    assert (hits0 == hits1).float().mean().item() > 0.97  # reconstructions kept


def test_distill_terms_vanish_on_the_teachers_own_answer() -> None:
    ckpt = load_checkpoint(tiny_checkpoint("fader_vae"))
    z = torch.randn(4, ckpt.config.z_dim)
    with torch.no_grad():
        out = ckpt.model.decode(z, torch.zeros(4, len(NAMES)))
        other = ckpt.model.decode(z + 1.0, torch.zeros(4, len(NAMES)))
    same = distill_terms(out, out, 25.0, 50.0)
    assert torch.allclose(same, torch.zeros(4), atol=1e-4)
    assert (distill_terms(other, out, 25.0, 50.0) > 1e-3).all()
