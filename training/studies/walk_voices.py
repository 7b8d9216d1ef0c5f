"""Whether the walk's corrections may bring in a drum the walked groove does not play.

A turned knob walks to a recorded groove and the decoder's corrections then pull the other
held knobs toward their targets (``WalkSettings.correct``) by moving the decoder's attribute
inputs. Those moves change more than the attributes: at every knob end 9-25 % of the
grooves played gain a voice their walked groove's own decode lacks, mostly a crash
(0.07-0.31 crash hits per 2 bars from Randomize; the open hi-hat at hat busyness 10 %),
so turning intensity down can bring in a crash. A drummer playing a groove softer or
busier does not reach for another cymbal. With ``WalkSettings.keep_voices`` the corrected
decode keeps only the voices the walked groove's own decode plays (for a feel knob kept,
the playing groove's); the corrections still add or drop hits of those voices. The
candidates: the walk as it ships; the corrections keeping the groove's voices. Each is
measured as ``walk_weights`` measures one (the 20 knob-end surfaces of the realism report
and the held knob figures from Randomize's and the pad's latents), with the crash hits
per 2 bars at the knob ends beside the real windows'.

Selection rule, written before any candidate was scored: the corrections keep the groove's
voices unless that costs more than 1 realism target (of 120) or 2 knob targets (of 40)
against the walk as it ships, or raises the mean C2ST over the knob-end surfaces by more
than 0.005; else the walk stays as it ships. Measured on a validation draw no walk study
had scored (seed 10). If it ships, its test figures are measured once afterwards by
``groovefader eval``, and the realism reports' validation draws (seeds 0 and 1) are re-run:
if its mean knob-end C2ST there (features and raw, the 20 ends, both seeds) lies more than
0.01 above the walk's before, the choice does not hold and the corrections go back to
playing any voice.

Run (validation split)::

    python -m training.studies.walk_voices --checkpoint checkpoints/default.pt \\
        --data ../shared/data/groove --split validation --seed 10 --out docs/studies/walk_voices
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

import numpy as np

from training.studies import drum_common as dc
from training.studies import skeleton, walk_weights

MODULE = "training.studies.walk_voices"
REALISM_SLACK = 1      # realism targets the candidate may lose
KNOB_SLACK = 2         # knob targets it may lose
C2ST_ALLOWANCE = 0.005  # mean knob-end C2ST it may add


def candidates() -> dict[str, Any]:
    """The walk settings compared, the walk as it ships first."""
    from engine.generation.groove_bank import WalkSettings

    shipped = replace(WalkSettings(), keep_voices=False)
    return {"as shipped": shipped, "corrections keep the groove's voices": replace(shipped, keep_voices=True)}


def choose(rows: dict[str, dict[str, Any]]) -> str:
    """The rule in the module docstring (the first row is the walk as it ships)."""
    names = list(rows)
    base, cand = rows[names[0]], rows[names[1]]
    ok = (cand["realism_targets"] >= base["realism_targets"] - REALISM_SLACK
          and cand["knob_targets"] >= base["knob_targets"] - KNOB_SLACK
          and cand["mean_c2st"] <= base["mean_c2st"] + C2ST_ALLOWANCE)
    return names[1] if ok else names[0]


def crash_hits(row: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Per knob-end surface: crash hits per 2 bars played and in the real windows there."""
    return {s["label"]: (s["voice_hits_per_2_bars"]["crash"], s["reference_voice_hits_per_2_bars"]["crash"])
            for s in walk_weights._knob_ends(row) if "voice_hits_per_2_bars" in s}


def _run(args: argparse.Namespace) -> dict[str, Any]:
    results = walk_weights.measure(args, candidates())
    results["chosen"] = choose(results["candidates"])
    return results


def report(results: dict[str, Any], args: argparse.Namespace | None = None) -> str:
    del args
    text = walk_weights.report(results, __doc__, "Corrections that keep the groove's drums")
    rows = results["candidates"]
    first = next(iter(rows))
    crashes = {n: crash_hits(r) for n, r in rows.items()}
    table = [(label, *(crashes[n][label][0] for n in rows), real)
             for label, (_, real) in crashes[first].items()]
    table.append(("mean", *(float(np.mean([v[0] for v in crashes[n].values()])) for n in rows),
                  float(np.mean([v[1] for v in crashes[first].values()]))))
    return (text + "\nCrash hits per 2 bars at the knob ends (played; the real windows there last):\n\n"
            + dc.md_table(["knob end", *rows, "real"], table, digits=2))


STUDY = walk_weights.walk_study(MODULE, __doc__, _run, report)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
