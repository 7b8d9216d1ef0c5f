"""How the knobs' walk along the data should trade keeping the groove against meeting the
other knobs.

Turning a knob on a checkpoint with a map of the data plays the training groove that meets
the turned knob and costs least (``engine.generation.groove_bank.GrooveBank.walk``):
``hit_weight`` per 10 cells whose hit differs from the playing groove, plus ``other_weight``
per squared share of range the other knobs' targets are missed by. A heavy hit weight keeps
the groove the musician had; a heavy other weight keeps the other knobs still (cross-talk).
Each candidate is measured on the knob-end surfaces of the realism report (classifier
two-sample test against real windows near the setting, MGEval, micro-timing) and on the held
knob figures (ρ, range, monotone share, cross-talk) from Randomize's and the pad's latents.
Only the ratio of the two weights matters: (1, 100) and (0.25, 25) pick the same grooves.

Selection rule, written before any candidate was scored: most realism targets met over the
knob-end surfaces, then most knob targets met, then the lowest mean C2ST accuracy (features
and raw) over those surfaces, then the first candidate.

Run (validation split)::

    python -m training.studies.walk_weights --checkpoint checkpoints/default.pt \
        --data ../shared/data/groove --split validation --out docs/studies/walk_weights
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from training.studies import drum_common as dc
from training.studies import skeleton

MODULE = "training.studies.walk_weights"
CANDIDATES = ((1.0, 25.0), (1.0, 100.0), (0.25, 25.0), (0.25, 100.0))  # (hit, other)
KNOB_TARGETS = {"spearman": (0.95, 1), "range": (0.8, 1), "monotone_share": (0.9, 1), "crosstalk": (0.10, -1)}


def knob_targets_met(control: dict[str, dict[str, Any]]) -> int:
    """Knob targets met over every knob of one held sweep."""
    met = 0
    for fig in control.values():
        for key, (bound, sign) in KNOB_TARGETS.items():
            met += bool(sign * fig[key] >= sign * bound)
    return met


def score(row: dict[str, Any]) -> tuple[int, int, float]:
    """(realism targets met, knob targets met, mean C2ST) of one candidate."""
    surfaces = _knob_ends(row)
    realism = sum(sum(bool(v) for k, v in s["targets"].items() if k != "all") for s in surfaces)
    knobs = sum(knob_targets_met(c) for c in row["control"].values())
    acc = float(np.mean([s[k]["accuracy"] for s in surfaces for k in ("c2st_features", "c2st_raw")]))
    return realism, knobs, acc


def _knob_ends(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The knob-end surfaces of one candidate that were measured (the floor and the real
    training windows of the same run, at the knob ends too, are not a walk's doing)."""
    return [s for name, s in row["surfaces"]["surfaces"].items()
            if name.startswith("knob_") and s.get("targets") and not s.get("data_level")]


def choose(rows: dict[str, dict[str, Any]]) -> str:
    """The candidate the rule picks (module docstring); ``rows`` in candidate order."""
    order = {name: i for i, name in enumerate(rows)}

    def key(name: str) -> tuple[int, int, float, int]:
        realism, knobs, acc = score(rows[name])
        return -realism, -knobs, acc, order[name]

    return min(rows, key=key)


def choose_by_level(rows: dict[str, dict[str, Any]], min_gain: float, realism_slack: int,
                    knob_slack: int | None = None) -> str:
    """The rule of the studies that weigh realism by its level against the walk as it ships
    (the first row): a candidate qualifies with a mean C2ST at least ``min_gain`` lower,
    at most ``realism_slack`` realism targets fewer and, with ``knob_slack``, at most that
    many knob targets fewer; the lowest mean C2ST of those wins (ties: the first listed),
    else the first row."""
    names = list(rows)
    base = rows[names[0]]
    ok = [n for n in names[1:]
          if rows[n]["mean_c2st"] <= base["mean_c2st"] - min_gain
          and rows[n]["realism_targets"] >= base["realism_targets"] - realism_slack
          and (knob_slack is None or rows[n]["knob_targets"] >= base["knob_targets"] - knob_slack)]
    if not ok:
        return names[0]
    return min(ok, key=lambda n: (rows[n]["mean_c2st"], names.index(n)))


