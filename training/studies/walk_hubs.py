"""Whether a turned knob's walk should charge grooves that lie near many (hubs).

A turned knob plays the training groove that meets the knob's setting with the fewest hits
changed (``engine.generation.groove_bank.GrooveBank.walk``). Variation had drawn the
grooves nearest the playing one alike, and so the hubs, plain grooves that many grooves
have among their nearest, more often than others: its swing missed; drawn with odds
1 / in-degree it met every target (``variation_even``). The walk may favour the same hubs:
at four knob ends (intensity and syncopation at 10 %) the recorded windows it picks miss the
swing of the real windows there, which the training windows at that setting meet. With
``WalkSettings.hub_weight`` > 0 the cost adds that weight times log(in-degree / the mean) of
each candidate (the map's stored neighbour lists, 10 each). Each candidate is measured as
``walk_weights`` measures one: the knob-end surfaces of the realism report and the held
knob figures from Randomize's and the pad's latents.

Selection rule, written before any candidate was scored: as in ``walk_qualify``
(``walk_weights.guarded_choose``). A candidate qualifies if its mean C2ST accuracy over the
knob-end surfaces (features and raw) is at least 0.01 below the shipped walk's (weight 0),
its realism targets met are at least the shipped walk's minus 3 (of 120), and its knob
targets met are at least the shipped walk's minus 2. Of those that qualify the lowest mean
C2ST ships (ties: the one listed first). If none qualifies the walk stays as it ships.

Run (validation split)::

    python -m training.studies.walk_hubs --checkpoint checkpoints/default.pt \\
        --data ../shared/data/groove --split validation --out docs/studies/walk_hubs
"""

from __future__ import annotations

from training.studies import skeleton, walk_weights

MODULE = "training.studies.walk_hubs"
WEIGHTS = (0.0, 0.5, 1.0, 2.0)  # the first is the walk as it ships
choose = walk_weights.guarded_choose  # the rule in the module docstring

STUDY = walk_weights.setting_study(MODULE, __doc__, "Charging hubs in the knob walk",
                                   "hub_weight", WEIGHTS, "hub weight", choose)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
