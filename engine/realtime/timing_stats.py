"""Lateness statistics the clock process keeps about its own sends.

Each send is compared with its deadline (``sent_ns - deadline_ns``; negative = early). The
last :data:`WINDOW` values are kept for median/p99 so a long session costs fixed memory;
count and max cover the whole session.
"""

from __future__ import annotations

from array import array

import numpy as np

WINDOW = 65_536  # latest sends kept for the percentiles


class LatenessStats:
    """Running lateness record: ``add(ns)``, ``summary() -> dict`` in milliseconds."""

    def __init__(self, window: int = WINDOW) -> None:
        self._window = window
        self._values = array("q", bytes(8 * window))
        self._next = 0
        self.count = 0
        self.max_ns = 0
        self.max_at = 0  # which send (1 = the first) was the latest: start-up or mid-play?
        self.late_1ms = 0  # sends more than 1 ms after their deadline
        self.first_late_1ms = 0  # which send was the first more than 1 ms late (0 = none)

    def add(self, lateness_ns: int) -> None:
        self._values[self._next] = lateness_ns
        self._next = (self._next + 1) % self._window
        self.count += 1
        if lateness_ns > self.max_ns:
            self.max_ns = lateness_ns
            self.max_at = self.count
        if lateness_ns > 1_000_000:
            self.late_1ms += 1
            if not self.first_late_1ms:
                self.first_late_1ms = self.count

    def reset(self) -> None:
        self._next = 0
        self.count = 0
        self.max_ns = 0
        self.max_at = 0
        self.late_1ms = 0
        self.first_late_1ms = 0

    def summary(self) -> dict[str, float | int]:
        """``{"count", "median_ms", "p99_ms", "max_ms", "late_over_1ms", "max_at",
        "first_late_over_1ms"}`` (zeros when empty; the last two count sends from 1)."""
        n = min(self.count, self._window)
        if n == 0:
            return {"count": 0, "median_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "late_over_1ms": 0,
                    "max_at": 0, "first_late_over_1ms": 0}
        values = np.frombuffer(self._values, dtype=np.int64)[:n] if n < self._window else \
            np.frombuffer(self._values, dtype=np.int64)
        return {
            "count": self.count,
            "median_ms": float(np.median(values)) / 1e6,
            "p99_ms": float(np.percentile(values, 99)) / 1e6,
            "max_ms": self.max_ns / 1e6,
            "late_over_1ms": self.late_1ms,
            "max_at": self.max_at,
            "first_late_over_1ms": self.first_late_1ms,
        }
