"""Whether the instrument should give its decoded grooves back the spread of velocities and
micro-timing that the decoder averages out.

The decoder predicts each hit's velocity and offset as its expected value given the groove,
so its grooves play accents, ghost notes, pushes and drags closer to the groove's average
than drummers do: on the validation windows the reconstructions' within-groove velocity
spread is 0.215 against the originals' 0.238 and their timing spread 0.147 against 0.162
steps (the table below). The knob ends play decodes of real training grooves, and
these were told from real drumming at those settings far more often than the training
grooves themselves (density at 90 % on test: 0.68, against 0.50 for the real training
windows in the band, ``docs/studies/split_shift``). A candidate widens
each decoded groove's velocities and offsets about its own mean
(``engine.generation.expression.Expression``), by the factors that give the reconstructions
of every training window the originals' root-mean-square spread
(``training.expression_fit.fit_expression``); hits, mean velocity and mean offset stay.

Selection rule, written before any candidate was scored: every surface of the realism report
is measured on the validation split for each candidate, the floor (reconstructions) decoded
as the candidate plays a groove. The fitted expression ships if (1) its mean C2ST accuracy
(features and raw) over the surfaces the app plays (every surface but the floor and the
prior draws) is at least 0.005 below the decoder's own (no expression), (2) it meets at
least as many of those surfaces' realism targets minus 3, and (3) its reconstructions of the
validation windows keep the reconstruction targets (velocity MAE ≤ 8 MIDI, timing MAE ≤ 6
ms). Otherwise the decoder's own values stay.

Under that rule (seed 0; its report is ``first_rule_report.md``) the fitted expression
lowered the mean C2ST by 0.0052 and met 8 fewer targets: its own floor fell from 0.580 to
0.537, so every surface was held to a bound 0.043 lower, and a count of targets against
each candidate's floor measured the floor's move rather than any surface's. Second rule,
written before its run, on a fresh draw (seed 1): the same three conditions, with every
candidate's C2ST targets counted against one floor, the reconstructions as the decoder gives
them (the first candidate's); each candidate's own floor is reported beside it.

Run (validation split)::

    python -m training.studies.expression_spread --checkpoint checkpoints/default.pt \\
        --data ../shared/data/groove --split validation --out docs/studies/expression_spread --seed 1
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from training.studies import drum_common as dc
from training.studies import skeleton

MODULE = "training.studies.expression_spread"
MIN_GAIN = 0.005      # mean C2ST the fitted expression must gain
REALISM_SLACK = 3     # realism targets it may lose
NOT_PLAYED = ("reconstruction", "prior")


def against_floor(summary: dict[str, Any], floor: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``summary`` with its realism targets counted against another ``floor``
    (a reconstruction surface's figures) instead of its own."""
    import copy

    from training.realism.scorecard import apply_targets

    out = copy.deepcopy(summary)
    surfaces = out["surfaces"]
    own_floor = surfaces["reconstruction"]
    surfaces["reconstruction"] = copy.deepcopy(floor)
    apply_targets(surfaces)
    surfaces["reconstruction"] = own_floor
    return out


def score(summary: dict[str, Any]) -> tuple[int, float, int]:
    """(realism targets met, mean C2ST, surfaces) over the surfaces the app plays."""
    surfaces = [s for name, s in summary["surfaces"].items()
                if name not in NOT_PLAYED and s.get("targets") and "c2st_features" in s]
    met = sum(sum(bool(v) for k, v in s["targets"].items() if k != "all") for s in surfaces)
    acc = float(np.mean([s[k]["accuracy"] for s in surfaces for k in ("c2st_features", "c2st_raw")]))
    return met, acc, len(surfaces)


def choose(rows: dict[str, dict[str, Any]]) -> str:
    """The rule (module docstring); the first row is the decoder's own values."""
    names = list(rows)
    base, cand = rows[names[0]], rows[names[1]]
    ok = (cand["mean_c2st"] <= base["mean_c2st"] - MIN_GAIN
          and cand["realism_targets"] >= base["realism_targets"] - REALISM_SLACK
          and cand["reconstruction"]["velocity_mae_midi"] <= 8.0
          and cand["reconstruction"]["timing_mae_ms"] <= 6.0)
    return names[1] if ok else names[0]


def _arguments(p: argparse.ArgumentParser) -> None:
    dc.surface_study_arguments(p)


