"""Melody decode latency: one melody (batch 1, greedy, autoregressive) on ONE thread.

Times the decoder loop the app runs (:class:`engine.generation.melody_loop.MelodyLoop`, numpy,
what the ONNX backend decodes with; ``runtime``) and the torch model's own
``MelodyVAE.decode`` (``torch``; training and evaluation use it) for 2-bar and 16-bar outputs
of each checkpoint given (or an untrained preset: the cost does not depend on the weights).
Targets: one 2-bar melody <= 5 ms p99, one 16-bar melody <= 30 ms p99 (judged on
``runtime``). A model with a shorter window also gets ``runtime_16_bars_as_windows``: a
16-bar tune as the app generates one from it, its windows decoded in one batch. Wall time
is what a caller waits on this shared machine; CPU time is the thread's own work (less
disturbed by other load); the load average is recorded.

    .venv/bin/python bench/melody_decode_latency.py checkpoints/melody.pt \
        --preset melody_16bar_hier --runs 300 --json bench/melody_decode_latency.json
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the app sets it: one BLAS thread

from _report import emit_json, times_ms  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_P99_MS = {2: 5.0, 16: 30.0}


def measure(model, runs: int) -> dict[str, object]:
    import numpy as np
    import torch

    from engine.generation.melody_loop import MelodyLoop

    cfg = model.config
    loop = MelodyLoop(model.decoder_arrays(), cfg.steps_per_bar, cfg.decoder == "hier")
    z = torch.randn(1, cfg.z_dim)
    zn = z.numpy().astype(np.float32)
    out: dict[str, object] = {"decoder": cfg.decoder, "window_bars": cfg.bars,
                              "parameters": sum(p.numel() for p in model.parameters())}
    for name, fn in (("runtime", lambda b: loop.decode(zn, b)), ("torch", lambda b: model.decode(z, bars=b))):
        with torch.inference_mode():
            for bars in (2, 16):
                n = runs if bars == 2 else max(runs // 4, 25)
                t = times_ms(lambda b=bars, f=fn: f(b), n, warmup=20)
                t["target_p99_ms"] = TARGET_P99_MS[bars]
                t["met_wall"] = t["p99_ms"] <= TARGET_P99_MS[bars]
                t["met_cpu"] = t["cpu_p99_ms"] <= TARGET_P99_MS[bars]
                out[f"{name}_{bars}_bars"] = t
    if cfg.bars < 16:  # how the app makes a 16-bar tune from a short model: its windows in one batch
        zw = np.repeat(zn, 16 // cfg.bars, axis=0)
        t = times_ms(lambda: loop.decode(zw, cfg.bars), max(runs // 4, 25), warmup=20)
        t["target_p99_ms"] = TARGET_P99_MS[16]
        t["met_wall"] = t["p99_ms"] <= TARGET_P99_MS[16]
        t["met_cpu"] = t["cpu_p99_ms"] <= TARGET_P99_MS[16]
        out["runtime_16_bars_as_windows"] = t
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="*", type=Path, help="melody checkpoints")
    parser.add_argument("--preset", action="append", default=[], help="untrained preset(s) instead")
    parser.add_argument("--runs", type=int, default=400, help="timed 2-bar decodes (16-bar: a quarter)")
    parser.add_argument("--json", default=None, help="also write the JSON here")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from models.melody_checkpoint import load_melody_checkpoint
    from models.melody_vae import MelodyVAE, preset

    results = {}
    for path in args.checkpoints:
        results[str(path)] = measure(load_melody_checkpoint(path).model, args.runs)
    for name in args.preset:
        results[name] = measure(MelodyVAE(preset(name)).eval(), args.runs)
    if not results:
        parser.error("give a checkpoint or --preset")
    load = [round(x, 2) for x in os.getloadavg()]
    emit_json({"threads": torch.get_num_threads(), "torch": torch.__version__, "load_average_1_5_15": load,
               "cores": os.cpu_count(), "results": results}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
