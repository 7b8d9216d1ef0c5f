"""The instrument on torch and on ONNX Runtime, side by side in one run.

For each backend (``GROOVEFADER_BACKEND=torch|onnx``, the same checkpoint; runs interleaved
so both see the same machine load):

* ``import_s``: ``import torch`` vs ``import onnxruntime`` in a fresh interpreter, minus an
  empty interpreter's start;
* ``app``: ``groovefader app --startup-report`` offscreen in fresh processes: window shown,
  ready (first pattern from the loaded model painted), CPU time at ready, peak RSS of the
  app process (``ru_maxrss`` through ready and exit);
* ``generate``: ``groovefader generate -o clip.mid`` (one 2-bar clip) wall time, CPU time
  (user + system, the process and its children) and peak RSS;
* in a fresh process per backend: the network's batch-1 decode, ``Generator.decode_batch``
  of one latent, a held knob (``decode`` with a target, the walk on the map) on a new latent
  each time and dragged on one latent (as a knob on the playing groove), the pad's
  32x32 heat-map, and the app's knob drag → grid paint (:func:`app_startup.knob_drags`, once
  the melody model, which loads after the drums', is in);
* ``install``: the size on disk of the runtime environment (``.venv-app``, from
  ``./dev.sh app``) and of the test environment with torch (``.venv``), and of torch alone;
  the model files (``.pt`` vs the export folder).

Every part records the machine's 1-minute load average before and after it
(``loadavg_1m``): on a shared machine a wall time means little without it. Fresh processes
run with Python's bytecode cache on (a private ``PYTHONPYCACHEPREFIX``, warmed by one
untimed run of each), as an installed app has it: an environment with
``PYTHONDONTWRITEBYTECODE`` would compile every module of the app at every start.

Prints JSON (and writes it with ``--json FILE``).

    .venv/bin/python bench/runtime_backends.py [--runs 7] [--drags 40] [--json bench/runtime_backends.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _report import emit_json

REPO = Path(__file__).resolve().parents[1]
BACKENDS = ("torch", "onnx")
TARGETS = {"app_ready_median_s": 1.2, "generate_wall_median_s": 0.6, "runtime_env_mb": 450,
           "app_rss_mb": 180, "decode_batch1_p99_ms": 0.3, "knob_to_grid_median_ms": 10.0}
# Runs a command; its stderr's last line: "MAXRSS <peak RSS KiB> <CPU s, user + system>".
RSS_WRAPPER = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
               "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
               "print('MAXRSS', u.ru_maxrss, u.ru_utime + u.ru_stime, file=sys.stderr); "
               "sys.exit(r.returncode)")


def summary(values: list[float], nd: int = 4) -> dict[str, float]:
    s = sorted(values)
    p99 = s[min(len(s) - 1, round(0.99 * (len(s) - 1)))]
    return {"median": round(statistics.median(s), nd), "p99": round(p99, nd), "min": round(s[0], nd),
            "max": round(s[-1], nd), "n": len(s)}


PYCACHE: list[Path] = []  # the bytecode cache of this run's processes (made by main)


def env_for(backend: str) -> dict[str, str]:
    # (the app package sets OPENBLAS_NUM_THREADS=1 itself; the in-process runs get it here)
    env = {**os.environ, "GROOVEFADER_BACKEND": backend, "QT_QPA_PLATFORM": "offscreen",
           "OPENBLAS_NUM_THREADS": "1"}
    if PYCACHE:
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE[0])
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def load() -> float:
    """The 1-minute load average now."""
    return round(os.getloadavg()[0], 2)


def with_load(part: Callable[[], dict]) -> dict:
    """``part()`` with the load average before and after it."""
    before = load()
    out = part()
    out["loadavg_1m"] = {"before": before, "after": load()}
    return out


def groovefader() -> list[str]:
    exe = Path(sys.executable).with_name("groovefader")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "app"]


def timed_with_rss(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str, float]:
    """(wall s, peak RSS MiB, stdout, CPU s) of ``cmd`` in a fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", RSS_WRAPPER, *cmd], env=env, capture_output=True,
                          text=True, timeout=300, cwd=REPO)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    _, kib, cpu = proc.stderr.strip().splitlines()[-1].split()
    return wall, int(kib) / 1024, proc.stdout, float(cpu)


def import_times(runs: int) -> dict[str, dict[str, float]]:
    def once(code: str) -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        return time.perf_counter() - t0

    base, out = [], {"torch": [], "onnx": []}
    for _ in range(runs):
        base.append(once("pass"))
        out["torch"].append(once("import torch"))
        out["onnx"].append(once("import onnxruntime"))
    floor = statistics.median(base)
    return {k: summary([v - floor for v in vals]) for k, vals in out.items()}


