"""``groovefader eval`` on torch and on ONNX Runtime: are the figures the same?

Runs the evaluation twice on the same checkpoint, data and seed (``GROOVEFADER_BACKEND=torch``
and ``onnx``) and compares every number of the two JSON reports except timings: how many
are equal, and the largest relative difference of the others (velocity and timing figures
move by float rounding; anything computed from hits should be equal).

    .venv/bin/python bench/eval_backends.py --data $GROOVE [--split validation] \
        [--json bench/eval_backends.json]

The default sizes are small (a few minutes on two cores); pass eval's own options after
``--`` to change them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _report import emit_json

REPO = Path(__file__).resolve().parents[1]
SMALL = ["--draws", "40", "--settings", "5", "--samples", "200", "--pad-points", "5", "--latency-runs", "20",
         "--surface-samples", "100"]
TIMING_KEYS = ("latency", "seconds")


def leaves(x: Any, path: str = "") -> dict[str, float]:
    """Every number in a JSON value by its path (booleans and strings left out)."""
    out: dict[str, float] = {}
    if isinstance(x, dict):
        for k, v in x.items():
            out.update(leaves(v, f"{path}/{k}"))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            out.update(leaves(v, f"{path}[{i}]"))
    elif isinstance(x, int | float) and not isinstance(x, bool):
        out[path] = float(x)
    return out


def compare(a: dict, b: dict) -> dict[str, Any]:
    la, lb = leaves(a), leaves(b)
    keys = [k for k in la if k in lb and not any(t in k for t in TIMING_KEYS)]
    equal, differ = 0, []
    for k in keys:
        x, y = la[k], lb[k]
        if x == y or (math.isnan(x) and math.isnan(y)):
            equal += 1
        else:
            differ.append((abs(x - y) / max(abs(x), abs(y), 1e-12), k, x, y))
    differ.sort(reverse=True)
    return {"numbers": len(keys), "equal": equal, "different": len(differ),
            "max_relative_difference": differ[0][0] if differ else 0.0,
            "largest": [{"figure": k, "onnx": x, "torch": y, "relative": r} for r, k, x, y in differ[:8]],
            "only_in_one": sorted(set(la) ^ set(lb))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=REPO / "checkpoints" / "default.pt")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--split", default="validation")
    parser.add_argument("--json", type=Path)
    parser.add_argument("eval_args", nargs="*", help="eval options (default: small sizes)")
    args = parser.parse_args()
    exe = Path(sys.executable).with_name("groovefader")
    reports = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in ("onnx", "torch"):
            out = Path(tmp) / f"{backend}.json"
            cmd = [str(exe), "eval", "--checkpoint", str(args.checkpoint), "--data", str(args.data),
                   "--split", args.split, "--json", str(out), *(args.eval_args or SMALL)]
            proc = subprocess.run(cmd, env={**os.environ, "GROOVEFADER_BACKEND": backend},
                                  capture_output=True, text=True, cwd=REPO)
            if proc.returncode != 0:
                raise SystemExit(f"eval on {backend} failed: {proc.stderr.strip()[-400:]}")
            reports[backend] = json.loads(out.read_text())
    result = {"benchmark": "eval_backends", "checkpoint": str(args.checkpoint), "split": args.split,
              "eval_args": args.eval_args or SMALL, **compare(reports["onnx"], reports["torch"]),
              "reconstruction": {b: r["models"]["model"]["reconstruction"] for b, r in reports.items()}}
    emit_json(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
