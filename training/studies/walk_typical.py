"""Whether a turned knob should walk to grooves typical of its setting, not only near.

A turned knob plays the training groove that meets the knob's setting with the fewest hits
changed (``engine.generation.groove_bank.GrooveBank.walk``). At a knob end few grooves
meet the setting, and the one nearest the playing groove can be one no drummer at that
setting plays: at density 90 % from Randomize the recorded windows the walk picks were told
from the test's dense windows (C2ST 0.65 / 0.65; they ride twice as much), while all the
training windows at that density were not (0.51 / 0.53). With ``WalkSettings.typical`` > 0
the cost adds that weight times how untypical a candidate's voice mix is among the
grooves meeting the knob (mean over the nine voices of the squared distance from their
mean hits per voice, in their standard deviations plus half a hit). Each candidate is
measured as ``walk_weights`` measures one: the knob-end surfaces of the realism report and
the held knob figures from Randomize's and the pad's latents.

Selection rule, written before any candidate was scored: as in ``walk_qualify``. A
candidate qualifies if its mean C2ST accuracy over the knob-end surfaces (features and raw)
is at least 0.01 below the shipped walk's (typical 0), its realism targets met are at least
the shipped walk's minus 3 (of 120; MGEval's intra-set spread is among them, so a walk that
plays one groove per setting loses there), and its knob targets met (ρ, range, monotone
share, cross-talk, both sources) are at least the shipped walk's minus 2. Of those that
qualify the lowest mean C2ST ships (ties: the one listed first). If none qualifies the walk
stays as it ships.

Run (validation split)::

    python -m training.studies.walk_typical --checkpoint checkpoints/default.pt \
        --data ../shared/data/groove --split validation --out docs/studies/walk_typical
"""

from __future__ import annotations

from training.studies import skeleton, walk_weights

MODULE = "training.studies.walk_typical"
WEIGHTS = (0.0, 0.5, 2.0, 8.0)  # the first is the walk as it ships
choose = walk_weights.guarded_choose  # the rule in the module docstring

STUDY = walk_weights.setting_study(MODULE, __doc__, "Walking to grooves typical of a knob's setting",
                                   "typical", WEIGHTS, "typical", choose)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
