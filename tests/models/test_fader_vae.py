"""FaderVAE: every preset builds at tiny capacity, shapes/ranges, teacher causality, training signal."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from models import losses as L
from models.config import PRESETS, FaderVAEConfig
from models.fader_vae import FaderVAE
from training.synthetic import synthetic_patterns

torch.set_num_threads(1)


def tiny(name: str) -> FaderVAEConfig:
    """A preset at tiny capacity, keeping what makes it that preset (kinds, steps, attributes)."""
    return dataclasses.replace(PRESETS[name], z_dim=8, encoder_size=16, decoder_size=16, decoder_proj=8,
                               decoder_hidden=16, conductor_size=16, disc_size=16, dropout=0.0)


def batch(cfg: FaderVAEConfig, n: int = 4, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(synthetic_patterns(n, cfg.steps, seed))


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_encodes_and_decodes(name: str) -> None:
    cfg = tiny(name)
    torch.manual_seed(0)
    model = FaderVAE(cfg).eval()
    x = batch(cfg)
    a = torch.randn(4, cfg.num_attributes) if cfg.num_attributes else None
    with torch.no_grad():
        mu, logvar = model.encode(x)
        assert mu.shape == logvar.shape == (4, cfg.z_dim)
        out = model.decode(mu, a)
        for t in (out.hit_logits, out.velocities, out.offsets):
            assert t.shape == (4, cfg.steps, 9)
        assert float(out.velocities.min()) >= 0 and float(out.velocities.max()) <= 1
        assert float(out.offsets.abs().max()) <= 0.5
        arr = out.to_array()
        assert arr.shape == (4, cfg.steps, 27)
        hits = arr[..., :9]
        assert set(torch.unique(hits).tolist()) <= {0.0, 1.0}
        assert torch.all(arr[..., 9:][hits.repeat(1, 1, 2) == 0] == 0)  # no velocity/offset without hit
        forced = model.decode(mu, a, teacher=x)
        assert forced.hit_logits.shape == (4, cfg.steps, 9)
    if cfg.num_attributes:
        assert model.discriminator(mu).shape == (4, cfg.num_attributes)
    else:
        with pytest.raises(ValueError):
            model.discriminator(mu)


def _decode_with_teacher_flipped_at(cfg: FaderVAEConfig, t: int):
    """``(base, alt)`` decoder outputs of a random-weight model whose teacher differs only at
    step ``t``."""
    torch.manual_seed(1)
    model = FaderVAE(cfg).eval()
    for p in model.parameters():  # random, non-trivial weights everywhere (biases too)
        torch.nn.init.normal_(p, std=0.3)
    z, a = torch.randn(1, cfg.z_dim), torch.randn(1, cfg.num_attributes)
    teacher = batch(cfg, 1, seed=3)
    changed = teacher.clone()
    changed[0, t] = 1.0 - changed[0, t].clamp(0, 1)
    with torch.no_grad():
        return model.decode(z, a, teacher=teacher), model.decode(z, a, teacher=changed)


@pytest.mark.parametrize("cell", ["conv", "gru", "lstm"])
@pytest.mark.parametrize("decoder", ["flat", "hierarchical"])
def test_teacher_at_step_t_informs_only_later_steps(cell: str, decoder: str) -> None:
    """Teacher forcing semantics shared by all decoders: step t's teacher never reaches step <= t."""
    steps = 64 if decoder == "hierarchical" else 32
    cfg = dataclasses.replace(PRESETS["tiny"], steps=steps, decoder=decoder, decoder_cell=cell,
                              decoder_layers=2)
    t = 20
    base, alt = (out.hit_logits for out in _decode_with_teacher_flipped_at(cfg, t))
    assert torch.allclose(base[0, :t + 1], alt[0, :t + 1])
    # within the bar of step t the change is seen later (a hierarchical bar ends at step 31)
    assert not torch.allclose(base[0, t + 1:32], alt[0, t + 1:32])


