"""How late a timed wait returns, in a SCHED_FIFO process like the clock's.

Compares ``multiprocessing.Queue.get(timeout)`` (the clock process's command queue; its poll
takes whole milliseconds) with ``time.sleep``, each for ``--seconds``, waits drawn uniformly
from 2–20 ms (and 0.5–2 ms for the queue). Reports the overshoot (returned − asked) and, per
wait over 2 ms late, the thread's run-queue delay from ``/proc/thread-self/schedstat``: a
late wake-up with no run-queue delay means the thread was not even runnable (its timer
fired late: the virtual CPU was not running), not that another thread held the CPU.

    .venv/bin/python bench/wait_overshoot.py --seconds 20 --json wait.json
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import queue
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _report import emit_json  # noqa: E402

PRIORITY = 3  # as engine.realtime.clock_process.FIFO_PRIORITY


def run_delay_ns() -> int:
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def measure(kind: str, commands: mp.Queue, seconds: float) -> dict:
    rng = random.Random(0)
    over, late_run_delay = [], []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        wait = rng.uniform(0.0005, 0.002) if kind == "queue_short" else rng.uniform(0.002, 0.02)
        delay0 = run_delay_ns()
        t = time.perf_counter_ns()
        if kind.startswith("queue"):
            with contextlib.suppress(queue.Empty):
                commands.get(timeout=wait)
        else:
            time.sleep(wait)
        o = time.perf_counter_ns() - t - round(wait * 1e9)
        over.append(o)
        if o > 2_000_000:
            late_run_delay.append(round((run_delay_ns() - delay0) / 1e3))
    over.sort()
    n = len(over)
    return {"waits": n, "median_us": over[n // 2] / 1e3, "p99_us": over[int(n * 0.99)] / 1e3,
            "p999_us": over[int(n * 0.999)] / 1e3, "max_us": over[-1] / 1e3,
            "over_1ms": sum(1 for v in over if v > 1e6), "over_2ms": sum(1 for v in over if v > 2e6),
            "run_queue_delay_us_of_those_over_2ms": late_run_delay}


def child(seconds: float, commands: mp.Queue, results: mp.Queue) -> None:
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(PRIORITY))
        realtime = True
    except (AttributeError, OSError):
        realtime = False
    out = {"sched_fifo": realtime}
    for kind in ("queue", "sleep", "queue_short"):
        out[kind] = measure(kind, commands, seconds)
    results.put(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="per kind of wait")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    commands, results = ctx.Queue(), ctx.Queue()
    load = os.getloadavg()
    proc = ctx.Process(target=child, args=(args.seconds, commands, results))
    proc.start()
    out = results.get(timeout=3 * args.seconds + 60)
    proc.join(10)
    emit_json({"command": " ".join([Path(sys.executable).name, *sys.argv]), "loadavg_at_start": load,
               "loadavg_at_end": os.getloadavg(), **out}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