def app_runs(checkpoint: Path, runs: int) -> dict[str, dict]:
    got = {b: {"shown_s": [], "ready_s": [], "cpu_s_at_ready": [], "peak_rss_mb": []} for b in BACKENDS}
    with tempfile.TemporaryDirectory() as tmp:
        for b in BACKENDS:  # untimed: fills the bytecode cache
            timed_with_rss([*groovefader(), "app", "--checkpoint", str(checkpoint), "--settings",
                            str(Path(tmp) / f"warm-{b}.ini"), "--startup-report"], env_for(b))
        for i in range(runs):
            for b in BACKENDS:
                settings = Path(tmp) / f"s-{b}-{i}.ini"
                t0 = time.time()
                _, rss, out, _ = timed_with_rss([*groovefader(), "app", "--checkpoint", str(checkpoint),
                                              "--settings", str(settings), "--startup-report"], env_for(b))
                report = json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])
                got[b]["shown_s"].append(report["shown_unix"] - t0)
                got[b]["ready_s"].append(report["ready_unix"] - t0)
                got[b]["cpu_s_at_ready"].append(report["cpu_s_at_ready"])
                got[b]["peak_rss_mb"].append(rss)
    return {b: {k: summary(v) for k, v in d.items()} for b, d in got.items()}


def generate_runs(checkpoint: Path, runs: int) -> dict[str, dict]:
    got = {b: {"wall_s": [], "cpu_s": [], "peak_rss_mb": []} for b in BACKENDS}
    with tempfile.TemporaryDirectory() as tmp:
        for b in BACKENDS:  # untimed: fills the bytecode cache
            timed_with_rss([*groovefader(), "generate", "--checkpoint", str(checkpoint),
                            "-o", str(Path(tmp) / f"warm-{b}.mid")], env_for(b))
        for i in range(runs):
            for b in BACKENDS:
                cmd = [*groovefader(), "generate", "--checkpoint", str(checkpoint),
                       "-o", str(Path(tmp) / f"{b}-{i}.mid"), "--seed", str(i)]
                wall, rss, _, cpu = timed_with_rss(cmd, env_for(b))
                got[b]["wall_s"].append(wall)
                got[b]["cpu_s"].append(cpu)
                got[b]["peak_rss_mb"].append(rss)
    return {b: {k: summary(v) for k, v in d.items()} for b, d in got.items()}


def inner(backend: str, checkpoint: Path, drags: int) -> dict:
    """Latencies in this process on ``backend`` (run by :func:`in_process` in a fresh one)."""
    import numpy as np
    from _report import times_ms

    from engine.generation.generator import Generator

    gen = Generator.from_checkpoint(checkpoint, backend=backend)
    assert gen.backend == backend, gen.backend
    z = gen.sample_like_data(64, seed=0)
    attrs = gen.attribute_matrix(None, 1, z[:1]).astype(np.float32)
    norm = ((attrs - np.asarray(gen.meta["attributes"]["mean"])) / np.asarray(gen.meta["attributes"]["std"]))
    norm = norm.astype(np.float32)
    net = gen._net  # noqa: SLF001 - the network call alone
    i = iter(range(10 ** 9))
    lo, hi = gen.attribute_ranges[gen.attribute_names[0]]
    targets = np.full(len(gen.attribute_names), np.nan)

    def held() -> None:
        k = next(i)
        targets[0] = lo + (hi - lo) * ((k % 20) / 19)
        gen.decode(z[k % 64], targets=targets, turning=gen.attribute_names[0])

    def dragged() -> None:
        k = next(i)
        targets[0] = lo + (hi - lo) * ((k % 20) / 19)
        gen.decode(z[0], targets=targets, turning=gen.attribute_names[0])

    out = {
        "network_decode_batch1": times_ms(lambda: net.run_decoder(z[:1].astype(np.float32), norm, None),
                                          2000, 50),
        "decode_batch1": times_ms(lambda: gen.decode_batch(z[next(i) % 64]), 1000, 20),
        "held_knob_decode": times_ms(held, 300, 10),
        # a knob dragged on the playing groove: every move walks from the same latent
        "knob_drag_decode": times_ms(dragged, 300, 10),
        "heatmap_32x32": times_ms(lambda: gen.heatmap("density", 32), 10, 2),
    }
    sys.path.insert(0, str(Path(__file__).parent))
    from app_startup import knob_drags

    drags_out = knob_drags(checkpoint, drags)
    out["knob_to_grid_ms"] = drags_out["knob_to_grid_ms"]
    out["knob_to_grid_cpu_ms"] = drags_out["knob_to_grid_cpu_ms"]
    return out


