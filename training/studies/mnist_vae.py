"""VAE on MNIST, the setting of Kingma & Welling (2013), "Auto-Encoding Variational Bayes".

Reproduces the AEVB side of their Figure 2: train and test ELBO (nats per image) against
the number of training examples seen, for latent sizes 3, 5, 10, 20, 200. Their setting
(Sec. 5 and App. C): Gaussian MLP encoder and Bernoulli MLP decoder, one tanh hidden layer
of 500 units each, parameters drawn from N(0, 0.01) at start, Adagrad with a global step
size chosen from {0.01, 0.02, 0.1} on the training set in the first iterations, minibatch
M = 100, L = 1 sample per datapoint, and a weight decay equal to a N(0, I) prior on the
parameters. Here the prior enters the per-datapoint objective as ``log p(theta) / N``
(N = 60,000), i.e. Adagrad ``weight_decay = 1 / N`` on every parameter.

Run::

    python -m training.studies.mnist_vae --data ../shared/data/mnist \
        --out docs/studies/mnist_vae --examples 3000000 --latents 3 5 10 20 200 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from models.atomic import atomic_write
from training.studies import skeleton
from training.studies.mnist_idx import Mnist, load_mnist, read_idx

__all__ = [
    "MnistVAEConfig", "StudyConfig", "read_idx", "load_mnist", "binarize", "evaluate_elbo", "run_latent",
    "main",
]

PIXELS = 28 * 28
ADAGRAD_STEP_SIZES = (0.01, 0.02, 0.1)  # K&W Sec. 5: chosen from these on the training set


@dataclass(frozen=True)
class MnistVAEConfig:
    """The K&W MNIST MLP: 784 -> 500 tanh -> (mu, logvar) of z; z -> 500 tanh -> 784 logits."""

    z_dim: int = 20
    hidden: int = 500          # K&W: 500 hidden units for MNIST
    x_dim: int = PIXELS
    init_std: float = 0.01     # K&W App. C: N(0, 0.01); read here as standard deviation 0.01


@dataclass(frozen=True)
class StudyConfig:
    """One training run per latent size; every field is written to results.json."""

    latents: tuple[int, ...] = (3, 5, 10, 20, 200)
    examples: int = 3_000_000          # training examples seen per latent size (K&W: up to 1e8)
    batch_size: int = 100              # K&W: M = 100
    step_sizes: tuple[float, ...] = ADAGRAD_STEP_SIZES
    pilot_examples: int = 30_000       # "first few iterations" used to pick the step size
    prior_weight_decay: bool = True    # N(0, I) prior on parameters -> weight decay 1/N
    binarization: str = "threshold"    # 'threshold' (pixel >= 128) or 'stochastic' (Bernoulli(p))
    train_eval_size: int = 10_000      # fixed training subset for the train ELBO
    seed: int = 0
    threads: int = 1
    checkpoints: tuple[int, ...] = field(default=())  # examples seen; empty = 1-2-5 log grid


def log_checkpoints(examples: int, start: int = 10_000) -> tuple[int, ...]:
    """1-2-5 log-spaced counts from ``start`` up to ``examples`` (always including it)."""
    points = []
    decade = start
    while decade <= examples:
        points += [m * decade for m in (1, 2, 5) if m * decade <= examples]
        decade *= 10
    if not points or points[-1] != examples:
        points.append(examples)
    return tuple(points)


def binarize(images: np.ndarray, mode: str, rng: np.random.Generator | None = None) -> np.ndarray:
    """uint8 images ``(N, 28, 28)`` -> float32 ``(N, 784)`` in {0, 1}.

    'threshold' sets pixels >= 128 to 1 (deterministic); 'stochastic' draws each pixel from
    Bernoulli(pixel / 255) once with ``rng`` (the draw is fixed afterwards).
    """
    flat = images.reshape(images.shape[0], -1)
    if mode == "threshold":
        return (flat >= 128).astype(np.float32)
    if mode == "stochastic":
        if rng is None:
            raise ValueError("stochastic binarization needs an rng")
        return (rng.random(flat.shape, dtype=np.float32) < flat / np.float32(255.0)).astype(np.float32)
    raise ValueError(f"binarization must be 'threshold' or 'stochastic', not {mode!r}")


def build_model(config: MnistVAEConfig):  # -> torch.nn.Module (torch imported lazily)
    import torch
    from torch import nn

    class MnistVAE(nn.Module):
        """q(z|x) = N(mu, diag(exp(logvar))), p(z) = N(0, I), p(x|z) = Bernoulli(sigmoid(logits))."""

        def __init__(self, cfg: MnistVAEConfig) -> None:
            super().__init__()
            self.config = cfg
            self.enc = nn.Linear(cfg.x_dim, cfg.hidden)
            self.enc_out = nn.Linear(cfg.hidden, 2 * cfg.z_dim)
            self.dec = nn.Linear(cfg.z_dim, cfg.hidden)
            self.dec_out = nn.Linear(cfg.hidden, cfg.x_dim)
            for p in self.parameters():
                nn.init.normal_(p, 0.0, cfg.init_std)

        def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            mu, logvar = self.enc_out(torch.tanh(self.enc(x))).chunk(2, dim=-1)  # (B, Z) each
            return mu, logvar

        def decode(self, z: torch.Tensor) -> torch.Tensor:
            return self.dec_out(torch.tanh(self.dec(z)))  # (B, 784) Bernoulli logits

        def elbo(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
            """Per-example ELBO (B,) in nats: one-sample E_q log p(x|z) minus analytic KL."""
            mu, logvar = self.encode(x)
            eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
            z = mu + torch.exp(0.5 * logvar) * eps
            logits = self.decode(z)
            log_px = -nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
            kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)
            return log_px - kl

    return MnistVAE(config)


def evaluate_elbo(model, x, seed: int = 1234, batch: int = 1000) -> float:
    """Mean one-sample ELBO (nats/image) over ``x (N, 784)`` with fixed noise for comparability."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    total = 0.0
    model.eval()
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            total += float(model.elbo(x[i:i + batch], gen).sum())
    model.train()
    return total / x.shape[0]


