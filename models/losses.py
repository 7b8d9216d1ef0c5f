"""Losses and schedules of the (fader-)VAE.

Per pattern (summed over cells, then averaged over the batch, as GrooVAE):
- hits: Bernoulli cross-entropy over all ``T x 9`` cells;
- velocities and offsets: squared error on the cells where the *true* pattern has a hit;
- KL(q(z|x) || N(0, I)), weighted by ``beta`` ramped linearly from 0 (KL warm-up,
  Sønderby et al. 2016) and, with free bits, only the part above ``free_bits`` bits
  (MusicVAE: ``max(KL - free_bits * ln 2, 0)`` per pattern);
- control (fader, optional): decode under changed knob settings and penalise the squared
  distance between the requested and the produced attributes (normalised), measured with
  the differentiable attributes of :mod:`models.soft_attributes`;
- adversarial (fader): the discriminator minimises the MSE of predicting ``a`` from ``mu``;
  the encoder gets ``-lambda * min(MSE, 1)`` per attribute, lambda ramped linearly from 0.
  The cap at 1 (the variance of a normalised attribute, i.e. the error of predicting the
  mean) stops the encoder once ``z`` tells the discriminator nothing: pushing the error
  above chance would mean encoding ``a`` inverted, which is information again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from models.decoders import DecoderOutput
from models.soft_attributes import compute, straight_through_hits


@dataclass(frozen=True)
class ReconTerms:
    """Per-pattern reconstruction terms, each ``(B,)``."""

    hits: torch.Tensor
    velocities: torch.Tensor
    offsets: torch.Tensor


def reconstruction_terms(out: DecoderOutput, x: torch.Tensor) -> ReconTerms:
    v = out.hit_logits.shape[-1]
    hits, vel, off = x[..., :v], x[..., v:2 * v], x[..., 2 * v:]
    bce = F.binary_cross_entropy_with_logits(out.hit_logits, hits, reduction="none").sum((1, 2))
    vel_se = (((out.velocities - vel) ** 2) * hits).sum((1, 2))
    off_se = (((out.offsets - off) ** 2) * hits).sum((1, 2))
    return ReconTerms(bce, vel_se, off_se)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per pattern, ``(B,)`` nats."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


def kl_cost(kl: torch.Tensor, free_bits: float) -> torch.Tensor:
    """The penalised part of the KL: ``max(KL - free_bits * ln 2, 0)`` per pattern."""
    return torch.clamp(kl - free_bits * math.log(2.0), min=0.0)


def linear_ramp(step: int, ramp_steps: int, final: float) -> float:
    """0 at step 0 rising linearly to ``final`` at ``ramp_steps`` (``final`` at once if 0)."""
    if ramp_steps <= 0:
        return final
    return final * min(1.0, step / ramp_steps)


def disc_mse(pred: torch.Tensor, attrs: torch.Tensor) -> torch.Tensor:
    """Per-attribute MSE of the discriminator, ``(A,)``."""
    return ((pred - attrs) ** 2).mean(0)


def encoder_adversarial(pred: torch.Tensor, attrs: torch.Tensor) -> torch.Tensor:
    """The encoder's adversarial loss before lambda: ``-mean_a min(MSE_a, 1)`` (scalar)."""
    return -torch.clamp(disc_mse(pred, attrs), max=1.0).mean()


