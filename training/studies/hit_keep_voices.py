"""How a kept density knob should share the hits it adds or removes among the voices.

With *Edit → Density and hats keep the groove* (``WalkSettings.keep`` naming the hit knobs),
a turn adds or removes the playing groove's hits in the order the decoder plays them over
the knob's range (:mod:`engine.generation.hit_edit`). Measured on validation
(``docs/studies/walk_keep_hits``) that order keeps the hats and drops the backbeat when
density goes down, as the decoder's own knob did: at 10 % of the range the grooves played
8.7 closed-hat and 4.4 snare hits per 2 bars where the training grooves at that density play
5.0 and 6.2, and were told from real drumming at 0.74. With ``WalkSettings.hits_by_voice``
density first shares its hits among the voices the groove plays as the data's drummers do
between the groove's density and the knob's (the bank's mean hits per voice along density,
``hit_edit.VoiceCurve``), and takes each voice's cells in the decoder's order. The
candidates: the walk as it ships; the hit knobs kept in the decoder's order (the switch as
it ships); the same with the hits shared by voice. Each is measured as ``walk_keep_hits``
measures its candidates.

Selection rule, written before any candidate was scored. First, as ``walk_keep_hits``: a
kept candidate replaces the walk only if the hits its kept knobs trade over a sweep are at
most 0.5 times the walk's, its mean C2ST over the knob-end surfaces at most 0.01 above the
walk's, and it meets realism targets at least the walk's minus 3 (of 120) and knob targets
at least its minus 2 (of 40). Second, for the switch (whatever the first part says): the
hits shared by voice become the switch's edit if their mean C2ST (features) over the kept
knobs' own ends (density and hat busyness at 10 % and 90 %, from Randomize and from the
pad: 8 surfaces) is at least 0.01 below the decoder order's and they meet realism targets
over all the knob-end surfaces at least the decoder order's minus 1; else the decoder's
order stays. Measured on a validation draw no walk study had scored (seed 12). If the
switch's edit changes, its test figures are measured afterwards by ``groovefader eval
--hit-keeps``.

Run (validation split)::

    python -m training.studies.hit_keep_voices --checkpoint checkpoints/default.pt \\
        --data ../shared/data/groove --split validation --seed 12 --out docs/studies/hit_keep_voices
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

import numpy as np

from training.studies import skeleton, walk_chain, walk_keep, walk_weights

MODULE = "training.studies.hit_keep_voices"
ORDER = "density and hat busyness kept"
BY_VOICE = "kept, hits shared by voice"
SWITCH_GAIN = 0.01  # mean C2ST the hits shared by voice must take off the decoder order's
SWITCH_SLACK = 1  # realism targets they may lose
ENDS = ("density", "hat_busyness")


def candidates() -> dict[str, Any]:
    """The walk settings compared, the walk as it ships first."""
    from engine.generation.groove_bank import WalkSettings
    from engine.generation.hit_edit import HIT_KNOBS

    shipped = replace(WalkSettings(), keep=())
    kept = replace(shipped, keep=HIT_KNOBS, hits_by_voice=False)
    return {"as shipped": shipped, ORDER: kept, BY_VOICE: replace(kept, hits_by_voice=True)}


def kept_ends_c2st(row: dict[str, Any]) -> float:
    """Mean C2ST (features) over the kept knobs' knob-end surfaces the row measured (NaN
    when none was)."""
    surfaces = row["surfaces"]["surfaces"]
    keys = (f"knob_{k}_{share}_{src}" for k in ENDS for share in (10, 90) for src in ("randomize", "pad"))
    accs = [surfaces[key]["c2st_features"]["accuracy"] for key in keys
            if "c2st_features" in surfaces.get(key, {})]
    return float(np.mean(accs)) if accs else float("nan")


def choose_switch(rows: dict[str, dict[str, Any]]) -> str:
    """The second part of the rule: the switch's edit."""
    order, by_voice = rows[ORDER], rows[BY_VOICE]
    if (kept_ends_c2st(by_voice) <= kept_ends_c2st(order) - SWITCH_GAIN
            and by_voice["realism_targets"] >= order["realism_targets"] - SWITCH_SLACK):
        return BY_VOICE
    return ORDER


def measure(args: argparse.Namespace, rows: dict[str, Any]) -> dict[str, Any]:
    """The candidates ``rows`` (name → walk settings) measured as ``walk_keep`` measures its
    own, with each one's mean C2ST over the kept knobs' ends."""
    results = walk_chain.measure_with_sweeps(args, rows, walk_keep.per_knob_sweeps)
    results["kept_ends_c2st"] = {n: kept_ends_c2st(r) for n, r in results["candidates"].items()}
    return results


def ends_report(results: dict[str, Any], args: argparse.Namespace | None, doc: str, title: str) -> str:
    """``walk_keep``'s report with the kept knobs' ends' mean C2ST per candidate."""
    text = walk_keep.report(results, args, doc, title)
    ends = "\n".join(f"- {n}: {v:.3f}" for n, v in results["kept_ends_c2st"].items())
    return (text + "\nMean C2ST (features) over density's and hat busyness's ends (10 % and 90 %, "
            f"Randomize and pad):\n\n{ends}\n")


def _run(args: argparse.Namespace) -> dict[str, Any]:
    results = measure(args, candidates())
    rows = results["candidates"]
    results["chosen"] = walk_keep.choose(rows)
    results["switch"] = choose_switch(rows)
    return results


def report(results: dict[str, Any], args: argparse.Namespace | None = None) -> str:
    text = ends_report(results, args, __doc__, "The voices a kept density knob adds or removes")
    return text + f"\nThe switch's edit by the rule: **{results['switch']}**.\n"


STUDY = walk_weights.walk_study(MODULE, __doc__, _run, report)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
