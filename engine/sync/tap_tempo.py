"""Tap tempo: a tempo from the times of a few taps on a key or a button.

Pure: it is given the tap times (``perf_counter_ns`` or any ns clock), so it is tested with
plain numbers. The tempo is the least-squares slope through the recent taps (one late or
early tap moves it less than the mean of the last gap would). A pause longer than
:data:`RESET_AFTER_NS` starts a new count, and a gap far from the others (a missed or a
double tap) starts the count again from the two latest taps.
"""

from __future__ import annotations

from collections import deque

from engine.realtime.steps import MAX_BPM, MIN_BPM, NS_PER_MINUTE

MAX_TAPS = 8  # the fit uses at most this many recent taps (a tempo change shows within a bar)
RESET_AFTER_NS = 2_000_000_000  # a pause longer than this (30 BPM) starts a new count
OUTLIER_RATIO = 1.6  # a gap this many times longer or shorter than the fit restarts the count


class TapTempo:
    """Collects taps; :meth:`tap` returns the tempo (BPM) once two taps make one, else None."""

    def __init__(self, max_taps: int = MAX_TAPS) -> None:
        if max_taps < 2:
            raise ValueError(f"tap tempo needs at least 2 taps in its window, got {max_taps}")
        self._taps: deque[int] = deque(maxlen=max_taps)

    def tap(self, now_ns: int) -> float | None:
        """Record a tap at ``now_ns``; the tempo it gives, clamped to 30–300 BPM (None: first tap)."""
        if self._taps and (now_ns <= self._taps[-1] or now_ns - self._taps[-1] > RESET_AFTER_NS):
            self._taps.clear()
        if len(self._taps) >= 2:
            gap, beat = now_ns - self._taps[-1], self._beat_ns()
            if not beat / OUTLIER_RATIO <= gap <= beat * OUTLIER_RATIO:
                last = self._taps[-1]
                self._taps.clear()
                self._taps.append(last)
        self._taps.append(now_ns)
        return self.tempo_bpm

    def reset(self) -> None:
        self._taps.clear()

    @property
    def taps(self) -> int:
        return len(self._taps)

    @property
    def tempo_bpm(self) -> float | None:
        """The tempo of the taps so far (None before the second tap)."""
        if len(self._taps) < 2:
            return None
        return min(MAX_BPM, max(MIN_BPM, NS_PER_MINUTE / self._beat_ns()))

    def _beat_ns(self) -> float:
        """Least-squares ns per tap over the window."""
        n = len(self._taps)
        mean_i = (n - 1) / 2
        mean_t = sum(self._taps) / n
        cov = sum((i - mean_i) * (t - mean_t) for i, t in enumerate(self._taps))
        var = sum((i - mean_i) ** 2 for i in range(n))
        return cov / var
