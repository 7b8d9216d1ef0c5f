"""The attribute-control loss: knob targets, and that it teaches a decoder to obey a knob."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from engine.music import attributes as exact
from models import losses as L
from models.config import PRESETS
from models.fader_vae import FaderVAE

torch.set_num_threads(1)


def test_targets_change_one_knob_within_the_range() -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(400, 5, generator=g)
    low, high = torch.full((5,), -1.5), torch.full((5,), 2.0)
    prior = torch.arange(400) % 2 == 0
    t, knob = L.control_targets(a, low, high, prior, generator=g)
    changed = t != torch.where(prior[:, None], torch.zeros_like(a), a)
    assert (changed.sum(1) <= 1).all()  # exactly one column drawn (equal only by chance)
    assert changed.sum() > 390
    drawn = t[changed]
    assert drawn.min() >= -1.5 and drawn.max() <= 2.0
    # every knob gets drawn, prior rows keep the others at the default 0
    assert set(changed.nonzero()[:, 1].tolist()) == set(range(5))
    assert (t[prior][~changed[prior]] == 0).all()


def test_control_targets_draw_the_knob_in_proportion_to_its_weight() -> None:
    g = torch.Generator().manual_seed(1)
    a = torch.randn(4000, 5, generator=g)
    low, high = torch.full((5,), -1.5), torch.full((5,), 2.0)
    prior = torch.zeros(4000, dtype=torch.bool)
    _, knob = L.control_targets(a, low, high, prior, generator=g,
                                knob_probs=torch.tensor([1.0, 3.0, 1.0, 1.0, 0.0]))
    counts = torch.bincount(knob, minlength=5).double() / 4000
    assert counts[4] == 0  # weight 0: never turned
    assert counts[1] == pytest.approx(3 / 6, abs=0.03)
    assert counts[0] == pytest.approx(1 / 6, abs=0.02)


def test_crosstalk_counts_only_the_other_attributes_per_share_of_the_step() -> None:
    span = torch.tensor([2.0, 4.0, 1.0])
    lower = torch.zeros(2, 3)
    raised = torch.tensor([[0.5, 0.4, 0.1],   # knob 0 up by 0.5; others move 0.4/4, 0.1/1
                           [9.0, 0.0, 0.0]])  # knob 0 moves a lot, nothing else does
    knob, step = torch.tensor([0, 0]), torch.tensor([0.5, 0.5])
    xt = L.knob_crosstalk(lower, raised, knob, step, span)
    # row 0: mean(0.1, 0.1) = 0.1 of the others' spans per 0.25 of the knob's span turned
    assert xt.tolist() == pytest.approx([0.4, 0.0])
    # the same change for a step twice as large is half the cross-talk; the sign is ignored
    assert L.knob_crosstalk(lower, -raised, knob, 2 * step, span)[0] == pytest.approx(0.2)
    # knob 1 turned: attribute 1's own move no longer counts, attribute 0's does
    assert L.knob_crosstalk(lower, raised, torch.tensor([1, 1]), step, span)[1] == pytest.approx(
        (9.0 / 2.0) / 2 / (0.5 / 4.0))


def test_control_latents_draw_prior_rows_and_keep_the_encoder_out() -> None:
    mu = torch.randn(6, 4, requires_grad=True)
    prior = torch.tensor([True, False, True, False, False, True])
    z = L.control_latents(mu, prior, generator=torch.Generator().manual_seed(0))
    assert torch.equal(z[~prior], mu[~prior].detach())
    assert not torch.isclose(z[prior], mu[prior]).any()
    assert not z.requires_grad  # no gradient reaches the encoder through a knob decode
    again = L.control_latents(mu, prior, generator=torch.Generator().manual_seed(0))
    assert torch.equal(z, again)


def _density_response(model: FaderVAE, z: torch.Tensor, settings: np.ndarray) -> np.ndarray:
    """Mean measured density (engine.music.attributes) of greedy decodes per normalised setting."""
    model.eval()
    out = []
    with torch.no_grad():
        for s in settings:
            knobs = torch.zeros(z.shape[0], model.config.num_attributes)
            knobs[:, 0] = float(s)
            arr = model.decode(z, knobs).to_array().numpy()
            out.append(exact.density(arr).mean())
    return np.array(out)


def test_control_loss_alone_makes_the_density_knob_work() -> None:
    torch.manual_seed(0)
    cfg = dataclasses.replace(PRESETS["tiny"], num_attributes=2)
    model = FaderVAE(cfg)
    names = ("density", "syncopation")
    mean, std = torch.tensor([1.0, 1.0]), torch.tensor([0.5, 1.0])  # density 0.5..1.5 = knob -1..1
    z = torch.randn(32, cfg.z_dim)
    settings = np.linspace(-1.0, 1.0, 5)
    before = _density_response(model, z, settings)
    opt = torch.optim.Adam(model.decoder.parameters(), lr=1e-2)
    model.train()
    for _ in range(150):
        knobs = torch.zeros(64, 2)
        knobs[:, 0] = torch.rand(64) * 2 - 1
        knobs[:, 1] = torch.randn(64) * 0.1
        out = model.decode(torch.randn(64, cfg.z_dim), knobs)
        err = L.control_error(L.produced_attributes(out, names, mean, std, cfg.steps_per_bar), knobs)
        loss = err.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = _density_response(model, z, settings)
    target = (settings * 0.5 + 1.0)
    assert np.abs(after - target).mean() < 0.5 * np.abs(before - target).mean()
    assert np.all(np.diff(after) > 0)
