"""Whether the knobs nobody set should follow a turned knob as the data's drummers do.

A turned knob walks to the training groove that meets it and keeps the other knobs where
the groove had them (``engine.generation.groove_bank.GrooveBank.walk``, then two rounds of
correction). The data does not keep them there: its dense grooves are busier on the hats
than its sparse ones, so a dense groove with an average groove's hats is a rare one, and
the knob ends' grooves were told from real drumming at the same setting (classifier
accuracy up to 0.70 on test against a floor of 0.56) while real training grooves at those
settings were not (0.40–0.61, ``docs/studies/split_shift``). With ``WalkSettings.follow``
the knobs nobody set move by that share of the data's trend
(``engine.generation.data_trend.DataTrend``: the mean of each attribute over the training
grooves near the turned knob's value) from where the groove had them. Each candidate is
measured as ``walk_weights`` measures one: the knob-end surfaces of the realism report and
the held knob figures from Randomize's and the pad's latents. Following the data moves the
other knobs by design, so cross-talk rises with ``follow``.

Selection rule, written before any candidate was scored: realism comes first, by its level
rather than by threshold crossings (one draw's crossings moved by three either way in
``docs/studies/walk_correction``). A candidate qualifies if its mean C2ST accuracy over the
knob-end surfaces (features and raw) is at least 0.01 below the shipped walk's (follow 0)
and its realism targets met are at least the shipped walk's minus 3 (of 120); of those that
qualify the lowest mean C2ST ships (ties: the smaller follow). If none qualifies the walk
stays as it ships. Cross-talk is reported, not weighed.

The first run estimated the trend as the mean of the 256 grooves nearest in the turned
attribute. Most attributes take few values, so that mean was over an arbitrary few of
thousands of tied grooves (tables 0.3 of a range apart from another arbitrary pick). The
trend is now a kernel mean over every groove, and the study was run again under the same
rule; the first run's report is kept in ``nearest_256/``. Both counted each generated
pattern as its own group; the study was run once more, same rule, with the knob ends'
grooves grouped by the training performance each plays, as ``groovefader eval`` now groups
them (that run's predecessor is kept in ``one_group_per_pattern/``).

Run (validation split)::

    python -m training.studies.walk_trend --checkpoint checkpoints/default.pt \
        --data ../shared/data/groove --split validation --out docs/studies/walk_trend
"""

from __future__ import annotations

from typing import Any

from training.studies import skeleton, walk_weights

MODULE = "training.studies.walk_trend"
FOLLOWS = (0.0, 0.5, 1.0)  # share of the data's trend followed; 0 = the walk as it ships
MIN_GAIN = 0.01            # mean C2ST a candidate must gain over follow 0
REALISM_SLACK = 3          # realism targets it may lose


def choose(rows: dict[str, dict[str, Any]]) -> str:
    """The candidate the rule picks (module docstring); the first row is follow 0."""
    return walk_weights.choose_by_level(rows, MIN_GAIN, REALISM_SLACK)


STUDY = walk_weights.setting_study(MODULE, __doc__, "The other knobs following the data's trend",
                                   "follow", FOLLOWS, "follow", choose)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