def test_velocity_trunk_keeps_the_teacher_rule_for_velocities_and_offsets() -> None:
    """The velocity trunk sees the hit probabilities of steps <= t: still no teacher leak."""
    t = 20
    base, alt = _decode_with_teacher_flipped_at(
        dataclasses.replace(PRESETS["tiny"], decoder_layers=2, velocity_trunk=8), t)
    for name in ("hit_logits", "velocities", "offsets"):
        b, c = getattr(base, name)[0], getattr(alt, name)[0]
        assert torch.allclose(b[:t + 1], c[:t + 1]), name
        assert not torch.allclose(b[t + 1:], c[t + 1:]), name


def test_velocity_trunk_reads_the_hits_but_its_losses_leave_the_hit_trunk_alone() -> None:
    cfg = dataclasses.replace(tiny("fader_2bar"), velocity_trunk=16, monotone_density=True,
                              monotone_hats=True, monotone_hats_trade=True)
    torch.manual_seed(4)
    model = FaderVAE(cfg).train()
    x = batch(cfg, 8)
    a = torch.randn(8, cfg.num_attributes)
    out, _, _ = model(x, a)
    terms = L.reconstruction_terms(out, x)
    (terms.velocities + terms.offsets).sum().backward()
    dec = model.decoder
    assert dec.head.weight.grad is None or float(dec.head.weight.grad.abs().max()) == 0.0
    assert dec.slope.weight.grad is None or float(dec.slope.weight.grad.abs().max()) == 0.0
    assert float(dec.vo_trunk.head.weight.grad.abs().max()) > 0
    assert dec.head.out_features == cfg.num_voices and dec.knob_vo is None
    # the hits reach the velocities: other hit logits, other velocities
    model.eval()
    z = torch.randn(2, cfg.z_dim)
    with torch.no_grad():
        before = model.decode(z, a[:2]).velocities
        dec.head.bias.add_(2.0)
        after = model.decode(z, a[:2]).velocities
    assert (before - after).abs().max() > 1e-4


def test_teacher_mask_false_everywhere_equals_no_teacher() -> None:
    cfg = PRESETS["tiny"]
    torch.manual_seed(0)
    model = FaderVAE(cfg).eval()
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.3)
    z, a = torch.randn(2, cfg.z_dim), torch.randn(2, cfg.num_attributes)
    x = batch(cfg, 2)
    with torch.no_grad():
        free = model.decode(z, a).hit_logits
        masked = model.decode(z, a, teacher=x, teacher_mask=torch.zeros(2, 32, dtype=torch.bool)).hit_logits
        forced = model.decode(z, a, teacher=x).hit_logits
    assert torch.allclose(free, masked, atol=1e-6)
    assert not torch.allclose(free, forced)


def test_rnn_decoder_partial_mask_feeds_teacher_tokens() -> None:
    """An all-True mask (step-by-step path) equals full teacher forcing (one fused RNN call)."""
    cfg = dataclasses.replace(tiny("groovae_2bar"))
    torch.manual_seed(0)
    model = FaderVAE(cfg).eval()
    z, x = torch.randn(2, cfg.z_dim), batch(cfg, 2)
    with torch.no_grad():
        fused = model.decode(z, teacher=x).hit_logits
        mask = torch.ones(2, 32, dtype=torch.bool)
        mask[:, -1] = False  # forces the step-by-step path; the last step's token feeds nothing
        stepwise = model.decode(z, teacher=x, teacher_mask=mask).hit_logits
    assert torch.allclose(fused, stepwise, atol=1e-5)


def test_attributes_change_the_decoded_pattern() -> None:
    cfg = PRESETS["tiny"]
    torch.manual_seed(0)
    model = FaderVAE(cfg).eval()
    z = torch.randn(1, cfg.z_dim)
    with torch.no_grad():
        lo = model.decode(z, torch.full((1, cfg.num_attributes), -2.0)).hit_logits
        hi = model.decode(z, torch.full((1, cfg.num_attributes), 2.0)).hit_logits
    assert not torch.allclose(lo, hi)


def test_bad_shapes_are_refused() -> None:
    cfg = PRESETS["tiny"]
    model = FaderVAE(cfg)
    with pytest.raises(ValueError, match="patterns must have shape"):
        model.encode(torch.zeros(1, 16, 27))
    with pytest.raises(ValueError, match="z must have shape"):
        model.decode(torch.zeros(1, cfg.z_dim + 1))
    with pytest.raises(ValueError, match="attrs must have shape"):
        model.decode(torch.zeros(1, cfg.z_dim), torch.zeros(1, cfg.num_attributes + 1))
    with pytest.raises(ValueError):
        FaderVAEConfig(decoder="spiral")


