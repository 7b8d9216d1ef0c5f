"""The transition study's path along the stored codes, on a model that memorised two melodies."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from engine.generation.melody import MelodyGenerator  # noqa: E402
from tests.support.melody import melody_a, melody_b, memorised_checkpoint  # noqa: E402
from training.melody.study import data_path  # noqa: E402


@pytest.fixture(scope="module")
def gen(tmp_path_factory) -> MelodyGenerator:
    return MelodyGenerator.from_checkpoint(memorised_checkpoint(str(tmp_path_factory.getbasetemp() / "m")))


@pytest.mark.parametrize("hold", [1, 2])
def test_the_path_runs_from_a_through_stored_codes_to_b(gen, hold) -> None:
    za, zb = gen.encode_batch([melody_a(), melody_b()])
    z = data_path(gen, "anchors", hold)(melody_a(), melody_b(), 8)
    assert z.shape == (8, gen.z_dim)
    assert np.allclose(z[0], za) and np.allclose(z[-1], zb)
    stored = gen.anchors
    # every bar between plays a stored code, and once it reaches B's it stays there
    which = [int(np.argmin(((stored - row) ** 2).sum(1))) for row in z]
    assert all(np.allclose(z[i], stored[which[i]]) for i in range(1, 7))
    assert which == sorted(which)
    if hold == 2:
        assert all(np.array_equal(z[i], z[i + 1]) for i in range(0, 8, 2))


def test_the_study_decodes_the_given_path(gen) -> None:
    a, b = melody_a(), melody_b()
    z = data_path(gen, "anchors", 2)(a, b, 4)  # A's window, then B's
    out = gen.transition(a, b, 4, 1, ends="decoded", path=z)
    assert np.array_equal(out.events, np.concatenate([a.events, b.events]))


def test_run_variants_reports_every_strategy_with_its_interval(gen) -> None:
    from types import SimpleNamespace

    from training.melody.study import VARIANTS, run_variants

    classes = np.stack([melody_a().to_classes(), melody_b().to_classes()] * 12)
    w = SimpleNamespace(classes=classes, tune=np.arange(24))
    pairs = [(2 * k, 2 * k + 1) for k in range(12)]
    res = run_variants(gen, w, pairs, 4, VARIANTS, 0, "switch", data_path(gen, "anchors", 1, 0.5),
                       ends="decoded")["variants"]
    assert set(res) == {"s1", "s2_bar", "s2_note", "s3_bar", "s3_note"}
    # the memorised model reproduces A and B: strategy 1 and 3 start on A and land on B
    assert res["s1"]["first_bar_is_a"] == 1.0 and res["s1"]["last_bar_is_b"] == 1.0
    assert res["s2_bar"]["first_bar_is_a"] == 1.0
    for v in res.values():
        low, high = v["midpoint_realism"]["c2st_ci95"]
        assert low <= v["midpoint_realism"]["c2st_accuracy"] <= high


def test_onsets_and_repeated_runs() -> None:
    from training.melody.study import onset_share, repeated_run

    ev = np.full(16, -2)
    ev[[0, 4, 8, 12]] = 60
    assert onset_share(ev) == 0.25 and not repeated_run(ev)
    ev[4:8] = 62  # four 16ths on one pitch
    assert repeated_run(ev) and not repeated_run(ev, length=5)
    ev[6] = 64  # broken by another pitch
    assert not repeated_run(ev)


def test_same_pitch_gaps_counts_repeats_one_and_two_sixteenths_apart() -> None:
    from training.melody.study import same_pitch_gaps

    ev = np.full(16, -2)
    ev[[0, 1, 3, 4, 8]] = [60, 60, 60, 62, 62]  # 60 60 (1 apart), 60 (2 apart), 62, 62 (4 apart)
    assert same_pitch_gaps(ev).tolist() == [1, 1]


def test_a_re_request_under_silent_forcing_is_held_and_a_re_strike_after_news_is_kept() -> None:
    from training.melody.study import hold_rerequests

    c60 = 2 + 60 - 48  # any pitch class index >= 2
    out = np.array([c60, c60, c60, 1, c60, 0, c60])
    forced = np.array([1, 1, 1, 9, 1, 1, 1])  # forced[i] is fed at step i + 1: news at step 4
    held = hold_rerequests(out, forced)
    # steps 1 and 2 asked again for the note sounding since step 0 with nothing new fed
    assert held[1] == 1 and held[2] == 1
    # step 4 hears the forced note of step 3: a real re-strike, kept
    assert held[4] == c60
    # after a note-off the pitch is struck anew
    assert held[6] == c60
    assert np.array_equal(hold_rerequests(out, np.full(7, 9)), out)  # news every step: nothing held


def _re_requests(events: np.ndarray) -> int:
    """Note-ons on the pitch already sounding (no note-off or other pitch between)."""
    count, sounding = 0, None
    for e in events:
        if e >= 0:
            count += e == sounding
            sounding = e
        elif e == -1:
            sounding = None
    return count


def test_the_held_render_changes_only_forced_decodes(gen) -> None:
    from training.melody.study import HeldRerequests

    held = HeldRerequests(gen._net, gen.meta)
    z = gen.encode_batch([melody_a()])
    assert np.array_equal(held.decode_batch(z)[0].events, gen.decode_batch(z)[0].events)
    silent = np.ones((1, gen.bars * gen.steps_per_bar), np.int64)  # nothing new fed, ever
    plain = gen.decode_batch(z, forced=silent)[0].events
    got = held.decode_batch(z, forced=silent)[0].events
    assert _re_requests(plain) > 0  # the decoder, never hearing its notes, asks again
    assert _re_requests(got) == 0
    changed = got != plain  # only re-requested note-ons, each now a hold
    assert np.all(plain[changed] >= 0) and np.all(got[changed] == -2)


def test_own_feed_leaves_the_decoder_its_own_output_where_the_fed_tune_brings_nothing() -> None:
    from training.melody.study import own_feed

    forced = np.array([14, 1, 1, 0, 1, 16, 1])  # note, holds, note-off, hold, note, hold
    assert np.array_equal(own_feed(forced, "all"), forced)
    assert own_feed(forced, "onsets-rests").tolist() == [14, -1, -1, 0, -1, 16, -1]
    assert own_feed(forced, "onsets").tolist() == [14, -1, -1, -1, -1, 16, -1]
    with pytest.raises(ValueError):
        own_feed(forced, "bogus")


def test_a_decoder_fed_its_own_holds_hears_its_notes_and_stops_asking_again(gen) -> None:
    from training.melody.study import OwnFeed

    own = OwnFeed(gen._net, gen.meta)
    own.feed = "onsets-rests"
    z = gen.encode_batch([melody_a()])
    silent = np.ones((1, gen.bars * gen.steps_per_bar), np.int64)
    # fed nothing but holds, it hears its own output everywhere: a free-running decode
    assert np.array_equal(own.decode_batch(z, forced=silent)[0].events, gen.decode_batch(z)[0].events)
    assert not np.array_equal(gen.decode_batch(z, forced=silent)[0].events, gen.decode_batch(z)[0].events)


def test_own_notes_feed_marks_every_fed_class_to_give_way_to_the_decoders_note_ons() -> None:
    from training.melody.study import own_feed

    forced = np.array([14, 1, 0, -1, 16])
    assert own_feed(forced, "own-notes").tolist() == [-16, -3, -2, -1, -18]


def test_repeats_from_the_melody_take_its_pitch_and_re_requests_are_held() -> None:
    from training.melody.study import repeats_from_melody

    p, q, r = 12, 14, 16  # note-on classes
    out = np.array([p, 1, p, 1, p, 0, p, q])
    forced = np.array([r, 1, q, 1, 1, 1, p, 1])  # forced[i]: the melody's class at step i
    got = repeats_from_melody(out, forced)
    assert got[2] == q  # the melody strikes q where the output struck p again: q
    # the output's previous note-on is now q: its p at step 4 is a new pitch, kept
    assert got[4] == p
    assert got[6] == p  # the melody strikes p there too: a repeat it plays, kept
    assert got[7] == q
    held = repeats_from_melody(np.array([p, p, 1, p]), np.array([1, 1, 1, 1]))
    assert held.tolist() == [p, 1, 1, 1]  # nothing new fed since p: re-requests held


def test_repeats_are_sorted_by_what_the_fed_melody_does_at_the_repeat() -> None:
    from training.melody.midpoint_diagnosis import repeat_kinds, unison_share

    out = np.array([60, -2, 60, -2, 60, -2, 60, -1, 60, 62])
    fed = np.array([60, -2, 60, -2, 64, -2, -2, -2, -1, 62])
    # 60 again at 2 (the melody too), at 4 (the melody strikes 64), at 6 (nothing fed since 4),
    # at 8 (the melody ended a note since 6)
    assert repeat_kinds(out, fed) == {"copy": 1, "re-guess": 1, "re-request": 1, "other": 1}
    assert unison_share(out) == 4 / 5 and unison_share(out, 1, 2) == 1 / 5