GUARDED_GAIN, GUARDED_REALISM_SLACK, GUARDED_KNOB_SLACK = 0.01, 3, 2


def guarded_choose(rows: dict[str, dict[str, Any]]) -> str:
    """The rule of the walk-setting studies that guard the knobs (``walk_qualify`` and
    after): :func:`choose_by_level` asking a mean C2ST 0.01 below the shipped walk's (the
    first row), at most 3 realism targets and 2 knob targets fewer."""
    return choose_by_level(rows, GUARDED_GAIN, GUARDED_REALISM_SLACK, GUARDED_KNOB_SLACK)


def measure_setting(args: argparse.Namespace, field: str, values: Sequence[Any], label: str,
                    chooser: Callable[[dict[str, dict[str, Any]]], str]) -> dict[str, Any]:
    """:func:`measure` of the walk as it ships with one ``WalkSettings`` ``field`` set to each
    of ``values`` (named ``f"{label} {value:g}"``), chosen by ``chooser``."""
    from engine.generation.groove_bank import WalkSettings

    results = measure(args, {f"{label} {v:g}" if isinstance(v, float) else f"{label} {v}":
                             replace(WalkSettings(), **{field: v}) for v in values})
    results["chosen"] = chooser(results["candidates"])
    return results


def _arguments(p: argparse.ArgumentParser) -> None:
    dc.surface_study_arguments(p)
    p.add_argument("--draws", type=int, default=500, help="Randomize latents per knob sweep")
    p.add_argument("--pad-points", type=int, default=15)


def _quick(args: argparse.Namespace) -> None:
    args.samples, args.draws, args.pad_points = min(args.samples, 120), min(args.draws, 30), 4


def measure(args: argparse.Namespace, candidates: dict[str, Any]) -> dict[str, Any]:
    """Every candidate's knob-end surfaces and held knob figures (module docstring), and the
    rule's choice; ``candidates`` maps a name to the generator's ``walk_settings``."""
    from training.evaluate import EvalConfig, evaluate_control, pad_latents
    from training.realism.scorecard import evaluate_surfaces

    gen, data = dc.surface_study_setup(args, needs_map="the knobs do not walk")
    groups = data.performance_groups()
    cfg = EvalConfig(split=args.split, seed=args.seed)
    latents = {"randomize": gen.sample_like_data(args.draws, seed=args.seed + 5),
               "pad": pad_latents(gen, args.pad_points)}
    rows: dict[str, dict[str, Any]] = {}
    for name, settings in candidates.items():
        gen.walk_settings = settings
        row: dict[str, Any] = {"hit_weight": settings.hit_weight, "other_weight": settings.other_weight,
                               "correct": settings.correct}
        row["surfaces"] = evaluate_surfaces(gen, data.patterns, groups, samples=args.samples,
                                            seed=args.seed, only=("knobs",), training=data.training)
        row["control"] = {src: evaluate_control(gen, cfg, z=z, hold=True) for src, z in latents.items()}
        realism, knobs, acc = score(row)
        row.update(realism_targets=realism, knob_targets=knobs, mean_c2st=acc)
        rows[name] = row
        print(f"{name}: realism {realism}, knobs {knobs}, mean C2ST {acc:.3f}", flush=True)
    return {"split": args.split, "samples": args.samples, "draws": args.draws,
            "pad_points": args.pad_points, "seed": args.seed, "candidates": rows, "chosen": choose(rows)}


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from engine.generation.groove_bank import WalkSettings

    # measured as the walk played before its corrections (docs/studies/walk_correction)
    return measure(args, {f"hit {hit:g}, other {other:g}": replace(WalkSettings(), hit_weight=hit,
                                                                       other_weight=other, correct=0)
                          for hit, other in CANDIDATES})


