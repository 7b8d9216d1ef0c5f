"""Tap tempo from plain tap times."""

from __future__ import annotations

import pytest

from engine.sync.tap_tempo import RESET_AFTER_NS, TapTempo

MS = 1_000_000


def taps(tempo: TapTempo, times_ms: list[float]) -> list[float | None]:
    return [tempo.tap(round(t * MS)) for t in times_ms]


def test_steady_taps_give_their_tempo():
    tempo = TapTempo()
    results = taps(tempo, [0, 500, 1000, 1500])
    assert results[0] is None
    assert results[1:] == [pytest.approx(120.0)] * 3


def test_a_late_tap_moves_the_fit_less_than_the_last_gap_would():
    tempo = TapTempo()
    *_, last = taps(tempo, [0, 500, 1000, 1500, 2000, 2560])  # the last tap 60 ms late
    assert 112.0 < last < 120.0  # the last gap alone says 107 BPM
    assert last > 60_000 / 560


def test_a_pause_starts_a_new_count():
    tempo = TapTempo()
    taps(tempo, [0, 500, 1000])
    pause = 1000 + RESET_AFTER_NS / MS + 1
    assert tempo.tap(round(pause * MS)) is None
    assert tempo.tap(round((pause + 400) * MS)) == pytest.approx(150.0)


def test_a_missed_tap_restarts_from_the_latest_two():
    tempo = TapTempo()
    taps(tempo, [0, 500, 1000, 1500])
    assert tempo.tap(2500 * MS) == pytest.approx(60.0)  # a gap twice the beat: a new count
    assert tempo.taps == 2
    # back on the beat: 500 ms against the 1000 ms count is a new count again, at 120
    assert tempo.tap(3000 * MS) == pytest.approx(120.0)


def test_clamped_to_the_tempo_range_and_window_checked():
    tempo = TapTempo()
    assert taps(tempo, [0, 150])[1] == 300.0  # 400 BPM taps: the fastest tempo there is
    with pytest.raises(ValueError, match="at least 2 taps"):
        TapTempo(max_taps=1)