def in_process(checkpoint: Path, drags: int) -> dict[str, dict]:
    res = {}
    for b in BACKENDS:
        before = load()
        proc = subprocess.run([sys.executable, __file__, "--inner", b, "--checkpoint", str(checkpoint),
                               "--drags", str(drags)], env=env_for(b), capture_output=True, text=True,
                              timeout=900, cwd=REPO)
        if proc.returncode != 0:
            raise SystemExit(f"inner {b} failed: {proc.stderr.strip()[-600:]}")
        res[b] = json.loads(proc.stdout.strip().splitlines()[-1])
        res[b]["loadavg_1m"] = {"before": before, "after": load()}
    return res


def du_mb(path: Path) -> float | None:
    if not path.exists():
        return None
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    return round(total / 2 ** 20, 1)


def install_sizes(checkpoint: Path) -> dict:
    runtime, test = REPO / ".venv-app", REPO / ".venv"
    torch_dirs = list(test.glob("lib/python3*/site-packages/torch"))
    export = checkpoint.with_name(checkpoint.stem + "-onnx")
    py = runtime / "bin" / "python"
    version = (subprocess.run([str(py), "-V"], capture_output=True, text=True).stdout.strip()
               if py.exists() else None)
    return {"runtime_env_mb": du_mb(runtime), "runtime_env_python": version,
            "test_env_with_torch_mb": du_mb(test),
            "torch_package_mb": du_mb(torch_dirs[0]) if torch_dirs else None,
            "checkpoint_mb": round(checkpoint.stat().st_size / 2 ** 20, 2),
            "export_mb": du_mb(export),
            "export_files_mb": ({p.name: round(p.stat().st_size / 2 ** 20, 2)
                                 for p in sorted(export.iterdir())} if export.exists() else None)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=REPO / "checkpoints" / "default.pt")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--drags", type=int, default=40)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--inner", choices=BACKENDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        print(json.dumps(inner(args.inner, args.checkpoint, args.drags)))
        return 0
    with tempfile.TemporaryDirectory(prefix="gf-bench-pycache-") as cache:
        PYCACHE.append(Path(cache))
        return run_all(args)


def run_all(args: argparse.Namespace) -> int:
    load0 = os.getloadavg()[0]
    result = {"benchmark": "runtime_backends", "checkpoint": str(args.checkpoint.relative_to(REPO)
                                                                   if args.checkpoint.is_relative_to(REPO)
                                                                   else args.checkpoint),
              "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                          "loadavg_1m_before": round(load0, 2)},
              "targets": TARGETS,
              "command": "bench/runtime_backends.py " + " ".join(sys.argv[1:])}
    result["import_s"] = with_load(lambda: import_times(args.runs))
    result["app"] = with_load(lambda: app_runs(args.checkpoint, args.runs))
    result["generate"] = with_load(lambda: generate_runs(args.checkpoint, args.runs))
    result["in_process"] = in_process(args.checkpoint, args.drags)
    result["install"] = install_sizes(args.checkpoint)
    onnx = result["app"]["onnx"], result["generate"]["onnx"], result["in_process"]["onnx"]
    result["met"] = {
        "app_ready_median_s": onnx[0]["ready_s"]["median"] <= TARGETS["app_ready_median_s"],
        "generate_wall_median_s": onnx[1]["wall_s"]["median"] <= TARGETS["generate_wall_median_s"],
        "runtime_env_mb": (result["install"]["runtime_env_mb"] or 1e9) <= TARGETS["runtime_env_mb"],
        "app_rss_mb": onnx[0]["peak_rss_mb"]["median"] <= TARGETS["app_rss_mb"],
        "decode_batch1_p99_ms": onnx[2]["network_decode_batch1"]["p99_ms"] <= TARGETS["decode_batch1_p99_ms"],
        "knob_to_grid_median_ms": onnx[2]["knob_to_grid_ms"]["median"] <= TARGETS["knob_to_grid_median_ms"],
    }
    # the same targets in CPU time: the work itself, whatever else the machine runs
    result["met_in_cpu_time"] = {
        "app_ready_median_s": onnx[0]["cpu_s_at_ready"]["median"] <= TARGETS["app_ready_median_s"],
        "generate_wall_median_s": onnx[1]["cpu_s"]["median"] <= TARGETS["generate_wall_median_s"],
        "decode_batch1_p99_ms": (onnx[2]["network_decode_batch1"]["cpu_p99_ms"]
                                 <= TARGETS["decode_batch1_p99_ms"]),
        "knob_to_grid_median_ms": (onnx[2]["knob_to_grid_cpu_ms"]["median"]
                                   <= TARGETS["knob_to_grid_median_ms"]),
    }
    result["machine"]["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
    emit_json(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
