"""Which training grooves a turned knob may walk to: judged by their decode or their window.

A turned knob plays the training groove that meets the knob's setting with the fewest hits
changed (``engine.generation.groove_bank.GrooveBank.walk``). "Meets" has been judged on the
groove's decode. The realism report's knob ends set the knob ends' grooves beside the
training windows whose own attribute lies at the same setting: at density 90 % the walk's
grooves were told from real drumming there (C2ST 0.62 / 0.63 on test) while those training
windows were not (0.51 / 0.53). A groove whose decode is dense though its own window is
not is one the decoder thickened. With ``WalkSettings.qualify`` ``'both'`` a groove
qualifies only if its decode and its own window meet the knob (where none does both, the
decode decides); with ``'own'`` its own window alone decides, and the decode may miss the
setting. Each candidate is measured as ``walk_weights`` measures one: the knob-end surfaces
of the realism report and the held knob figures from Randomize's and the pad's latents.

Selection rule, written before any candidate was scored: realism by its level, as in
``walk_trend``, with the knobs guarded. A candidate qualifies if its mean C2ST accuracy
over the knob-end surfaces (features and raw) is at least 0.01 below the shipped walk's
(``'decode'``), its realism targets met are at least the shipped walk's minus 3 (of 120),
and its knob targets met (ρ, range, monotone share, cross-talk, both sources) are at least
the shipped walk's minus 2: a knob that reaches its setting less well is no gain. Of those
that qualify the lowest mean C2ST ships (ties: the one listed first). If none qualifies the
walk stays as it ships.

Run (validation split)::

    python -m training.studies.walk_qualify --checkpoint checkpoints/default.pt \
        --data ../shared/data/groove --split validation --out docs/studies/walk_qualify
"""

from __future__ import annotations

from training.studies import skeleton, walk_weights

MODULE = "training.studies.walk_qualify"
MODES = ("decode", "both", "own")  # the first is the walk as it ships
choose = walk_weights.guarded_choose  # the rule in the module docstring

STUDY = walk_weights.setting_study(MODULE, __doc__, "Which grooves a turned knob may walk to",
                                   "qualify", MODES, "qualify", choose)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
