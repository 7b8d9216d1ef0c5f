"""The sample-accurate path's time ↔ frame map: exact period limits, no drift, no wrap trouble.

Pure arithmetic (no JACK server): the JACK thread pulls, each period, every message whose
frame lies before the next period; a message pulled one period late lands one period late.
"""

from __future__ import annotations

import random

import pytest

from engine.realtime.steps import deadline_ns, step_ns
from engine.realtime.timebase import FRAME_MOD, REANCHOR_FRAMES, FrameMap, frame_diff

RATE = 48_000
PERIOD = 32


def maps(n: int = 40) -> list[FrameMap]:
    rng = random.Random(4)
    out = [FrameMap(0, 0, RATE), FrameMap(10**12, FRAME_MOD - 5, RATE), FrameMap(123_456_789, 2**31, 44_100)]
    out += [FrameMap(rng.randrange(10**15), rng.randrange(FRAME_MOD), rng.choice((44_100, 48_000, 96_000)))
            for _ in range(n)]
    return out


@pytest.mark.parametrize("fmap", maps(), ids=lambda m: f"{m.rate}@{m.anchor_frame}")
def test_pull_limit_splits_periods_exactly(fmap):
    rng = random.Random(fmap.anchor_frame)
    for _ in range(200):
        boundary = (fmap.anchor_frame + rng.randrange(-10**7, 10**7)) % FRAME_MOD
        limit = fmap.last_ns_before(boundary)
        assert frame_diff(fmap.frame_for(limit), boundary) == -1  # pulled: the period's last frame
        assert fmap.frame_for(limit + 1) == boundary  # left: the next period's first frame


@pytest.mark.parametrize("bpm", [120.0, 174.0, 100.0, 30.0, 300.0])
def test_every_grid_event_is_pulled_in_the_period_of_its_frame(bpm):
    """Events of a grid whose steps are whole periods (120 BPM: 6000 frames) sit on period
    boundaries: the case where rounding could push one into the wrong cycle."""
    for fmap in maps(8):
        t0 = fmap.ns_for_frame((fmap.anchor_frame + 7 * PERIOD) % FRAME_MOD)  # the grid on a boundary
        length = step_ns(bpm)
        for tick in range(0, 24 * 64):
            deadline = deadline_ns(t0, tick / 6, length)
            frame = fmap.frame_for(deadline)
            start = (frame - frame_diff(frame, fmap.anchor_frame) % PERIOD) % FRAME_MOD  # its period
            assert deadline <= fmap.last_ns_before((start + PERIOD) % FRAME_MOD)
            assert deadline > fmap.last_ns_before(start)


def test_grid_has_no_drift_over_hours():
    fmap = FrameMap(5_000_000_000, 1_000, RATE)
    length = step_ns(120.0)  # 6000 frames per 16th at 48 kHz
    for step in (0, 1, 10**5, 10**6, 3 * 10**6):  # 3e6 steps = 104 hours
        frame = fmap.frame_for(deadline_ns(fmap.anchor_ns, step, length))
        assert frame == (1_000 + step * 6000) % FRAME_MOD


def test_reanchoring_keeps_every_mapping():
    fmap = FrameMap(777_000_000_123, FRAME_MOD - 48_000 * 10, RATE)
    assert fmap.near((fmap.anchor_frame + REANCHOR_FRAMES - 1) % FRAME_MOD) is fmap
    far = (fmap.anchor_frame + REANCHOR_FRAMES + 12_345) % FRAME_MOD
    moved = fmap.near(far)
    assert moved is not fmap and abs(frame_diff(far, moved.anchor_frame)) < RATE
    rng = random.Random(1)
    for _ in range(2000):
        frame = (far + rng.randrange(-REANCHOR_FRAMES // 2, REANCHOR_FRAMES // 2)) % FRAME_MOD
        ns = moved.ns_for_frame(frame)
        assert moved.frame_for(ns) == frame
        if abs(frame_diff(frame, fmap.anchor_frame)) < 2**31 - RATE:
            assert fmap.ns_for_frame(frame) == ns  # same answer as the old anchor where it was valid
        assert moved.frame_for(ns + 7_777) == fmap.frame_for(ns + 7_777)


def test_time_keeps_running_across_many_frame_counter_wraps():
    """As the clock loop reads it (every few ms): 3 × 2³² frames (74 h) without a jump."""
    fmap = FrameMap(10**9, FRAME_MOD - 1000, RATE)
    frame, last_ns = fmap.anchor_frame, fmap.anchor_ns
    for _ in range(3 * 2**32 // 2**27):
        frame = (frame + 2**27) % FRAME_MOD
        fmap = fmap.near(frame)
        ns = fmap.ns_for_frame(frame)
        assert ns - last_ns == round(2**27 * 1e9 / RATE) or abs(ns - last_ns - 2**27 * 1e9 / RATE) <= 1
        last_ns = ns
