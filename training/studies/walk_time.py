"""Whether a turned knob's walk should count hi-hats and ride as one time-keeping voice.

A turned knob plays the training groove that meets the knob's setting with the fewest hits
changed (``engine.generation.groove_bank.GrooveBank.walk``), every voice counted apart. At
density 90 % from Randomize the recorded windows it picks ride twice as much as the held-out
dense windows (9.0 ride hits per 2 bars against 4.9, too few closed hats) and are told from
them (C2ST 0.65 / 0.65 on test), while all the training windows at that density are not
(0.51 / 0.53): a groove riding its time keeps riding, because a dense groove with the same
rhythm on the hats counts every cymbal hit as changed. Drummers move their time between
hats and ride freely. With ``WalkSettings.same_time`` the hit term counts closed hi-hat,
open hi-hat and ride as one voice, so the walk keeps the rhythm and lets the cymbal follow
the grooves at the setting. Each candidate is measured as ``walk_weights`` measures one:
the knob-end surfaces of the realism report and the held knob figures from Randomize's and
the pad's latents.

Selection rule, written before any candidate was scored: as in ``walk_qualify``. The
candidate qualifies if its mean C2ST accuracy over the knob-end surfaces (features and raw)
is at least 0.01 below the shipped walk's (voices apart), its realism targets met are at
least the shipped walk's minus 3 (of 120), and its knob targets met (ρ, range, monotone
share, cross-talk, both sources) are at least the shipped walk's minus 2; then it ships.
Otherwise the walk stays as it ships.

Run (validation split)::

    python -m training.studies.walk_time --checkpoint checkpoints/default.pt \
        --data ../shared/data/groove --split validation --out docs/studies/walk_time
"""

from __future__ import annotations

from training.studies import skeleton, walk_weights

MODULE = "training.studies.walk_time"
MODES = (False, True)  # the first is the walk as it ships
choose = walk_weights.guarded_choose  # the rule in the module docstring

STUDY = walk_weights.setting_study(MODULE, __doc__, "Hi-hats and ride as one voice in the knob walk",
                                   "same_time", MODES, "same time", choose)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
