"""Training of the melody VAE: one frozen :class:`MelodyTrainConfig` → a run folder.

Run folder (``run_dir``):
    config.json   the config that made the run (resume refuses a different one)
    log.jsonl     one line per log interval (loss, reconstruction, KL, validation figures);
                  a resumed run first drops the lines past its state's step, which it redoes
    state.pt      resume state (weights, optimiser, step, elapsed, RNG), weights_only-loadable
    best.pt       checkpoint (models.melody_checkpoint) of the best validation check so far
    last.pt       checkpoint of the last validation check

One CPU thread by default (``threads``: the machine's other core may train too).
``precision="bfloat16"`` runs the training step's forward pass under bfloat16 autocast
(on a CPU with bfloat16 matrix units about 1.5 times the steps per second at batch 64);
weights, optimiser state, loss and validation stay float32. ``float32_from_step`` returns the
forward pass to float32 from that step on: bfloat16's rounding holds back the late, small
updates (per step it learns as much as float32 early on, less once the learning rate is low).
The budget is wall time (``max_minutes``, counted across resumes) or ``max_steps``; the
learning rate decays per step to a floor, or (``lr_schedule="linear"``) straight to zero at
the budget's end, so a one-hour run anneals within its hour (a resumed run with a larger
budget follows the new budget's line); a resumed run may be given a larger budget or other
threads (any other change is refused). Loss:
cross-entropy of the teacher-forced classes + β · max(KL − free_bits, 0) (free bits in nats
per example, MusicVAE's ``free_bits``), β ramped linearly from 0 over ``kl_warmup_steps``.
Scheduled sampling (``sampling`` > 0; MusicVAE trains its melody models with it): a share
of the previous-note inputs, ramped up linearly, is the model's own draw from a first
teacher-forced pass (parallel scheduled sampling, Duckworth et al. 2019), so the decoder
learns to go on from its own mistakes as it must when decoding greedily.
"Best" is the highest validation *sampled* (greedy, not teacher-forced) per-step accuracy,
the figure the model is judged by.

Warm start (``warm_start``, a conductor preset only): the note decoder (and the encoder LSTM
when its size matches) is copied from a trained 2-bar flat checkpoint
(:mod:`training.melody.warm_start`), then ``distill_steps`` steps (of ``distill_batch_size``
windows) fit only the encoder and conductor, so that each bar embedding equals the source's
code of that bar and the next (mean squared error + the same KL term), before the usual loss
trains everything, the copied note decoder at ``decoder_lr_scale`` times the learning rate. The learning-rate
decay, KL warm-up and sampling ramp start again when distillation ends. The source's path
and SHA-256 are stored in every checkpoint's metadata (``warm_start``) and in the resume
state; a run resumed inside its distillation refuses a source that changed.

Hierarchical encoder (a preset with ``encoder='hier'``): the warm start also copies the
source's encoder of the mean as the reader of each 2-bar segment; ``freeze_segment_encoder``
keeps it as copied (no gradient, not in the optimiser), so each segment's code is the
source's and is computed once per training window before the first step: a step then runs
only the small BiLSTM over the codes, the conductor and the note decoder.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from engine.errors import GrooveFaderError
from engine.music.melody import codec_meta
from models.atomic import atomic_write
from models.checkpoint import torch_bytes
from models.melody_checkpoint import load_melody_checkpoint, save_melody_checkpoint
from models.melody_vae import MelodyVAE, MelodyVAEConfig, kl_divergence, preset
from models.pathnames import one_line, shown
from training.melody import data as mdata
from training.melody import warm_start as ws
from training.melody.phrases import encode_phrases, phrase_windows
from training.run_data import refuse_other_data

ANCHORS = 1024  # training codes stored in the checkpoint for "sample near the data"
ANCHOR_NOISE = 0.1  # std (prior units) added to a stored code when sampling near the data
PRECISIONS = ("float32", "bfloat16")  # the training step's forward pass
LR_SCHEDULES = ("exponential", "linear")  # per-step decay to lr_min; straight to zero at the budget's end
# may change on --resume: the budget, and the threads (speed, not the model being trained)
BUDGET_FIELDS = ("max_minutes", "max_steps", "val_every_s", "log_every", "threads")


@dataclass(frozen=True)
class MelodyTrainConfig:
    preset: str = "melody_2bar"
    run_dir: str = "runs/melody_2bar"
    batch_size: int = 64
    lr: float = 1e-3
    lr_schedule: str = "exponential"  # or "linear": from lr to zero over the budget
    lr_decay: float = 0.9999  # per step, to lr_min (exponential)
    lr_min: float = 1e-4
    beta: float = 0.2
    free_bits: float = 16.0  # nats per example not penalised
    kl_warmup_steps: int = 2000
    max_minutes: float = 40.0
    max_steps: int = 1_000_000
    val_every_s: float = 120.0  # validation check (and checkpoint) interval, seconds
    val_windows: int = 512
    log_every: int = 50
    seed: int = 0
    cache_dir: str | None = None
    limit_files: int | None = None  # corpus subset (quick runs)
    corpus_root: str | None = None  # another folder of ABC collections (tests); None = music21's
    collections: tuple[str, ...] = mdata.COLLECTIONS
    sampling: float = 0.0  # scheduled sampling: share of previous-note inputs taken from the model
    sampling_ramp_steps: int = 4000  # ... reached linearly over this many steps
    dropout: float | None = None  # model overrides; None = the preset's value
    word_dropout: float | None = None
    threads: int = 1  # torch threads; more steps per minute when the machine has cores to spare
    warm_start: str | None = None  # a 2-bar flat melody checkpoint a conductor model starts from
    distill_steps: int = 0  # with warm_start: steps fitting the bar embeddings to the source's codes
    decoder_lr_scale: float = 1.0  # with warm_start: the copied note decoder's learning-rate factor
    freeze_segment_encoder: bool = False  # with warm_start and a hier encoder: keep the source's reader
    distill_batch_size: int | None = None  # windows per distillation step; None = batch_size
    precision: str = "float32"  # the training step's forward pass: float32, or bfloat16 autocast
    float32_from_step: int | None = None  # with bfloat16: the forward pass is float32 from this step on

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise GrooveFaderError(f"precision {self.precision!r}: one of {', '.join(PRECISIONS)}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise GrooveFaderError(f"lr schedule {self.lr_schedule!r}: one of {', '.join(LR_SCHEDULES)}")
        if self.float32_from_step is not None and self.precision != "bfloat16":
            raise GrooveFaderError("float32_from_step ends a bfloat16 stage: it needs precision='bfloat16'")

    def bfloat16_at(self, step: int) -> bool:
        """Whether the training step ``step`` (0-based) runs its forward pass in bfloat16."""
        return self.precision == "bfloat16" and (self.float32_from_step is None
                                                 or step < self.float32_from_step)

    def learning_rate(self, step: int, elapsed_s: float) -> float:
        """The learning rate of step ``step`` (counted from the end of distillation) after
        ``elapsed_s`` seconds of the run. Exponential: ``lr · lr_decay^step``, never below
        ``lr_min``. Linear: from ``lr`` straight down to zero as the budget runs out (whichever
        of wall time and steps runs out first), the schedule that does best when the budget,
        not convergence, ends training (Li et al. 2020, "Budgeted training")."""
        if self.lr_schedule == "linear":
            used = max(elapsed_s / max(self.max_minutes * 60, 1e-9), step / max(self.max_steps, 1))
            return self.lr * max(0.0, 1.0 - used)
        return max(self.lr_min, self.lr * self.lr_decay ** step)

    def model_config(self) -> MelodyVAEConfig:
        """The preset with this run's overrides (the checkpoint stores the result)."""
        overrides = {k: getattr(self, k) for k in ("dropout", "word_dropout") if getattr(self, k) is not None}
        return preset(self.preset, **overrides)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MelodyTrainConfig:
        known = {f.name for f in fields(cls)}
        kept = {k: v for k, v in d.items() if k in known}
        if "collections" in kept:
            kept["collections"] = tuple(kept["collections"])
        return cls(**kept)


