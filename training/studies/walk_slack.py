"""Whether a turned knob's walk should spread its picks over grooves nearly as good as the best.

A turned knob plays the training groove that meets the knob's setting and costs least
(``engine.generation.groove_bank.GrooveBank.walk``). Many different playing grooves walk
to the same few grooves at a knob end, the ones nearest many of them, and at density 90 %
from Randomize those picks are told from the real dense grooves more often (the realism
report's "picked" rows, 0.65) than the training windows at that setting as a whole (0.51).
With ``WalkSettings.slack`` > 0 the walk plays one of the candidates whose cost lies
within that slack of the cheapest (a slack of 0.1 is one more hit changed, or a held knob
missed by 3 % of its range), chosen by a rank fixed by the playing groove and the knob
turned, so the same groove and knob give the same groove and a pick stays while the knob
moves as long as it stays near the cheapest. Each candidate is measured as
``walk_weights`` measures one: the knob-end surfaces of the realism report and the held knob
figures from Randomize's and the pad's latents.

Selection rule, written before any candidate was scored: a candidate whose hits flipped per
knob step (mean over knobs and sources of the held sweeps) exceed the shipped walk's by more
than 25 % is out (a small turn must stay a small change); of the others, as in ``walk_hubs``
(``walk_weights.guarded_choose``): a mean C2ST over the knob-end surfaces at least 0.01
below the shipped walk's (slack 0), realism targets met at least the shipped walk's minus 3
(of 120), knob targets met at least its minus 2; the lowest mean C2ST of those ships, else
the walk stays as it ships.

Run (validation split)::

    python -m training.studies.walk_slack --checkpoint checkpoints/default.pt \\
        --data ../shared/data/groove --split validation --out docs/studies/walk_slack
"""

from __future__ import annotations

from typing import Any

import numpy as np

from training.studies import skeleton, walk_weights

MODULE = "training.studies.walk_slack"
SLACKS = (0.0, 0.3, 0.6, 1.2)  # the first is the walk as it ships
SMOOTHNESS_SLACK = 1.25  # hits flipped per knob step allowed, as a multiple of the shipped walk's


def flips_per_step(row: dict[str, Any]) -> float:
    """Mean hits flipped per step of the held knob sweeps, over knobs and sources."""
    return float(np.mean([fig["hits_flipped_per_step"] for control in row["control"].values()
                          for fig in control.values()]))


def choose(rows: dict[str, dict[str, Any]]) -> str:
    """The rule in the module docstring (the first row is the walk as it ships)."""
    names = list(rows)
    limit = SMOOTHNESS_SLACK * flips_per_step(rows[names[0]])
    smooth = {n: rows[n] for n in names if n == names[0] or flips_per_step(rows[n]) <= limit}
    return walk_weights.guarded_choose(smooth)


STUDY = walk_weights.setting_study(MODULE, __doc__, "Spreading the knob walk's picks", "slack", SLACKS,
                                   "slack", choose)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
