"""Transitions A → B over 8 bars: the three strategies of engine/generation/transitions.py.

Over held-out (test split) pattern pairs A, B (2-bar windows from different files), each
strategy of :func:`engine.generation.transitions.transition` (1 latent interpolation bar by bar,
2 teacher forcing with a Bernoulli mix, 3 both) makes an 8-bar transition, and two
model-free references are measured beside them: a hard **cut** (A for 4 bars, then B)
and the raw **Bernoulli mix** that strategies 2/3 feed the decoder.

Per transition, with the five attributes measured per output bar and divided by the data's
std (per-bar attributes of the test windows):

* **smoothness** — mean |second difference| of the per-bar attributes (0 on a straight
  line from A to B); and the mean |first difference| (step size);
* **monotonicity** — for attributes where A and B differ by > 0.25 std, the share of the
  bar-to-bar moves that do not go against the direction from A to B;
* **ends** — onset F1 of the first output bar vs A's first bar and of the last output bar
  vs B's bar at the same phase (``training.evaluate.reconstruction_metrics``);
* **realism along the way** — per bar position, the attribute W1 distance between the
  transitions' bars and the test split's bars, over the data's std, averaged over attributes.

Run::

    python -m training.studies.transitions --data ../shared/data/groove \
        --checkpoint checkpoints/default.pt --out docs/studies/transitions
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.music import attributes as attr_lib
from engine.music.drums import NUM_VOICES
from training.studies import drum_common as dc
from training.studies import skeleton

MODULE = "training.studies.transitions"
METHODS = ("cut", "mix", "strategy 1", "strategy 2", "strategy 3")


# -- pure metrics ------------------------------------------------------------------------


def bar_attributes(arr: np.ndarray, names: Sequence[str], steps_per_bar: int = 16) -> np.ndarray:
    """``(T, 27)`` pattern → ``(bars, A)`` attributes of each bar on its own."""
    a = np.asarray(arr, np.float64)
    bars = a.shape[0] // steps_per_bar
    return attr_lib.compute(a[: bars * steps_per_bar].reshape(bars, steps_per_bar, a.shape[1]), names)


def smoothness(curves: np.ndarray) -> dict[str, float]:
    """Mean |second difference| and mean |first difference| of ``(bars, A)`` normalised curves."""
    c = np.asarray(curves, np.float64)
    return {"second_diff": float(np.mean(np.abs(np.diff(c, n=2, axis=0)))) if len(c) > 2 else 0.0,
            "first_diff": float(np.mean(np.abs(np.diff(c, axis=0)))) if len(c) > 1 else 0.0}


def monotonicity(curves: np.ndarray, start: np.ndarray, end: np.ndarray, min_gap: float = 0.25,
                 tol: float = 1e-9) -> float:
    """Share of bar-to-bar moves not against the direction start → end, over the attributes
    whose start and end differ by more than ``min_gap`` (NaN when none does)."""
    c = np.asarray(curves, np.float64)
    direction = np.sign(np.asarray(end, np.float64) - np.asarray(start, np.float64))
    keep = np.abs(np.asarray(end) - np.asarray(start)) > min_gap
    if not keep.any():
        return float("nan")
    d = np.diff(c[:, keep], axis=0) * direction[keep]
    return float(np.mean(d >= -tol))


def onset_f1(true: np.ndarray, pred: np.ndarray) -> float:
    """Onset F1 of predicted ``(T, 27)`` vs true ``(T, 27)`` (reconstruction_metrics)."""
    from training.evaluate import reconstruction_metrics

    t, p = np.asarray(true)[None], np.asarray(pred)[None]
    n = NUM_VOICES
    return reconstruction_metrics(t, p[..., :n], p[..., n:2 * n], p[..., 2 * n:], np.array([120.0]))["f1"]


def hard_cut(a: np.ndarray, b: np.ndarray, bars: int, steps_per_bar: int = 16) -> np.ndarray:
    """A looped for the first half of ``bars``, B looped (in phase) for the rest."""
    la = np.concatenate([a] * bars)[: bars * steps_per_bar]
    lb = np.concatenate([b] * bars)[: bars * steps_per_bar]
    half = (bars // 2) * steps_per_bar
    return np.concatenate([la[:half], lb[half:]])


# -- the study -----------------------------------------------------------------------------


def choose_pairs(sources: np.ndarray, n: int, seed: int = 0) -> list[tuple[int, int]]:
    """``n`` index pairs (i, j) of windows from different files, seeded."""
    rng = np.random.default_rng(seed)
    pairs: list[tuple[int, int]] = []
    while len(pairs) < n:
        i, j = rng.integers(0, len(sources), 2)
        if sources[i] != sources[j]:
            pairs.append((int(i), int(j)))
    return pairs


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from engine.generation.generator import Generator
    from engine.generation.transitions import bernoulli_mix, transition
    from engine.music.pattern import Pattern
    from training.evaluate import wasserstein_1d

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    gen = Generator.from_checkpoint(args.checkpoint)
    spb = gen.steps_per_bar
    ds = dc.load_groove(args.data, args.smoke)
    test = ds.subset("test")
    names = list(gen.attribute_names)
    x = np.asarray(test.patterns, np.float32)
    sources = np.asarray(getattr(test, "source", np.arange(len(x))).astype(str))
    data_bars = attr_lib.compute(x.reshape(-1, spb, x.shape[2]), names)  # every bar of the test windows
    std = np.maximum(data_bars.std(0), 1e-9)
    pairs = choose_pairs(sources, args.pairs, seed=0)
    bars = args.bars
    per_method: dict[str, list[dict[str, Any]]] = {m: [] for m in METHODS}
    bar_attrs: dict[str, list[np.ndarray]] = {m: [] for m in METHODS}
    examples: list[dict[str, Any]] = []
    for k, (i, j) in enumerate(pairs):
        a, b = x[i], x[j]
        pa, pb = Pattern.from_array(a, spb), Pattern.from_array(b, spb)
        outs = {"cut": hard_cut(a, b, bars, spb),
                "mix": bernoulli_mix(pa, pb, bars, seed=k).to_array()}
        for s in (1, 2, 3):
            outs[f"strategy {s}"] = transition(gen, pa, pb, bars, s, seed=k).to_array()
        start = attr_lib.compute(a[None, :spb], names)[0] / std
        end = attr_lib.compute(b[None, ((bars - 1) % 2) * spb:((bars - 1) % 2 + 1) * spb], names)[0] / std
        for m, arr in outs.items():
            curves = bar_attributes(arr, names, spb) / std
            bar_attrs[m].append(curves * std)
            per_method[m].append({
                **smoothness(curves), "monotone": monotonicity(curves, start, end),
                "f1_first_vs_a": onset_f1(a[:spb], arr[:spb]),
                "f1_last_vs_b": onset_f1(b[((bars - 1) % 2) * spb:((bars - 1) % 2 + 1) * spb],
                                         arr[(bars - 1) * spb:bars * spb])})
        if k < args.examples:
            examples.append({"pair": [i, j], "a": a.tolist(), "b": b.tolist(),
                             **{m: outs[m].tolist() for m in METHODS}})
    summary: dict[str, Any] = {}
    for m in METHODS:
        rows = per_method[m]
        ba = np.stack(bar_attrs[m])  # (pairs, bars, A)
        realism = [float(np.mean([wasserstein_1d(ba[:, t, q], data_bars[:, q]) / std[q]
                                  for q in range(len(names))])) for t in range(bars)]
        summary[m] = {key: float(np.nanmean([r[key] for r in rows])) for key in rows[0]}
        for key in list(rows[0]):
            vals = np.asarray([r[key] for r in rows], np.float64)
            vals = vals[np.isfinite(vals)]
            summary[m][f"{key}_se"] = float(vals.std(ddof=1) / np.sqrt(len(vals))) if len(vals) > 1 else 0.0
        summary[m]["realism_per_bar"] = realism
        summary[m]["realism_mean"] = float(np.mean(realism))
        summary[m]["mean_curve"] = (ba / std).mean(0).tolist()
    return {"checkpoint": str(args.checkpoint),
            "checkpoint_metrics": {k: gen.meta.get("metrics", {}).get(k) for k in
                                   ("epoch", "total_train_minutes", "val_step_acc", "val_onset_f1")},
            "settings": {"pairs": len(pairs), "bars": bars, "test_windows": int(len(x)),
                         "attributes": names, "temperature": 0.0, "smoke": bool(args.smoke)},
            "summary": summary, "examples": examples,
            "wall_minutes": round((time.perf_counter() - t0) / 60, 2)}


# -- figures, clips, report ------------------------------------------------------------------


def plot_examples(results: dict[str, Any], path: Path) -> None:
    plt = dc.pyplot()
    ex = results["examples"]
    rows = ["a", "b", *METHODS]
    fig, axes = plt.subplots(len(rows), len(ex), figsize=(5.2 * len(ex), 0.95 * len(rows) + 0.5),
                             squeeze=False)
    for c, e in enumerate(ex):
        for r, key in enumerate(rows):
            title = {"a": "A (2 bars)", "b": "B (2 bars)"}.get(key, key)
            dc.draw_grid(axes[r, c], np.asarray(e[key]), voice_labels=(c == 0))
            axes[r, c].set_ylabel(title, fontsize=7) if c == 0 else None
        axes[0, c].set_title(f"pair {c + 1}", fontsize=8)
    fig.suptitle("example transitions over 8 bars (red lines = bars; velocity as shade)", fontsize=8)
    fig.tight_layout()
    dc.save_figure(fig, path)


def plot_curves(results: dict[str, Any], path: Path) -> None:
    plt = dc.pyplot()
    names = results["settings"]["attributes"]
    s = results["summary"]
    fig, axes = plt.subplots(1, 2 + 0, figsize=(10, 3.0))
    for m in METHODS:
        axes[0].plot(range(1, len(s[m]["realism_per_bar"]) + 1), s[m]["realism_per_bar"], "o-", ms=3, label=m)
    axes[0].set_xlabel("output bar")
    axes[0].set_ylabel("mean W1/std to the data's bars")
    axes[0].set_title("realism along the way (lower = more data-like)", fontsize=8)
    axes[0].legend(fontsize=6)
    axes[0].grid(alpha=0.3)
    q = names.index("density") if "density" in names else 0
    for m in METHODS:
        curve = np.asarray(s[m]["mean_curve"])[:, q]
        axes[1].plot(range(1, len(curve) + 1), curve, "o-", ms=3, label=m)
    axes[1].set_xlabel("output bar")
    axes[1].set_ylabel(f"mean {names[q]} / data std")
    axes[1].set_title(f"mean {names[q]} per bar over all pairs", fontsize=8)
    axes[1].grid(alpha=0.3)
    fig.tight_layout()
    dc.save_figure(fig, path)


def write_clips(results: dict[str, Any], out: Path) -> list[str]:
    from engine.music.midifile import write_clip
    from engine.music.pattern import Pattern

    names = []
    (out / "clips").mkdir(parents=True, exist_ok=True)
    for c, e in enumerate(results["examples"]):
        for m in ("strategy 1", "strategy 2", "strategy 3"):
            name = f"pair{c + 1}_{m.replace(' ', '')}.mid"
            write_clip(out / "clips" / name, Pattern.from_array(np.asarray(e[m], np.float32), 16),
                       tempo_bpm=120, force=True)
            (out / "clips" / name).chmod(0o644)
            names.append(name)
    return names


def save_examples(examples: Sequence[dict[str, Any]], path: Path) -> None:
    """The example patterns (pairs × [a, b, methods]) as one compressed .npz (not JSON: size)."""
    dc.write_npz(path, {f"{c}|{k}": np.asarray(v, np.float32) for c, e in enumerate(examples)
                        for k, v in e.items()})


def load_examples(path: Path) -> list[dict[str, Any]]:
    with np.load(path) as z:
        keys = list(z.keys())
        n = 1 + max(int(k.split("|")[0]) for k in keys) if keys else 0
        out: list[dict[str, Any]] = [{} for _ in range(n)]
        for k in keys:
            c, name = k.split("|", 1)
            out[int(c)][name] = z[k]
    return out


def _middle_dip(results: dict[str, Any]) -> list[str]:
    """A bullet on the mid-transition dip of density under latent interpolation, when there is one."""
    names = results["settings"]["attributes"]
    if "density" not in names:
        return []
    q = names.index("density")
    out = []
    for m in ("strategy 1", "strategy 3"):
        c = np.asarray(results["summary"][m]["mean_curve"])[:, q]
        ends = (c[0] + c[-1]) / 2
        k = int(np.argmin(c))
        if 0 < k < len(c) - 1 and c[k] < min(c[0], c[-1]):
            out.append(f"{m}: bar {k + 1} at {c[k]:.2f} vs ends {c[0]:.2f}/{c[-1]:.2f} "
                       f"({c[k] - ends:+.2f} std)")
    if not out:
        return []
    return ["- Mean density sags in the middle of latent-interpolated transitions (" + "; ".join(out)
            + "), and realism is worst there (curves figure). A likely cause, not measured here: a "
            "straight line between two latents passes through z of smaller norm than either end, away "
            "from where the posterior puts real grooves; MusicVAE interpolates spherically (slerp) for "
            "this reason, `engine/generation/transitions.py` strategy 1 interpolates linearly "
            "(`Generator.interpolate` offers slerp)."]


def report(results: dict[str, Any], out: Path, clips: Sequence[str]) -> str:
    s, st = results["summary"], results["settings"]
    def pm(m: str, key: str) -> str:
        return f"{s[m][key]:.3f} ± {s[m][key + '_se']:.3f}"

    rows = [[m, pm(m, "second_diff"), pm(m, "first_diff"), pm(m, "monotone"), pm(m, "f1_first_vs_a"),
             pm(m, "f1_last_vs_b"), s[m]["realism_mean"], max(s[m]["realism_per_bar"])] for m in METHODS]
    table = dc.md_table(["method", "mean abs 2nd diff (std/bar²) ↓", "mean abs 1st diff (std/bar)",
                         "monotone share ↑", "F1 first bar vs A ↑", "F1 last bar vs B ↑",
                         "realism mean W1/std ↓", "realism worst bar ↓"], rows)
    model_rows = [m for m in METHODS if m.startswith("strategy")]

    def leaders(key: str, lower: bool) -> str:
        """The strategies within 2 standard errors of the best on ``key``."""
        best = (min if lower else max)(model_rows, key=lambda m: s[m][key])
        se = s[best][f"{key}_se"]
        near = [m for m in model_rows if abs(s[m][key] - s[best][key]) <= 2 * max(se, s[m][f"{key}_se"])]
        return " and ".join(f"**{m}** ({s[m][key]:.3f})" for m in near)

    real = min(model_rows, key=lambda m: s[m]["realism_mean"])
    lines = [
        "# Transitions A → B over 8 bars: the three strategies",
        "",
        "Strategies of `engine/generation/transitions.py`: (1) latent linear interpolation bar by "
        "bar, knobs interpolated too; (2) teacher forcing with a Bernoulli mix of A and B (step t from B "
        "with probability t/(S−1)); (3) both. Two model-free references: a hard **cut** (A for 4 bars, "
        "then B) and the raw Bernoulli **mix** that 2 and 3 feed to the decoder.",
        "",
        "## Command",
        "",
        "```",
        results["command"],
        "```",
        "",
        f"Checkpoint `{results['checkpoint']}` (training metrics in its metadata: "
        f"{results['checkpoint_metrics']}). Wall time {results['wall_minutes']} min, torch on 1 thread.",
        "",
        "## Settings",
        "",
        f"- {st['pairs']} pairs (A, B) of 2-bar windows from the **test split** ({st['test_windows']} "
        "windows), A and B from different files, drawn with seed 0; transitions of "
        f"{st['bars']} bars, greedy decoding (temperature 0), mix seed = pair index.",
        f"- Attributes ({', '.join(st['attributes'])}) measured on each output bar on its own and "
        "divided by the std of the same per-bar attributes over every bar of the test windows.",
        "- Smoothness: mean |second difference| across the 8 bars (0 for a straight line); step size: "
        "mean |first difference|. Monotone share: over attributes where A's first bar and B's last-phase "
        "bar differ by > 0.25 std, the share of the 7 bar-to-bar moves not against the A → B direction.",
        "- Ends: onset F1 of output bar 1 vs A's bar 1 and of output bar 8 vs B's bar 2 (the bar at the "
        "same phase of the 2-bar loop).",
        "- Table cells: mean over pairs ± standard error.",
        "- Realism: per output bar, 1-D Wasserstein distance between the pairs' bar attributes and all "
        "test bars' attributes, / std, averaged over attributes; table: mean over the 8 bars and worst bar.",
        "",
        "## Results",
        "",
        table,
        "![realism per bar and mean density curve](curves.png)",
        "",
        "![example transitions](examples.png)",
        "",
        "Example clips (120 BPM, 8 bars; rows of the picture above): "
        + ", ".join(f"[`{c}`](clips/{c})" for c in clips) + ".",
        "",
        "## What it means",
        "",
        f"- Smoothest (lowest second difference, within 2 SE of the best): {leaders('second_diff', True)}; "
        f"cut {s['cut']['second_diff']:.3f}, raw mix {s['mix']['second_diff']:.3f}.",
        f"- Most monotone: {leaders('monotone', False)}.",
        f"- Most data-like along the way (mean W1/std, no SE: one distance per bar position): **{real}** "
        f"({s[real]['realism_mean']:.3f}; strategies: "
        + ", ".join(f"{m} {s[m]['realism_mean']:.3f}" for m in model_rows)
        + f"; raw mix {s['mix']['realism_mean']:.3f}, cut {s['cut']['realism_mean']:.3f}). The cut is made "
        "of real test bars only, so its distance is what this many real bars score: the noise floor of "
        "the measure at this sample size.",
        f"- Ends: first bar vs A {leaders('f1_first_vs_a', False)}; last bar vs B "
        f"{leaders('f1_last_vs_b', False)}. Strategies 1 and 3 decode the end bars from A's and B's own "
        "latents (and knobs), so their ends are reconstructions of A and B; strategy 2 takes z and knobs "
        "from the mixed windows themselves, so its last bar is the decoder's reading of a window that is "
        "still partly A.",
        "- A and B are 2-bar loops whose two bars differ, so even the hard cut's per-bar attributes "
        "zig-zag inside A's and B's halves: the cut row shows what the unprocessed material gives for "
        f"smoothness ({s['cut']['second_diff']:.3f}) and monotone share ({s['cut']['monotone']:.3f}). "
        "A strategy below the cut's second difference is smoother than the material itself.",
        *_middle_dip(results),
        "- Strategies 1 and 3 land within a standard error of each other on every measure: once z and "
        "the knobs come from the interpolation, feeding the Bernoulli mix as teacher changes little of "
        "what this decoder (a causal conv decoder trained with a teacher on 30 % of its batches) "
        "outputs. Strategy 2 alone lets the mix steer, and is the least monotone and the least "
        "faithful to B at the end.",
        "- ± values are standard errors over the pairs (one checkpoint, one mix seed per pair, greedy "
        "decoding); differences smaller than about twice the SE are not resolved by this sample.",
        "",
    ]
    return "\n".join(lines)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=str(dc.GROOVE_DIR))
    p.add_argument("--checkpoint", required=True, help="a 2-bar (fader-)VAE checkpoint")
    p.add_argument("--pairs", type=int, default=60)
    p.add_argument("--bars", type=int, default=8)
    p.add_argument("--examples", type=int, default=3)


def _save(results: dict[str, Any], args: argparse.Namespace) -> None:
    """The example patterns go to examples.npz, the rest to results.json."""
    save_examples(results["examples"], args.out / "examples.npz")
    skeleton.write_results({k: v for k, v in results.items() if k != "examples"}, args)


def _report(results: dict[str, Any], args: argparse.Namespace) -> str:
    out = args.out
    results["examples"] = load_examples(out / "examples.npz")
    plot_examples(results, out / "examples.png")
    plot_curves(results, out / "curves.png")
    clips = write_clips(results, out)
    return report(results, out, clips)


STUDY = skeleton.Study(module=MODULE, description=__doc__.splitlines()[0], arguments=_arguments, run=run,
                       report=_report, smoke="synthetic grooves as the test windows", save=_save)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