def sampled_accuracy(model: MelodyVAE, x: torch.Tensor, batch: int = 256) -> dict[str, float]:
    """Greedy reconstruction of ``x`` from its posterior mean: per-step accuracy, note-onset
    F1 (onset steps, any pitch) and pitch accuracy on the true onsets."""
    model.eval()
    preds = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            mu, _ = model.encode(x[i:i + batch])
            preds.append(model.decode(mu, bars=x.shape[1] // model.config.steps_per_bar))
    pred = torch.cat(preds).numpy()
    return reconstruction_metrics(x.numpy(), pred)


def validation_selection(n_windows: int, count: int) -> np.ndarray:
    """Indices of the validation windows every check uses (seed 1234, sorted): the same
    windows in every run, so runs' "best" figures compare."""
    return np.sort(np.random.default_rng(1234).choice(n_windows, min(count, n_windows), replace=False))


@torch.no_grad()
def segment_codes(model: MelodyVAE, x: torch.Tensor, batch: int = 512) -> torch.Tensor:
    """A hierarchical encoder's segment codes of every window ``x`` ``(N, T)`` →
    ``(N, S, segment_z)`` (with ``code_skip`` their sigmas' pre-activations too:
    :meth:`MelodyVAE.segment_features`), in batches (the training set at once would be a large
    BiLSTM call)."""
    return torch.cat([model.segment_features(x[i:i + batch]) for i in range(0, len(x), batch)])


def reconstruction_metrics(true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """``(N, T)`` class arrays → step accuracy, onset precision/recall/F1, onset pitch accuracy."""
    acc = float((true == pred).mean())
    t_on, p_on = true >= 2, pred >= 2
    tp = float((t_on & p_on).sum())
    prec = tp / max(float(p_on.sum()), 1.0)
    rec = tp / max(float(t_on.sum()), 1.0)
    f1 = 2 * prec * rec / max(prec + rec, 1e-12)
    pitch = float((true[t_on] == pred[t_on]).mean()) if t_on.any() else 0.0
    return {"step_accuracy": acc, "onset_precision": prec, "onset_recall": rec, "onset_f1": f1,
            "onset_pitch_accuracy": pitch}


def _save_state(path: Path, model, opt, step: int, elapsed: float, best: float,
                rng: np.random.Generator, warm: dict[str, Any] | None, fingerprint: str) -> None:
    state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
             "elapsed": elapsed, "best": best, "torch_rng": torch.get_rng_state(),
             "np_rng": json.dumps(rng.bit_generator.state), "warm_start": json.dumps(warm),
             "data_fingerprint": fingerprint}
    data = torch_bytes(state)
    atomic_write(path, lambda f: f.write(data))


def _check_same_data(state: dict[str, Any], run: Path, now: str) -> None:
    """Refuse to go on with other tunes than the run started on: the optimiser state, the step
    count and the best validation figure all belong to that data (a state written without a
    fingerprint is compared through its run's last checkpoint, when there is one).

    Raises:
        GrooveFaderError: the fingerprints differ, naming both.
    """
    before = str(state.get("data_fingerprint", ""))
    if not before and (run / "last.pt").exists():
        try:
            before = str(load_melody_checkpoint(run / "last.pt").meta.get("data_fingerprint", ""))
        except GrooveFaderError:
            before = ""
    refuse_other_data(run, before, now, "melodies")


def trim_log(path: Path, upto_step: int) -> None:
    """Keep the lines of the log ``path`` up to step ``upto_step``, rewritten atomically.

    A run killed after its last saved state redoes the steps since and logs them again;
    without this they would appear twice. A line the kill cut short is dropped too.
    """
    if not path.is_file():
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    kept = []
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("step"), int) and row["step"] <= upto_step:
            kept.append(line)
    if kept != lines or (text and not text.endswith("\n")):  # an unended last line would join the next
        atomic_write(path, lambda f: f.write("".join(f"{line}\n" for line in kept)), text=True)


def train(cfg: MelodyTrainConfig, *, resume: bool = False, quiet: bool = False) -> Path:
    """Train (or resume) and return the path of the run's best checkpoint.

    Raises:
        GrooveFaderError: a run folder made by another config without ``resume`` semantics,
            or no training data.
    """
    torch.set_num_threads(max(1, cfg.threads))
    if cfg.distill_steps > 0 and cfg.warm_start is None:
        raise GrooveFaderError("distillation needs a warm-start source (--warm-start)")
    unit_bars = cfg.model_config().unit_bars
    if cfg.distill_steps > 0 and unit_bars != 1:
        raise GrooveFaderError("distillation fits one embedding per bar; this preset's conductor steps "
                               f"cover {unit_bars} bars (it starts at its segments' codes)")
    if cfg.freeze_segment_encoder and (cfg.warm_start is None or cfg.model_config().encoder != "hier"):
        raise GrooveFaderError("--freeze-segment-encoder needs a preset with a hierarchical encoder "
                               "and a warm-start source (--warm-start) to copy it from")
    run = Path(cfg.run_dir)
    cfg_path, state_path, log_path = run / "config.json", run / "state.pt", run / "log.jsonl"
    if state_path.exists() and not resume:
        raise GrooveFaderError(f"{run}: a run is already there; pass --resume or another --run-dir")
    if resume and cfg_path.exists():
        try:
            old = asdict(MelodyTrainConfig.from_dict(json.loads(cfg_path.read_text())))
        except (OSError, ValueError, TypeError) as err:
            raise GrooveFaderError(f"{shown(cfg_path)}: not a readable run config "
                                   f"({one_line(str(err))})") from err
        new = asdict(cfg)
        # the folder may have moved or be named another way: where it is now is where it runs
        diff = sorted(k for k in new if old.get(k) != new[k] and k not in (*BUDGET_FIELDS, "run_dir"))
        if diff:
            raise GrooveFaderError(f"{run}: --resume with a different config ({', '.join(diff)})")
        # a budget not asked for again is the run's own, not the default (a finished run
        # resumed without its --max-steps had trained on to the default million steps)
        defaults = asdict(MelodyTrainConfig(preset=cfg.preset, run_dir=cfg.run_dir))
        kept = {k: old[k] for k in BUDGET_FIELDS if new[k] == defaults[k] and k in old}
        cfg = replace(cfg, **kept)
    run.mkdir(parents=True, exist_ok=True)
    atomic_write(cfg_path, lambda f: f.write(json.dumps(asdict(cfg), indent=1)), text=True)

    mcfg = cfg.model_config()
    corpus = mdata.build_corpus(cache_dir=cfg.cache_dir, limit_files=cfg.limit_files,
                                collections=cfg.collections,
                                root=None if cfg.corpus_root is None else Path(cfg.corpus_root))
    train_w = mdata.windows(corpus, mcfg.bars, "train")
    val_w = mdata.windows(corpus, mcfg.bars, "validation")
    if len(train_w) == 0 or len(val_w) == 0:
        raise GrooveFaderError(f"no {mcfg.bars}-bar windows in train ({len(train_w)}) or validation "
                               f"({len(val_w)})")
    x_train = torch.from_numpy(train_w.classes)
    x_val = torch.from_numpy(val_w.classes[validation_selection(len(val_w), cfg.val_windows)])

    torch.manual_seed(cfg.seed)
    model = MelodyVAE(mcfg)
    resuming = resume and state_path.exists()
    source: MelodyVAE | None = None
    warm: dict[str, Any] | None = None
    if cfg.warm_start is not None and not resuming:
        source = ws.load_source(cfg.warm_start)
        warm = ws.info(cfg.warm_start, source, ws.copy_weights(model, source, cfg.warm_start))
    frozen = set(ws.segment_encoder_parameters(model)) if cfg.freeze_segment_encoder else set()
    for n, p in model.named_parameters():
        p.requires_grad_(n not in frozen)
    if cfg.warm_start is not None:  # the copied note decoder learns at its own rate
        dec = set(ws.note_decoder_parameters(model))
        named = [(n, p) for n, p in model.named_parameters() if n not in frozen]
        opt = torch.optim.Adam([{"params": [p for n, p in named if n not in dec], "scale": 1.0},
                                {"params": [p for n, p in named if n in dec],
                                 "scale": cfg.decoder_lr_scale}], lr=cfg.lr)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    step, elapsed, best = 0, 0.0, -1.0
    if resuming:
        st = torch.load(state_path, weights_only=True)
        _check_same_data(st, run, corpus.fingerprint)
        model.load_state_dict(st["model"], strict=True)
        opt.load_state_dict(st["optimizer"])
        step, elapsed, best = int(st["step"]), float(st["elapsed"]), float(st["best"])
        torch.set_rng_state(st["torch_rng"])
        rng.bit_generator.state = json.loads(st["np_rng"])
        warm = json.loads(st.get("warm_start", "null"))
        if cfg.warm_start is not None and step < cfg.distill_steps:  # the targets come from the source
            if warm is None or ws.file_sha256(cfg.warm_start) != warm["sha256"]:
                raise GrooveFaderError(f"{run}: the warm-start source {cfg.warm_start} is not the file "
                                       "the run started from")
            source = ws.load_source(cfg.warm_start)
        if not quiet:
            print(f"resumed {run} at step {step} ({elapsed / 60:.1f} min trained)", file=sys.stderr)
    trim_log(log_path, step if resuming else -1)  # no saved state: every step is trained again

    def log(row: dict[str, Any]) -> None:
        with log_path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        if not quiet:
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()),
                  file=sys.stderr, flush=True)

    # a short window model stores phrases for longer tunes: the same training windows each time
    phrase_segments = phrase_windows(corpus, mcfg.bars) if mcfg.decoder == "flat" and mcfg.bars <= 4 else None

    def checkpoint(metrics: dict[str, float], *names: str) -> None:
        meta = _meta(model, x_train, corpus, cfg, metrics, step, phrase_segments)
        if warm is not None:
            meta["warm_start"] = warm
        for name in names:
            save_melody_checkpoint(run / name, model, meta)

    if resume and (step >= cfg.max_steps or elapsed >= cfg.max_minutes * 60):
        # the run had finished: nothing left to train, but its export if it was killed before
        # that was written (or it is stale)
        _export_if_missing(run / "best.pt", quiet)
        return run / "best.pt"
    t_start = time.perf_counter() - elapsed
    y_train = None  # distillation targets, computed inside the budget
    if source is not None and step < cfg.distill_steps:
        y_train = ws.bar_targets(source, x_train)
    codes_train = segment_codes(model, x_train) if frozen else None  # the frozen reader's, once
    if warm is not None and step == 0:  # where a warm start begins: the figure training must beat
        metrics = sampled_accuracy(model, x_val)
        log({"step": 0, "elapsed_min": 0.0, **{f"val_{k}": v for k, v in metrics.items()}})
        best = metrics["step_accuracy"]
        checkpoint(metrics, "best.pt")
    # bfloat16 autocast (matrix units where the CPU has them); weights, optimiser, loss and
    # every validation check stay float32
    bf16 = cfg.bfloat16_at(step)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)
    last_val = time.perf_counter()
    sums: dict[str, float] = {}
    n_sums = 0
    budget_s = cfg.max_minutes * 60
    done = False
    while not done:
        if cfg.bfloat16_at(step) != bf16:  # the bfloat16 stage ends here
            bf16 = cfg.bfloat16_at(step)
            autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)
            log({"step": step, "elapsed_min": round(elapsed / 60, 2), "precision": "float32"})
        model.train()
        distilling = step < cfg.distill_steps
        s = step if distilling else step - cfg.distill_steps  # the schedules restart after distillation
        batch = cfg.distill_batch_size if distilling and cfg.distill_batch_size else cfg.batch_size
        idx = rng.integers(0, len(x_train), batch)
        x = x_train[idx]
        with autocast:
            mu, sigma = model.encode(x) if codes_train is None else model.encode_codes(codes_train[idx])
        mu, sigma = mu.float(), sigma.float()
        z = mu + sigma * torch.randn_like(sigma)
        kl = kl_divergence(mu, sigma).sum(1).mean()
        beta = cfg.beta * min(1.0, s / max(cfg.kl_warmup_steps, 1))
        if distilling:
            assert y_train is not None
            with autocast:
                emb = model.bar_embeddings(z, mcfg.bars)
            err = (emb.float() - y_train[idx]).pow(2)
            fit = err.sum((1, 2)).mean()
            loss = fit + beta * torch.clamp(kl - cfg.free_bits, min=0.0)
            terms = {"distill": float(err.mean().detach())}
        else:
            inputs = x
            p_own = cfg.sampling * min(1.0, s / max(cfg.sampling_ramp_steps, 1))
            if p_own > 0:  # parallel scheduled sampling: one teacher-forced pass draws the model's notes
                with torch.no_grad(), autocast:
                    own_logits = model.decode_teacher(z, x).float()
                own = torch.distributions.Categorical(logits=own_logits).sample()
                inputs = torch.where(torch.rand(x.shape) < p_own, own, x)
            with autocast:
                logits = model.decode_teacher(z, x, inputs)
            logits = logits.float()
            recon = F.cross_entropy(logits.reshape(-1, mcfg.num_classes), x.reshape(-1), reduction="none")
            recon = recon.view(x.shape).sum(1).mean()
            loss = recon + beta * torch.clamp(kl - cfg.free_bits, min=0.0)
            terms = {"recon": float(recon.detach()) / x.shape[1],
                     "acc": float((logits.argmax(-1) == x).float().mean())}
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        lr = cfg.learning_rate(s, time.perf_counter() - t_start)
        for g in opt.param_groups:
            g["lr"] = lr * g.get("scale", 1.0)
        opt.step()
        step += 1
        for k, v in {"loss": float(loss.detach()), **terms, "kl": float(kl.detach())}.items():
            sums[k] = sums.get(k, 0.0) + v
        n_sums += 1
        elapsed = time.perf_counter() - t_start
        done = elapsed >= budget_s or step >= cfg.max_steps
        if step % cfg.log_every == 0 or done or step == cfg.distill_steps:
            stage = {"stage": "distill"} if distilling else {}
            log({"step": step, "elapsed_min": round(elapsed / 60, 2), "beta": beta, "lr": lr, **stage,
                 **{f"train_{k}": v / max(n_sums, 1) for k, v in sums.items()}})
            sums = {}
            n_sums = 0
        if step == cfg.distill_steps:
            y_train = source = None  # not needed any more
        if time.perf_counter() - last_val >= cfg.val_every_s or done:
            metrics = sampled_accuracy(model, x_val)
            log({"step": step, "elapsed_min": round(elapsed / 60, 2),
                 **{f"val_{k}": v for k, v in metrics.items()}})
            better = metrics["step_accuracy"] > best
            best = max(best, metrics["step_accuracy"])
            checkpoint(metrics, "last.pt", *(["best.pt"] if better else []))  # one metadata, both files
            _save_state(state_path, model, opt, step, time.perf_counter() - t_start, best, rng, warm,
                        corpus.fingerprint)
            last_val = time.perf_counter()
    if (run / "best.pt").is_file():
        from training.export import export_after_training

        export_after_training(run / "best.pt", quiet=quiet)  # the graphs the instrument plays on
    return run / "best.pt"