def report(results: dict[str, Any], doc: str = __doc__, title: str = "Walk weights for the knobs") -> str:
    """The report's Markdown: ``doc``'s second and third paragraphs as its introduction."""
    rows = results["candidates"]
    first = next(iter(rows.values()))
    n_surf = len(_knob_ends(first))
    knobs = list(first["control"]["randomize"])
    n_knob = len(KNOB_TARGETS) * len(knobs) * len(first["control"])
    summary = dc.md_table(
        ["candidate", f"realism targets (of {6 * n_surf})", f"knob targets (of {n_knob})",
         "mean C2ST", "surfaces meeting all"],
        [(n, r["realism_targets"], r["knob_targets"], r["mean_c2st"],
          sum(s["targets"]["all"] for s in _knob_ends(r))) for n, r in rows.items()])
    per_knob = dc.md_table(
        ["candidate", "source"] + [f"{k} ρ / range / mono / xtalk" for k in knobs],
        [(n, src, *(f"{c[k]['spearman']:.2f} / {c[k]['range']:.2f} / {c[k]['monotone_share']:.2f} / "
                    f"{c[k]['crosstalk']:.3f}" for k in knobs))
         for n, r in rows.items() for src, c in r["control"].items()])
    def cell(s: dict[str, Any] | None) -> str:
        """A surface's C2ST; "—" where a candidate has no such surface (a kept knob picks no
        training windows)."""
        if s is None:
            return "—"
        return f"{s['c2st_features']['accuracy']:.2f}" if "c2st_features" in s else "skipped"

    c2st = dc.md_table(
        ["candidate"] + [s["label"].replace(" (Randomize)", " R").replace(" (pad)", " P")
                         for s in first["surfaces"]["surfaces"].values()],
        [(n, *(cell(r["surfaces"]["surfaces"].get(key)) for key in first["surfaces"]["surfaces"]))
         for n, r in rows.items()])
    floor = first["surfaces"]["summary"]
    paragraphs = doc.split(chr(10) + chr(10))
    return (f"# {title}\n\n{paragraphs[1]}\n\n{paragraphs[2]}\n\n"
            f"Split: {results['split']}; {results['samples']} patterns per knob-end surface, knob sweeps "
            f"from {results['draws']} Randomize latents and a {results['pad_points']}² pad grid, held as "
            f"the app holds them; seed {results['seed']}. Floor (reconstructions) C2ST features "
            f"{floor['floor_c2st_features']:.2f}, raw {floor['floor_c2st_raw']:.2f}.\n\n" + summary
            + "\nHeld knob figures (targets ρ ≥ 0.95, range ≥ 0.80, monotone ≥ 0.90, cross-talk ≤ 0.10):\n\n"
            + per_knob + "\nC2ST accuracy (features) per knob-end surface (R: from Randomize, P: from "
            "the pad):\n\n" + c2st + f"\nChosen by the rule: **{results['chosen']}**.\n")


def setting_study(module: str, doc: str, title: str, field: str, values: Sequence[Any], label: str,
                  chooser: Callable[[dict[str, dict[str, Any]]], str]) -> skeleton.Study:
    """:func:`variant` measuring one ``WalkSettings`` field (:func:`measure_setting`)."""
    return variant(module, doc, title,
                   lambda args: measure_setting(args, field, values, label, chooser))


def variant(module: str, doc: str, title: str, run: Any) -> skeleton.Study:
    """A study of other walk settings measured and reported as this one (its arguments,
    quick mode and report), with ``doc``'s own rule and ``title``."""
    return walk_study(module, doc, run, lambda results, args: report(results, doc, title))


def walk_study(module: str, doc: str, run: Any, report: Callable[[dict[str, Any], Any], str]
               ) -> skeleton.Study:
    """A study of walk settings taking this one's arguments and quick mode, with its own
    ``run`` and ``report``."""
    return skeleton.Study(module=module, description=doc.splitlines()[0], arguments=_arguments, run=run,
                          report=report, smoke="synthetic grooves, few samples", quick=_quick, seed=0)


STUDY = skeleton.Study(module=MODULE, description=__doc__.splitlines()[0], arguments=_arguments, run=_run,
                       report=lambda results, args: report(results), smoke="synthetic grooves, few samples",
                       quick=_quick, seed=0)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
