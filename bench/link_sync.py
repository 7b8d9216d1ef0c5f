"""Ableton Link between two peers: how closely groovefader's clock follows another Link app.

Each run starts ``tests/support/link_peers.py`` inside a new network namespace whose only
interface is the loopback (``unshare --net``, root): no packet leaves the machine. There a
plain Link peer (the *driver*, standing in for Live) and groovefader's real clock loop in a
process of its own (SCHED_FIFO where granted, following Link, a hi-hat on every 16th into a
recording output) meet; then the driver starts, changes tempo 120 → 90 → 140, the clock
proposes 100, the driver stops, the clock starts, the driver sets 128, the clock stops,
``--hold`` seconds apart (a start waits a bar more: Link's quantized launch).

Reported per run (targets from the product brief):

- ``note_phase_error_ms``: each note the clock sent (its send time) against the driver's
  nearest 16th on the driver's own Link timeline, over steady stretches (one beat after a
  change left out); target p99 ≤ 1 ms;
- ``link_phase_error_ms``: the clock process's Link timeline (its snapshots, what it
  schedules by) against the driver's at the same instants; same target;
- ``follow``: per change, how many beats it took to reach the other peer (a driver's tempo:
  until the clock's timeline — what it schedules by — has the new tempo, in phase, and
  ``first_note_beats``: until its first note within 1 ms of the driver's 16ths; a start:
  the clock's first note against the driver's first beat; a stop: the clock's
  all-notes-off; the clock's own changes: when the driver sees them); target ≤ 1 beat.

``--load`` runs a busy loop on every core but one meanwhile.

    .venv/bin/python bench/link_sync.py --runs 2 --hold 5 --json bench/link_sync.json
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _report import emit_json  # noqa: E402

from tests.support.link_peers import netns_unavailable, run_isolated  # noqa: E402

PHASE_TARGET_MS = 1.0
FOLLOW_TARGET_BEATS = 1.0


def _spin(stop_at: float) -> None:
    while time.monotonic() < stop_at:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--hold", type=float, default=5.0, help="seconds between changes")
    parser.add_argument("--load", action="store_true", help="busy loops on all cores but one")
    parser.add_argument("--json", default=None, help="also write the result here")
    args = parser.parse_args()
    reason = netns_unavailable()
    if reason is not None:
        print(f"link_sync: cannot run: {reason}", file=sys.stderr)
        return 2
    runs: list[dict[str, Any]] = []
    spinners: list[mp.Process] = []
    if args.load:
        ctx = mp.get_context("spawn")
        stop_at = time.monotonic() + args.runs * (12 * args.hold + 30)
        spinners = [ctx.Process(target=_spin, args=(stop_at,), daemon=True)
                    for _ in range(max(1, (os.cpu_count() or 2) - 1))]
        for p in spinners:
            p.start()
    load_before = os.getloadavg()
    try:
        for _ in range(args.runs):
            result = run_isolated(["--hold", str(args.hold)], timeout_s=20 * args.hold + 120)
            runs.append(result["summary"])
    finally:
        for p in spinners:
            p.terminate()
    worst_note = max(r["note_phase_error_ms"]["p99_abs"] for r in runs)
    worst_link = max(r["link_phase_error_ms"]["p99_abs"] for r in runs)
    follows = [f["beats"] for r in runs for f in r["follow"]]
    worst_follow = None if None in follows else max(follows)
    emit_json({
        "command": "bench/link_sync.py " + " ".join(sys.argv[1:]),
        "runs": runs, "load": args.load, "hold_s": args.hold,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "targets": {
            "phase_p99_ms": PHASE_TARGET_MS, "follow_beats": FOLLOW_TARGET_BEATS,
            "worst_note_phase_p99_ms": worst_note, "worst_link_phase_p99_ms": worst_link,
            "worst_follow_beats": worst_follow,
            "phase_met": worst_note <= PHASE_TARGET_MS and worst_link <= PHASE_TARGET_MS,
            "follow_met": worst_follow is not None and worst_follow <= FOLLOW_TARGET_BEATS,
        },
    }, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
