"""Whether the density knob alone should spread its walk's picks (a confirmation on a fresh draw).

The walk-slack study (``walk_slack``, seed 0) spread the walk's picks over grooves within a
cost slack of the cheapest: at slack 0.6 the density knob ends moved most (features C2ST at
10 % / 90 % from Randomize 0.60 / 0.60 → 0.54 / 0.56, from the pad 0.59 / 0.57 → 0.54 /
0.58), while over every knob end the gain was 0.007, under that rule's 0.01. Picked out after
looking at twenty surfaces, that is a hypothesis, not a result; this study tests it on a
validation draw no walk study has scored (seed 2), with the slack kept for the density knob
only (``WalkSettings.slack_knob``), so the other knobs walk exactly as they ship.

Selection rule, written before this draw was run: the density slack ships if the four
density knob-end surfaces' mean C2ST (features and raw) is at least 0.02 below the shipped
walk's on the same draw, the realism targets met over all knob ends are at least the
shipped walk's minus 1 (of 120), the knob targets met at least its minus 1, and the density
knob's hits flipped per step (mean of Randomize's and the pad's sweeps) at most 1.25 times
the shipped walk's. Otherwise the walk stays as it ships. If it ships, its test figures are
measured once afterwards by ``groovefader eval``.

Run (validation split, a fresh draw)::

    python -m training.studies.walk_slack_density --checkpoint checkpoints/default.pt \\
        --data ../shared/data/groove --split validation --seed 2 --out docs/studies/walk_slack_density
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

import numpy as np

from training.studies import skeleton, walk_weights

MODULE = "training.studies.walk_slack_density"
SLACK = 0.6
KNOB = "density"
SURFACES = tuple(f"knob_{KNOB}_{end}_{src}" for end in (10, 90) for src in ("randomize", "pad"))
GAIN = 0.02
REALISM_SLACK, KNOB_SLACK = 1, 1
SMOOTHNESS_SLACK = 1.25


def density_c2st(row: dict[str, Any]) -> float:
    """Mean C2ST (features and raw) over the density knob-end surfaces."""
    s = row["surfaces"]["surfaces"]
    return float(np.mean([s[n][k]["accuracy"] for n in SURFACES for k in ("c2st_features", "c2st_raw")]))


def density_flips(row: dict[str, Any]) -> float:
    return float(np.mean([c[KNOB]["hits_flipped_per_step"] for c in row["control"].values()]))


def choose(rows: dict[str, dict[str, Any]]) -> str:
    """The rule in the module docstring (the first row is the walk as it ships)."""
    (base_name, base), (name, row) = list(rows.items())[:2]
    ok = (density_c2st(row) <= density_c2st(base) - GAIN
          and row["realism_targets"] >= base["realism_targets"] - REALISM_SLACK
          and row["knob_targets"] >= base["knob_targets"] - KNOB_SLACK
          and density_flips(row) <= SMOOTHNESS_SLACK * density_flips(base))
    return name if ok else base_name


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from engine.generation.groove_bank import WalkSettings

    results = walk_weights.measure(args, {"as it ships": WalkSettings(),
                                          f"{KNOB} slack {SLACK:g}": replace(WalkSettings(), slack=SLACK,
                                                                             slack_knob=KNOB)})
    results["chosen"] = choose(results["candidates"])
    results["density_c2st"] = {n: density_c2st(r) for n, r in results["candidates"].items()}
    results["density_flips"] = {n: density_flips(r) for n, r in results["candidates"].items()}
    return results


STUDY = walk_weights.variant(MODULE, __doc__, "Spreading the density knob's walk (a fresh draw)", _run)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
