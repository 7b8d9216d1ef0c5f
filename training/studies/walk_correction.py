"""Whether a knob's walk along the data should correct the walked groove's other knobs.

A turned knob plays the training groove that meets it and costs least
(``engine.generation.groove_bank.GrooveBank.walk``), decoded with its own attributes. No
training groove meets the turned knob and sits exactly where the groove had every other
knob: the data's drummers play denser grooves busier on the hats, so the held knobs drift
(cross-talk 0.10–0.17 on four of five knobs). A fader decoder can pull them back: decode the
walked groove's code with the held knobs' inputs corrected toward their targets
(``WalkSettings.correct`` rounds of the knob feedback loop,
``engine.generation.knob_feedback``), the inputs kept inside the data's 5–95 % range and the
turned knob kept met. Each candidate is measured as ``walk_weights`` measures one: the
knob-end surfaces of the realism report and the held knob figures from Randomize's and the
pad's latents.

Selection rule, written before any candidate was scored (the walk weights' rule): most
realism targets met over the knob-end surfaces, then most knob targets met, then the lowest
mean C2ST accuracy (features and raw) over those surfaces, then the first candidate (the
walk as it ships, no correction).

Run (validation split)::

    python -m training.studies.walk_correction --checkpoint checkpoints/default.pt \
        --data ../shared/data/groove --split validation --out docs/studies/walk_correction
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from training.studies import skeleton, walk_weights

MODULE = "training.studies.walk_correction"
CORRECTIONS = (0, 1, 2)  # feedback rounds after the walk; 0 = the walk as it ships


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from engine.generation.groove_bank import WalkSettings

    names = {k: f"{k} correction round{'s' * (k != 1)}" for k in CORRECTIONS}
    return walk_weights.measure(args, {names[k]: replace(WalkSettings(), correct=k) for k in CORRECTIONS})


STUDY = walk_weights.variant(MODULE, __doc__, "Correcting the walked groove's other knobs", _run)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
