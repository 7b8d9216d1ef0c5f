"""How sure the model must be of a cell before the temperature knob may flip it.

The temperature knob draws each hit from the decoder's probabilities (sharpened or
flattened by the temperature) instead of taking the most likely ones. Turned towards its
end it plays hits the model gives a few per cent (toms, open hats, crashes) and drops some
it is nearly sure of; on test Randomize's grooves at 90 % of the knob's range (1.35) were
told from real drumming more often than the grooves themselves (C2ST 0.63 against 0.57,
floor 0.53). ``Generator.sampling_floor`` leaves the cells the model is sure of alone: a
hit it gives less than the floor never plays, one it gives more than 1 minus the floor
always does, the rest are drawn as before. Each candidate floor is measured on that
surface as ``groovefader eval`` measures it (classifier two-sample test with the
reconstructions' floor from the same run, MGEval, micro-timing), and by how much the knob
still varies the groove: the hits changed from the greedy decode of the same latents.

Selection rule, written before any candidate was scored: a candidate floor qualifies if its
surface meets at least as many realism targets (of 6) as the shipped plain draws (floor 0),
its mean C2ST (features and raw) is at least 0.01 lower, and it keeps at least half of the
plain draws' hits changed from the greedy decode (a knob that no longer varies the groove
is no gain). Of those that qualify, the lowest mean C2ST ships (ties: the smaller floor);
if none qualifies the plain draws stay.

Run (validation split)::

    python -m training.studies.sampling_floor --checkpoint checkpoints/default.pt \\
        --data ../shared/data/groove --split validation --out docs/studies/sampling_floor
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from training.studies import drum_common as dc
from training.studies import skeleton

MODULE = "training.studies.sampling_floor"
FLOORS = (0.0, 0.05, 0.1, 0.2)  # the first is the plain draws, shipped when the rule was written
MIN_GAIN = 0.01                 # mean C2ST a floor must gain over the plain draws
MIN_CHANGE = 0.5                # share of the plain draws' hits changed it must keep


def score(surface: dict[str, Any]) -> tuple[int, float]:
    """(targets met, mean C2ST) of the temperature surface."""
    return dc.surface_score(surface)


def choose(rows: dict[str, dict[str, Any]]) -> str:
    """The candidate the rule picks (module docstring); the first row is the plain draws."""
    names = list(rows)
    base = rows[names[0]]
    met0, acc0 = score(base["temperature"])
    ok = []
    for n in names[1:]:
        met, acc = score(rows[n]["temperature"])
        varied = rows[n]["hits_changed"] >= MIN_CHANGE * base["hits_changed"]
        if met >= met0 and acc <= acc0 - MIN_GAIN and varied:
            ok.append(n)
    if not ok:
        return names[0]
    return min(ok, key=lambda n: (score(rows[n]["temperature"])[1], names.index(n)))


def _hits_changed(gen: Any, samples: int, seed: int) -> float:
    """Mean cells whose hit differs between the sampled and the greedy decode of
    Randomize's latents (the surface's own draws)."""
    from engine.generation.knobs import KnobState
    from training.realism import surfaces as su

    z = np.asarray(gen.sample_like_data(samples, seed=seed + 1), np.float64)
    free = su._app_inputs(gen, KnobState.for_model(gen.attribute_ranges, gen.attribute_defaults))
    greedy = su._play(gen, z, free)
    hot = su._play(gen, z, free, temperature=su.HOT, seed=seed + 4)
    return float(((greedy[..., :9] > 0.5) != (hot[..., :9] > 0.5)).sum(axis=(1, 2)).mean())


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from training.realism import surfaces as su
    from training.realism.scorecard import evaluate_surfaces

    gen, data = dc.surface_study_setup(args)
    rows: dict[str, dict[str, Any]] = {}
    for floor in FLOORS:
        gen.sampling_floor = floor  # every candidate set here, whatever the generator ships
        res = evaluate_surfaces(gen, data.patterns, data.performance_groups(), samples=args.samples,
                                seed=args.seed, only=("temperature",), training=data.training)
        name = f"floor {floor:g}"
        rows[name] = {"floor": floor, "temperature": res["surfaces"]["temperature_90"],
                      "summary": res["summary"], "hits_changed": _hits_changed(gen, args.samples, args.seed)}
        met, acc = score(rows[name]["temperature"])
        print(f"{name}: {met} targets met, mean C2ST {acc:.3f}, hits changed "
              f"{rows[name]['hits_changed']:.2f}", flush=True)
    return {"split": args.split, "samples": args.samples, "seed": args.seed, "temperature": su.HOT,
            "candidates": rows, "chosen": choose(rows)}


def report(results: dict[str, Any]) -> str:
    rows = results["candidates"]
    floor = next(iter(rows.values()))["summary"]
    table = [(name, *dc.surface_cells(r["temperature"]), f"{r['hits_changed']:.2f}",
              score(r["temperature"])[0]) for name, r in rows.items()]
    paragraphs = __doc__.split(chr(10) + chr(10))
    return (f"# Sampling floor of the temperature knob\n\n{paragraphs[1]}\n\n{paragraphs[2]}\n\n"
            f"Split: {results['split']}, {results['samples']} grooves, temperature "
            f"{results['temperature']:g}, "
            f"seed {results['seed']}; floor (reconstructions) C2ST features "
            f"{floor['floor_c2st_features']:.2f}, raw {floor['floor_c2st_raw']:.2f}.\n\n"
            + dc.md_table(["candidate", *dc.SURFACE_HEADERS, "hits changed from greedy",
                           "targets met (of 6)"], table)
            + f"\nChosen by the rule: **{results['chosen']}**.\n")


STUDY = skeleton.surface_study(MODULE, __doc__, _run, report)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
