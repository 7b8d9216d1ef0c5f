"""Whether a turned knob should walk to its nearest detent's grooves.

Turned slowly, a knob plays a run of different recorded grooves: every setting walks to its
own, and neighbouring settings' grooves share about half their hits
(``docs/studies/knob_continuity``). With ``WalkSettings.anchors`` = 9 the walk meets the
nearest of its detents (the playing groove's own value plus or minus whole eighths of the
knob's range, or either end of it) and the decoder's corrections carry the groove on toward
the knob's own value, so between detents the groove is refined rather than replaced. Each
candidate is measured as ``walk_weights`` measures one (the knob-end surfaces of the realism
report and the held knob figures from Randomize's and the pad's latents) and by its detour
(``knob_continuity``: cells flipped over a sweep of 21 positions against those between the
sweep's ends, the mean over knobs and sources, from the study's Randomize latents and pad
grid).

Selection rule, written before any candidate was scored: detents ship if their mean
detour is at most 0.7 times the shipped walk's (anchors 0) and they keep realism and the
knobs: a mean C2ST over the knob-end surfaces at most 0.01 above the shipped walk's,
realism targets met at least its minus 3 (of 120) and knob targets met at least its minus 2
(of 40). Else the walk stays as it ships. If they ship, their test figures are measured once afterwards by
``groovefader eval``.

The rule's first run (validation seed 5, ``fixed_grid/``) measured detents at nine even
settings of the range; it chose them, but a test of the walk then found that on that grid a
knob touched at its groove's own value walks to another groove (the grid need not hold the
playing groove's value). The candidate was changed to the detents above and measured again
under the same rule on a validation draw no walk study had scored (seed 6).

Run (validation split)::

    python -m training.studies.walk_anchors --checkpoint checkpoints/default.pt \\
        --data ../shared/data/groove --split validation --seed 6 --out docs/studies/walk_anchors
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

import numpy as np

from training.studies import skeleton, walk_weights

MODULE = "training.studies.walk_anchors"
ANCHORS = (0, 9)  # the first is the walk as it shipped before the study (every setting walks)
DETOUR_SHARE = 0.7  # the detour detents must come down to, as a share of the shipped walk's
REALISM_ALLOWANCE = 0.01  # mean C2ST they may add
POSITIONS = 21


def choose(rows: dict[str, dict[str, Any]]) -> str:
    """The rule in the module docstring (the first row is the walk as it ships)."""
    names = list(rows)
    base = rows[names[0]]
    limit = DETOUR_SHARE * base["detour"]
    smoother = {n: rows[n] for n in names if n == names[0] or rows[n]["detour"] <= limit}
    return walk_weights.choose_by_level(smoother, -REALISM_ALLOWANCE, walk_weights.GUARDED_REALISM_SLACK,
                                        walk_weights.GUARDED_KNOB_SLACK)


def mean_detour(gen: Any, latents: dict[str, np.ndarray], positions: int) -> float:
    """Mean detour over the knobs and ``latents``' sources of ``gen``'s walk as set."""
    from training.studies.knob_continuity import continuity, sweep_hits

    return float(np.mean([continuity(sweep_hits(gen, z, knob, positions, "held")[0])["detour"]
                          for z in latents.values() for knob in gen.attribute_names]))


def _run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from engine.generation.generator import Generator
    from engine.generation.groove_bank import WalkSettings
    from training.evaluate import pad_latents

    before = replace(WalkSettings(), chain=False, trend_at_detents=False)  # as the walk was then
    candidates = {f"anchors {k}": replace(before, anchors=k) for k in ANCHORS}
    results = walk_weights.measure(args, candidates)
    torch.set_num_threads(1)
    gen = Generator.from_checkpoint(args.checkpoint)
    draws = max(4, args.draws // 10)
    latents = {"randomize": np.asarray(gen.sample_like_data(draws, seed=args.seed + 5), np.float64),
               "pad": np.asarray(pad_latents(gen, max(2, int(round(np.sqrt(draws))))), np.float64)}
    positions = POSITIONS if not getattr(args, "smoke", False) else 5
    for name, settings in candidates.items():
        gen.walk_settings = settings
        results["candidates"][name]["detour"] = mean_detour(gen, latents, positions)
    results.update(detour_draws=draws, detour_positions=positions, chosen=choose(results["candidates"]))
    return results


def report(results: dict[str, Any], args: argparse.Namespace | None = None) -> str:
    del args
    text = walk_weights.report(results, __doc__, "Knob detents")
    text = text.replace("\n\nSplit:", "\n\n" + __doc__.split("\n\n")[3] + "\n\nSplit:", 1)
    detours = ", ".join(f"{n} {r['detour']:.1f}" for n, r in results["candidates"].items())
    return text + (f"\nMean detour ({results['detour_positions']} positions, {results['detour_draws']} "
                   f"Randomize latents and a pad grid of about as many): {detours}.\n")


STUDY = walk_weights.walk_study(MODULE, __doc__, _run, report)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
