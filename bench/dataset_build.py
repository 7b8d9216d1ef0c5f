"""Time the full dataset build: cold (fresh cache folder) and cached; print JSON.

Usage::

    .venv/bin/python bench/dataset_build.py [SRC_DIR] [--workers N] [--cached-runs K]

SRC_DIR defaults to ``../shared/data/groove`` next to the repository. Targets:
cold build of the ~1,150 Groove files < 60 s on 2 cores, cached < 2 s. Each timing runs
``build_dataset`` in a fresh interpreter (``python -c``) so imports and the process pool's
start-up are counted as a user pays them; the load average at the start is recorded
because the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SRC = REPO.parent / "shared" / "data" / "groove"

_CHILD = """
import json, sys, time
t0 = time.perf_counter()
from training.dataset import build_dataset
ds = build_dataset(sys.argv[1], cache_dir=sys.argv[2], workers=int(sys.argv[3]))
s = ds.summary
print(json.dumps({"seconds_in_process": time.perf_counter() - t0, "cache": s["cache"],
                  "windows": s["windows"], "files_found": s["files_found"],
                  "files_used": s["files_used"], "skipped_by_reason": s["skipped_by_reason"],
                  "dropped_near_empty": s["dropped_near_empty"],
                  "dropped_duplicates": s["dropped_duplicates"],
                  "windows_before_filtering": s["windows_before_filtering"],
                  "fingerprint": ds.fingerprint}))
"""


def _run(src: Path, cache: Path, workers: int) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(src), str(cache), str(workers)],
                          capture_output=True, text=True, cwd=REPO, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"build failed: {proc.stderr.strip().splitlines()[-1]}")
    out = json.loads(proc.stdout)
    out["seconds_wall"] = wall
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", nargs="?", default=str(DEFAULT_SRC))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cached-runs", type=int, default=3)
    args = parser.parse_args()
    src = Path(args.src)
    if not src.is_dir():
        raise SystemExit(f"{src}: no such directory (the Groove MIDI Dataset)")
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="gf-bench-cache-") as cache:
        cold = _run(src, Path(cache), args.workers)
        cached = [_run(src, Path(cache), args.workers) for _ in range(args.cached_runs)]
        cache_bytes = sum(p.stat().st_size for p in Path(cache).glob("*.npz"))
    assert cold["cache"] == "miss" and all(c["cache"] == "hit" for c in cached)
    cached_wall = sorted(c["seconds_wall"] for c in cached)
    result = {
        "benchmark": "dataset_build",
        "src": str(src),
        "workers": args.workers,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in load],
        "cold_seconds_wall": round(cold["seconds_wall"], 2),
        "cold_seconds_in_process": round(cold["seconds_in_process"], 2),
        "cached_seconds_wall_median": round(cached_wall[len(cached_wall) // 2], 3),
        "cached_seconds_wall_all": [round(x, 3) for x in cached_wall],
        "cached_seconds_in_process_median": round(
            sorted(c["seconds_in_process"] for c in cached)[len(cached) // 2], 3),
        "cache_file_mb": round(cache_bytes / 1e6, 2),
        "target_cold_seconds": 60, "target_cached_seconds": 2,
        "cold_ok": cold["seconds_wall"] < 60, "cached_ok": cached_wall[len(cached_wall) // 2] < 2,
        **{k: cold[k] for k in ("files_found", "files_used", "skipped_by_reason",
                                "windows_before_filtering", "dropped_near_empty",
                                "dropped_duplicates", "windows", "fingerprint")},
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
