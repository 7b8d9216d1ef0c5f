"""Whether a knob's detents should be reached one from the next.

With detents (``docs/studies/walk_anchors``) every detent walks from the playing groove to
the nearest groove at its setting, so neighbouring detents play grooves that are each near
the playing one but not near each other: turned slowly, a knob still trades 7–10 times the
hits between its sweep's ends (``docs/studies/knob_continuity``). Chained
(``WalkSettings.chain``), a turn walks through every detent on its way, each walk from the
groove the one before reached: one detent further plays a neighbour of the groove playing,
as a drummer thickens or thins a groove rather than swapping it. The walk stays a function
of the playing groove and the knob's setting (turned back, a knob plays what it played).
Each candidate is measured as ``walk_weights`` measures one (the knob-end surfaces of the
realism report and the held knob figures from Randomize's and the pad's latents) and by its
sweeps (``knob_continuity``: 21 positions over the range from Randomize latents and a pad
grid, the mean over knobs and sources of the hits traded on the way, its detour, the share
of hits a change keeps).

Selection rule, written before any candidate was scored: the chain ships if the hits it
trades over a sweep are at most 0.8 times the unchained detents' (as shipped) and it keeps
realism and the knobs: a mean C2ST over the knob-end surfaces at most 0.01 above the
shipped walk's, realism targets met at least its minus 3 (of 120) and knob targets met at
least its minus 2 (of 40). Else the walk stays as it ships. If it ships, its test figures
are measured once afterwards by ``groovefader eval``. Measured on a validation draw no walk
study had scored (seed 7).

Run (validation split)::

    python -m training.studies.walk_chain --checkpoint checkpoints/default.pt \\
        --data ../shared/data/groove --split validation --seed 7 --out docs/studies/walk_chain
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from training.studies import skeleton, walk_weights

MODULE = "training.studies.walk_chain"
PATH_SHARE = 0.8  # the hits traded over a sweep the chain must come down to, as a share
REALISM_ALLOWANCE = 0.01  # mean C2ST it may add
POSITIONS = 21


def choose(rows: dict[str, dict[str, Any]]) -> str:
    """The rule in the module docstring (the first row is the walk as it ships)."""
    names = list(rows)
    limit = PATH_SHARE * rows[names[0]]["path_flips"]
    smoother = {n: rows[n] for n in names if n == names[0] or rows[n]["path_flips"] <= limit}
    return walk_weights.choose_by_level(smoother, -REALISM_ALLOWANCE, walk_weights.GUARDED_REALISM_SLACK,
                                        walk_weights.GUARDED_KNOB_SLACK)


def sweep_figures(gen: Any, latents: dict[str, np.ndarray], positions: int) -> dict[str, float]:
    """Mean over the knobs and ``latents``' sources of ``gen``'s sweeps as set: hits traded
    (``path_flips``), ``detour``, ``kept_at_change``, ``change_share``."""
    from training.studies.knob_continuity import continuity, sweep_hits

    rows = [continuity(sweep_hits(gen, z, knob, positions, "held")[0])
            for z in latents.values() for knob in gen.attribute_names]
    return {k: float(np.mean([r[k] for r in rows]))
            for k in ("path_flips", "detour", "kept_at_change", "change_share")}


def measure_with_sweeps(args: argparse.Namespace, candidates: dict[str, Any],
                        figures: Callable[[Any, dict[str, np.ndarray], int], dict[str, Any]] | None = None
                        ) -> dict[str, Any]:
    """:func:`walk_weights.measure` of ``candidates`` (name → walk settings), each with its
    sweeps' ``figures`` (default :func:`sweep_figures`) from Randomize latents and a pad grid
    of about as many."""
    import torch

    from engine.generation.generator import Generator
    from training.evaluate import pad_latents

    results = walk_weights.measure(args, candidates)
    torch.set_num_threads(1)
    gen = Generator.from_checkpoint(args.checkpoint)
    draws = max(4, args.draws // 10)
    latents = {"randomize": np.asarray(gen.sample_like_data(draws, seed=args.seed + 5), np.float64),
               "pad": np.asarray(pad_latents(gen, max(2, int(round(np.sqrt(draws))))), np.float64)}
    positions = POSITIONS if not getattr(args, "smoke", False) else 5
    for name, settings in candidates.items():
        gen.walk_settings = settings
        results["candidates"][name].update((figures or sweep_figures)(gen, latents, positions))
    results.update(sweep_draws=draws, sweep_positions=positions)
    return results


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from engine.generation.groove_bank import WalkSettings

    shipped = replace(WalkSettings(), anchors=9, chain=False, trend_at_detents=False)  # when it ran
    results = measure_with_sweeps(args, {"detents": shipped, "detents chained": replace(shipped, chain=True)})
    results["chosen"] = choose(results["candidates"])
    return results


def report(results: dict[str, Any], args: argparse.Namespace | None = None) -> str:
    del args
    text = walk_weights.report(results, __doc__, "Detents reached one from the next")
    return sweep_table(text, results)


def sweep_table(text: str, results: dict[str, Any]) -> str:
    """``text`` with the candidates' sweep figures (:func:`sweep_figures`) as a table."""
    lines = ["", f"Sweeps ({results['sweep_positions']} positions, {results['sweep_draws']} Randomize "
             "latents and a pad grid of about as many; means over knobs and sources):", "",
             "| candidate | hits traded over a sweep | detour | hits kept at a change | steps that change |",
             "|---|---|---|---|---|"]
    for name, r in results["candidates"].items():
        lines.append(f"| {name} | {r['path_flips']:.1f} | {r['detour']:.1f} | {r['kept_at_change']:.2f} "
                     f"| {r['change_share']:.2f} |")
    return text + "\n".join(lines) + "\n"


STUDY = walk_weights.walk_study(MODULE, __doc__, _run, report)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
