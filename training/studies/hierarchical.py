"""Hierarchical ("conductor") vs flat decoder on 4-bar drum windows.

MusicVAE (Roberts et al. 2018, arXiv:1803.05428) reports, in its Table 1, reconstruction
accuracy with and without teacher forcing for flat and hierarchical decoders. This study
does the same on Groove MIDI 4-bar windows (1-bar hop), plain VAEs (no attribute input,
as MusicVAE), for two decoder cell families:

* ``gru`` — autoregressive, step by step (MusicVAE's kind of decoder): flat = one GRU over
  64 steps; hierarchical = a conductor GRU emitting one embedding per bar, each bar decoded
  by a GRU from its embedding;
* ``conv`` — the project's non-autoregressive causal conv decoder, flat over 64 steps or
  per bar under the same conductor.

Each pair gets the same data, the same number of optimiser steps and the same seed.
Metrics (``training.evaluate.reconstruction_metrics`` / ``evaluate_reconstruction``) on
held-out test windows, z = posterior mean: per-step exact accuracy (all 9 voices right),
onset F1, with teacher forcing and sampled (free-running, greedy feedback), overall and per
bar position.

Run::

    python -m training.studies.hierarchical --data ../shared/data/groove \
        --out docs/studies/hierarchical
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from engine.music.drums import NUM_VOICES
from training.studies import drum_common as dc
from training.studies import skeleton

MODULE = "training.studies.hierarchical"
RESOLVED = 0.02  # accuracy differences below this are not read as a finding (one seed, ~1k windows)


def model_overrides(cell: str, decoder: str, smoke: bool) -> dict[str, Any]:
    """FaderVAEConfig overrides of the run (plain VAE, GrooVAE β / free bits)."""
    if smoke:
        return {"num_attributes": 0, "decoder": decoder, "decoder_cell": cell, "steps": 64}
    over: dict[str, Any] = {"num_attributes": 0, "decoder": decoder, "decoder_cell": cell, "steps": 64,
                            "z_dim": 256, "encoder_kind": "conv", "encoder_size": 128, "beta": 0.2,
                            "free_bits": 48.0, "dropout": 0.0, "conductor_size": 256}
    if cell == "conv":
        over.update(decoder_size=128, decoder_proj=32, decoder_hidden=256, decoder_layers=3,
                    teacher_prob=0.3)
    else:
        over.update(decoder_size=128, decoder_layers=1, teacher_prob=0.0)
    return over


def per_bar_metrics(true: np.ndarray, pred: np.ndarray, tempo: np.ndarray, steps_per_bar: int = 16
                    ) -> list[dict[str, float]]:
    """``reconstruction_metrics`` of each bar position of ``(N, T, 27)`` targets/predictions."""
    from training.evaluate import reconstruction_metrics

    n = NUM_VOICES
    out = []
    for b in range(true.shape[1] // steps_per_bar):
        sl = slice(b * steps_per_bar, (b + 1) * steps_per_bar)
        p = pred[:, sl]
        m = reconstruction_metrics(true[:, sl], p[..., :n], p[..., n:2 * n], p[..., 2 * n:], tempo,
                                   steps_per_bar)
        out.append({"bar": b + 1, "step_accuracy": m["step_accuracy"], "f1": m["f1"]})
    return out


def measure(ckpt: Path, test: Any) -> dict[str, Any]:
    from engine.generation.generator import Generator
    from training.evaluate import evaluate_reconstruction

    gen = Generator.from_checkpoint(ckpt, backend="torch")  # the parameter count reads the torch model
    rec = evaluate_reconstruction(gen, test, batch_size=256)
    mu, _ = gen.encode_batch(test.patterns)
    bars: dict[str, Any] = {}
    for label, teacher in (("sampled", None), ("teacher_forced", test.patterns)):
        parts = []
        for i in range(0, len(mu), 256):
            t = None if teacher is None else teacher[i:i + 256]
            d = gen.decode_batch(mu[i:i + 256], teacher=t, use_knobs=False)
            parts.append(np.concatenate([d.hits, d.velocities, d.offsets], axis=2))
        bars[label] = per_bar_metrics(test.patterns, np.concatenate(parts), test.tempo_bpm,
                                      gen.steps_per_bar)
    params = sum(p.numel() for p in gen._model.parameters())  # noqa: SLF001 - a count only
    return {"sampled": rec["reconstruction"], "teacher_forced": rec["reconstruction_teacher_forced"],
            "latent": rec["latent"], "per_bar": bars, "parameters": int(params),
            "trained_epochs": gen.meta["metrics"].get("total_epochs"),
            "stopped": gen.meta["metrics"].get("stopped")}


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    ds = dc.load_groove(args.data, args.smoke, bars=4)
    counts = {s: int(np.sum(np.asarray(ds.split) == s)) for s in ("train", "validation", "test")}
    if not args.smoke:
        ds = dc.subset(ds, args.train, args.val, args.test, seed=0)
    n_train = int(np.sum(np.asarray(ds.split) == "train"))
    test = dc.eval_data(ds, "test")
    results: dict[str, Any] = {
        "settings": {"train_windows": n_train, "test_windows": int(len(test.patterns)),
                     "val_windows": int(np.sum(np.asarray(ds.split) == "validation")),
                     "all_windows": counts, "epochs": args.epochs, "batch_size": args.batch,
                     "optimiser_steps": -(-n_train // args.batch) * args.epochs,
                     "beta_warmup_steps": args.warmup, "max_minutes": args.max_minutes,
                     "cells": list(args.cells), "torch_threads": 1,
                     "smoke": bool(args.smoke)},
        "runs": [],
    }
    for cell in args.cells:
        for decoder in ("flat", "hierarchical"):
            over = model_overrides(cell, decoder, args.smoke)
            ckpt, secs = dc.train_small(Path(args.runs_dir) / f"{cell}_{decoder}", ds,
                                        preset="tiny" if args.smoke else "fader_4bar_hier", model=over,
                                        epochs=args.epochs, batch_size=args.batch,
                                        beta_warmup_steps=args.warmup, max_minutes=args.max_minutes,
                                        smoke=args.smoke)
            m = measure(ckpt, test)
            results["runs"].append({"cell": cell, "decoder": decoder, "model": over,
                                    "train_seconds": round(secs, 1), **m})
            print(f"{cell}/{decoder}: sampled step-acc {m['sampled']['step_accuracy']:.3f} "
                  f"f1 {m['sampled']['f1']:.3f}; teacher-forced step-acc "
                  f"{m['teacher_forced']['step_accuracy']:.3f} [{secs:.0f} s]", flush=True)
    results["wall_minutes"] = round((time.perf_counter() - t0) / 60, 2)
    add_curves(results, Path(args.runs_dir))
    return results


def training_curve(run_dir: Path) -> list[dict[str, float]]:
    """Per-epoch optimiser step and free-running validation step accuracy / onset F1 (log.csv)."""
    import csv

    log = run_dir / "log.csv"
    if not log.exists():
        return []
    with log.open(newline="") as f:
        return [{"step": int(r["step"]), "val_step_acc": float(r["val_step_acc"]),
                 "val_onset_f1": float(r["val_onset_f1"]), "elapsed_s": float(r["elapsed_s"])}
                for r in csv.DictReader(f)]


def add_curves(results: dict[str, Any], runs_dir: Path) -> None:
    """Attach each run's training curve (read from its run folder) where it is missing."""
    for r in results["runs"]:
        if not r.get("curve"):
            r["curve"] = training_curve(runs_dir / f"{r['cell']}_{r['decoder']}")