def _quick(args: argparse.Namespace) -> None:
    args.samples = min(args.samples, 120)


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from engine.generation.expression import Expression, within_spread
    from training.evaluate import reconstruction_metrics
    from training.expression_fit import fit_expression, reconstructions
    from training.realism.scorecard import evaluate_surfaces

    gen, data = dc.surface_study_setup(args, needs_map="the knob ends play the map's grooves")
    train = dc.eval_data(dc.load_groove(args.data, args.smoke), "train")
    fitted = fit_expression(gen, train.patterns)
    print(f"fitted on {len(train.patterns)} training windows: {fitted}", flush=True)
    rec = reconstructions(gen, data.patterns)
    groups = data.performance_groups()
    rows: dict[str, dict[str, Any]] = {}
    for name, expression in (("decoder's own", Expression()), ("fitted", fitted)):
        gen.expression = expression
        played = expression.apply(rec)
        n = played.shape[-1] // 3
        figures = reconstruction_metrics(data.patterns, played[..., :n] > 0.5, played[..., n:2 * n],
                                         played[..., 2 * n:], data.tempo_bpm, gen.steps_per_bar)
        vel, tim = within_spread(played)
        surfaces = evaluate_surfaces(gen, data.patterns, groups, samples=args.samples, seed=args.seed)
        if rows:  # the second rule: targets against the decoder's own floor
            decoders = next(iter(rows.values()))["surfaces"]["surfaces"]["reconstruction"]
            surfaces = against_floor(surfaces, decoders)
        met, acc, count = score(surfaces)
        rows[name] = {"expression": expression.to_meta(), "surfaces": surfaces,
                      "realism_targets": met, "surfaces_scored": count, "mean_c2st": acc,
                      "reconstruction": {k: figures[k] for k in ("velocity_mae_midi", "timing_mae_ms")},
                      "reconstruction_spread": {"velocity": float(vel.mean()), "timing": float(tim.mean())}}
        print(f"{name}: realism {met}, mean C2ST {acc:.4f}, recon {rows[name]['reconstruction']}", flush=True)
    real_vel, real_tim = within_spread(data.patterns)
    return {"split": args.split, "samples": args.samples, "seed": args.seed,
            "training_windows": int(len(train.patterns)),
            "real_spread": {"velocity": float(real_vel.mean()), "timing": float(real_tim.mean())},
            "candidates": rows, "chosen": choose(rows)}


def report(results: dict[str, Any], args: argparse.Namespace | None = None) -> str:
    rows = results["candidates"]
    first = next(iter(rows.values()))
    names = [n for n in first["surfaces"]["surfaces"] if n != "prior"]
    summary = dc.md_table(
        ["candidate", "velocity ×", "timing ×", "own floor (features / raw)",
         f"realism targets (of {6 * first['surfaces_scored']}; the decoder's floor)",
         "mean C2ST", "velocity MAE (MIDI)", "timing MAE (ms)", "within-groove spread vel / timing"],
        [(n, r["expression"]["velocity"], r["expression"]["timing"],
          f"{r['surfaces']['surfaces']['reconstruction']['c2st_features']['accuracy']:.3f} / "
          f"{r['surfaces']['surfaces']['reconstruction']['c2st_raw']['accuracy']:.3f}",
          r["realism_targets"], r["mean_c2st"],
          r["reconstruction"]["velocity_mae_midi"], r["reconstruction"]["timing_mae_ms"],
          f"{r['reconstruction_spread']['velocity']:.3f} / {r['reconstruction_spread']['timing']:.3f}")
         for n, r in rows.items()])
    per_surface = dc.md_table(
        ["surface"] + [f"{n} features / raw" for n in rows],
        [(first["surfaces"]["surfaces"][s]["label"],
          *(f"{r['surfaces']['surfaces'][s]['c2st_features']['accuracy']:.3f} / "
            f"{r['surfaces']['surfaces'][s]['c2st_raw']['accuracy']:.3f}"
            if "c2st_features" in r["surfaces"]["surfaces"][s] else "skipped" for r in rows.values()))
         for s in names])
    paragraphs = __doc__.split(chr(10) + chr(10))
    real = results["real_spread"]
    return (f"# Giving decoded grooves back their spread\n\n{paragraphs[1]}\n\n{paragraphs[2]}\n\n"
            f"{paragraphs[3]}\n\n"
            f"Split: {results['split']}; {results['samples']} patterns per surface; factors fitted on "
            f"{results['training_windows']} training windows; seed {results['seed']}. The real validation "
            f"windows' within-groove spread: velocity {real['velocity']:.3f}, timing {real['timing']:.3f} "
            "(steps).\n\n" + summary + "\nC2ST accuracy per surface (the floor decoded as each candidate "
            "plays):\n\n" + per_surface + f"\nChosen by the rule: **{results['chosen']}**.\n")


STUDY = skeleton.Study(module=MODULE, description=__doc__.splitlines()[0], arguments=_arguments, run=_run,
                       report=report, smoke="synthetic grooves, few samples", quick=_quick, seed=0)

main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
