"""The groove bank: nearest codes, a latent's own attributes, and the knob walk."""

import numpy as np
import pytest

from engine.generation.groove_bank import GrooveBank, WalkSettings

T, V = 4, 2


def bank_of(codes, attrs, hits):
    n = len(codes)
    return GrooveBank(np.asarray(codes, np.float32), attrs, attrs, np.asarray(hits, bool),
                      np.zeros(n, int), ["rock"], T, V)


def hits_with(cells):
    h = np.zeros((T, V), bool)
    for c in cells:
        h[c // V, c % V] = True
    return h


def test_own_attributes_of_a_bank_code_are_its_own_and_between_codes_a_mean():
    bank = bank_of([[0, 0], [10, 0], [0, 10]], np.array([[1.0], [3.0], [5.0]]),
                   [hits_with([]), hits_with([0]), hits_with([1])])
    assert bank.own_attributes(np.array([10.0, 0.0]))[0, 0] == pytest.approx(3.0)
    between = bank.own_attributes(np.array([5.0, 0.0]), k=2)[0, 0]
    assert between == pytest.approx(2.0)  # equally far from codes 0 and 1


def test_hit_distance_counts_differing_cells():
    bank = bank_of([[0, 0], [1, 0]], np.zeros((2, 1)), [hits_with([0, 1, 2]), hits_with([7])])
    assert bank.hit_distance(hits_with([0, 1])).tolist() == [1, 3]


def test_walk_meets_the_turned_knob_with_the_fewest_hits_changed():
    # three grooves meet "density 2": the one sharing most hits with the playing groove wins
    hits = [hits_with([0, 2]), hits_with([5, 6]), hits_with([0, 3]), hits_with([0])]
    attrs = np.array([[2.0], [2.0], [2.0], [1.0]])
    bank = bank_of(np.eye(4, 2) * 0, attrs, hits)
    playing = hits_with([0, 2, 4])
    pick = bank.walk(playing, np.array([3.0]), np.array([2.0]), np.array([4.0]), np.array([0.1]), 0)
    assert pick == 0
    # at its own value the playing groove stays
    assert bank.walk(playing, np.array([3.0]), np.array([3.0]), np.array([4.0]), np.array([0.1]), 0) == -1
    # nothing to hold: stay
    assert bank.walk(playing, np.array([3.0]), np.array([np.nan]), np.array([4.0]), np.array([0.1]), 0) == -1


def test_walk_holds_the_other_targets_while_one_turns():
    # both candidates meet knob 0; only the second keeps knob 1 where it is held
    attrs = np.array([[2.0, 9.0], [2.0, 1.0]])
    bank = bank_of(np.zeros((2, 2)), attrs, [hits_with([0]), hits_with([1, 2, 3])])
    playing = hits_with([0])
    targets = np.array([2.0, 1.0])
    ranges, tol = np.array([4.0, 10.0]), np.array([0.1, 0.1])
    assert bank.walk(playing, np.array([0.0, 1.0]), targets, ranges, tol, 0) == 1
    # with no weight on the others, the nearest in hits wins
    loose = WalkSettings(other_weight=0.0)
    assert bank.walk(playing, np.array([0.0, 1.0]), targets, ranges, tol, 0, loose) == 0


def test_walk_without_a_groove_meeting_the_knob_takes_the_closest():
    attrs = np.array([[1.0], [1.8]])
    bank = bank_of(np.zeros((2, 2)), attrs, [hits_with([0]), hits_with([1])])
    pick = bank.walk(hits_with([0]), np.array([0.0]), np.array([3.0]), np.array([4.0]), np.array([0.1]), 0)
    assert pick == 1


def test_inconsistent_arrays_are_refused():
    with pytest.raises(ValueError):
        GrooveBank(np.zeros((2, 2), np.float32), np.zeros((3, 1)), np.zeros((2, 1)),
                   np.zeros((2, T, V), bool), np.zeros(2, int), ["rock"], T, V)
    with pytest.raises(ValueError):
        GrooveBank(np.zeros((2, 2), np.float32), np.zeros((2, 1)), np.zeros((2, 1)),
                   np.zeros((2, T, V), bool), np.array([0, 3]), ["rock"], T, V)


def test_between_finds_the_groove_nearest_all_ends_in_hits():
    # ends A = cells {0,1}, B = {2,3}; the bank holds an A-like, a B-like and a half-half
    a, b = hits_with([0, 1]), hits_with([2, 3])
    bank = bank_of([[0, 0], [1, 0], [2, 0]], np.zeros((3, 1)),
                   [hits_with([0, 1, 5]), hits_with([2, 3, 6]), hits_with([0, 2])])
    d = np.stack([bank.hit_distance(a), bank.hit_distance(b)])
    picks = bank.between(d, np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]))
    assert picks.tolist() == [0, 1, 2]


