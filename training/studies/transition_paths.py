"""Transition middles a drummer would play: paths through the data against the straight line.

The middle of a transition between two unrelated grooves decodes a latent halfway between
their codes, where no training groove lies: a softer, stiffer groove than any drummer plays
(the realism report's worst surface). Two ways to keep it on the data are measured here
against the current straight path (strategy 3 of ``engine/generation/transitions.py``, the
app's default): the decoder fine-tuned on mixes (``training.mix_finetune``, ACAI) used for
transitions only, and a *data path* (``engine/generation/data_path.py``): the bars between
A and B walk the cheapest chain of links of a k-nearest-neighbour graph of the training
grooves' codes, each bar a training groove decoded with its own attributes, a link into a
groove dearer the more grooves have it among their nearest (``hub_weight``: plain grooves
lie near everything and a plain shortest chain gathers on them).

Each candidate's transition middles (bars 4–5 of 8) are measured as ``groovefader eval``
measures them (classifier two-sample test against held-out windows with the
reconstructions' floor from the same run, MGEval overlaps, micro-timing, voice mix), and on
a second draw of pairs its whole transitions: the ends (onset F1 of the first bar against
A's reconstruction, of the last against B's), and how it moves (hits changed between
neighbouring bars; the hard cut, A then B, for reference).

Selection rule, written before any candidate was scored on this draw (a probe on another
draw of the validation split, seed 1 with 300 transitions, of the straight path and data
paths with hub weights 0, 1 and 3 came first and is why these candidates were chosen):
among the candidates whose transitions (a) keep their ends faithful (mean onset F1 of the
first bar against A's reconstruction and of the last bar against B's both at least 0.95)
and (b) move in steps (the mean over transitions of the largest bar-to-bar change, in hits,
below the hard cut's), the one whose transition middles meet the most realism targets (of
6) on the validation split, ties to the lowest mean of its two C2ST accuracies; it replaces
the straight path only if it beats it by that same order, otherwise the straight path stays.
No other surface is decoded through transitions, so none of their figures can change (the
mix-tuned decoder is used here for transitions only). The winner is then measured once on
the test split.

Follow-up, written after that choice and before its candidate was scored: the chosen path
plays a different training groove on every bar between the ends (neighbouring bars 15 hits
apart on average, against the straight line's 13). Holding each groove for two bars in
phase (``hold_bars`` 2: A's two bars, whole 2-bar training grooves, B's two bars) replaces
it only if, on the same validation draw, its middles meet no fewer realism targets and its
mean step between neighbouring bars is smaller; otherwise every bar keeps its own groove.

Second follow-up, written before its candidate was scored: on the data path strategy 3
still feeds the Bernoulli mix of A and B to the decoder as its teacher in every bar, while
strategy 1 decodes each bar's training groove with its own attributes alone. Strategy 1
on the shipped path (``data hub 6 strategy 1``) becomes the app's default only if, on the
same validation draw, it passes gates (a) and (b) and ranks ahead of ``data hub 6``
(strategy 3) by the first rule's order (more realism targets met, then the lower mean
C2ST); otherwise strategy 3 stays.

Run (validation split, then the winner against the straight path on test with the draws of
``groovefader eval --split test --seed 0``: its surfaces' seed is ``zlib.crc32(b"test/0")``)::

    python -m training.studies.transition_paths --checkpoint checkpoints/default.pt \
        --mix-checkpoint path/to/mix_finetune.pt --out docs/studies/transition_paths
    python -m training.studies.transition_paths --checkpoint checkpoints/default.pt \
        --split test --samples 1000 --seed 1846858102 --candidates "straight,data hub 6" \
        --out docs/studies/transition_paths/test
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from typing import Any

import numpy as np

from training.studies import drum_common as dc
from training.studies import skeleton

MODULE = "training.studies.transition_paths"
BARS = 8
STRATEGY = 3  # the app's default
END_F1 = 0.95
# name -> (kind, settings): 'straight' the current path, 'mix' the mix-tuned decoder on the
# straight path, 'data' a data path with these DataPathSettings fields
CANDIDATES: dict[str, tuple[str, dict[str, Any]]] = {
    "straight": ("straight", {}),
    "mix decoder": ("mix", {}),
    "data hub 0": ("data", {"hub_weight": 0.0}),
    "data hub 1": ("data", {"hub_weight": 1.0}),
    "data hub 3": ("data", {"hub_weight": 3.0}),
    "data hub 6": ("data", {"hub_weight": 6.0}),
    "data hub 3 k 5": ("data", {"hub_weight": 3.0, "neighbours": 5}),
    "data hub 3 k 20": ("data", {"hub_weight": 3.0, "neighbours": 20}),
    "data hub 6 hold 2": ("data", {"hub_weight": 6.0, "hold_bars": 2}),
    "data hub 6 strategy 1": ("data", {"hub_weight": 6.0, "strategy": 1}),
}
FIRST = "data hub 6"          # the first rule's choice, which the follow-up may replace
FOLLOW_UP = "data hub 6 hold 2"
STRATEGY_FOLLOW_UP = "data hub 6 strategy 1"


def onset_f1(got: np.ndarray, want: np.ndarray) -> float:
    """F1 of the hit cells of ``got`` against ``want`` (bool arrays of one shape)."""
    tp = float(np.sum(got & want))
    denom = float(np.sum(got) + np.sum(want))
    return 1.0 if denom == 0 else 2.0 * tp / denom


def rank_key(row: dict[str, Any]) -> tuple[int, float]:
    """Order of the rule: more targets met first, then the lower mean C2ST."""
    s = row["surface"]
    met = sum(bool(v) for k, v in s["targets"].items() if k != "all")
    return -met, 0.5 * (s["c2st_features"]["accuracy"] + s["c2st_raw"]["accuracy"])


def eligible(row: dict[str, Any], cut_max_step: float) -> bool:
    """Gates (a) and (b) of the rule (module docstring)."""
    shape = row["shape"]
    return (shape["f1_first_vs_a"] >= END_F1 and shape["f1_last_vs_b"] >= END_F1
            and shape["max_step_hits"] < cut_max_step)


def choose(rows: dict[str, dict[str, Any]], cut_max_step: float) -> str | None:
    """The candidate the rule picks (module docstring); None when the straight path was not
    measured (a run of some candidates only)."""
    if "straight" not in rows:
        return None
    ok = [n for n, r in rows.items() if n != "straight" and eligible(r, cut_max_step)]
    if not ok:
        return "straight"
    best = min(ok, key=lambda n: rank_key(rows[n]))
    return best if rank_key(rows[best]) < rank_key(rows["straight"]) else "straight"


def choose_follow_up(rows: dict[str, dict[str, Any]]) -> str | None:
    """The follow-up rule (module docstring): ``FOLLOW_UP`` or ``FIRST``; None when either
    was not measured."""
    if FIRST not in rows or FOLLOW_UP not in rows:
        return None
    first, hold = rows[FIRST], rows[FOLLOW_UP]
    ok = (-rank_key(hold)[0] >= -rank_key(first)[0]
          and hold["shape"]["mean_step_hits"] < first["shape"]["mean_step_hits"])
    return FOLLOW_UP if ok else FIRST


def choose_strategy(rows: dict[str, dict[str, Any]], cut_max_step: float) -> int | None:
    """The second follow-up rule (module docstring): 1 or ``STRATEGY``; None when either
    candidate was not measured."""
    if FIRST not in rows or STRATEGY_FOLLOW_UP not in rows:
        return None
    one = rows[STRATEGY_FOLLOW_UP]
    ahead = rank_key(one) < rank_key(rows[FIRST])
    return 1 if eligible(one, cut_max_step) and ahead else STRATEGY


def transition_shape(gen: Any, windows: np.ndarray, pairs: np.ndarray, seed: int,
                     strategy: int = STRATEGY) -> dict[str, Any]:
    """Ends and steps of ``gen``'s transitions between the window ``pairs (P, 2)`` (module
    docstring); the hard cut's steps on the same pairs for reference."""
    from engine.generation.transitions import transition
    from engine.music.pattern import Pattern

    spb = gen.steps_per_bar
    win = gen.steps // spb
    v = windows.shape[2] // 3
    f1a, f1b, mean_step, max_step, cut_mean, cut_max = [], [], [], [], [], []
    for i, (a, b) in enumerate(pairs):
        pa, pb = Pattern.from_array(windows[a], spb), Pattern.from_array(windows[b], spb)
        out = transition(gen, pa, pb, BARS, strategy, seed=seed + i).to_array()[:, :v] > 0.5
        ends = gen.decode_batch(np.stack([gen.encode(pa), gen.encode(pb)]),
                                np.stack([[gen.attributes_of(p)[n] for n in gen.attribute_names]
                                          for p in (pa, pb)])).hits
        last = (BARS - 1) % win
        f1a.append(onset_f1(out[:spb], ends[0, :spb]))
        f1b.append(onset_f1(out[-spb:], ends[1, last * spb:(last + 1) * spb]))
        bars = out.reshape(BARS, spb, v)
        steps = (bars[1:] != bars[:-1]).sum(axis=(1, 2))
        mean_step.append(steps.mean())
        max_step.append(steps.max())
        half = BARS // 2
        cut = np.concatenate([np.tile(windows[a][:, :v] > 0.5, (half // win + 1, 1))[:half * spb],
                              np.tile(windows[b][:, :v] > 0.5, (half // win + 1, 1))[:half * spb]])
        cb = cut.reshape(BARS, spb, v)
        csteps = (cb[1:] != cb[:-1]).sum(axis=(1, 2))
        cut_mean.append(csteps.mean())
        cut_max.append(csteps.max())
    n = len(pairs)

    def mse(x: list[float]) -> tuple[float, float]:
        arr = np.asarray(x, np.float64)
        return float(arr.mean()), float(arr.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0

    return {"pairs": n, "f1_first_vs_a": mse(f1a)[0], "f1_last_vs_b": mse(f1b)[0],
            "mean_step_hits": mse(mean_step)[0], "max_step_hits": mse(max_step)[0],
            "max_step_hits_se": mse(max_step)[1], "cut_mean_step_hits": mse(cut_mean)[0],
            "cut_max_step_hits": mse(cut_max)[0], "cut_max_step_hits_se": mse(cut_max)[1]}


def _arguments(p: argparse.ArgumentParser) -> None:
    dc.surface_study_arguments(p)
    p.add_argument("--mix-checkpoint", default=None,
                   help="the decoder fine-tuned on mixes (training.mix_finetune); omitted: not measured")
    p.add_argument("--candidates", default=",".join(CANDIDATES),
                   help=f"comma-separated subset of: {', '.join(CANDIDATES)}")
    p.add_argument("--shape-pairs", type=int, default=200, help="transitions for the ends and steps")


def _quick(args: argparse.Namespace) -> None:
    args.samples = min(args.samples, 120)
    args.shape_pairs = min(args.shape_pairs, 10)


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from engine.generation.data_path import DataPathSettings
    from engine.generation.generator import Generator
    from training.realism.scorecard import evaluate_surfaces

    gen, data = dc.surface_study_setup(args, needs_map="the data paths walk its groove bank")
    names = dc.chosen_candidates(args.candidates, CANDIDATES)
    if "mix decoder" in names and not args.mix_checkpoint:
        names.remove("mix decoder")
    groups = data.performance_groups()
    windows = np.asarray(data.patterns, np.float32)
    rng = np.random.default_rng(args.seed + 1)
    pairs = np.stack([rng.choice(len(windows), 2, replace=False) for _ in range(args.shape_pairs)])
    base = DataPathSettings()
    rows: dict[str, dict[str, Any]] = {}
    for name in names:
        kind, fields = CANDIDATES[name]
        fields = dict(fields)
        strategy = int(fields.pop("strategy", STRATEGY))
        model = gen
        if kind == "mix":
            model = Generator.from_checkpoint(args.mix_checkpoint)
        model.data_path = replace(base, enabled=kind == "data", **fields)
        t0 = time.perf_counter()
        if kind == "data":
            model.groove_graph()  # built (or re-costed) before the clock starts
        t_graph = time.perf_counter() - t0
        res = evaluate_surfaces(model, windows, groups, samples=args.samples, seed=args.seed,
                                only=("transition_middle",), transition_strategy=strategy)
        t_surface = time.perf_counter() - t0 - t_graph
        shape = transition_shape(model, windows, pairs, args.seed + 100, strategy)
        surface = res["surfaces"]["transition_middle"]
        t_shape = time.perf_counter() - t0 - t_graph - t_surface
        rows[name] = {"kind": kind, "settings": fields, "strategy": strategy, "surface": surface,
                      "summary": res["summary"], "shape": shape,
                      "seconds": {"graph": round(t_graph, 1), "surface": round(t_surface, 1),
                                  "shape": round(t_shape, 1)}}
        met = -rank_key(rows[name])[0]
        acc = surface["c2st_features"]["accuracy"], surface["c2st_raw"]["accuracy"]
        print(f"{name}: C2ST {acc[0]:.3f} / {acc[1]:.3f}, "
              f"{met} targets; ends {shape['f1_first_vs_a']:.3f} / {shape['f1_last_vs_b']:.3f}, "
              f"largest step {shape['max_step_hits']:.1f} (cut {shape['cut_max_step_hits']:.1f}) "
              f"[{rows[name]['seconds']}]", flush=True)
    gen.data_path = base
    cut_max = float(np.mean([r["shape"]["cut_max_step_hits"] for r in rows.values()])) if rows else 0.0
    return {"split": args.split, "samples": args.samples, "seed": args.seed, "bars": BARS,
            "strategy": STRATEGY, "shape_pairs": args.shape_pairs, "checkpoint": args.checkpoint,
            "mix_checkpoint": args.mix_checkpoint, "candidates": rows, "cut_max_step_hits": cut_max,
            "chosen": choose(rows, cut_max), "follow_up": choose_follow_up(rows),
            "strategy_follow_up": choose_strategy(rows, cut_max)}


def _voices(mix: dict[str, float]) -> str:
    toms = mix["low_tom"] + mix["mid_tom"] + mix["high_tom"]
    vals = {**mix, "toms": toms}
    short = (("kick", "K"), ("snare", "S"), ("closed_hat", "CH"), ("open_hat", "OH"), ("toms", "T"),
             ("crash", "Cr"), ("ride", "R"))
    return " ".join(f"{s} {vals[k]:.1f}" for k, s in short)


MIX_PLACEHOLDER = "path/to/mix_finetune.pt"
MIX_NOTE = (f"`{MIX_PLACEHOLDER}`: a checkpoint fine-tuned with the mix decoder (`python -m "
            "training.mix_finetune`; see [the mix-decoder study](../mix_decoder/report.md)).\n")


def report(results: dict[str, Any], test: dict[str, Any] | None = None) -> str:
    """report.md's text; ``test``: the winner's run on the test split, shown after the rule."""
    paras = (__doc__ or "").split("\n\n")
    command = results.get("command", "")
    if results.get("mix_checkpoint"):
        command = command.replace(results["mix_checkpoint"], MIX_PLACEHOLDER)
    rows = results["candidates"]
    first = next(iter(rows.values()), None)
    nan = float("nan")
    floor = first["summary"] if first else {"floor_c2st_features": nan, "floor_c2st_raw": nan}
    table, shape_rows, voice_rows = [], [], []
    for name, r in rows.items():
        s, mg = r["surface"], r["surface"]["mgeval"]
        met = -rank_key(r)[0]
        table.append((name, f"{s['c2st_features']['accuracy']:.3f}", f"{s['c2st_raw']['accuracy']:.3f}",
                      f"{mg['mean_oa']:.2f}", f"{mg['min_oa']:.2f} ({mg['min_feature']})",
                      f"{s['timing_std']:.3f} / {s['reference_timing_std']:.3f}",
                      f"{s['swing']:.3f} / {s['reference_swing']:.3f}",
                      f"{s['velocity_mean']:.1f} / {s['reference_velocity_mean']:.1f}", met))
        sh = r["shape"]
        shape_rows.append((name, f"{sh['f1_first_vs_a']:.3f}", f"{sh['f1_last_vs_b']:.3f}",
                           f"{sh['mean_step_hits']:.1f}",
                           f"{sh['max_step_hits']:.1f} ± {sh['max_step_hits_se']:.1f}",
                           "yes" if eligible(r, results["cut_max_step_hits"]) else "no"))
        voice_rows.append((name, _voices(s["voice_hits_per_2_bars"])))
    if first:
        real = first["surface"]["reference_voice_hits_per_2_bars"]
        voice_rows.append(("real (reference windows)", _voices(real)))
        cut = first["shape"]
        shape_rows.append(("hard cut (A 4 bars, then B; real bars)", "1", "1",
                           f"{cut['cut_mean_step_hits']:.1f}",
                           f"{cut['cut_max_step_hits']:.1f} ± {cut['cut_max_step_hits_se']:.1f}", "–"))
    split = results["split"]
    text = [f"# Transition paths ({split} split)\n", paras[1], "", paras[2], "", paras[3], "", paras[4], "",
            f"Split: {split}; transition middles of {results['samples']} transitions (pairs of held-out "
            f"windows from one block of performances, as `groovefader eval` draws them, seed "
            f"{results['seed']}); {results['bars']} bars, strategy {results['strategy']}; ends and steps "
            f"on {results['shape_pairs']} other random pairs. Floor (reconstructions, same run): C2ST "
            f"features {floor['floor_c2st_features']:.2f}, raw {floor['floor_c2st_raw']:.2f}.\n",
            "## Transition middles\n",
            dc.md_table(["candidate", "C2ST features", "C2ST raw", "MGEval mean OA", "min OA (feature)",
                         "timing std gen / real", "swing gen / real", "velocity gen / real",
                         "targets met (of 6)"], table),
            "## Ends and steps (hits of 16 steps × 9 voices)\n",
            dc.md_table(["candidate", "F1 first bar vs A", "F1 last bar vs B", "mean step (hits)",
                         "largest step (hits, mean ± SE)", "passes gates (a), (b)"], shape_rows),
            "## Voice mix of the middles (hits per 2 bars)\n",
            dc.md_table(["candidate", "voices"], voice_rows),
            (f"Chosen by the rule: **{results['chosen']}**.\n" if split != "test" and results["chosen"] else
             "" if split != "test" else
             "Measured once on the test split after the choice on validation (the rule is not applied "
             "here).\n"),
            *([f"Follow-up rule (hold each groove two bars): **{results['follow_up']}**.\n"]
              if results.get("follow_up") and split != "test" else []),
            *([paras[5], "", f"Second follow-up rule (the strategy on the data path): **strategy "
               f"{results['strategy_follow_up']}**.\n"]
              if results.get("strategy_follow_up") and split != "test" else []),
            *_notes(results),
            *(_test_section(test) if test else []),
            "Command:\n\n```\n" + command + "\n```\n",
            *([MIX_NOTE] if results.get("mix_checkpoint") else [])]
    return "\n".join(text)


def _test_section(test: dict[str, Any]) -> list[str]:
    """The test split's figures of the candidates measured there (the winner and the straight path)."""
    rows = test["candidates"]
    first = next(iter(rows.values()))["summary"]
    lines = ["## Test split (measured once, after the choice)\n",
             f"{test['samples']} transitions of the test split (seed {test['seed']}); floor "
             f"(reconstructions) C2ST features {first['floor_c2st_features']:.2f}, raw "
             f"{first['floor_c2st_raw']:.2f}; "
             f"[its report](test/report.md).\n"]
    for name, r in rows.items():
        met = -rank_key(r)[0]
        missed = [k for k, v in r["surface"]["targets"].items() if k != "all" and not v]
        lines.append(f"- **{name}**: {_fig(r)} (data: timing std {r['surface']['reference_timing_std']:.3f}, "
                     f"swing {r['surface']['reference_swing']:.3f}, velocity "
                     f"{r['surface']['reference_velocity_mean']:.1f}); {met} of 6 targets"
                     + (f" (missed: {', '.join(missed)})" if missed else "") + "; ends "
                     f"{r['shape']['f1_first_vs_a']:.3f} / {r['shape']['f1_last_vs_b']:.3f}.")
    lines.append("\nCommand (test split):\n\n```\n" + test.get("command", "") + "\n```\n")
    return lines


def _report(results: dict[str, Any], args: argparse.Namespace) -> str:
    return report(results, skeleton.kept_test_run(results, args))


def _fig(row: dict[str, Any]) -> str:
    s = row["surface"]
    return (f"C2ST {s['c2st_features']['accuracy']:.2f} / {s['c2st_raw']['accuracy']:.2f}, MGEval "
            f"{s['mgeval']['mean_oa']:.2f} / {s['mgeval']['min_oa']:.2f}, timing std {s['timing_std']:.3f}, "
            f"swing {s['swing']:.3f}, velocity {s['velocity_mean']:.1f}")


def _notes(results: dict[str, Any]) -> list[str]:
    """What the figures say, in words (from the results, so ``--report-only`` rebuilds it)."""
    rows = results["candidates"]
    chosen = results["chosen"]
    out = []
    if "straight" in rows:
        s = rows["straight"]["surface"]
        out.append(f"- The straight path's middle: {_fig(rows['straight'])} (data: timing std "
                   f"{s['reference_timing_std']:.3f}, swing {s['reference_swing']:.3f}, velocity "
                   f"{s['reference_velocity_mean']:.1f}).")
    if chosen != "straight" and chosen in rows:
        r = rows[chosen]
        sh = r["shape"]
        out.append(f"- **{chosen}**: {_fig(r)}. Its bars move in bigger steps than the straight line's: "
                   f"neighbouring bars differ by {sh['mean_step_hits']:.1f} hits on average "
                   f"(straight {rows['straight']['shape']['mean_step_hits']:.1f}, hard cut "
                   f"{sh['cut_mean_step_hits']:.1f}), {sh['max_step_hits']:.1f} at the largest step (cut "
                   f"{sh['cut_max_step_hits']:.1f}): each bar between is a different real groove.")
    if "data hub 0" in rows:
        out.append(f"- Without the hub cost the chain gathers on plain grooves: {_fig(rows['data hub 0'])}; "
                   f"the stiff timing is the bias the blends study found in the grooves nearest a mix.")
    if FIRST in rows and FOLLOW_UP in rows:
        first, hold = rows[FIRST]["shape"], rows[FOLLOW_UP]["shape"]
        out.append(f"- Holding each groove two bars: {_fig(rows[FOLLOW_UP])}; mean step "
                   f"{hold['mean_step_hits']:.1f} hits against {first['mean_step_hits']:.1f} with a groove "
                   f"per bar (largest {hold['max_step_hits']:.1f} against {first['max_step_hits']:.1f}): "
                   f"fewer grooves between the ends lie further apart, so the steps do not shrink.")
    if "mix decoder" in rows:
        out.append(f"- The mix-tuned decoder on the straight path: {_fig(rows['mix decoder'])} (its ends "
                   f"decoded by it too).")
    secs = [r["seconds"]["surface"] / max(results["samples"], 1) * 1000 for n, r in rows.items()
            if r["kind"] == "data"]
    if secs:
        out.append(f"- Time: {min(secs):.0f}–{max(secs):.0f} ms per 8-bar data-path transition with its "
                   f"decode, one thread of a shared 2-core machine.")
    return (["## What it means\n", *out, ""] if out else [])


STUDY = skeleton.Study(module=MODULE, description=__doc__.splitlines()[0], arguments=_arguments, run=_run,
                       report=_report, smoke="synthetic grooves, few samples",
                       quick=_quick, seed=0)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
