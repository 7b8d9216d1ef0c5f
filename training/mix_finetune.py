"""Teach a trained drum decoder to decode *mixes* of grooves as grooves (ACAI).

A corner blend or the middle of a transition decodes a latent between the codes of real
grooves, a region the decoder never trained on: it answers with softer, stiffer, less
confident grooves than any drummer plays. Adversarially constrained interpolation (ACAI,
Berthelot et al. 2018, "Understanding and Improving Interpolation in Autoencoders via an
Adversarial Regularizer") fixes the decoder's answer there: a critic learns to tell, from a
decoded pattern, how far between two codes its latent lay (α in [0, ½]); the decoder learns
to make that undetectable, i.e. mixes decode like decoded codes.

What this fine-tune changes and keeps:

* the **encoder and the discriminator are frozen**: every code (the groove bank, the pad
  map's nodes, a user's encoded clip) stays where it was;
* the decoder keeps its reconstructions (the training reconstruction loss on posterior
  samples) and its answers to the knobs on the data: it is distilled towards the original
  decoder on codes decoded under *other* grooves' attributes (the knob changes the app makes);
* the mixes are made as the instrument makes them: two codes mixed at weight α, kept at
  their mean length (``engine.generation.pad_map.blend``), with their attributes mixed alike.

The run's config is stored in the checkpoint (``training.mix_finetune``), so the shipped model
can be rebuilt: train with ``groovefader train``, then this, then ``groovefader map``.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from models import losses as L
from models.decoders import DecoderOutput


@dataclass(frozen=True)
class MixFinetuneConfig:
    """One fine-tune run (stored in the checkpoint's ``training.mix_finetune``)."""

    data: str = "../shared/data/groove"
    steps: int = 1500
    batch_size: int = 128
    lr: float = 2e-4
    critic_lr: float = 1e-3
    mix_weight: float = 20.0       # the decoder's share of fooling the critic (per pattern)
    distill_weight: float = 1.0    # staying the original decoder on codes under other knobs
    max_alpha: float = 0.5
    critic_channels: int = 64
    max_minutes: float = 30.0
    threads: int = 1
    seed: int = 0


class MixCritic(nn.Module):
    """Predicts α from a decoded pattern's soft view ``(B, T, 27)``: hit probabilities,
    velocities and offsets weighted by them."""

    def __init__(self, features: int, channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(features, channels, 3, padding=1), nn.GELU(),
            nn.Conv1d(channels, channels, 3, padding=2, dilation=2), nn.GELU(),
            nn.Conv1d(channels, channels, 3, padding=4, dilation=4), nn.GELU())
        self.head = nn.Linear(2 * channels, 1)

    def forward(self, soft: torch.Tensor) -> torch.Tensor:
        h = self.net(soft.transpose(1, 2))
        return self.head(torch.cat([h.mean(-1), h.amax(-1)], dim=-1)).squeeze(-1)


def soft_view(out: DecoderOutput) -> torch.Tensor:
    """``(B, T, 27)``: what a listener of the decode gets, differentiably."""
    p = torch.sigmoid(out.hit_logits)
    return torch.cat([p, out.velocities * p, out.offsets * p], dim=-1)


def mix_codes(mu: torch.Tensor, other: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Two codes mixed at ``alpha (B, 1)``, kept at their mean length (as the instrument does)."""
    mean = (1 - alpha) * mu + alpha * other
    length = (1 - alpha) * mu.norm(dim=-1, keepdim=True) + alpha * other.norm(dim=-1, keepdim=True)
    return mean * (length / mean.norm(dim=-1, keepdim=True).clamp_min(1e-9))


def distill_terms(student: DecoderOutput, teacher: DecoderOutput, velocity_weight: float,
                  offset_weight: float) -> torch.Tensor:
    """Per-pattern distance of the student's decode from the teacher's, in the reconstruction
    loss's units: cross-entropy to the teacher's hit probabilities, squared velocity and offset
    errors weighted by them."""
    p = torch.sigmoid(teacher.hit_logits)
    hits = F.binary_cross_entropy_with_logits(student.hit_logits, p, reduction="none").sum((1, 2))
    hits = hits - F.binary_cross_entropy_with_logits(teacher.hit_logits, p, reduction="none").sum((1, 2))
    vel = (((student.velocities - teacher.velocities) ** 2) * p).sum((1, 2))
    off = (((student.offsets - teacher.offsets) ** 2) * p).sum((1, 2))
    return hits + velocity_weight * vel + offset_weight * off


def finetune(model: Any, train_x: torch.Tensor, train_a: torch.Tensor, cfg: MixFinetuneConfig,
             log: Any = print) -> dict[str, Any]:
    """Fine-tune ``model``'s decoder in place on the training windows ``(N, T, 27)`` and their
    normalised attributes ``(N, A)``. Returns the run's record (steps, minutes, last losses)."""
    torch.manual_seed(cfg.seed)
    mcfg = model.config
    teacher = copy.deepcopy(model.decoder).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    for module in (model.encoder, model.disc):
        if module is not None:
            module.eval()
            for p in module.parameters():
                p.requires_grad_(False)
    model.decoder.train()
    critic = MixCritic(mcfg.features, cfg.critic_channels)
    opt = torch.optim.Adam(model.decoder.parameters(), lr=cfg.lr)
    opt_c = torch.optim.Adam(critic.parameters(), lr=cfg.critic_lr)
    n = train_x.shape[0]
    t0 = time.perf_counter()
    record: dict[str, float] = {}
    step = 0
    for step in range(1, cfg.steps + 1):
        idx = torch.randint(0, n, (cfg.batch_size,))
        x, a = train_x[idx], train_a[idx]
        with torch.no_grad():
            mu, logvar = model.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        rec_out = model.decode(z, a)
        rec = L.reconstruction_terms(rec_out, x)
        loss_rec = (rec.hits + mcfg.velocity_weight * rec.velocities
                    + mcfg.offset_weight * rec.offsets).mean()

        perm = torch.randperm(cfg.batch_size)
        alpha = torch.rand(cfg.batch_size, 1) * cfg.max_alpha
        mix_out = model.decode(mix_codes(mu, mu[perm], alpha), (1 - alpha) * a + alpha * a[perm])
        loss_mix = critic(soft_view(mix_out)).pow(2).mean()

        knobs = a[torch.randperm(cfg.batch_size)]  # other grooves' attributes: the knobs moved
        with torch.no_grad():
            target = teacher(mu, knobs)
        loss_distill = distill_terms(model.decode(mu, knobs), target, mcfg.velocity_weight,
                                     mcfg.offset_weight).mean()
        loss = loss_rec + cfg.mix_weight * loss_mix + cfg.distill_weight * loss_distill
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.decoder.parameters(), 1.0)
        opt.step()

        pred_mix = critic(soft_view(mix_out).detach())
        pred_rec = critic(soft_view(rec_out).detach())
        loss_c = (pred_mix - alpha.squeeze(1)).pow(2).mean() + pred_rec.pow(2).mean()
        opt_c.zero_grad()
        loss_c.backward()
        opt_c.step()

        record = {"reconstruction": loss_rec.item(), "mix": loss_mix.item(), "distill": loss_distill.item(),
                  "critic": loss_c.item(), "critic_alpha_corr": float(torch.corrcoef(
                      torch.stack([pred_mix.detach(), alpha.squeeze(1)]))[0, 1])}
        if step % 100 == 0 or step == 1:
            log(f"step {step}: " + ", ".join(f"{k} {v:.3f}" for k, v in record.items())
                + f" ({(time.perf_counter() - t0) / 60:.1f} min)")
        if time.perf_counter() - t0 > cfg.max_minutes * 60:
            log(f"time budget reached after {step} steps")
            break
    model.eval()
    return {"steps": step, "minutes": round((time.perf_counter() - t0) / 60, 2), "last": record}


def run(checkpoint: Path, out: Path, cfg: MixFinetuneConfig) -> Path:
    """Fine-tune ``checkpoint``'s decoder on its training split and write ``out`` (without a
    data map: run ``groovefader map`` on it next)."""
    from models.checkpoint import load_checkpoint, save_checkpoint
    from training.config import TrainConfig
    from training.train import _prepare, evaluate_split, load_data

    torch.set_num_threads(cfg.threads)
    ckpt = load_checkpoint(checkpoint)
    model = ckpt.model
    names = tuple(ckpt.meta["attributes"]["names"])
    tcfg = TrainConfig(**{**ckpt.meta["training"]["config"], "data": cfg.data})
    dataset = load_data(tcfg, names)
    splits, _ = _prepare(dataset, ckpt.config)
    # normalised as the checkpoint normalises (its own statistics)
    stats = ckpt.meta["attributes"]
    mean = torch.tensor(stats["mean"], dtype=torch.float32)
    std = torch.tensor(stats["std"], dtype=torch.float32)
    train = splits["train"]
    train_a = (torch.from_numpy(train.raw).float() - mean) / std
    record = finetune(model, train.x, train_a, cfg)
    val = splits["validation"]
    val_a = (torch.from_numpy(val.raw).float() - mean) / std
    metrics = evaluate_split(model, type(val)(val.x, val_a, val.raw), beta=ckpt.config.beta)
    meta = {k: v for k, v in ckpt.meta.items() if k != "data_map"}
    meta["metrics"] = {**meta.get("metrics", {}), "val_step_acc_after_mix_finetune": metrics["step_acc"],
                       "val_onset_f1_after_mix_finetune": metrics["onset_f1"]}
    meta["training"] = {**meta["training"], "mix_finetune": {"config": dataclasses.asdict(cfg), **record}}
    save_checkpoint(out, model, ckpt.config, meta)
    print(f"{out}: decoder fine-tuned on mixes ({record['steps']} steps, {record['minutes']} min); "
          f"validation step accuracy {metrics['step_acc']:.4f}, onset F1 {metrics['onset_f1']:.4f}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.mix_finetune", description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True, type=Path)
    p.add_argument("-o", "--out", required=True, type=Path)
    for f in dataclasses.fields(MixFinetuneConfig):
        p.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default)
    args = p.parse_args(argv)
    cfg = MixFinetuneConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(MixFinetuneConfig)})
    run(args.checkpoint, args.out, cfg)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
