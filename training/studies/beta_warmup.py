"""KL weight β and KL warm-up on the drum model.

Trains the same small fader-VAE once per (β, warm-up) setting on the same Groove subset
with the same number of optimiser steps, then measures each checkpoint with the metric
functions of :mod:`training.evaluate` through :class:`engine.generation.generator.Generator`:

* reconstruction of validation windows, not teacher-forced (z = posterior mean, knobs =
  the window's attributes): per-step exact accuracy, onset F1;
* KL(q(z|x) ‖ N(0, I)) in nats and active units (Var_x E[z|x] > 0.01);
* realism of prior samples: attribute-distribution W1 distance to the validation windows
  over the data's std (mean over attributes), greedy hits;
* a picture of decoded prior samples per setting.

Warm-up = β rising linearly from 0 over the first half of the steps (Sønderby et al. 2016,
Bowman et al. 2016); without it β is at its final value from step 0. Free bits are off in
this study (``free_bits = 0``) so that β acts on every nat of KL.

Run::

    python -m training.studies.beta_warmup --data ../shared/data/groove \
        --out docs/studies/beta_warmup
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training.studies import drum_common as dc
from training.studies import skeleton

MODULE = "training.studies.beta_warmup"
BETAS = (0.0, 0.5, 1.0, 2.0, 4.0)


def settings_grid(betas: Sequence[float]) -> list[tuple[float, bool]]:
    """(β, warm-up) pairs: every β without and with warm-up."""
    return [(float(b), w) for b in betas for w in (False, True)]


def run_name(beta: float, warmup: bool) -> str:
    return f"beta{beta:g}_{'warmup' if warmup else 'nowarmup'}"


def measure(ckpt: Path, val: Any, realism_samples: int, seed: int = 0) -> dict[str, Any]:
    """Reconstruction, latent usage, realism and 4 decoded prior samples of one checkpoint."""
    from engine.generation.generator import Generator
    from training.evaluate import EvalConfig, evaluate_realism, evaluate_reconstruction

    gen = Generator.from_checkpoint(ckpt)
    rec = evaluate_reconstruction(gen, val, batch_size=512)
    real = evaluate_realism(gen, val, EvalConfig(realism_samples=realism_samples, batch_size=512, seed=seed))
    from engine.music import attributes as attr_lib

    data_attrs = attr_lib.compute(val.patterns, gen.attribute_names)
    rng = np.random.default_rng(seed + 7)
    z = gen.sample(4, seed=seed + 8)
    knobs = data_attrs[rng.integers(0, len(data_attrs), 4)] if gen.model_kind != "vae" else None
    samples = gen.decode_batch(z, knobs).to_array()
    return {"reconstruction": rec["reconstruction"], "latent": rec["latent"],
            "realism_greedy": real["greedy"], "realism_sampled": real["sampled"],
            "samples": samples.round(3).tolist()}


def shipped_setting(repo: Path) -> dict[str, Any]:
    """β, free bits and KL warm-up of the shipped checkpoint, from its metadata (the warm-up
    from the training config the checkpoint records)."""
    meta_path = repo / "checkpoints" / "default.json"
    if not meta_path.exists():
        return {"source": None}
    meta = json.loads(meta_path.read_text())
    cfg = meta.get("config", {})
    out = {"source": str(meta_path.relative_to(repo)), "beta": cfg.get("beta"),
           "free_bits": cfg.get("free_bits"), "val_kl": meta.get("metrics", {}).get("val_kl")}
    train_cfg = (meta.get("training") or {}).get("config") or {}
    if "beta_warmup_steps" in train_cfg:
        out["beta_warmup_steps"] = train_cfg["beta_warmup_steps"]
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    t_start = time.perf_counter()
    ds = dc.load_groove(args.data, args.smoke)
    if not args.smoke:
        ds = dc.subset(ds, args.train, args.val, 0, seed=0)
    n_train = int(np.sum(np.asarray(ds.split) == "train"))
    steps_per_epoch = -(-n_train // args.batch)
    total_steps = steps_per_epoch * args.epochs
    warm_steps = max(1, total_steps // 2)
    val = dc.eval_data(ds, "validation")
    preset = "tiny" if args.smoke else args.preset
    results: dict[str, Any] = {
        "settings": {"preset": preset, "model_overrides": {"free_bits": 0.0}, "train_windows": n_train,
                     "validation_windows": int(len(val.patterns)), "batch_size": args.batch,
                     "epochs": args.epochs, "optimiser_steps": total_steps, "warmup_steps": warm_steps,
                     "realism_samples": args.realism_samples, "betas": list(args.betas),
                     "torch_threads": 1, "lr_decay": 1.0, "seed": 0, "smoke": bool(args.smoke)},
        "runs": [],
    }
    for beta, warm in settings_grid(args.betas):
        name = run_name(beta, warm)
        ckpt, secs = dc.train_small(Path(args.runs_dir) / name, ds, preset=preset,
                                    model={"free_bits": 0.0, "beta": beta}, epochs=args.epochs,
                                    batch_size=args.batch, beta_warmup_steps=warm_steps if warm else 0,
                                    smoke=args.smoke)
        m = measure(ckpt, val, args.realism_samples)
        results["runs"].append({"beta": beta, "warmup": warm, "train_seconds": round(secs, 1), **m})
        r = m["reconstruction"]
        print(f"{name}: step-acc {r['step_accuracy']:.3f} f1 {r['f1']:.3f} kl {m['latent']['kl_nats']:.1f} "
              f"active {m['latent']['active_units']} realism {m['realism_greedy']['mean']:.3f} "
              f"[{secs:.0f} s]", flush=True)
    results["shipped"] = shipped_setting(Path(__file__).resolve().parents[2])
    results["wall_minutes"] = round((time.perf_counter() - t_start) / 60, 2)
    return results


# -- figures and report ------------------------------------------------------------------


def save_samples(results: dict[str, Any], path: Path) -> None:
    """Move each run's decoded prior samples into one .npz (keys = run index), out of the JSON."""
    dc.write_npz(path, {str(i): np.asarray(r.pop("samples"), np.float32)
                        for i, r in enumerate(results["runs"])})


