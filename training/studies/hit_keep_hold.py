"""Whether a kept hit knob should hold the knobs nobody set, as the walk holds them.

A turned knob that walks (``GrooveBank.walk``) meets the knobs nobody set where the groove
had them, following the data's trend. A kept hit knob (*Edit → Density and hats keep the
groove*, :mod:`engine.generation.hit_edit`) edits the hits alone, and the others drift with
the hits it adds or removes: over Randomize's grooves at density 10 % and 90 % and hat
busyness 10 % and 90 %, the mean distance of intensity, laid back and the other hit knob
from their targets is 0.10–0.13, 0.08–0.12 and 0.11–0.17 of their ranges, against
0.03–0.04, 0.02–0.03 and 0.05–0.07 for the walk. With ``WalkSettings.hits_hold_others``
the edit holds them: the other hit knob by bringing the time-keeping steps to hat
busyness's target before density's cells are added or removed around them (or density met
around the steps hat busyness set), the feel knobs by scaling the velocities and shifting
the offsets as a kept feel knob does (:mod:`engine.generation.expression_edit`);
syncopation still drifts. The candidates: the switch as it ships (the hits alone); the
others held. Each is measured as ``walk_keep_hits`` measures its candidates.

Selection rule, written before any candidate was scored: the others held become the
switch's edit if their mean C2ST (features) over the kept knobs' own ends (density and hat
busyness at 10 % and 90 %, from Randomize and from the pad: 8 surfaces) is at least 0.01
below the switch's as it ships, they meet realism targets over all the knob-end surfaces
at least its minus 1, and knob targets at least as many as it; else the switch stays as it
ships. The walk stays the instrument's default whatever this says (``walk_keep_hits``).
Measured on a validation draw no walk study had scored (seed 13). If the switch's edit
changes, its test figures are measured afterwards by ``groovefader eval --hit-keeps``.

Run (validation split)::

    python -m training.studies.hit_keep_hold --checkpoint checkpoints/default.pt \\
        --data ../shared/data/groove --split validation --seed 13 --out docs/studies/hit_keep_hold
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from training.studies import hit_keep_voices, skeleton, walk_weights

MODULE = "training.studies.hit_keep_hold"
AS_SHIPS = "density and hat busyness kept"
HOLD = "kept, the others held"
SWITCH_GAIN = 0.01
SWITCH_SLACK = 1


def candidates() -> dict[str, Any]:
    """The walk settings compared, the switch as it ships first."""
    from engine.generation.groove_bank import WalkSettings
    from engine.generation.hit_edit import HIT_KNOBS

    kept = replace(WalkSettings(), keep=HIT_KNOBS, hits_hold_others=False)
    return {AS_SHIPS: kept, HOLD: replace(kept, hits_hold_others=True)}


def choose(rows: dict[str, dict[str, Any]]) -> str:
    """The rule in the module docstring."""
    base, hold = rows[AS_SHIPS], rows[HOLD]
    if (hit_keep_voices.kept_ends_c2st(hold) <= hit_keep_voices.kept_ends_c2st(base) - SWITCH_GAIN
            and hold["realism_targets"] >= base["realism_targets"] - SWITCH_SLACK
            and hold["knob_targets"] >= base["knob_targets"]):
        return HOLD
    return AS_SHIPS


def _run(args: argparse.Namespace) -> dict[str, Any]:
    results = hit_keep_voices.measure(args, candidates())
    results["chosen"] = choose(results["candidates"])
    return results


def report(results: dict[str, Any], args: argparse.Namespace | None = None) -> str:
    return hit_keep_voices.ends_report(results, args, __doc__, "A kept hit knob holding the knobs nobody set")


STUDY = walk_weights.walk_study(MODULE, __doc__, _run, report)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
