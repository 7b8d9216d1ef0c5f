"""How far corner blends and transitions should be pulled onto the training grooves.

A mix of two distant latents decodes a groove between them that no drummer plays (the
realism report's corner blends and transition middles). ``Generator.on_data`` pulls such a
mix towards the nearest training groove's code, or plays the training groove between the
ends in hit space (least weighted sum of cells differing from each end); this study decodes
both surfaces with each
candidate pull and measures them as ``groovefader eval`` does (classifier two-sample test
with the reconstructions' floor from the same run, MGEval overlaps, micro-timing).

Selection rule, written before any candidate was scored: most realism targets met over the
two surfaces (6 each), then the lowest mean C2ST accuracy (features and raw) over them, then
the simpler candidate (pull 0, then 1, then the rest).

Run (validation split)::

    python -m training.studies.on_data_blends --checkpoint checkpoints/default.pt \
        --data ../shared/data/groove --split validation --out docs/studies/on_data_blends
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, replace
from typing import Any

import numpy as np

from training.studies import drum_common as dc
from training.studies import skeleton

MODULE = "training.studies.on_data_blends"
# (method, pull): the mix as it is; towards the code nearest the mix; the training groove
# between the ends in hit space
CANDIDATES = (("latent", 0.0), ("latent", 0.5), ("latent", 1.0), ("hits", 1.0))
SURFACES = ("corner_blends", "transition_middle")
SIMPLER = {("latent", 0.0): 0, ("latent", 1.0): 1, ("hits", 1.0): 2}  # rule 3: the rest after these


def score(result: dict[str, Any]) -> tuple[int, float]:
    """(targets met over the surfaces, mean C2ST accuracy over them)."""
    met, accs = 0, []
    for name in SURFACES:
        res = result["surfaces"][name]
        met += sum(bool(v) for k, v in res["targets"].items() if k != "all")
        accs += [res["c2st_features"]["accuracy"], res["c2st_raw"]["accuracy"]]
    return met, float(np.mean(accs))


def choose(rows: dict[str, dict[str, Any]]) -> str:
    """The candidate the rule picks (module docstring)."""
    def key(name: str) -> tuple[int, float, int]:
        met, acc = score(rows[name])
        return -met, acc, SIMPLER.get((rows[name].get("method", "latent"), rows[name]["pull"]), 3)

    return min(rows, key=key)


def _arguments(p: argparse.ArgumentParser) -> None:
    dc.surface_study_arguments(p)


def _quick(args: argparse.Namespace) -> None:
    args.samples = min(args.samples, 120)


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from training.realism.scorecard import evaluate_surfaces

    gen, data = dc.surface_study_setup(args, needs_map="nothing to pull onto")
    groups = data.performance_groups()
    rows: dict[str, dict[str, Any]] = {}
    for method, pull in CANDIDATES:
        gen.on_data = replace(gen.on_data, method=method, pull=float(pull))
        res = evaluate_surfaces(gen, data.patterns, groups, samples=args.samples, seed=args.seed,
                                only=SURFACES)
        met, acc = score(res)
        name = "between in hits" if method == "hits" else f"pull {pull:g}"
        rows[name] = {"method": method, "pull": float(pull), "targets_met": met, "mean_c2st": acc, **res}
        print(f"{name}: {met} targets met, mean C2ST {acc:.3f}", flush=True)
    return {"split": args.split, "samples": args.samples, "seed": args.seed,
            "settings": {k: v for k, v in asdict(gen.on_data).items() if k not in ("pull", "method")},
            "candidates": rows, "chosen": choose(rows)}


def report(results: dict[str, Any]) -> str:
    rows = results["candidates"]
    floor = next(iter(rows.values()))["summary"]
    table = []
    for name, r in rows.items():
        for surface in SURFACES:
            s = r["surfaces"][surface]
            table.append((name, s["label"], f"{s['c2st_features']['accuracy']:.2f}",
                          f"{s['c2st_raw']['accuracy']:.2f}", f"{s['mgeval']['mean_oa']:.2f}",
                          f"{s['mgeval']['min_oa']:.2f} ({s['mgeval']['min_feature']})",
                          f"{s['timing_std']:.3f} / {s['reference_timing_std']:.3f}",
                          f"{s['swing']:.3f} / {s['reference_swing']:.3f}",
                          sum(bool(v) for k, v in s["targets"].items() if k != "all")))
    return (f"# Blends on the data\n\n{__doc__.split(chr(10) + chr(10))[1]}\n\n"
            f"Split: {results['split']}, {results['samples']} patterns per surface, seed {results['seed']}; "
            f"floor (reconstructions) C2ST features {floor['floor_c2st_features']:.2f}, raw "
            f"{floor['floor_c2st_raw']:.2f}. Ramps: {results['settings']}.\n\n"
            + dc.md_table(["candidate", "surface", "C2ST features", "C2ST raw", "MGEval mean OA",
                           "min OA (feature)", "timing std gen / real", "swing gen / real",
                           "targets met (of 6)"], table)
            + "\n" + dc.md_table(["candidate", "targets met (of 12)", "mean C2ST"],
                                 [(n, r["targets_met"], r["mean_c2st"]) for n, r in rows.items()])
            + f"\nChosen by the rule: **{results['chosen']}**.\n")


STUDY = skeleton.Study(module=MODULE, description=__doc__.splitlines()[0], arguments=_arguments, run=_run,
                       report=lambda results, args: report(results), smoke="synthetic grooves, few samples",
                       quick=_quick, seed=0)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
