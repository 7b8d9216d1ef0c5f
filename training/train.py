"""Training loop of the (fader-)VAE: one frozen TrainConfig -> a run folder with a checkpoint.

Run folder (``config.run_dir``):
    config.json      the TrainConfig that made the run (resume refuses a different one)
    log.csv          one row per epoch (train/validation losses, accuracies, time); a
                     resumed run first drops the rows past its state's epoch, which it redoes
    events.out.*     TensorBoard scalars
    state.pt         resume state after the last finished epoch: weights, optimiser,
                     scheduler, RNG states, counters, the data fingerprint (resume refuses
                     other data) (weights_only-loadable)
    last.pt          a complete checkpoint (models.checkpoint) of the last epoch
    best.pt          the same for the best validation epoch so far
    checkpoint.pt    the final product: best weights, latent statistics from the whole
                     training split (the path ``train`` returns)

Determinism: batches are drawn from ``numpy.random.default_rng((seed, epoch))`` and the
torch CPU RNG state is saved with every epoch, so a run killed with SIGKILL and resumed with
``--resume`` ends with the same weights as an uninterrupted run (same threads, on CPU; on a
GPU the CUDA RNG and kernels are not made deterministic, so a resumed run is close, not equal).
Under ``torchrun`` (DDP; gloo on CPU) each rank trains on its share of every epoch.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from engine.errors import DatasetError, GrooveFaderError
from engine.music.drums import GM_NOTE_MAP
from models import latent as latent_mod
from models import losses as L
from models.atomic import atomic_write
from models.checkpoint import read_payload, save_checkpoint
from models.config import FaderVAEConfig
from models.fader_vae import FaderVAE
from models.pathnames import one_line, shown
from training.augment import augment_batch
from training.config import TrainConfig, training_record
from training.evaluate import monotone_share
from training.run_data import refuse_other_data

LOG_FIELDS = ("epoch", "step", "elapsed_s", "lr", "beta", "adv_lambda", "train_loss", "train_hits",
              "train_velocities", "train_offsets", "train_kl", "train_disc_mse", "train_control",
              "train_monotone", "train_edit", "train_crosstalk",
              "val_loss", "val_hits", "val_velocities", "val_offsets", "val_kl", "val_disc_mse",
              "val_cell_acc", "val_step_acc", "val_onset_f1", "val_control", "val_monotone_worst")
LATENT_SUBSAMPLE = 4096  # training examples encoded for the per-epoch checkpoint's latent stats


# -- data ------------------------------------------------------------------------------------


def load_data(cfg: TrainConfig, names: tuple[str, ...] | None = None):
    """The dataset named by ``cfg.data`` (a GrooveDataset-like object with a ``split`` column)."""
    if cfg.data == "synthetic":
        from training.synthetic import synthetic_dataset

        mcfg = cfg.model_config()
        kwargs = {} if names is None else {"names": names}
        return synthetic_dataset(cfg.synthetic_size, mcfg.steps, cfg.seed, **kwargs)
    try:
        from training.dataset import build_dataset
    except ImportError as err:
        raise DatasetError(
            f"{cfg.data}: the dataset builder (training.dataset) is unavailable: {err}") from err
    mcfg = cfg.model_config()
    kwargs: dict[str, Any] = {"bars": mcfg.bars, "steps_per_bar": mcfg.steps_per_bar}
    if cfg.cache_dir:
        kwargs["cache_dir"] = cfg.cache_dir
    if names is not None:
        kwargs["attributes"] = names
    return build_dataset(cfg.data, **kwargs)


@dataclass(frozen=True)
class _Split:
    x: torch.Tensor       # (N, T, 27)
    a: torch.Tensor       # (N, A) normalised
    raw: np.ndarray       # (N, A) raw


def _prepare(dataset, mcfg: FaderVAEConfig) -> tuple[dict[str, _Split], dict[str, Any]]:
    names = tuple(dataset.attribute_names)
    if mcfg.num_attributes and len(names) != mcfg.num_attributes:
        raise DatasetError(f"the dataset has {len(names)} attributes {names}, the model expects "
                           f"{mcfg.num_attributes}")
    if dataset.patterns.shape[1:] != (mcfg.steps, mcfg.features):
        raise DatasetError(f"dataset patterns are {dataset.patterns.shape[1:]}, the model expects "
                           f"({mcfg.steps}, {mcfg.features})")
    split = np.asarray(dataset.split).astype(str)
    train_raw = np.asarray(dataset.attributes)[split == "train"]
    if len(train_raw) == 0:
        raise DatasetError("the dataset has no training examples")
    stats = latent_mod.attribute_stats(train_raw, names)
    out = {}
    for name in ("train", "validation", "test"):
        keep = split == name
        raw = np.asarray(dataset.attributes, np.float64)[keep]
        out[name] = _Split(torch.from_numpy(np.ascontiguousarray(dataset.patterns[keep], np.float32)),
                           torch.from_numpy(latent_mod.normalise(raw, stats)), raw)
    if out["validation"].x.shape[0] == 0:
        # No validation split (a folder without info.csv): hold out 10 % of train, fixed by seed 0.
        n = out["train"].x.shape[0]
        idx = np.random.default_rng(0).permutation(n)
        val, tr = idx[: max(1, n // 10)], idx[max(1, n // 10):]
        t = out["train"]
        out["validation"] = _Split(t.x[val], t.a[val], t.raw[val])
        out["train"] = _Split(t.x[tr], t.a[tr], t.raw[tr])
    return out, stats


# -- one training step -----------------------------------------------------------------------


class _Autoencoder(nn.Module):
    """Encoder + decoder only (what DDP wraps); the discriminator is synced by hand."""

    def __init__(self, model: FaderVAE) -> None:
        super().__init__()
        self.encoder, self.decoder = model.encoder, model.decoder
        object.__setattr__(self, "_fader", model)  # not a submodule: keeps disc out of DDP

    def forward(self, x, a, teacher_mask, control=None):
        """The training pass; with ``control = (from_prior (N,) bool, knobs (R*N, A))`` also the
        free-running decode under those knobs of the first N rows, from ``z ~ N(0, I)`` or the
        detached ``mu`` (each z repeated R times, block-wise)."""
        out, mu, logvar = self._fader(x, a, teacher_mask)
        if control is None:
            return out, mu, logvar, None
        from_prior, knobs = control
        mu_c = mu[:from_prior.shape[0]]  # the first rows (TrainConfig.control_rows)
        z = L.control_latents(mu_c, from_prior)
        z = z.repeat(knobs.shape[0] // z.shape[0], 1)
        return out, mu, logvar, self._fader.decode(z, knobs)


def _teacher_mask(mcfg: FaderVAEConfig, b: int) -> torch.Tensor | None:
    """Random teacher masks for the conv decoder: a share ``teacher_prob`` of the patterns get
    a teacher at a random fraction of their steps, the rest none (the free-running path)."""
    if mcfg.decoder_cell != "conv" or mcfg.teacher_prob <= 0:
        return None
    use = torch.rand(b, 1) < mcfg.teacher_prob
    keep = torch.rand(b, 1)
    return use & (torch.rand(b, mcfg.steps) < keep)


@dataclass
class _Sums:
    n: int = 0
    totals: dict[str, float] = field(default_factory=dict)

    def add(self, count: int, **values: float) -> None:
        self.n += count
        for k, v in values.items():
            self.totals[k] = self.totals.get(k, 0.0) + v * count

    def means(self) -> dict[str, float]:
        return {k: v / max(self.n, 1) for k, v in self.totals.items()}


@torch.no_grad()
def knob_monotone_shares(model: FaderVAE, names: tuple[str, ...], norm: dict[str, torch.Tensor],
                         draws: int = 500, settings: int = 9, seed: int = 0,
                         batch_size: int = 1536, knobs: tuple[str, ...] | None = None
                         ) -> dict[str, float]:
    """Per knob, the share of prior draws whose greedy decode's attribute never falls as the
    knob is swept over its 5–95 % range in ``settings`` steps, the other knobs at the data
    mean: the evaluation's monotone share (training.evaluate). ``knobs``: only these."""
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    z = torch.randn(draws, model.config.z_dim, generator=gen, device=device)
    z_rep = z.repeat_interleave(settings, 0)  # draw-major: (D*S, Z)
    shares = {}
    for k, name in enumerate(names):
        if knobs is not None and name not in knobs:
            continue
        sweep = torch.zeros(draws * settings, len(names), device=device)
        sweep[:, k] = torch.linspace(float(norm["low"][k]), float(norm["high"][k]), settings,
                                     device=device).repeat(draws)
        resp = torch.cat([
            L.produced_attributes(model.decode(z_rep[i:i + batch_size], sweep[i:i + batch_size]),
                                  names, norm["mean"], norm["std"], model.config.steps_per_bar)[:, k]
            for i in range(0, z_rep.shape[0], batch_size)]).reshape(draws, settings)
        shares[name] = monotone_share(resp.cpu().numpy(), tol=1e-5)
    return shares