def _export_if_missing(best: Path, quiet: bool) -> None:
    from engine.generation.onnx_nets import find_export
    from training.export import export_after_training

    if best.is_file() and find_export(best, "melody")[0] is None:
        export_after_training(best, quiet=quiet)


def _meta(model: MelodyVAE, x_train: torch.Tensor, corpus: mdata.MelodyCorpus, cfg: MelodyTrainConfig,
          metrics: dict[str, float], step: int, phrase_segments: np.ndarray | None = None) -> dict[str, Any]:
    """Checkpoint metadata: latent statistics and anchors from (a sample of) the training set,
    and the phrases of ``phrase_segments`` (:func:`training.melody.phrases.phrase_windows`)."""
    model.eval()
    rng = np.random.default_rng(7)
    sel = np.sort(rng.choice(len(x_train), min(ANCHORS, len(x_train)), replace=False))
    with torch.no_grad():
        mu, sigma = model.encode(x_train[sel])
    kl = kl_divergence(mu, sigma).mean(0)
    latent = {"mean": mu.mean(0).tolist(), "std": mu.std(0).tolist(), "kl_per_dim": kl.tolist(),
              "anchors": np.round(mu.numpy(), 4).tolist(), "anchor_noise": ANCHOR_NOISE}
    if phrase_segments is not None and len(phrase_segments):
        latent["phrases"] = encode_phrases(model, phrase_segments).tolist()
    return {"data_fingerprint": corpus.fingerprint, "codec": codec_meta(),
            "metrics": {"validation": metrics, "step": step}, "latent": latent, "train": asdict(cfg)}