def control_targets(a: torch.Tensor, low: torch.Tensor, high: torch.Tensor, from_prior: torch.Tensor,
                    generator: torch.Generator | None = None, knob_probs: torch.Tensor | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Knob settings to decode under for the control loss: ``(targets (B, A), knob (B,))``.

    One attribute per row (``knob``) is turned to a uniform draw over the data's 5–95 %
    range ``[low, high]`` (normalised, ``(A,)``); the others stay at the example's own values
    or, for rows decoded from a prior draw (``from_prior (B,)`` bool), at their defaults (0,
    the data mean), as in the app and the evaluation's knob sweeps. The knob is uniform over
    the attributes, or drawn in proportion to ``knob_probs (A,)`` (weights: e.g. more rows
    for the one knob that is not monotone by construction).
    """
    b, n = a.shape
    out = torch.where(from_prior[:, None], torch.zeros_like(a), a)
    if knob_probs is None:
        k = torch.randint(n, (b,), generator=generator, device=a.device)
    else:
        k = torch.multinomial(knob_probs.to(a.device, torch.float32), b, replacement=True,
                              generator=generator)
    u = torch.rand(b, generator=generator, device=a.device).to(a.dtype)
    out[torch.arange(b, device=a.device), k] = low[k] + u * (high[k] - low[k])
    return out, k


def control_latents(mu: torch.Tensor, from_prior: torch.Tensor,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """``z (B, Z)`` for the control decodes: a draw from N(0, I) on the ``from_prior`` rows,
    else the posterior mean, detached (turning a knob must not teach the encoder)."""
    noise = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return torch.where(from_prior[:, None], noise, mu.detach())


def raised_targets(targets: torch.Tensor, knob: torch.Tensor, low: torch.Tensor, high: torch.Tensor,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The same settings with ``knob`` turned up by 5–30 % of its range: ``(raised, step (B,))``."""
    b = targets.shape[0]
    step = (high[knob] - low[knob]) * (0.05 + 0.25 * torch.rand(b, generator=generator,
                                                                device=targets.device))
    raised = targets.clone()
    raised[torch.arange(b, device=targets.device), knob] += step
    return raised, step


def produced_attributes(out: DecoderOutput, names: list[str] | tuple[str, ...], mean: torch.Tensor,
                        std: torch.Tensor, steps_per_bar: int) -> torch.Tensor:
    """Normalised attributes ``(B, A)`` of the greedy decode of ``out``, differentiable
    (see models.soft_attributes)."""
    raw = compute(straight_through_hits(out.hit_logits), out.velocities, out.offsets, names,
                  steps_per_bar)
    return (raw - mean) / std


def control_error(produced: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared distance ``(B,)`` between produced and requested normalised attributes."""
    return ((produced - target) ** 2).sum(-1)


def monotone_shortfall(lower: torch.Tensor, raised: torch.Tensor, knob: torch.Tensor,
                       step: torch.Tensor) -> torch.Tensor:
    """How far turning ``knob`` up by ``step`` falls short of raising its attribute by half
    that step, ``(B,)`` ≥ 0: a knob turned up must never lower what it controls."""
    idx = torch.arange(lower.shape[0], device=lower.device)
    return torch.relu(0.5 * step - (raised[idx, knob] - lower[idx, knob]))


def knob_edit(lower_logits: torch.Tensor, raised_logits: torch.Tensor) -> torch.Tensor:
    """How much a knob turned up changes the groove, ``(B,)``: the L1 distance between the
    hit probabilities of the two decodes (about the number of hits flipped). Penalised, it
    asks a knob to move its attribute with the fewest edits, so the groove stays itself and
    fewer incidental flips can push the attribute the wrong way."""
    return (torch.sigmoid(raised_logits) - torch.sigmoid(lower_logits)).abs().sum((1, 2))


def knob_crosstalk(lower: torch.Tensor, raised: torch.Tensor, knob: torch.Tensor,
                   step: torch.Tensor, span: torch.Tensor) -> torch.Tensor:
    """How much turning ``knob`` up by ``step`` moves the *other* attributes, ``(B,)`` ≥ 0:
    the mean over them of |change| / their 5–95 % ``span (A,)``, per share of the knob's own
    span turned. It estimates, one hinge pair at a time, the evaluation's cross-talk (the
    others' change over a full sweep of the knob, per span), which is what it penalises."""
    n = lower.shape[1]
    moved = (raised - lower).abs() / span
    moved = moved.masked_fill(torch.nn.functional.one_hot(knob, n).bool(), 0.0)
    return moved.sum(-1) / (n - 1) / (step / span[knob])