@torch.no_grad()
def evaluate_split(model: FaderVAE, data: _Split, beta: float, batch_size: int = 512,
                   control: tuple[tuple[str, ...], dict[str, torch.Tensor]] | None = None,
                   prior_share: float = 0.5, monotone_draws: int = 0,
                   monotone_knobs: tuple[str, ...] | None = None) -> dict[str, float]:
    """Free-running (no teacher) reconstruction from ``z = mu`` plus KL and discriminator MSE;
    with ``control = (attribute names, normalisation)`` also the control error of decodes
    under changed knobs (as in training: ``prior_share`` of them from z ~ N(0, I), drawn from
    a generator seeded 0, the same each call) and, with ``monotone_draws``, the lowest
    monotone share of ``monotone_knobs`` (default all) over that many prior draws
    (:func:`knob_monotone_shares`)."""
    model.eval()
    mcfg = model.config
    s = _Sums()
    tp = fp = fn = 0.0
    v = mcfg.num_voices
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(0) if control is not None else None
    for i in range(0, data.x.shape[0], batch_size):
        x, a = data.x[i:i + batch_size].to(device), data.a[i:i + batch_size].to(device)
        mu, logvar = model.encode(x)
        out = model.decode(mu, a if model.is_fader else None)
        rec = L.reconstruction_terms(out, x)
        kl = L.kl_divergence(mu, logvar)
        loss = rec.hits + mcfg.velocity_weight * rec.velocities + mcfg.offset_weight * rec.offsets \
            + beta * L.kl_cost(kl, mcfg.free_bits)
        pred = out.hit_logits > 0
        true = x[..., :v] > 0.5
        disc = L.disc_mse(model.discriminator(mu), a).mean().item() if model.is_fader else 0.0
        extra = {}
        if control is not None:
            names, norm = control
            from_prior = torch.rand(x.shape[0], generator=gen, device=device) < prior_share
            targets, _ = L.control_targets(a, norm["low"], norm["high"], from_prior, generator=gen)
            z = L.control_latents(mu, from_prior, generator=gen)
            produced = L.produced_attributes(model.decode(z, targets), names, norm["mean"],
                                             norm["std"], mcfg.steps_per_bar)
            extra["control"] = L.control_error(produced, targets).mean().item()
        tp += (pred & true).sum().item()
        fp += (pred & ~true).sum().item()
        fn += (~pred & true).sum().item()
        s.add(x.shape[0], loss=loss.mean().item(), hits=rec.hits.mean().item(),
              velocities=rec.velocities.mean().item(), offsets=rec.offsets.mean().item(),
              kl=kl.mean().item(), disc_mse=disc,
              cell_acc=(pred == true).float().mean().item(),
              step_acc=(pred == true).all(-1).float().mean().item(), **extra)
    m = s.means()
    m["onset_f1"] = 2 * tp / max(2 * tp + fp + fn, 1.0)
    if control is not None and monotone_draws > 0:
        shares = knob_monotone_shares(model, *control, draws=monotone_draws, knobs=monotone_knobs)
        if shares:
            m["monotone_worst"] = min(shares.values())
    return m


