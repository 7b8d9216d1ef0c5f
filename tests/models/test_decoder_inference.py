"""ConvDecoder's inference path (eval + no grad) against its reference path (the one trained).

The inference path must give the reference's outputs (max abs difference <= 1e-5 on hit
logits, velocities and offsets; today they are bit-identical), for every config it serves, and
must never answer from weights that have since changed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from models.config import PRESETS, FaderVAEConfig
from models.decoders import ConvDecoder, DecoderOutput
from models.fader_vae import FaderVAE
from training.synthetic import synthetic_patterns

torch.set_num_threads(1)

TOL = 1e-5
CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "default.pt"

_FADER = PRESETS["fader_2bar"]
CONFIGS: dict[str, FaderVAEConfig] = {
    "fader_2bar": _FADER,
    "c96_monotone": dataclasses.replace(_FADER, decoder_size=96, decoder_proj=48,
                                        monotone_density=True, monotone_hats=True),
    "c96_trade": dataclasses.replace(_FADER, decoder_size=96, decoder_proj=48, monotone_density=True,
                                     monotone_hats=True, monotone_hats_trade=True),
    "density_only": dataclasses.replace(_FADER, monotone_density=True),
    "velocity_trunk": dataclasses.replace(_FADER, velocity_trunk=48),
    "velocity_trunk_trade": dataclasses.replace(_FADER, velocity_trunk=48, monotone_density=True,
                                                monotone_hats=True, monotone_hats_trade=True),
    "plain_vae": dataclasses.replace(_FADER, num_attributes=0),
    # per-bar ConvDecoder (16 steps, bars decoded as a batch); 4 layers reach dilation 8,
    # where the 2d tap lies a whole bar back (all padding)
    "hierarchical": dataclasses.replace(PRESETS["fader_4bar_hier"], z_dim=32, decoder_size=48,
                                        decoder_proj=16, decoder_hidden=64, conductor_size=32,
                                        decoder_layers=4, monotone_hats=True),
}


def _model(cfg: FaderVAEConfig, seed: int = 0) -> FaderVAE:
    """A model in eval mode whose decoder weights are all nonzero and off their init values
    (LayerNorm gains != 1, biases != 0), so every folded term matters."""
    torch.manual_seed(seed)
    model = FaderVAE(dataclasses.replace(cfg, dropout=0.0)).eval()
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


def _inputs(cfg: FaderVAEConfig, b: int, teacher: str, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(b, cfg.z_dim, generator=g)
    a = 1.5 * torch.randn(b, cfg.num_attributes, generator=g) if cfg.num_attributes else None
    x = mask = None
    if teacher != "none":
        x = torch.from_numpy(synthetic_patterns(b, cfg.steps, seed))
        if teacher == "partial":
            mask = torch.rand(b, cfg.steps, generator=g) < 0.5
    return z, a, x, mask


def _max_diff(p: DecoderOutput, q: DecoderOutput) -> float:
    return max(float((x - y).detach().abs().max()) for x, y in
               ((p.hit_logits, q.hit_logits), (p.velocities, q.velocities), (p.offsets, q.offsets)))


def _reference(model: FaderVAE, *args) -> DecoderOutput:
    """Grad enabled selects ConvDecoder's reference path (eval mode: no dropout)."""
    with torch.enable_grad():
        return model.decode(*args)


@pytest.mark.parametrize("teacher", ["none", "full", "partial"])
@pytest.mark.parametrize("b", [1, 3])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_inference_path_matches_the_reference(name: str, b: int, teacher: str) -> None:
    cfg = CONFIGS[name]
    model = _model(cfg)
    args = _inputs(cfg, b, teacher)
    ref = _reference(model, *args)
    with torch.no_grad():
        fast = model.decode(*args)
    with torch.inference_mode():
        fast_inference = model.decode(*args)
    assert _max_diff(fast, ref) <= TOL
    assert _max_diff(fast_inference, ref) <= TOL
    for t in (fast.hit_logits, fast.velocities, fast.offsets):
        assert t.shape == (b, cfg.steps, cfg.num_voices)


