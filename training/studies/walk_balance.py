"""Whether the knob walk should balance its picks by transport prices.

A turned knob plays the training groove that meets the knob's setting and costs least
(``engine.generation.groove_bank.GrooveBank.walk``). Cheapest for one playing groove is
cheapest for many, so a knob end plays the few grooves near many more often than the data
plays them: at density 90 % from Randomize the recorded grooves the walk picks are told
from the real dense grooves more often than the training windows at that setting as a
whole (the realism report's "picked" and "training windows there" rows), and the charges
tried so far (hubs, slack) spread the picks by heuristics and gained under 0.01. With
``WalkSettings.balance`` > 0 the walk adds that share of each groove's price to its
cost: the (negated) dual potential of the entropic optimal transport of a fixed sample of the bank's
grooves (the playing grooves Randomize and the pad start from) onto the grooves at the
setting, each taking an equal share, at the walk's own cost
(``engine.generation.walk_balance``). At 1 the picks of many playing grooves spread over
the grooves at the setting as the data spreads them; each groove still walks to a near one.
Each candidate is measured as ``walk_weights`` measures one: the knob-end surfaces of the
realism report and the held knob figures from Randomize's and the pad's latents.

Selection rule, written before any candidate was scored, on a validation draw no walk
study has scored (seed 4): as ``walk_slack``'s, a candidate whose hits flipped per knob step
(mean over knobs and sources of the held sweeps) exceed the shipped walk's by more than 25 %
is out; of the others (``walk_weights.guarded_choose``): a mean C2ST over the knob-end
surfaces at least 0.01 below the shipped walk's (balance 0), realism targets met at least
its minus 3 (of 120), knob targets met at least its minus 2; the lowest mean C2ST of those
ships, else the walk stays as it ships. If one ships, its test figures are measured once
afterwards by ``groovefader eval``.

Run (validation split)::

    python -m training.studies.walk_balance --checkpoint checkpoints/default.pt \\
        --data ../shared/data/groove --split validation --seed 4 --out docs/studies/walk_balance
"""

from __future__ import annotations

from training.studies import skeleton, walk_slack, walk_weights

MODULE = "training.studies.walk_balance"
BALANCES = (0.0, 0.5, 1.0)  # the first is the walk as it ships

STUDY = walk_weights.setting_study(MODULE, __doc__, "Balancing the knob walk's picks by transport prices",
                                   "balance", BALANCES, "balance", walk_slack.choose)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
