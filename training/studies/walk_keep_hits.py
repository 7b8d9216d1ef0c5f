"""Whether density and hat busyness should add or remove the playing groove's hits instead
of walking to another groove.

A turned knob walks the data (``GrooveBank.walk``) to a recorded groove at each detent it
passes, so turned slowly it swaps grooves (``docs/studies/knob_continuity``). Grids' density
knobs never do: every step of a map has a level, and the knob says how many steps sound.
With ``WalkSettings.keep`` naming a hit knob, a turn of it keeps the playing groove and adds
or removes its hits in such an order (:mod:`engine.generation.hit_edit`): a cell's level is
the mean hit probability the decoder gives it when the groove's latent is decoded with the
knob's input swept over the data's range, so the hits the decoder keeps in the sparsest
version of the groove go last, and the ones it only adds near the top come first. The
candidates: the walk as it ships; density and hat busyness kept, adding to the voices the
groove plays first (``hits_own_voices``, as the decoder's corrections were found to bring in
crashes, ``docs/studies/walk_voices``); the same adding whatever voice the order gives. Each
is measured as ``walk_keep`` measures its candidates (the 20 knob-end surfaces of the
realism report and the held knob figures from Randomize's and the pad's latents, and each
knob's sweeps: 21 positions from Randomize latents and a pad grid).

Selection rule, written before any candidate was scored (``walk_keep``'s): a candidate
qualifies if the hits its kept knobs trade over a sweep (mean over those knobs and both
sources) are at most 0.5 times the shipped walk's for the same knobs, its mean C2ST over the
knob-end surfaces is at most 0.01 above the shipped walk's, it meets realism targets at least
the shipped walk's minus 3 (of 120) and knob targets at least its minus 2 (of 40). Of those
qualifying the one keeping more knobs ships (ties: the lower mean C2ST); if none qualifies,
the walk stays as it ships. Measured on a validation draw no walk study had scored (seed
11). If one ships, its test figures are measured once afterwards by ``groovefader eval``,
and the realism reports' validation draws (seeds 0 and 1) are re-run: if its mean knob-end
C2ST there (features and raw, the 20 ends, both seeds) lies more than 0.01 above the walk's
before, the choice does not hold and the walk goes back to walking these knobs.

Run (validation split)::

    python -m training.studies.walk_keep_hits --checkpoint checkpoints/default.pt \\
        --data ../shared/data/groove --split validation --seed 11 --out docs/studies/walk_keep_hits
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from training.studies import skeleton, walk_chain, walk_keep, walk_weights

MODULE = "training.studies.walk_keep_hits"


def candidates() -> dict[str, Any]:
    """The walk settings compared, the walk as it ships first."""
    from engine.generation.groove_bank import WalkSettings
    from engine.generation.hit_edit import HIT_KNOBS

    shipped = replace(WalkSettings(), keep=())
    kept = replace(shipped, keep=HIT_KNOBS, hits_own_voices=True)
    return {"as shipped": shipped, "density and hat busyness kept": kept,
            "kept, any voice added": replace(kept, hits_own_voices=False)}


def _run(args: argparse.Namespace) -> dict[str, Any]:
    results = walk_chain.measure_with_sweeps(args, candidates(), walk_keep.per_knob_sweeps)
    results["chosen"] = walk_keep.choose(results["candidates"])
    return results


def report(results: dict[str, Any], args: argparse.Namespace | None = None) -> str:
    return walk_keep.report(results, args, __doc__, "Hit knobs that keep the groove")


STUDY = walk_weights.walk_study(MODULE, __doc__, _run, report)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