def test_sampling_with_generator_is_reproducible_and_temperature_matters() -> None:
    cfg = PRESETS["tiny"]
    torch.manual_seed(0)
    out = FaderVAE(cfg).eval().decode(torch.randn(64, cfg.z_dim))
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    s1 = out.to_array(sample=True, temperature=1.0, generator=g1)
    s2 = out.to_array(sample=True, temperature=1.0, generator=g2)
    assert torch.equal(s1, s2)
    cold = out.to_array(sample=True, temperature=1e-4, generator=torch.Generator().manual_seed(1))
    clear = out.hit_logits.abs() > 1e-2  # away from p = 0.5, a cold sample is the greedy decision
    assert torch.equal(cold[..., :9][clear], out.to_array()[..., :9][clear])
    assert clear.float().mean() > 0.9


def test_free_bits_and_ramps() -> None:
    kl = torch.tensor([10.0, 40.0])
    cost = L.kl_cost(kl, free_bits=48)  # 48 bits = 33.27 nats
    assert cost[0] == 0 and abs(float(cost[1]) - (40 - 48 * np.log(2))) < 1e-4
    assert L.linear_ramp(0, 100, 0.2) == 0 and L.linear_ramp(50, 100, 0.2) == pytest.approx(0.1)
    assert L.linear_ramp(500, 100, 0.2) == pytest.approx(0.2) and L.linear_ramp(3, 0, 0.7) == 0.7
    mu, logvar = torch.zeros(3, 4), torch.zeros(3, 4)
    assert torch.allclose(L.kl_divergence(mu, logvar), torch.zeros(3))
    # the encoder's adversarial term saturates once the discriminator is at chance (MSE >= 1)
    a = torch.randn(256, 2)
    assert float(L.encoder_adversarial(a + 5.0, a)) == pytest.approx(-1.0)
    assert float(L.encoder_adversarial(a, a)) == pytest.approx(0.0)


def test_tiny_model_overfits_a_few_patterns() -> None:
    cfg = dataclasses.replace(PRESETS["tiny"], beta=0.0, teacher_prob=0.0)
    torch.manual_seed(0)
    model = FaderVAE(cfg)
    x = batch(cfg, 16)
    a = torch.randn(16, cfg.num_attributes)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)

    def recon() -> float:
        model.eval()
        with torch.no_grad():
            out = model.decode(model.encode(x)[0], a)
            r = L.reconstruction_terms(out, x)
        model.train()
        return float((r.hits + r.velocities + r.offsets).mean())

    before = recon()
    for _ in range(150):
        out, mu, logvar = model(x, a)
        r = L.reconstruction_terms(out, x)
        loss = (r.hits + r.velocities + r.offsets).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = recon()
    assert after < 0.5 * before, (before, after)


