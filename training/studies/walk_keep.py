"""Whether the feel knobs should edit the playing groove instead of walking to another.

Intensity (the mean velocity) and laid back (the mean micro-timing offset) are how a
groove is played, not what is played: a drummer asked to play harder or further behind the
beat plays the same pattern. Yet a turned knob walks the data (``GrooveBank.walk``) to the
groove at its nearest detent, so these two knobs swap grooves at their detents like the
others (``docs/studies/knob_continuity``: a change keeps 64-76 % of the hits). With
``WalkSettings.keep`` naming a knob, a turn of it keeps the playing groove: its latent is
decoded with the knob's input moved toward the setting and the other knobs held where the
groove has them (the decoder's corrections, inside the data's range), and what the
decoder leaves short is closed by scaling the groove's velocities (intensity) or shifting
its offsets (laid back) until the attribute meets the knob
(:mod:`engine.generation.expression_edit`). The candidates: the walk as it ships; laid
back kept; intensity and laid back kept. Each is measured as ``walk_weights`` measures one
(the 20 knob-end surfaces of the realism report and the held knob figures from Randomize's
and the pad's latents) and by each knob's sweeps (``walk_chain.sweep_figures``' figures per
knob: 21 positions from Randomize latents and a pad grid).

Selection rule, written before any candidate was scored: a candidate qualifies if the hits
its kept knobs trade over a sweep (mean over those knobs and both sources) are at most 0.5
times the shipped walk's for the same knobs, its mean C2ST over the knob-end surfaces is at
most 0.01 above the shipped walk's, it meets realism targets at least the shipped walk's
minus 3 (of 120) and knob targets at least its minus 2 (of 40). Of those qualifying, the
one keeping more knobs ships (ties: the lower mean C2ST); if none qualifies, the walk stays
as it ships. Measured on a validation draw no walk study had scored (seed 9). If one ships,
its test figures are measured once afterwards by ``groovefader eval``, and the realism
reports' validation draws (seeds 0 and 1) are re-run: if its mean knob-end C2ST there
(features and raw, the 20 ends, both seeds) lies more than 0.01 above the walk's before,
the choice does not hold and the walk goes back to walking every knob.

Run (validation split)::

    python -m training.studies.walk_keep --checkpoint checkpoints/default.pt \\
        --data ../shared/data/groove --split validation --seed 9 --out docs/studies/walk_keep
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

import numpy as np

from training.studies import drum_common as dc
from training.studies import skeleton, walk_chain, walk_weights

MODULE = "training.studies.walk_keep"
PATH_SHARE = 0.5  # the hits the kept knobs trade over a sweep, as a share of the walk's
REALISM_ALLOWANCE = 0.01  # mean C2ST a candidate may add


def candidates() -> dict[str, Any]:
    """The walk settings compared, the walk as it ships first."""
    from engine.generation.groove_bank import WalkSettings

    shipped = replace(WalkSettings(), keep=())
    return {"as shipped": shipped, "laid back kept": replace(shipped, keep=("laid_back",)),
            "intensity and laid back kept": replace(shipped, keep=("intensity", "laid_back"))}


def kept_flips(row: dict[str, Any], knobs: tuple[str, ...]) -> float:
    """The mean hits traded over a sweep of ``knobs`` (both sources) in a candidate's row
    (the model's knobs among them)."""
    return float(np.mean([row["per_knob"][k]["path_flips"] for k in knobs if k in row["per_knob"]]))


def choose(rows: dict[str, dict[str, Any]]) -> str:
    """The rule in the module docstring (the first row is the walk as it ships)."""
    names = list(rows)
    base = rows[names[0]]
    ok = []
    for n in names[1:]:
        keep = tuple(rows[n]["keep"])
        if (keep and kept_flips(rows[n], keep) <= PATH_SHARE * kept_flips(base, keep)
                and rows[n]["mean_c2st"] <= base["mean_c2st"] + REALISM_ALLOWANCE
                and rows[n]["realism_targets"] >= base["realism_targets"] - walk_weights.GUARDED_REALISM_SLACK
                and rows[n]["knob_targets"] >= base["knob_targets"] - walk_weights.GUARDED_KNOB_SLACK):
            ok.append(n)
    return min(ok, key=lambda n: (-len(rows[n]["keep"]), rows[n]["mean_c2st"])) if ok else names[0]


def per_knob_sweeps(gen: Any, latents: dict[str, np.ndarray], positions: int) -> dict[str, Any]:
    """Each knob's sweep figures (``knob_continuity.continuity``), the mean over ``latents``'
    sources (``per_knob``), their mean over the knobs as ``walk_chain.sweep_figures`` gives
    it, and the knobs ``gen`` keeps."""
    from training.studies.knob_continuity import continuity, sweep_hits

    figures = ("path_flips", "detour", "kept_at_change", "change_share")
    per_knob = {}
    for knob in gen.attribute_names:
        rows = [continuity(sweep_hits(gen, z, knob, positions, "held")[0]) for z in latents.values()]
        per_knob[knob] = {k: float(np.mean([r[k] for r in rows])) for k in figures}
    return {"keep": list(gen.walk_settings.keep), "per_knob": per_knob,
            **{k: float(np.mean([v[k] for v in per_knob.values()])) for k in figures}}


def _run(args: argparse.Namespace) -> dict[str, Any]:
    results = walk_chain.measure_with_sweeps(args, candidates(), per_knob_sweeps)
    results["chosen"] = choose(results["candidates"])
    return results


def report(results: dict[str, Any], args: argparse.Namespace | None = None, doc: str | None = None,
           title: str = "Feel knobs that keep the groove") -> str:
    """The walk report (``doc``: the study's docstring, this one's by default) with the
    sweeps' table and the hits each knob trades over a sweep."""
    del args
    text = walk_chain.sweep_table(walk_weights.report(results, doc or __doc__, title), results)
    rows = results["candidates"]
    knobs = list(next(iter(rows.values()))["per_knob"])
    flips = [(name, *(r["per_knob"][k]["path_flips"] for k in knobs)) for name, r in rows.items()]
    table = dc.md_table(["candidate", *knobs], flips, digits=1)
    return text + "\nHits traded over a sweep, per knob (mean of both sources):\n\n" + table


STUDY = walk_weights.walk_study(MODULE, __doc__, _run, report)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