# -- distributed helpers ---------------------------------------------------------------------


def _dist_info() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _maybe_init_distributed(device: torch.device) -> bool:
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return False
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return True


def _agree(flag: bool, world: int) -> bool:
    """Rank 0's decision, on every rank (wall-clock budgets differ slightly between ranks)."""
    if world <= 1:
        return flag
    t = torch.tensor([int(flag)])
    dist.broadcast(t, 0)
    return bool(t.item())


def _allreduce_grads(params: Iterable[nn.Parameter], world: int) -> None:
    if world <= 1:
        return
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= world


# -- run folder ------------------------------------------------------------------------------


def _save_torch(path: Path, obj: Any) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write(path, lambda f: f.write(buf.getvalue()))


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text), text=True)


def _read_log(path: Path, upto_epoch: int) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [row for row in csv.DictReader(f) if int(row["epoch"]) <= upto_epoch]


def _write_log(path: Path, rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=LOG_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    _write_text(path, buf.getvalue())


def encode_means(model: FaderVAE, x: torch.Tensor, batch_size: int = 1024) -> np.ndarray:
    """Posterior means ``(N, Z)`` float64 of patterns ``x (N, T, 27)``, in eval mode, chunked."""
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        mu = torch.cat([model.encode(x[i:i + batch_size].to(device))[0].cpu()
                        for i in range(0, len(x), batch_size)])
    return mu.double().numpy()


def _meta(model: FaderVAE, dataset, stats: dict[str, Any], splits: dict[str, _Split],
          metrics: dict[str, Any], max_examples: int | None, training: dict[str, Any]) -> dict[str, Any]:
    """Checkpoint metadata: attribute normalisation, latent statistics/plane, attribute vectors,
    and the ``training`` record (:func:`training_record`) that makes the run repeatable."""
    train = splits["train"]
    n = train.x.shape[0]
    idx = np.arange(n) if max_examples is None or n <= max_examples else \
        np.random.default_rng(0).choice(n, max_examples, replace=False)
    mu_np = encode_means(model, train.x[idx])
    meta: dict[str, Any] = {
        "attributes": stats,
        "note_map": {"name": GM_NOTE_MAP.name, "notes": list(GM_NOTE_MAP.notes)},
        "data_fingerprint": str(getattr(dataset, "fingerprint", "")),
        "metrics": metrics,
        "latent": latent_mod.latent_summary(mu_np),
        "training": training,
    }
    if not model.is_fader:
        meta["attribute_vectors"] = latent_mod.attribute_vectors(mu_np, train.raw[idx], stats["names"])
    return meta


# -- the loop --------------------------------------------------------------------------------


def _data_map(model, mcfg, meta: dict, dataset, cfg: TrainConfig) -> tuple[dict, dict]:
    """The groove bank and pad map of the trained model over the training split."""
    import numpy as np

    from engine.generation.generator import Generator
    from training.data_map import build_data_map, read_styles

    train_rows = np.asarray(dataset.split) == "train"
    source = getattr(dataset, "source", None)
    n = int(train_rows.sum())
    sources = [str(s) for s in np.asarray(source)[train_rows]] if source is not None else [""] * n
    data_dir = cfg.data if cfg.data != "synthetic" else "."
    styles, names = read_styles(data_dir, sources)
    gen = Generator(model.eval(), meta, mcfg)
    return build_data_map(gen, np.asarray(dataset.patterns)[train_rows],
                          np.asarray(dataset.attributes)[train_rows], styles, names)


def _expression(model, mcfg, meta: dict, dataset) -> dict[str, float]:
    """The spread of velocities and micro-timing the decoder averages out, fitted on the
    training split (:mod:`training.expression_fit`), as the checkpoint stores it."""
    import numpy as np

    from engine.generation.generator import Generator
    from training.expression_fit import fit_expression

    train_rows = np.asarray(dataset.split) == "train"
    gen = Generator(model.eval(), {k: v for k, v in meta.items() if k != "data_map"}, mcfg)
    return fit_expression(gen, np.asarray(dataset.patterns)[train_rows]).to_meta()


def train(cfg: TrainConfig, *, resume: bool = False, dataset=None, quiet: bool = False) -> Path:
    """Train per ``cfg``; returns the path of the final checkpoint (run_dir/checkpoint.pt).

    ``dataset`` (optional) replaces loading ``cfg.data`` (tests pass synthetic data in memory).
    ``resume=True`` continues the run in ``cfg.run_dir`` after its last finished epoch.
    """
    run_dir = Path(cfg.run_dir)
    device = torch.device("cuda" if cfg.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if cfg.device == "auto" else cfg.device))
    started_dist = _maybe_init_distributed(device)
    rank, world = _dist_info()
    locks: list[tuple[Path, int]] = []  # the run folder's, once its checks passed (rank 0)
    try:
        return _train(cfg, run_dir, device, rank, world, resume, dataset, quiet, locks)
    finally:
        for path, fd in locks:
            os.close(fd)
            path.unlink(missing_ok=True)
        if started_dist:
            dist.destroy_process_group()