def test_inference_path_is_taken_only_in_eval_without_grad() -> None:
    cfg = CONFIGS["c96_monotone"]
    model = _model(cfg)
    dec = model.decoder
    assert isinstance(dec, ConvDecoder)
    args = _inputs(cfg, 2, "partial")
    _reference(model, *args)
    assert dec._inference is None                          # eval with grad: reference
    model.train()
    with torch.no_grad():
        model.decode(*args)
    assert dec._inference is None                          # training, even without grad
    out = model.decode(*args)                              # training: every weight gets a gradient
    (out.hit_logits.sum() + out.velocities.sum() + out.offsets.sum()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in dec.parameters())
    model.eval()
    with torch.no_grad():
        model.decode(*args)
    assert dec._inference is not None


def test_training_mode_with_zero_dropout_matches_inference() -> None:
    cfg = CONFIGS["c96_monotone"]
    model = _model(cfg)
    args = _inputs(cfg, 2, "partial")
    with torch.no_grad():
        fast = model.decode(*args)
    model.train()                                          # dropout is 0.0 in _model
    assert _max_diff(model.decode(*args), fast) <= TOL


@pytest.mark.parametrize("name", ["c96_monotone", "hierarchical"])
def test_cache_follows_an_optimizer_step_in_eval_mode(name: str) -> None:
    """No train()/eval() switch in between: only the parameter versions can say it changed."""
    cfg = CONFIGS[name]
    model = _model(cfg)
    z, a, x, mask = _inputs(cfg, 2, "partial")
    with torch.no_grad():
        before = model.decode(z, a, x, mask)               # builds the cache
    opt = torch.optim.Adam(model.decoder.parameters(), lr=0.05)
    model.decode(z, a, x, mask).hit_logits.square().mean().backward()
    opt.step()
    with torch.no_grad():
        after = model.decode(z, a, x, mask)
    assert _max_diff(after, before) > 1e-3                 # the step changed the function
    assert _max_diff(after, _reference(model, z, a, x, mask)) <= TOL


def test_cache_follows_train_step_eval_load_state_dict_and_dtype() -> None:
    cfg = CONFIGS["c96_monotone"]
    model, other = _model(cfg, seed=0), _model(cfg, seed=5)
    z, a, _, _ = _inputs(cfg, 1, "none")
    with torch.no_grad():
        model.decode(z, a)
    model.train()
    opt = torch.optim.SGD(model.decoder.parameters(), lr=0.5)
    model.decode(z, a).velocities.sum().backward()
    opt.step()
    model.eval()
    with torch.no_grad():
        assert _max_diff(model.decode(z, a), _reference(model, z, a)) <= TOL
        model.load_state_dict(other.state_dict(), strict=True)
        with torch.inference_mode():                       # cache rebuilt in inference mode,
            assert _max_diff(model.decode(z, a), _reference(other, z, a)) <= TOL
        assert _max_diff(model.decode(z, a), _reference(other, z, a)) <= TOL  # read under no_grad
        for p in model.decoder.parameters():
            p.mul_(1.1)
        assert _max_diff(model.decode(z, a), _reference(model, z, a)) <= TOL
    model.double()
    z64, a64 = z.double(), a.double()
    with torch.no_grad():
        fast = model.decode(z64, a64)
    assert fast.hit_logits.dtype == torch.float64
    assert _max_diff(fast, _reference(model, z64, a64)) <= TOL


def test_state_dict_is_unchanged_by_the_cache() -> None:
    cfg = CONFIGS["c96_monotone"]
    model = _model(cfg)
    keys = {k: v.shape for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.decode(*_inputs(cfg, 1, "none")[:2])
    assert {k: v.shape for k, v in model.state_dict().items()} == keys
    FaderVAE(model.config).load_state_dict(model.state_dict(), strict=True)


@pytest.mark.skipif(not CHECKPOINT.exists(), reason="no shipped checkpoint")
@pytest.mark.parametrize("teacher", ["none", "partial"])
def test_shipped_checkpoint_matches_the_reference(teacher: str) -> None:
    from models.checkpoint import load_checkpoint

    model = load_checkpoint(CHECKPOINT).model
    for b in (1, 4):
        args = _inputs(model.config, b, teacher)
        with torch.inference_mode():
            fast = model.decode(*args)
        assert _max_diff(fast, _reference(model, *args)) <= TOL
