"""The JACK recorder's pairing check: it excuses only what the recorder could not hear."""

from __future__ import annotations

from tests.support.jack_server import unheard_pairing_problems

ON, OFF, CC = 0x99, 0x89, 0xB9


def _events(rows: list[tuple[int, tuple[int, ...]]]) -> list[tuple[int, tuple[int, ...], int]]:
    return [(frame, msg, 0) for frame, msg in rows]


def test_a_note_off_lost_in_a_cycle_the_recorder_missed_is_excused() -> None:
    rows = [(0, (ON, 42, 90)), (200, (ON, 42, 80)), (230, (OFF, 42, 0))]  # the off near 100 unheard
    assert unheard_pairing_problems(_events(rows), [(64, 128)]) == []


def test_the_same_loss_where_the_recorder_heard_every_cycle_is_kept() -> None:
    rows = [(0, (ON, 42, 90)), (200, (ON, 42, 80)), (230, (OFF, 42, 0))]
    assert unheard_pairing_problems(_events(rows), []) == ["#1: note-on 42 while sounding"]
    # a blind cycle elsewhere explains nothing here
    assert unheard_pairing_problems(_events(rows), [(300, 332)]) == ["#1: note-on 42 while sounding"]


def test_notes_released_only_by_cc_123_are_excused_only_if_their_offs_went_unheard() -> None:
    rows = [(0, (ON, 36, 100)), (0, (ON, 38, 100)), (96, (CC, 123, 0))]
    assert len(unheard_pairing_problems(_events(rows), [])) == 2
    assert unheard_pairing_problems(_events(rows), [(32, 64)]) == []
    assert len(unheard_pairing_problems(_events(rows), [(128, 160)])) == 2


def test_spans_across_the_frame_counter_wrapping() -> None:
    top = 2**32 - 40
    rows = [(top, (ON, 42, 90)), ((top + 100) % 2**32, (ON, 42, 80)), ((top + 120) % 2**32, (OFF, 42, 0))]
    assert unheard_pairing_problems(_events(rows), [(2**32 - 8, 24)]) == []


def test_the_bench_scripts_read_the_recorders_cycle_log(monkeypatch) -> None:
    """The cycle log's entries are ``[callback, gap, frame]``: what the timing benchmarks
    count from it (skipped cycles, repeated reads) is read past the frame."""
    import importlib
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "bench"))
    sequencer_timing = importlib.import_module("sequencer_timing")
    importlib.import_module("jack_cycle_probe")  # imports the same reader
    cycles = {"callbacks": 10, "period": 32, "irregular": [[3, 64, 160], [6, 0, 224], [7, 64, 288]]}
    assert sequencer_timing.irregular_by_callback(cycles) == {3: 64, 6: 0, 7: 64}
    out = sequencer_timing.irregular_cycles([], cycles, None)
    assert out == {"callbacks": 10, "irregular_cycles": 3, "repeated": 1, "skipped": 2}


def test_a_note_off_after_cc_123_is_kept_whatever_the_recorder_missed_before_it() -> None:
    """A note-off sent after the CC 123 that released its note is the sender's: a cycle the
    recorder missed before that CC explains no note-on it needed after it."""
    rows = [(0, (ON, 42, 90)), (96, (CC, 123, 0)), (200, (OFF, 42, 0))]
    assert unheard_pairing_problems(_events(rows), [(32, 64)]) == ["#2: note-off 42 without note-on"]
    # a cycle missed after it may have held a note-on; the CC 123 release stays the sender's
    assert unheard_pairing_problems(_events(rows), [(128, 160)]) == ["#0: note 42 only released by CC 123"]


def _stopped_recorder(tmp_path, rows: list[tuple[int, tuple[int, ...], int]], irregular: list[list[int]]):
    """A Recorder as its subprocess leaves it: ``rows`` of (frame, message, callback)."""
    import json

    from tests.support.jack_server import Recorder

    rec = Recorder.__new__(Recorder)
    rec.out = tmp_path / "rec.jsonl"
    rec.out.write_text("".join(json.dumps([f, list(m), 0, cb]) + "\n" for f, m, cb in rows))
    (tmp_path / "rec.jsonl.cycles.json").write_text(
        json.dumps({"callbacks": 10, "period": 32, "irregular": irregular}))
    return rec


def test_a_cycle_the_recorder_heard_twice_is_no_note_struck_twice(tmp_path) -> None:
    # callback 3 ran late, reading cycle 96's counter (the cycle at 64 unheard); callback 4
    # got cycle 96 again: the same note-on at the same frame
    rows = [(10, (ON, 42, 90), 0), (100, (OFF, 42, 0), 3), (100, (ON, 38, 90), 3),
            (100, (OFF, 42, 0), 4), (100, (ON, 38, 90), 4), (140, (OFF, 38, 0), 5)]
    rec = _stopped_recorder(tmp_path, rows, [[3, 64, 96], [4, 0, 96]])
    assert unheard_pairing_problems(rec.events(), rec.blind_spans()) != []  # the replay read as sent
    assert rec.replayed_callbacks() == {4}
    assert [m for _, m, _ in rec.heard_events()] == [(ON, 42, 90), (OFF, 42, 0), (ON, 38, 90), (OFF, 38, 0)]
    assert unheard_pairing_problems(rec.heard_events(), rec.blind_spans()) == []


def test_two_callbacks_on_one_counter_with_other_events_are_both_kept(tmp_path) -> None:
    rows = [(100, (ON, 42, 90), 3), (101, (OFF, 42, 0), 4)]
    rec = _stopped_recorder(tmp_path, rows, [[4, 0, 96]])
    assert rec.replayed_callbacks() == set() and len(rec.heard_events()) == 2


def test_blind_share_is_the_share_of_frames_the_recorder_may_have_missed(tmp_path) -> None:
    from tests.support.jack_server import blind_share

    # 10 callbacks of 32 frames: one missed cycle (a gap of 64 at frame 192) is 32 blind frames
    rec = _stopped_recorder(tmp_path, [(10, (ON, 42, 90), 0)], [[5, 64, 192]])
    assert rec.blind_spans() == [(160, 192)]
    assert blind_share(rec) == 32 / 320