def _lock_run(run_dir: Path) -> tuple[Path, int]:
    """``run_dir/.lock``, holding this process's id and kept open while it trains: two runs
    in one folder would interleave their files. A lock a killed run left (its process gone)
    is taken over, so resume works. Returns the lock and its open descriptor.

    Raises:
        GrooveFaderError: a live process trains in ``run_dir``.
    """
    lock = run_dir / ".lock"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if _held(lock, pid):
                raise GrooveFaderError(f"{shown(run_dir)}: another run (process {pid}) trains here; "
                                       "wait for it or choose another --run-dir") from None
            continue  # left by a run that was killed: removed by _held, taken now
        os.write(fd, f"{os.getpid()}\n".encode())
        return lock, fd
    raise GrooveFaderError(f"{shown(run_dir)}: cannot take the run's lock")


def _held(lock: Path, pid: int) -> bool:
    """Whether a live process holds ``lock``; a stale one is removed. (On Windows a file
    another process keeps open cannot be removed; elsewhere the process id is asked.)"""
    if os.name != "nt" and (pid <= 0 or pid == os.getpid() or not _alive(pid)):
        lock.unlink(missing_ok=True)
        return False
    if os.name == "nt":
        try:
            lock.unlink(missing_ok=True)
        except PermissionError:
            return True
        return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _run_fingerprint(state: dict[str, Any], run_dir: Path) -> str:
    """The fingerprint of the data the run trained on ('' when no record of it is left): its
    resume state's, or for a state written without one, its last checkpoint's."""
    if "data_fingerprint" in state:
        return str(state["data_fingerprint"])
    try:
        meta, _ = read_payload(run_dir / "last.pt")
    except GrooveFaderError:
        return ""
    return str(meta.get("data_fingerprint", ""))