def test_nearest_is_exact_on_a_bank_wider_than_its_coarse_search():
    # 64-dim codes, a few strong directions plus noise: the coarse search keeps 24, the
    # candidates it finds are checked exactly, and the answer is the brute-force one
    rng = np.random.default_rng(3)
    n, z = 5000, 64
    codes = (rng.standard_normal((n, 8)) @ rng.standard_normal((8, z)) * 3
             + rng.standard_normal((n, z))).astype(np.float32)
    bank = GrooveBank(codes, np.zeros((n, 1)), np.zeros((n, 1)), np.zeros((n, T, V), bool),
                      np.zeros(n, int), ["rock"], T, V)
    queries = np.vstack([codes[:50] + 0.05 * rng.standard_normal((50, z)), 3 * rng.standard_normal((50, z))])
    idx, d2 = bank.nearest(queries, k=5)
    brute = ((codes[None].astype(np.float64) - queries[:, None]) ** 2).sum(-1)
    assert (idx == np.argsort(brute, axis=1)[:, :5]).all()
    assert np.allclose(d2, np.sort(brute, axis=1)[:, :5])


def test_hit_distance_over_named_voices_counts_only_their_cells():
    # voice 0 is cells 0, 2, 4, 6; voice 1 is cells 1, 3, 5, 7
    bank = bank_of([[0, 0], [1, 0]], np.zeros((2, 1)), [hits_with([0, 1, 3]), hits_with([2, 5, 7])])
    mine = hits_with([0, 5])
    assert bank.hit_distance(mine, [0]).tolist() == [0, 2]
    assert bank.hit_distance(mine, [1]).tolist() == [3, 1]
    assert bank.hit_distance(mine, [0, 1]).tolist() == bank.hit_distance(mine).tolist()


def test_walk_can_ask_the_training_window_to_meet_the_knob_as_well_as_its_decode():
    # groove 0 decodes at the setting though its own window lies far from it; groove 1 meets
    # it both ways but changes more hits; groove 2 only by its own window
    own = np.array([[0.5], [2.0], [2.0]])
    measured = np.array([[2.0], [2.0], [0.5]])
    bank = GrooveBank(np.zeros((3, 2), np.float32), own, measured,
                      np.array([hits_with([0]), hits_with([1, 2, 3]), hits_with([0, 1])]),
                      np.zeros(3, int), ["rock"], T, V)
    args = (hits_with([0]), np.array([0.0]), np.array([2.0]), np.array([4.0]), np.array([0.1]), 0)
    assert bank.walk(*args) == 0  # the decode decides, as it ships
    assert bank.walk(*args, WalkSettings(qualify="both")) == 1
    assert bank.walk(*args, WalkSettings(qualify="own")) == 2
    with pytest.raises(ValueError, match="qualify"):
        bank.walk(*args, WalkSettings(qualify="nearest"))
    # no groove meets it both ways: the decode decides
    only_decode = GrooveBank(np.zeros((2, 2), np.float32), np.array([[0.5], [0.7]]),
                             np.array([[2.0], [0.4]]), np.array([hits_with([0]), hits_with([1])]),
                             np.zeros(2, int), ["rock"], T, V)
    assert only_decode.walk(*args, WalkSettings(qualify="both")) == 0


def test_untypical_measures_a_voice_mix_against_the_grooves_at_the_setting():
    # voice 0 carries 1 hit in most reference grooves; a groove riding voice 1 hard is far off
    hits = [hits_with([0]), hits_with([2]), hits_with([4]), hits_with([1, 3, 5, 7])]
    bank = bank_of(np.zeros((4, 2)), np.zeros((4, 1)), hits)
    reference = np.array([True, True, True, False])
    score = bank.untypical(hits_with([6]), reference)
    assert score.shape == (5,)
    assert score[0] == pytest.approx(0.0)  # the playing groove: one hit on voice 0, as they all
    assert score[1:4] == pytest.approx([0.0, 0.0, 0.0])
    # voice 0: 1 hit off the mean 1 (spread 0 + 0.5) → 4; voice 1: 4 off 0 → 64; mean 34
    assert score[4] == pytest.approx(34.0)


