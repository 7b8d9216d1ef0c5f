"""Shared output of the bench scripts: JSON on stdout, and atomically to ``--json FILE``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from models.atomic import atomic_write
from models.pathnames import portable


def emit_json(result: Any, path: str | Path | None = None, indent: int = 2) -> None:
    """Print ``result`` as JSON; with a path, also write it there (all or nothing). Paths
    of this machine become relative (:func:`models.pathnames.portable`)."""
    text = portable(json.dumps(result, indent=indent))
    print(text)
    if path:
        atomic_write(path, lambda f: f.write(text + "\n"), text=True)


def times_ms(fn: Callable[[], object], runs: int, warmup: int) -> dict[str, float]:
    """Median and p99 of ``fn``'s wall time (what a caller waits, on a shared machine) and of
    its thread's CPU time (its own work), in ms, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    wall, cpu = np.empty(runs), np.empty(runs)
    for i in range(runs):
        c0, t0 = time.thread_time(), time.perf_counter()
        fn()
        wall[i] = (time.perf_counter() - t0) * 1e3
        cpu[i] = (time.thread_time() - c0) * 1e3
    return {"median_ms": round(float(np.median(wall)), 3), "p99_ms": round(float(np.percentile(wall, 99)), 3),
            "cpu_median_ms": round(float(np.median(cpu)), 3),
            "cpu_p99_ms": round(float(np.percentile(cpu, 99)), 3), "runs": runs}