def plot_metrics(results: dict[str, Any], path: Path) -> None:
    plt = dc.pyplot()
    panels = (("onset F1 (validation, not teacher-forced)", lambda r: r["reconstruction"]["f1"]),
              ("exact step accuracy", lambda r: r["reconstruction"]["step_accuracy"]),
              ("KL (nats / window)", lambda r: r["latent"]["kl_nats"]),
              ("active units", lambda r: r["latent"]["active_units"]),
              ("prior samples: mean W1/std (lower = more realistic)", lambda r: r["realism_greedy"]["mean"]))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.0 * len(panels), 2.8))
    for ax, (title, get) in zip(axes, panels, strict=True):
        for warm, style in ((False, "o-"), (True, "s--")):
            rows = [r for r in results["runs"] if r["warmup"] == warm]
            ax.plot([r["beta"] for r in rows], [get(r) for r in rows], style,
                    label="warm-up" if warm else "no warm-up")
        ax.set_xlabel("β")
        ax.set_title(title, fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    dc.save_figure(fig, path)


def plot_samples(results: dict[str, Any], path: Path) -> None:
    plt = dc.pyplot()
    runs = results["runs"]
    n = len(runs[0]["samples"])
    fig, axes = plt.subplots(len(runs), n, figsize=(2.2 * n, 0.9 * len(runs) + 0.4), squeeze=False)
    for i, r in enumerate(runs):
        for j in range(n):
            dc.draw_grid(axes[i, j], np.asarray(r["samples"][j]), voice_labels=(j == 0))
            if j == 0:
                axes[i, j].set_ylabel(f"β={r['beta']:g}\n{'warm' if r['warmup'] else 'no warm'}",
                                      fontsize=6)
    fig.suptitle("decoded prior samples (z ~ N(0, I), knobs = attributes of random validation "
                 "windows; rows: setting, columns: the same 4 z)", fontsize=7)
    fig.tight_layout()
    dc.save_figure(fig, path)


def report(results: dict[str, Any]) -> str:
    """The Markdown report of ``results`` (figures drawn by the caller)."""
    s = results["settings"]
    rows = []
    for r in results["runs"]:
        rec, lat = r["reconstruction"], r["latent"]
        rows.append([f"{r['beta']:g}", "yes" if r["warmup"] else "no", rec["step_accuracy"], rec["f1"],
                     rec["velocity_mae_midi"], lat["kl_nats"], f"{lat['active_units']} / {lat['z_dim']}",
                     r["realism_greedy"]["mean"], r["realism_sampled"]["mean"], f"{r['train_seconds']:.0f}"])
    table = dc.md_table(["β", "warm-up", "exact step acc.", "onset F1", "velocity MAE", "KL (nats)",
                         "active units", "prior W1/std (greedy)", "prior W1/std (sampled)",
                         "train s"], rows)
    by = {(r["beta"], r["warmup"]): r for r in results["runs"]}
    best_real = min(results["runs"], key=lambda r: r["realism_greedy"]["mean"])
    best_rec = max(results["runs"], key=lambda r: r["reconstruction"]["f1"])
    sh = results.get("shipped", {})
    lines = [
        "# KL weight β and KL warm-up on the drum model",
        "",
        "The same small fader-VAE trained once per setting "
        f"(β ∈ {{{', '.join(f'{b:g}' for b in s['betas'])}}} × with/without KL warm-up), "
        "same data, same number of optimiser steps, same seed; each checkpoint measured with "
        "the metric functions of `training/evaluate.py` (through `engine.generation.generator.Generator`).",
        "",
        "## Command",
        "",
        "```",
        results["command"],
        "```",
        "",
        f"Wall time of the whole study: {results['wall_minutes']} min on a 2-core machine "
        "(torch on 1 thread, `nice -n 10`, other jobs running alongside).",
        "",
        "## Settings (scaled down for this CPU)",
        "",
        f"- Model: preset `{s['preset']}` (the shipped architecture: conv encoder, causal conv decoder "
        f"with attributes at every layer, latent discriminator) with **free bits 0** (the shipped model "
        "uses 48: see below) and β as in the table.",
        f"- Data: a fixed random subset of the Groove MIDI 2-bar windows: {s['train_windows']} train "
        f"windows (of ~15.6k), {s['validation_windows']} validation windows for every figure below.",
        f"- Budget: {s['epochs']} epochs × batch {s['batch_size']} = **{s['optimiser_steps']} optimiser "
        "steps per run** (about 1–2 minutes each here; the shipped run takes ~40 min), constant "
        "learning rate 1e-3.",
        f"- Warm-up: β rises linearly from 0 to its final value over the first {s['warmup_steps']} steps "
        "(half the run); without warm-up β is at its value from step 0.",
        "- The adversarial weight ramps over 10,000 steps (training default), so in these short runs "
        f"it stays below {s['optimiser_steps'] / 10000:.2f}: the study is about the KL term, not the "
        "discriminator.",
        "- Reconstruction: validation windows, z = posterior mean, knobs = the window's own "
        "attributes, **not teacher-forced** (the decoder's own outputs), hits at p > 0.5.",
        f"- Realism: {s['realism_samples']} prior draws z ~ N(0, I), knobs set to the attributes of "
        "randomly drawn validation windows; per attribute the 1-D Wasserstein distance between the "
        "decoded samples' attributes and the validation windows' divided by the data's std, averaged "
        "over the 5 attributes (0 = same distributions). Greedy = hits at p > 0.5, sampled = "
        "Bernoulli hits.",
        "",
        "## Results",
        "",
        table,
        "![metrics against β](metrics_vs_beta.png)",
        "",
        "![decoded prior samples per setting](prior_samples.png)",
        "",
        "## What it means",
        "",
    ]
    b0 = by.get((0.0, False))
    hi = max(s["betas"])
    bh = by.get((hi, False))
    if b0 and bh:
        nowarm = sorted((r for r in results["runs"] if not r["warmup"]),
                        key=lambda r: r["realism_greedy"]["mean"])
        rank = [r["beta"] for r in nowarm].index(0.0) + 1
        lines.append(
            f"- Without warm-up, β = 0 (an autoencoder with noise): KL {b0['latent']['kl_nats']:.0f} nats, "
            f"{b0['latent']['active_units']} active units, onset F1 {b0['reconstruction']['f1']:.3f}, "
            f"prior-sample W1/std {b0['realism_greedy']['mean']:.3f} (rank {rank} of {len(nowarm)} for "
            f"realism, 1 = most data-like). At β = {hi:g}: KL {bh['latent']['kl_nats']:.1f} nats, "
            f"{bh['latent']['active_units']} active units, F1 {bh['reconstruction']['f1']:.3f}, W1/std "
            f"{bh['realism_greedy']['mean']:.3f}.")
    lines.append(f"- Best reconstruction (onset F1): β = {best_rec['beta']:g}, "
                 f"{'with' if best_rec['warmup'] else 'without'} warm-up "
                 f"({best_rec['reconstruction']['f1']:.3f}). Most realistic prior samples (greedy): "
                 f"β = {best_real['beta']:g}, {'with' if best_real['warmup'] else 'without'} warm-up "
                 f"(W1/std {best_real['realism_greedy']['mean']:.3f}).")
    warm_gain = [(b, by[(b, True)]["latent"]["kl_nats"] - by[(b, False)]["latent"]["kl_nats"],
                  by[(b, True)]["reconstruction"]["f1"] - by[(b, False)]["reconstruction"]["f1"])
                 for b in s["betas"] if (b, True) in by and (b, False) in by and b > 0]
    if warm_gain:
        desc = "; ".join(f"β={b:g}: KL {dk:+.1f} nats, F1 {df:+.3f}" for b, dk, df in warm_gain)
        biggest = max(abs(df) for _, _, df in warm_gain)
        lines.append(f"- Warm-up minus no warm-up at the same β: {desc}. "
                     + (f"Warm-up changed little here (|ΔF1| ≤ {biggest:.3f}). The failure it guards "
                        "against, posterior collapse of an autoregressive decoder that learns to ignore z "
                        "before the KL cost lets up (Bowman et al. 2016; Sønderby et al. 2016), did not "
                        "occur in these runs without it either; a plausible reason, not tested here, is "
                        "that this conv decoder is not autoregressive in free-running mode, so z is its "
                        "only source of the pattern."
                        if biggest < 0.02 else
                        "Warm-up made a visible difference at some β: see the table."))
    if (0.0, True) in by and (0.0, False) in by:
        lines.append("- The two β = 0 rows are identical: with β = 0 the warm-up has nothing to ramp, and "
                     "the same seed gives the same weights (training is deterministic; only the wall "
                     "time differs, with the machine's load).")
    lines += [
        "- Caveat on realism for a fader-VAE: the prior samples take their knobs from real validation "
        "windows, and the decoder is trained to follow the knobs, so the attribute distance measures "
        "the knobs as much as the prior. A model whose z is far from N(0, I) (β = 0: the KL column) "
        "can still score well on it while its decoded samples look unlike drumming; the sample "
        "pictures show what the number cannot.",
        "- These are short runs on a subset: the absolute accuracies are far below the shipped "
        "model's, and differences of a few thousandths are within run-to-run noise (one seed each). "
        "The trends across β are the finding, not the decimals.",
        "",
        "## The shipped checkpoint's setting",
        "",
    ]
    if sh.get("source"):
        lines.append(
            f"Read from `{sh['source']}`: β = {sh.get('beta')}, free bits = {sh.get('free_bits')}, "
            f"KL warm-up over {sh.get('beta_warmup_steps')} steps (its recorded training config). "
            "GrooVAE's setting is β = 0.2 with 48 free bits (Gillick et al. 2019, Magenta's "
            "`groovae_2bar`). What this study says about it: every step up in β "
            "cost reconstruction (see the F1 column) and, from β = 2, whole latent units; β = 0 "
            "reconstructs best but leaves the posterior hundreds of nats away from N(0, I), so "
            "randomize's z ~ N(0, I) lands where the decoder was not trained (by eye, the β = 0 "
            "samples above are the least grid-like). Free bits let z keep information up to a budget "
            "at no cost and penalise only what goes beyond it; with β = 0.2 on top, the shipped "
            "model's validation KL ended at "
            + (f"{sh['val_kl']:.1f} nats" if isinstance(sh.get("val_kl"), float) else "(not recorded)")
            + " (checkpoint metadata), between the β = 0 and β = 0.5 runs here, with the "
            "reconstruction of a fully trained model. The warm-up costs nothing and is the standard "
            "guard against collapse, though this study did not show it changing the outcome.")
    else:
        lines.append("No shipped checkpoint or run config was found when this report was written.")
    lines.append("")
    return "\n".join(lines)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=str(dc.GROOVE_DIR), help="Groove MIDI folder")
    p.add_argument("--runs-dir", default="runs/studies/beta_warmup", help="training runs (not committed)")
    p.add_argument("--preset", default="fader_2bar")
    p.add_argument("--betas", type=float, nargs="+", default=list(BETAS))
    p.add_argument("--train", type=int, default=6000, help="train windows (random subset)")
    p.add_argument("--val", type=int, default=1000, help="validation windows (random subset)")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--realism-samples", type=int, default=1000)


def _quick(args: argparse.Namespace) -> None:
    args.epochs, args.realism_samples = 1, 32


def _save(results: dict[str, Any], args: argparse.Namespace) -> None:
    """The decoded prior samples go to prior_samples.npz, the rest to results.json."""
    save_samples(results, args.out / "prior_samples.npz")
    skeleton.write_results(results, args)


def _report(results: dict[str, Any], args: argparse.Namespace) -> str:
    out = args.out
    if results["runs"] and "samples" in results["runs"][0]:  # an older results.json: move them out
        _save(results, args)
    with np.load(out / "prior_samples.npz") as z:
        for i, r in enumerate(results["runs"]):
            r["samples"] = z[str(i)]
    results["shipped"] = shipped_setting(Path(__file__).resolve().parents[2])  # as shipped now
    plot_metrics(results, out / "metrics_vs_beta.png")
    plot_samples(results, out / "prior_samples.png")
    return report(results)


STUDY = skeleton.Study(module=MODULE, description=__doc__.splitlines()[0], arguments=_arguments, run=run,
                       report=_report, smoke="tiny model on synthetic data, 1 batch per run",
                       quick=_quick, save=_save)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