def _check_same_data(state: dict[str, Any], run_dir: Path, dataset) -> None:
    """Refuse to go on with other data than the run started on: the optimiser state, the
    epoch count and the best validation loss all belong to that data.

    Raises:
        GrooveFaderError: the fingerprints differ, naming both.
    """
    refuse_other_data(run_dir, _run_fingerprint(state, run_dir), str(getattr(dataset, "fingerprint", "")))


def _check_knob_names(cfg: TrainConfig, names: tuple[str, ...]) -> None:
    unknown = set(cfg.control_knob_weights) - set(names)
    if unknown:
        raise GrooveFaderError(f"control_knob_weights: no knob(s) {sorted(unknown)}; the knobs are "
                               f"{', '.join(names)}")


def _train(cfg: TrainConfig, run_dir: Path, device: torch.device, rank: int, world: int,
           resume: bool, dataset, quiet: bool, locks: list[tuple[Path, int]]) -> Path:
    process_t0 = time.perf_counter()  # the time budget counts start-up and checkpoint writes too
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    mcfg = cfg.model_config()
    config_path, state_path = run_dir / "config.json", run_dir / "state.pt"
    from engine.music.attributes import ATTRIBUTES

    # The knobs: the first num_attributes attributes engine knows (all of them for the
    # plain VAE, whose attribute vectors cover every attribute). Named wrongly, the run
    # stops before it writes anything.
    names = tuple(ATTRIBUTES)[: mcfg.num_attributes or len(ATTRIBUTES)]
    if dataset is None:
        _check_knob_names(cfg, names)
    if resume:
        if not state_path.exists():
            raise GrooveFaderError(f"{run_dir}: nothing to resume (no state.pt)")
        saved = json.loads(config_path.read_text())
        current = json.loads(json.dumps(cfg.to_dict()))
        saved.pop("run_dir", None)
        current.pop("run_dir", None)
        if saved != current:
            raise GrooveFaderError(f"{run_dir}: the run was started with a different config; "
                                   f"resume with `--resume {run_dir}` alone")
        if rank == 0:
            locks.append(_lock_run(run_dir))
    elif rank == 0:
        if state_path.exists():
            raise GrooveFaderError(f"{run_dir}: a run exists here; use --resume or another --run-dir")
        run_dir.mkdir(parents=True, exist_ok=True)
        locks.append(_lock_run(run_dir))  # before anything is written
        _write_text(config_path, json.dumps(cfg.to_dict(), indent=1) + "\n")

    record = training_record(cfg) if rank == 0 else {}
    torch.manual_seed(cfg.seed + rank)
    if dataset is None:
        dataset = load_data(cfg, names)
    splits, stats = _prepare(dataset, mcfg)
    train_split, val_split = splits["train"], splits["validation"]
    names = tuple(stats["names"])
    use_control = bool(mcfg.num_attributes) and cfg.control_weight > 0
    norm = {k: torch.tensor(stats[k], dtype=torch.float32, device=device)
            for k in ("mean", "std", "low", "high")}
    norm["low"] = (norm["low"] - norm["mean"]) / norm["std"]  # the knob range, normalised
    norm["high"] = (norm["high"] - norm["mean"]) / norm["std"]
    knob_span = norm["high"] - norm["low"]  # each knob's 5-95 % range, normalised
    _check_knob_names(cfg, names)  # a dataset passed in may carry other knobs
    learned_monotone = tuple(n for k, n in enumerate(names) if k not in mcfg.monotone_knobs)
    knob_probs = None
    if cfg.control_knob_weights:
        knob_probs = torch.tensor([float(cfg.control_knob_weights.get(n, 1.0)) for n in names])
        if not knob_probs.sum() > 0:
            raise GrooveFaderError("control_knob_weights: at least one knob needs a weight > 0")

    torch.manual_seed(cfg.seed)  # identical initial weights on every rank
    model = FaderVAE(mcfg).to(device)
    ae = _Autoencoder(model)
    vae_params = list(ae.parameters())
    opt = (torch.optim.AdamW(vae_params, lr=cfg.lr, weight_decay=cfg.weight_decay) if cfg.weight_decay > 0
           else torch.optim.Adam(vae_params, lr=cfg.lr))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: max(cfg.lr_decay ** s, cfg.min_lr / cfg.lr))
    disc_params = list(model.disc.parameters()) if model.disc is not None else []
    opt_d = torch.optim.Adam(disc_params, lr=cfg.disc_lr) if disc_params else None
    net: nn.Module = ae
    if world > 1:
        net = nn.parallel.DistributedDataParallel(ae)

    epoch0, step, best_val, bad_epochs, elapsed = 0, 0, math.inf, 0, 0.0
    rows: list[dict[str, Any]] = []
    if resume:
        try:
            st = torch.load(state_path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - a file cut short or damaged: torch raises many types
            raise GrooveFaderError(f"{shown(state_path)}: not a readable resume state "
                                   f"({one_line(str(err))[:120]}); start the run again") from err
        _check_same_data(st, run_dir, dataset)
        model.load_state_dict(st["model"], strict=True)
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        if opt_d is not None:
            opt_d.load_state_dict(st["opt_d"])
        epoch0, step, best_val = int(st["epoch"]), int(st["step"]), float(st["best_val"])
        bad_epochs, elapsed = int(st["bad_epochs"]), float(st["elapsed_s"])
        torch.set_rng_state(st["rng"][rank])
        rows = _read_log(run_dir / "log.csv", epoch0)
        # the rows past the state's epoch go here, not at the next epoch's end: a resume that
        # trains no epoch (its time budget spent) would keep them
        if rank == 0:
            _write_log(run_dir / "log.csv", rows)
    writer = None
    if rank == 0 and not cfg.smoke_test:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(run_dir), purge_step=epoch0 + 1 if resume else None)

    n_train = train_split.x.shape[0]
    per_rank = n_train // world
    batches = max(1, math.ceil(per_rank / cfg.batch_size))
    if cfg.smoke_test:
        batches = 1
    final_beta = mcfg.beta
    elapsed_before = elapsed

    def wall() -> float:
        return elapsed_before + time.perf_counter() - process_t0

    last_epoch_s = final_reserve_s = 0.0
    stopped = "epochs"
    epochs = range(epoch0 + 1, cfg.epochs + 1)
    if bad_epochs >= cfg.patience:  # stopped early, killed before the end: only the end is left
        stopped, epochs = "early stopping", range(0)
    for epoch in epochs:
        over = (bool(cfg.max_minutes) and bool(rows)  # at least one epoch, so a checkpoint exists
                and wall() + last_epoch_s + final_reserve_s > cfg.max_minutes * 60)
        if _agree(over, world):
            stopped = "time budget"
            break
        t0 = time.perf_counter()
        model.train()
        perm = np.random.default_rng((cfg.seed, epoch)).permutation(n_train)
        mine = torch.from_numpy(perm[rank * per_rank:(rank + 1) * per_rank])
        aug_rng = np.random.default_rng((cfg.seed, epoch, rank, 1))  # resume-exact, per rank
        sums = _Sums()
        bar = None
        if rank == 0 and not quiet:
            from tqdm import tqdm

            bar = tqdm(total=batches, desc=f"epoch {epoch}/{cfg.epochs}", leave=False, file=sys.stderr,
                       dynamic_ncols=True)
        for bi in range(batches):
            idx = mine[bi * cfg.batch_size:(bi + 1) * cfg.batch_size]
            x, a = train_split.x[idx].to(device), train_split.a[idx].to(device)
            if cfg.augment_ride_swap or cfg.augment_tom_shuffle or cfg.augment_bar_rotate:
                x = augment_batch(x, aug_rng, cfg.augment_ride_swap, cfg.augment_tom_shuffle,
                                  cfg.augment_bar_rotate, mcfg.steps_per_bar)
            beta = L.linear_ramp(step, cfg.beta_warmup_steps, final_beta)
            lam = L.linear_ramp(step, cfg.adv_ramp_steps, cfg.adv_lambda) if model.is_fader else 0.0
            mask = _teacher_mask(mcfg, x.shape[0])
            control = None
            ctl_scale = (0.0 if step < cfg.control_start_step else
                         L.linear_ramp(step - cfg.control_start_step + 1, cfg.control_ramp_steps, 1.0))
            if use_control and ctl_scale > 0:
                n_ctl = min(cfg.control_rows or x.shape[0], x.shape[0])
                from_prior = torch.rand(n_ctl, device=device) < cfg.control_prior_share
                targets, knob = L.control_targets(a[:n_ctl], norm["low"], norm["high"], from_prior,
                                                  knob_probs=knob_probs)
                if cfg.monotone_weight > 0:
                    raised, knob_step = L.raised_targets(targets, knob, norm["low"], norm["high"])
                    targets = torch.cat([targets, raised])
                control = (from_prior, targets)
            out, mu, logvar, out_ctl = net(x, a if model.is_fader else None,
                                           None if mask is None else mask.to(device), control)
            rec = L.reconstruction_terms(out, x)
            kl = L.kl_divergence(mu, logvar)
            recon = rec.hits + mcfg.velocity_weight * rec.velocities + mcfg.offset_weight * rec.offsets
            loss = (recon + beta * L.kl_cost(kl, mcfg.free_bits)).mean()
            ctl_err = mono_short = edit_val = xt_val = 0.0
            if out_ctl is not None and control is not None:
                produced = L.produced_attributes(out_ctl, names, norm["mean"], norm["std"],
                                                 mcfg.steps_per_bar)
                err = L.control_error(produced, control[1]).mean()
                loss = loss + ctl_scale * cfg.control_weight * err
                ctl_err = err.item()
                if cfg.monotone_weight > 0:
                    lower, upper = produced.split(from_prior.shape[0])
                    short = L.monotone_shortfall(lower, upper, knob, knob_step).mean()
                    loss = loss + ctl_scale * cfg.monotone_weight * short
                    mono_short = short.item()
                    if cfg.edit_weight > 0:
                        edit = L.knob_edit(*out_ctl.hit_logits.split(from_prior.shape[0])).mean()
                        loss = loss + ctl_scale * cfg.edit_weight * edit
                        edit_val = edit.item()
                    if cfg.crosstalk_weight > 0:
                        xt = L.knob_crosstalk(lower, upper, knob, knob_step, knob_span).mean()
                        loss = loss + ctl_scale * cfg.crosstalk_weight * xt
                        xt_val = xt.item()
            z_disc = mu
            if model.is_fader and cfg.disc_on_sample:
                z_disc = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            if model.is_fader and lam > 0:
                loss = loss + lam * L.encoder_adversarial(model.discriminator(z_disc), a)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                nn.utils.clip_grad_norm_(vae_params, cfg.grad_clip)
            opt.step()
            sched.step()
            disc_loss = 0.0
            if opt_d is not None:
                opt_d.zero_grad(set_to_none=True)
                d = L.disc_mse(model.discriminator(z_disc.detach()), a).mean()
                d.backward()
                _allreduce_grads(disc_params, world)
                opt_d.step()
                disc_loss = d.item()
            step += 1
            sums.add(x.shape[0], loss=loss.item(), hits=rec.hits.mean().item(),
                     velocities=rec.velocities.mean().item(), offsets=rec.offsets.mean().item(),
                     kl=kl.mean().item(), disc_mse=disc_loss, control=ctl_err,
                     monotone=mono_short, edit=edit_val, crosstalk=xt_val)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.2f}", hits=f"{rec.hits.mean().item():.2f}",
                                kl=f"{kl.mean().item():.1f}", disc=f"{disc_loss:.3f}", refresh=False)
        if bar is not None:
            bar.close()
        tr = sums.means()
        val = evaluate_split(model, val_split if not cfg.smoke_test else _Split(
            val_split.x[:cfg.batch_size], val_split.a[:cfg.batch_size], val_split.raw[:cfg.batch_size]),
            final_beta, control=(names, norm) if use_control else None,
            prior_share=cfg.control_prior_share,
            # a per-epoch look at the knobs' monotone share (the one eval target the losses
            # only reach on average), once the control loss has started; skipping the knobs
            # that are monotone by construction keeps it to ~1.5 s an epoch on one thread
            monotone_draws=250 if step > cfg.control_start_step and not cfg.smoke_test else 0,
            monotone_knobs=learned_monotone)
        criterion = val["loss"] + cfg.select_control_weight * val.get("control", 0.0)
        elapsed = wall()
        # Under a control curriculum, model selection and early stopping start once the
        # control loss is at full weight: until then each epoch is the best so far, so a
        # run stopped early still ships its latest weights, never ones before the knobs.
        selecting = not use_control or step >= cfg.control_start_step + cfg.control_ramp_steps
        improved = criterion < best_val or not selecting
        if not selecting:
            best_val, bad_epochs = math.inf, 0
        elif improved:
            best_val, bad_epochs = criterion, 0
        else:
            bad_epochs += 1
        lam_now = L.linear_ramp(step, cfg.adv_ramp_steps, cfg.adv_lambda) if model.is_fader else 0.0
        row = {"epoch": epoch, "step": step, "elapsed_s": round(elapsed, 2), "lr": sched.get_last_lr()[0],
               "beta": L.linear_ramp(step, cfg.beta_warmup_steps, final_beta), "adv_lambda": lam_now,
               **{f"train_{k}": v for k, v in tr.items()}, **{f"val_{k}": v for k, v in val.items()}}
        rows.append(row)
        rngs = [torch.get_rng_state()]
        if world > 1:
            rngs = [torch.empty_like(rngs[0]) for _ in range(world)]
            dist.all_gather(rngs, torch.get_rng_state())
        if rank == 0:
            metrics = {"epoch": epoch, "step": step, "train_minutes": round(elapsed / 60, 3),
                       **{f"val_{k}": v for k, v in val.items()}}
            meta_t0 = time.perf_counter()
            meta = _meta(model, dataset, stats, splits, metrics, LATENT_SUBSAMPLE, record)
            # the final checkpoint encodes the whole training split: keep time for it
            final_reserve_s = (time.perf_counter() - meta_t0) * max(1.0, n_train / LATENT_SUBSAMPLE)
            save_checkpoint(run_dir / "last.pt", model, mcfg, meta)
            if improved:
                save_checkpoint(run_dir / "best.pt", model, mcfg, meta)
            _write_log(run_dir / "log.csv", rows)
            if writer is not None:
                for k, v in row.items():
                    if k != "epoch":
                        writer.add_scalar(k, v, epoch)
                writer.flush()
            # The resume state goes last: a kill before this line redoes the epoch exactly.
            elapsed = wall()
            _save_torch(run_dir / "state.pt", {
                "model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                "opt_d": opt_d.state_dict() if opt_d is not None else {},
                "epoch": epoch, "step": step, "best_val": best_val, "bad_epochs": bad_epochs,
                "elapsed_s": elapsed, "rng": torch.stack(rngs),
                "data_fingerprint": str(getattr(dataset, "fingerprint", ""))})
            print(f"epoch {epoch} done: train {tr['loss']:.3f} val {val['loss']:.3f} "
                  f"(hits {val['hits']:.2f} kl {val['kl']:.1f}) step-acc {val['step_acc']:.4f} "
                  f"f1 {val['onset_f1']:.4f} [{elapsed / 60:.1f} min]", flush=True)
        if world > 1:
            dist.barrier()
        last_epoch_s = time.perf_counter() - t0
        if cfg.smoke_test:
            stopped = "smoke test"
            break
        if bad_epochs >= cfg.patience:
            stopped = "early stopping"
            break
    if writer is not None:
        writer.close()
    final = run_dir / "checkpoint.pt"
    if rank == 0:
        from models.checkpoint import load_checkpoint

        best = load_checkpoint(run_dir / "best.pt")
        model.load_state_dict(best.model.state_dict(), strict=True)
        metrics = dict(best.meta["metrics"], stopped=stopped, total_epochs=len(rows),
                       total_train_minutes=round(wall() / 60, 3), world_size=world,
                       train_examples=int(n_train), validation_examples=int(val_split.x.shape[0]))
        meta = _meta(model, dataset, stats, splits, metrics, None, record)
        arrays = None
        if mcfg.num_attributes:  # the map of the data the instrument plays on (training.data_map)
            arrays, meta["data_map"] = _data_map(model, mcfg, meta, dataset, cfg)
            meta["expression"] = _expression(model, mcfg, meta, dataset)
        save_checkpoint(final, model, mcfg, meta, arrays)
        print(f"done ({stopped}, {wall() / 60:.1f} min in all): {final}", flush=True)
        from training.export import export_after_training

        export_after_training(final)  # the graphs the instrument plays on, beside it
    if world > 1:
        dist.barrier()
    return final