def test_a_typical_weight_walks_to_the_groove_drummers_play_at_the_setting():
    # all four meet the knob; the nearest in hits rides voice 1, unlike the other three
    hits = [hits_with([1, 3, 5, 7]), hits_with([0, 2]), hits_with([0, 4]), hits_with([2, 4])]
    bank = bank_of(np.zeros((4, 2)), np.full((4, 1), 2.0), hits)
    playing = hits_with([1, 3, 5])
    args = (playing, np.array([3.0]), np.array([2.0]), np.array([4.0]), np.array([0.1]), 0)
    assert bank.walk(*args) == 0  # hits alone: the rider, one cell away
    assert bank.walk(*args, WalkSettings(typical=1.0)) in (1, 2, 3)


def test_same_time_counts_hats_and_ride_as_one_voice():
    t, v = 4, 9
    def kit(cells):  # (step, voice) pairs
        h = np.zeros((t, v), bool)
        for step, voice in cells:
            h[step, voice] = True
        return h

    hats = kit([(0, 0), (0, 2), (1, 2), (2, 1), (2, 2), (3, 2)])  # kick, snare, eighths on the hats
    ride = kit([(0, 0), (0, 8), (1, 8), (2, 1), (2, 8), (3, 8)])  # the same rhythm on the ride
    other = kit([(0, 0), (1, 0), (2, 1), (3, 1)])  # another rhythm, no cymbal
    bank = GrooveBank(np.zeros((2, 2), np.float32), np.full((2, 1), 2.0), np.full((2, 1), 2.0),
                      np.stack([ride, other]), np.zeros(2, int), ["rock"], t, v)
    assert bank.hit_distance(hats).tolist() == [8, 6]
    assert bank.hit_distance(hats, same_time=True).tolist() == [0, 6]
    args = (hats, np.array([3.0]), np.array([2.0]), np.array([4.0]), np.array([0.1]), 0)
    assert bank.walk(*args) == 1  # cell by cell the other rhythm is nearer
    assert bank.walk(*args, WalkSettings(same_time=True)) == 0  # the same rhythm on the ride


def test_a_hub_weight_walks_past_grooves_near_many():
    # two grooves meet the knob, each one cell from the playing groove; the first is a hub
    hits = [hits_with([0, 2]), hits_with([0, 4]), hits_with([1])]
    bank = bank_of(np.zeros((3, 2)), np.array([[2.0], [2.0], [1.0]]), hits)
    playing = hits_with([0])
    args = (playing, np.array([1.0]), np.array([2.0]), np.array([4.0]), np.array([0.1]), 0)
    degree = np.array([12, 1, 2])
    assert bank.walk(*args) == 0  # a tie in hits: the first
    assert bank.walk(*args, WalkSettings(hub_weight=1.0), in_degree=degree) == 1
    assert bank.walk(*args, WalkSettings(hub_weight=1.0)) == 0  # no degrees given: the term is off


def test_a_slack_spreads_the_picks_over_grooves_nearly_as_good_and_keeps_each_stable():
    # four grooves meet "density 2": 0 and 1 share the playing grooves' hits best, 2 and 3
    # change more; with no slack every playing groove walks to the cheapest
    silent = np.zeros((T, V), bool)  # a fifth groove that does not meet the knob
    hits = [hits_with([0, 1]), hits_with([0, 2]), hits_with([5, 6, 7]), hits_with([4, 5, 6, 7])]
    attrs = np.array([[2.0], [2.0], [2.0], [2.0], [0.0]])
    bank = bank_of(np.zeros((5, 2)), attrs, hits + [silent])
    args = (np.array([0.0]), np.array([2.0]), np.array([4.0]), np.array([0.1]), 0)
    playing = [hits_with(c) for c in ([0], [0, 4], [0, 6], [0, 3], [0, 1, 2], [0, 7])]
    tight = {bank.walk(p, *args) for p in playing}
    loose = [bank.walk(p, *args, WalkSettings(slack=0.15)) for p in playing]
    assert len(set(loose)) > len(tight)
    for p, pick in zip(playing, loose, strict=True):
        cost = bank.hit_distance(p) / 10.0
        assert cost[pick] <= cost[:4].min() + 0.15  # never a groove worse than the slack allows
        assert bank.walk(p, *args, WalkSettings(slack=0.15)) == pick  # the same groove, the same pick