def equal_step_rows(results: dict[str, Any]) -> list[list[Any]]:
    """Per cell family: validation accuracy of flat and hierarchical at the last step both reached."""
    rows = []
    for cell in results["settings"]["cells"]:
        pair = {r["decoder"]: r for r in results["runs"] if r["cell"] == cell}
        if set(pair) != {"flat", "hierarchical"} or not all(pair[d].get("curve") for d in pair):
            continue
        steps = [{c["step"] for c in pair[d]["curve"]} for d in ("flat", "hierarchical")]
        common = sorted(steps[0] & steps[1])
        if not common:
            continue
        step = common[-1]
        at = {d: next(c for c in pair[d]["curve"] if c["step"] == step) for d in pair}
        rows.append([cell, step, at["flat"]["val_step_acc"], at["hierarchical"]["val_step_acc"],
                     at["flat"]["val_onset_f1"], at["hierarchical"]["val_onset_f1"]])
    return rows


def plot(results: dict[str, Any], path: Path) -> None:
    plt = dc.pyplot()
    cells = results["settings"]["cells"]
    fig, axes = plt.subplots(2, len(cells), figsize=(4.2 * len(cells), 5.8), squeeze=False)
    for ax, cell in zip(axes[1], cells, strict=True):
        for r in [r for r in results["runs"] if r["cell"] == cell and r.get("curve")]:
            ax.plot([c["step"] for c in r["curve"]], [c["val_step_acc"] for c in r["curve"]], "o-", ms=3,
                    label=r["decoder"])
        ax.set_xlabel("optimiser steps")
        ax.set_ylabel("validation exact step acc.\n(free-running)", fontsize=7)
        ax.set_title(f"{cell}: training curves", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    for ax, cell in zip(axes[0], cells, strict=True):
        for r in [r for r in results["runs"] if r["cell"] == cell]:
            for label, style in (("sampled", "o-"), ("teacher_forced", "s--")):
                rows = r["per_bar"][label]
                ax.plot([x["bar"] for x in rows], [x["step_accuracy"] for x in rows], style,
                        label=f"{r['decoder']}, {label.replace('_', '-')}")
        ax.set_xlabel("bar of the 4-bar window")
        ax.set_ylabel("exact step accuracy")
        ax.set_title(f"{cell} decoder cells", fontsize=9)
        ax.set_xticks([1, 2, 3, 4])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.tight_layout()
    dc.save_figure(fig, path)


def _direction_sentence(results: dict[str, Any]) -> str:
    """Whether the hierarchical decoder's advantage (MusicVAE) shows here, from the sampled accuracies."""
    diffs = {}
    for cell in results["settings"]["cells"]:
        by = {r["decoder"]: r for r in results["runs"] if r["cell"] == cell}
        if set(by) == {"flat", "hierarchical"}:
            h, f = (by[k]["sampled"]["step_accuracy"] for k in ("hierarchical", "flat"))
            diffs[cell] = h - f
    if any(d >= RESOLVED for d in diffs.values()):
        return ("- The hierarchical decoder is ahead for "
                + ", ".join(c for c, d in diffs.items() if d >= RESOLVED)
                + ": the direction MusicVAE reports, at a much smaller size.")
    return ("- At 4 bars and these budgets the hierarchical decoder does **not** show MusicVAE's advantage "
            "(flat ahead or no resolved difference in every pair here). Plausible reasons, not tested: "
            "4 bars is short enough for a flat decoder (MusicVAE's gain is reported at 16 bars), and the "
            "conductor's per-bar bottleneck trains more slowly (see the training curves).")


def _bar_drop(run_: dict[str, Any]) -> float:
    """Sampled exact step accuracy of the last bar minus the first."""
    bars = run_["per_bar"]["sampled"]
    return bars[-1]["step_accuracy"] - bars[0]["step_accuracy"]


def report(results: dict[str, Any], out: Path) -> str:
    s = results["settings"]
    rows = []
    for r in results["runs"]:
        rows.append([r["cell"], r["decoder"], r["teacher_forced"]["step_accuracy"],
                     r["sampled"]["step_accuracy"], r["teacher_forced"]["f1"], r["sampled"]["f1"],
                     r["latent"]["kl_nats"], f"{r['parameters'] / 1e6:.2f} M", f"{r['train_seconds']:.0f}"])
    table = dc.md_table(["decoder cells", "decoder", "step acc. teacher-forced", "step acc. sampled",
                         "onset F1 teacher-forced", "onset F1 sampled", "KL (nats)", "parameters",
                         "train s"], rows)
    cut = [f"{r['cell']}/{r['decoder']} ({r['trained_epochs']} epochs, {r['stopped']})"
           for r in results["runs"] if r.get("stopped") != "epochs"]
    bar_rows = []
    for r in results["runs"]:
        for label in ("sampled", "teacher_forced"):
            bar_rows.append([r["cell"], r["decoder"], label.replace("_", "-")]
                            + [x["step_accuracy"] for x in r["per_bar"][label]])
    bar_table = dc.md_table(["cells", "decoder", "decoding", "bar 1", "bar 2", "bar 3", "bar 4"], bar_rows)
    by = {(r["cell"], r["decoder"]): r for r in results["runs"]}
    lines = [
        "# Hierarchical (conductor) vs flat decoder, 4-bar drum windows",
        "",
        "After MusicVAE's Table 1 (Roberts et al. 2018, arXiv:1803.05428): "
        "reconstruction with and without teacher forcing for a flat and a hierarchical decoder.",
        "",
        "## Command",
        "",
        "```",
        results["command"],
        "```",
        "",
        f"Wall time: {results['wall_minutes']} min on a 2-core machine (torch on 1 thread, "
        "`nice -n 10`, other jobs alongside).",
        "",
        "## Settings (scaled down for this CPU)",
        "",
        f"- Data: Groove MIDI 4-bar windows, 1-bar hop (`build_dataset(bars=4)`: "
        f"{s['all_windows']['train']} train / {s['all_windows']['validation']} validation / "
        f"{s['all_windows']['test']} test windows); a fixed random subset of **{s['train_windows']} train "
        f"windows** for training and **{s['test_windows']} test windows** (held out) for every figure.",
        f"- Budget, equal for every run: {s['epochs']} epochs × batch {s['batch_size']} = "
        f"**{s['optimiser_steps']} optimiser steps**, KL warm-up over {s['beta_warmup_steps']} steps, "
        "constant learning rate 1e-3, seed 0. These are minutes-long runs (MusicVAE's models were "
        "trained far longer on far more data), so absolute accuracies are low and the comparison is "
        "between decoders at an equal, small budget.",
        "- Models: plain VAEs (no attributes, as in MusicVAE), the shipped model's strided-conv encoder "
        "(128 channels; a BiGRU-256 encoder made a first attempt too slow for this machine's load), "
        "z = 256, β = 0.2, "
        "48 free bits (GrooVAE). `gru`: decoder GRU-128 (flat over 64 steps; hierarchical: conductor "
        "GRU-256 → one embedding per bar → GRU-128 per bar, bars independent given their embedding, "
        "as in MusicVAE). `conv`: the project's causal conv decoder (128 channels, 3 blocks), flat over "
        "64 steps or per bar under the same conductor; trained with a random causal teacher on 30 % "
        "of the batches.",
        "- Sampled = free-running: z = posterior mean, the decoder's own greedy (p > 0.5) outputs fed "
        "back (the conv decoder has no feedback: its free-running output is one pass). "
        "Teacher-forced = the true previous steps fed in. Exact step accuracy = all 9 voices right at "
        "a 16th step (MusicVAE's drum accuracy is over its 512-way drum-class token, the same "
        "all-voices-right criterion on 9 voices).",
        "",
        "## Results (test windows)",
        "",
        table,
        ("Runs cut short by the wall-clock cap: " + ", ".join(cut) + "." if cut else
         "Every run finished its epochs within the wall-clock cap."),
        "",
        "Per bar position (exact step accuracy):",
        "",
        bar_table,
        "![per-bar accuracy and training curves](per_bar_accuracy.png)",
        "",
        "Equal optimiser steps (from each run's per-epoch validation in its `log.csv`: free-running, "
        f"z = posterior mean, on the {s.get('val_windows', 'validation')} validation windows; the last "
        "step both runs of a pair reached):",
        "",
        dc.md_table(["cells", "steps", "flat step acc.", "hierarchical step acc.", "flat F1",
                     "hierarchical F1"], equal_step_rows(results)),
        "",
        "## What it means",
        "",
    ]
    for cell in s["cells"]:
        f, h = by.get((cell, "flat")), by.get((cell, "hierarchical"))
        if not (f and h):
            continue
        ds_ = h["sampled"]["step_accuracy"] - f["sampled"]["step_accuracy"]
        dt = h["teacher_forced"]["step_accuracy"] - f["teacher_forced"]["step_accuracy"]
        gap_f = f["teacher_forced"]["step_accuracy"] - f["sampled"]["step_accuracy"]
        gap_h = h["teacher_forced"]["step_accuracy"] - h["sampled"]["step_accuracy"]
        if abs(ds_) < RESOLVED:
            verdict = (f"No resolved difference at this budget (|Δ| < {RESOLVED}; compare the equal-step "
                       "validation table, measured on other windows).")
        elif ds_ > 0:
            verdict = "The conductor lifts free-running accuracy at this budget."
        else:
            verdict = "The flat decoder is ahead at this budget."
        lines.append(
            f"- **{cell}**: hierarchical minus flat = {ds_:+.3f} sampled, {dt:+.3f} teacher-forced "
            f"(exact step accuracy on the test windows). Teacher-forced minus sampled: flat {gap_f:+.3f}, "
            f"hierarchical {gap_h:+.3f}. {verdict}")
    gaps = [r["teacher_forced"]["step_accuracy"] - r["sampled"]["step_accuracy"] for r in results["runs"]]
    if gaps and max(abs(g) for g in gaps) < RESOLVED:
        lines.append(
            f"- Teacher-forced and sampled accuracy differ by less than {max(abs(g) for g in gaps):.3f} in "
            "every run: at this budget the decoders have not learnt to lean on their previous step, so the "
            "free-running drift (exposure bias) that MusicVAE's hierarchical decoder is built to stop does "
            "not arise yet (sampled accuracy from bar 1 to bar 4: "
            + ", ".join(f"{r['cell']}/{r['decoder']} {_bar_drop(r):+.3f}" for r in results["runs"])
            + "). What the "
            "hierarchy costs or buys at this size is then mostly capacity and optimisation speed, not "
            "long-range stability.")
    lines += [
        "- MusicVAE's Table 1, **as recalled** (not checked against the paper here): 16-bar drums, "
        "sampled accuracy about 0.55 flat vs 0.88 hierarchical; 2-bar drums about 0.98 teacher-forced, "
        "above 0.9 sampled. Their sequences are 4× longer (16 bars), their data (Lakh MIDI drums) and "
        "training far larger.",
        _direction_sentence(results),
        "- The sampled/teacher-forced gap of an autoregressive decoder is exposure bias: an early error "
        "is fed back and later steps drift. A per-bar decoder restarted from a conductor embedding "
        "cannot drift across bars; the per-bar table shows whether accuracy falls with bar position.",
        "",
    ]
    for sub in sorted(p for p in out.iterdir() if (p / "results.json").exists()) if out.exists() else []:
        lines += _sub_study_section(sub)
    return "\n".join(lines)


def _sub_study_section(sub: Path) -> list[str]:
    """A summary of a longer-budget run of the same study kept in a sub-folder, with its link."""
    r2 = json.loads((sub / "results.json").read_text())
    st = r2["settings"]
    rows = [[r["cell"], r["decoder"], r["teacher_forced"]["step_accuracy"], r["sampled"]["step_accuracy"],
             r["teacher_forced"]["step_accuracy"] - r["sampled"]["step_accuracy"], r["sampled"]["f1"],
             _bar_drop(r), f"{r['train_seconds']:.0f}"] for r in r2["runs"]]
    return [
        f"## Longer budget: {st['optimiser_steps']} optimiser steps per run",
        "",
        f"The same study with {st['epochs']} epochs; full report, figures and numbers in "
        f"[{sub.name}/report.md]({sub.name}/report.md). Command:",
        "",
        "```",
        r2["command"],
        "```",
        "",
        dc.md_table(["cells", "decoder", "step acc. teacher-forced", "step acc. sampled",
                     "teacher-forced − sampled", "F1 sampled", "bar 4 − bar 1 (sampled)", "train s"], rows),
        *[_pair_sentence(r2, cell) for cell in st["cells"]],
        "",
    ]


def _pair_sentence(results: dict[str, Any], cell: str) -> str:
    by = {r["decoder"]: r for r in results["runs"] if r["cell"] == cell}
    if set(by) != {"flat", "hierarchical"}:
        return ""
    d = by["hierarchical"]["sampled"]["step_accuracy"] - by["flat"]["sampled"]["step_accuracy"]
    gf, gh = (by[k]["teacher_forced"]["step_accuracy"] - by[k]["sampled"]["step_accuracy"]
              for k in ("flat", "hierarchical"))
    who = ("no resolved difference" if abs(d) < RESOLVED else
           ("hierarchical ahead" if d > 0 else "flat ahead"))
    gap = (f"an exposure-bias gap (teacher-forced − sampled) of {gf:.3f} flat vs {gh:.3f} hierarchical"
           if max(gf, gh) >= RESOLVED else "no exposure-bias gap yet")
    return (f"- {cell} at this budget: {who} (sampled {d:+.3f}); {gap}. ")


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=str(dc.GROOVE_DIR))
    p.add_argument("--runs-dir", default="runs/studies/hierarchical")
    p.add_argument("--cells", nargs="+", default=["gru", "conv"], choices=["gru", "lstm", "conv"])
    p.add_argument("--train", type=int, default=4800)
    p.add_argument("--val", type=int, default=300)
    p.add_argument("--test", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--max-minutes", type=float, default=30.0, help="wall-clock cap per run (safety)")


def _quick(args: argparse.Namespace) -> None:
    args.epochs = 1


def _load(args: argparse.Namespace) -> dict[str, Any]:
    """results.json, completed with the training curves of its runs where they are missing."""
    results = skeleton.read_results(args)
    add_curves(results, Path(args.runs_dir))
    if not args.smoke:
        results["settings"].setdefault("val_windows", args.val)
    skeleton.write_results(results, args)
    return results


def _report(results: dict[str, Any], args: argparse.Namespace) -> str:
    plot(results, args.out / "per_bar_accuracy.png")
    return report(results, args.out)


STUDY = skeleton.Study(module=MODULE, description=__doc__.splitlines()[0], arguments=_arguments, run=run,
                       report=_report, smoke="tiny model on synthetic data, 1 batch per run",
                       quick=_quick, load=_load)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