def _sweep(model: FaderVAE, knob: int, z: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    """Hit logits ``(S, B, T, 9)`` with ``knob`` swept over [-3, 3], the other knobs fixed."""
    out = []
    with torch.no_grad():
        for value in torch.linspace(-3.0, 3.0, 13):
            a = others.clone()
            a[:, knob] = value
            out.append(model.decode(z, a).hit_logits)
    return torch.stack(out)


def test_monotone_density_knob_only_ever_adds_hits() -> None:
    from engine.music.attributes import density

    cfg = dataclasses.replace(tiny("fader_2bar"), monotone_density=True)
    torch.manual_seed(1)
    model = FaderVAE(cfg).eval()
    # random weights are not enough to show it: push the trunk around with large weights
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.mul_(3.0)
    z, others = torch.randn(32, cfg.z_dim), torch.randn(32, cfg.num_attributes)
    logits = _sweep(model, 0, z, others)
    assert (logits.diff(dim=0) >= -1e-5).all()        # every cell, every z
    assert (logits[-1] - logits[0]).abs().max() > 1.0  # and the knob does something
    hits = (logits > 0).float()
    counts = torch.stack([torch.from_numpy(density(torch.cat(
        [h, torch.zeros_like(h), torch.zeros_like(h)], -1).numpy())) for h in hits])
    assert (counts.diff(dim=0) >= 0).all()


def test_monotone_hat_knob_moves_only_the_time_keepers_and_only_up() -> None:
    from models.soft_attributes import TIME_KEEPERS

    cfg = dataclasses.replace(tiny("fader_2bar"), monotone_hats=True)
    torch.manual_seed(2)
    model = FaderVAE(cfg).eval()
    z, others = torch.randn(16, cfg.z_dim), torch.randn(16, cfg.num_attributes)
    logits = _sweep(model, 4, z, others)
    keepers = list(TIME_KEEPERS)
    rest = [v for v in range(cfg.num_voices) if v not in keepers]
    assert (logits[..., keepers].diff(dim=0) >= -1e-5).all()
    assert (logits[..., keepers][-1] > logits[..., keepers][0]).any()
    assert torch.allclose(logits[..., rest][0], logits[..., rest][-1])


def test_without_monotone_heads_the_knob_can_remove_hits() -> None:
    """The guarantee comes from the head, not from chance: the plain decoder breaks it."""
    cfg = tiny("fader_2bar")
    torch.manual_seed(1)
    model = FaderVAE(cfg).eval()
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.mul_(3.0)
    logits = _sweep(model, 0, torch.randn(32, cfg.z_dim), torch.randn(32, cfg.num_attributes))
    assert (logits.diff(dim=0) < -1e-3).any()


def test_monotone_heads_need_the_conv_decoder_and_old_configs_still_load() -> None:
    with pytest.raises(ValueError, match="monotone_density"):
        dataclasses.replace(PRESETS["fader_2bar"], decoder_cell="gru", monotone_density=True)
    with pytest.raises(ValueError, match="monotone_hats"):
        dataclasses.replace(PRESETS["fader_2bar"], num_attributes=4, monotone_hats=True)
    old = PRESETS["fader_2bar"].to_dict()
    del old["monotone_density"], old["monotone_hats"], old["velocity_trunk"]  # written before they existed
    assert FaderVAEConfig.from_dict(old) == PRESETS["fader_2bar"]
    with pytest.raises(ValueError, match="missing"):
        FaderVAEConfig.from_dict({k: v for k, v in old.items() if k != "z_dim"})


def test_trading_hat_knob_raises_hats_lowers_the_rest_and_keeps_density_monotone() -> None:
    from models.soft_attributes import TIME_KEEPERS

    cfg = dataclasses.replace(tiny("fader_2bar"), monotone_density=True, monotone_hats=True,
                              monotone_hats_trade=True)
    torch.manual_seed(3)
    model = FaderVAE(cfg).eval()
    z, others = torch.randn(16, cfg.z_dim), torch.randn(16, cfg.num_attributes)
    keepers = list(TIME_KEEPERS)
    rest = [v for v in range(cfg.num_voices) if v not in keepers]
    hat = _sweep(model, 4, z, others)
    assert (hat[..., keepers].diff(dim=0) >= -1e-5).all()
    assert (hat[..., rest].diff(dim=0) <= 1e-5).all()
    assert (hat[..., rest][-1] < hat[..., rest][0] - 1e-3).any()  # it does trade
    assert (_sweep(model, 0, z, others).diff(dim=0) >= -1e-5).all()
    with pytest.raises(ValueError, match="monotone_hats_trade"):
        dataclasses.replace(PRESETS["fader_2bar"], monotone_hats_trade=True)


@pytest.mark.parametrize("decoder", ["flat", "hierarchical"])
def test_hits_only_skips_the_velocity_trunk_and_keeps_the_hits(decoder: str) -> None:
    steps = 64 if decoder == "hierarchical" else 32
    cfg = dataclasses.replace(PRESETS["tiny"], steps=steps, decoder=decoder, velocity_trunk=8)
    torch.manual_seed(6)
    model = FaderVAE(cfg).eval()
    z, a = torch.randn(3, cfg.z_dim), torch.randn(3, cfg.num_attributes)
    with torch.no_grad():
        full, hits = model.decode(z, a), model.decode(z, a, hits_only=True)
    assert torch.equal(full.hit_logits, hits.hit_logits)
    assert torch.all(hits.velocities == 0.5) and torch.all(hits.offsets == 0.0)  # placeholders
    assert not torch.all(full.velocities == 0.5)