@dataclass
class _Run:
    """A model, its optimiser and the state of the minibatch stream."""

    model: object
    optimizer: object
    perm: object
    pos: int
    seen: int
    rng: object


def _new_run(config: MnistVAEConfig, step_size: float, weight_decay: float, n_train: int, seed: int) -> _Run:
    import torch

    torch.manual_seed(seed)
    model = build_model(config)
    opt = torch.optim.Adagrad(model.parameters(), lr=step_size, weight_decay=weight_decay)
    rng = torch.Generator().manual_seed(seed + 1)
    return _Run(model, opt, torch.randperm(n_train, generator=rng), 0, 0, rng)


def _train_until(run: _Run, x_train, target: int, batch: int, resample: Callable | None) -> float:
    """Adagrad steps until ``run.seen >= target``; returns the mean minibatch ELBO of those steps."""
    import torch

    n = x_train.shape[0]
    total, steps = 0.0, 0
    while run.seen < target:
        if run.pos + batch > n:
            run.perm, run.pos = torch.randperm(n, generator=run.rng), 0
        xb = x_train[run.perm[run.pos:run.pos + batch]]
        if resample is not None:
            xb = resample(xb)
        run.pos += batch
        loss = -run.model.elbo(xb).mean()
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        run.seen += batch
        total -= float(loss.detach())
        steps += 1
    return total / max(steps, 1)


def run_latent(
    z_dim: int,
    study: StudyConfig,
    x_train,
    x_train_eval,
    x_test,
    log: Callable[[str], None] = lambda s: None,
) -> dict:
    """Train one latent size; return the step-size pilot, the checkpoint table and timings.

    ``x_*`` are float32 tensors ``(N, 784)`` in {0, 1} (``x_train`` may hold grey levels in
    [0, 1] when binarization is stochastic: minibatches are then re-drawn every step).
    """
    import torch

    config = MnistVAEConfig(z_dim=z_dim)
    weight_decay = 1.0 / x_train.shape[0] if study.prior_weight_decay else 0.0
    resample = None
    if study.binarization == "stochastic":
        gen = torch.Generator().manual_seed(study.seed + 7)
        resample = lambda xb: torch.bernoulli(xb, generator=gen)  # noqa: E731
    t0 = time.perf_counter()
    pilot = {}
    runs = {}
    for lr in study.step_sizes:
        run = _new_run(config, lr, weight_decay, x_train.shape[0], study.seed)
        pilot[lr] = _train_until(run, x_train, study.pilot_examples, study.batch_size, resample)
        runs[lr] = run
        log(f"z={z_dim} pilot lr={lr}: mean train-minibatch ELBO {pilot[lr]:.2f} "
            f"over the first {study.pilot_examples} examples")
    best_lr = max(pilot, key=pilot.get)
    run = runs[best_lr]
    del runs
    points = study.checkpoints or log_checkpoints(study.examples)
    table = []
    fresh = build_model(config)
    table.append({"examples": 0, "train_elbo": evaluate_elbo(fresh, x_train_eval),
                  "test_elbo": evaluate_elbo(fresh, x_test), "seconds": 0.0})
    t_train = time.perf_counter()
    for target in points:
        if target < run.seen:
            continue
        _train_until(run, x_train, target, study.batch_size, resample)
        row = {"examples": run.seen, "train_elbo": evaluate_elbo(run.model, x_train_eval),
               "test_elbo": evaluate_elbo(run.model, x_test),
               "seconds": round(time.perf_counter() - t_train, 2)}
        table.append(row)
        log(f"z={z_dim} seen={row['examples']:>9d} train {row['train_elbo']:8.2f} "
            f"test {row['test_elbo']:8.2f} ({row['seconds']:.0f} s)")
    with torch.no_grad():
        mu, logvar = run.model.encode(x_test)
        kl_dim = (0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)).mean(0)
        active = int((mu.var(0) > 0.01).sum())  # Burda et al. 2016 activity criterion
    return {
        "z_dim": z_dim,
        "model": asdict(config),
        "step_size_pilot": {str(k): v for k, v in pilot.items()},
        "step_size": best_lr,
        "checkpoints": table,
        "active_units": active,
        "test_kl_per_dim_nats": [round(float(v), 3) for v in kl_dim],
        "wall_seconds": round(time.perf_counter() - t0, 1),
    }


