"""The clock's lateness record: percentiles over a window, whole-session max and where it was."""

from __future__ import annotations

from engine.realtime.timing_stats import LatenessStats


def test_summary_says_which_send_was_latest_and_first_over_1ms():
    stats = LatenessStats(window=8)
    for ns in (100_000, 2_000_000, 50_000, 7_000_000, 1_500_000, 0):
        stats.add(ns)
    s = stats.summary()
    assert s["count"] == 6 and s["max_ms"] == 7.0
    assert s["max_at"] == 4 and s["first_late_over_1ms"] == 2 and s["late_over_1ms"] == 3
    stats.reset()
    assert stats.summary()["max_at"] == 0 and stats.summary()["first_late_over_1ms"] == 0


def test_window_keeps_the_latest_values_for_percentiles():
    stats = LatenessStats(window=4)
    for ns in (9_000_000, 1_000, 1_000, 1_000, 1_000):
        stats.add(ns)
    s = stats.summary()
    assert s["p99_ms"] == 0.001  # the 9 ms value left the window ...
    assert s["max_ms"] == 9.0 and s["max_at"] == 1  # ... but the session max remembers it