def prepare_data(mnist: Mnist, study: StudyConfig):
    """Binarised float32 tensors: (train (60000, 784), train-eval subset, test (10000, 784))."""
    import torch

    rng = np.random.default_rng(study.seed)
    if study.binarization == "stochastic":
        x_train = torch.from_numpy(mnist.train_images.reshape(-1, PIXELS).astype(np.float32) / 255.0)
        train_bin = binarize(mnist.train_images, "stochastic", rng)
    else:
        train_bin = binarize(mnist.train_images, study.binarization)
        x_train = torch.from_numpy(train_bin)
    subset = np.sort(rng.choice(train_bin.shape[0], size=study.train_eval_size, replace=False))
    x_train_eval = torch.from_numpy(train_bin[subset])
    x_test = torch.from_numpy(binarize(mnist.test_images, study.binarization, rng))
    return x_train, x_train_eval, x_test


def run_study(data_dir: Path, out_dir: Path, study: StudyConfig, command: str) -> dict:
    """Train and measure one run per latent size; results.json is rewritten after each, so the
    finished runs survive an interrupted study."""
    import torch

    torch.set_num_threads(study.threads)
    mnist = load_mnist(data_dir)
    x_train, x_train_eval, x_test = prepare_data(mnist, study)
    results = {
        "study": "mnist_vae", "command": command, "settings": asdict(study),
        "data": {"dir": str(data_dir), "train": int(x_train.shape[0]), "test": int(x_test.shape[0])},
        "torch": torch.__version__, "threads": torch.get_num_threads(), "runs": [],
    }
    for z in study.latents:
        results["runs"].append(run_latent(z, study, x_train, x_train_eval, x_test,
                                          log=lambda s: print(s, file=sys.stderr, flush=True)))
        atomic_write(out_dir / "results.json", lambda f: f.write(json.dumps(results, indent=1)), text=True)
    return results


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="folder with the four MNIST .gz IDX files")
    parser.add_argument("--examples", type=int, default=StudyConfig.examples,
                        help="training examples seen per latent size")
    parser.add_argument("--latents", type=int, nargs="+", default=list(StudyConfig.latents))
    parser.add_argument("--binarization", choices=("threshold", "stochastic"), default="threshold")
    parser.add_argument("--pilot-examples", type=int, default=StudyConfig.pilot_examples)
    parser.add_argument("--no-prior", action="store_true", help="drop the N(0, I) parameter prior")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print results.json to stdout at the end")


def _run(args: argparse.Namespace) -> dict:
    study = replace(StudyConfig(), latents=tuple(args.latents), examples=args.examples,
                    binarization=args.binarization, pilot_examples=min(args.pilot_examples, args.examples),
                    prior_weight_decay=not args.no_prior, threads=args.threads, seed=args.seed)
    return run_study(args.data, args.out, study, args.command)


def _save(results: dict, args: argparse.Namespace) -> None:
    atomic_write(args.out / "results.json", lambda f: f.write(json.dumps(results, indent=1)), text=True)
    if args.json:
        print(json.dumps(results, indent=1))


def _report(results: dict, args: argparse.Namespace) -> str:
    from training.studies import mnist_report

    return mnist_report.report(results, args.out)


STUDY = skeleton.Study(
    module="training.studies.mnist_vae",
    description="Kingma & Welling (2013) Figure 2 (AEVB) on MNIST: ELBO vs training examples seen.",
    arguments=_arguments, run=_run, report=_report, save=_save, seed=0, out="docs/studies/mnist_vae")


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    sys.exit(main())
