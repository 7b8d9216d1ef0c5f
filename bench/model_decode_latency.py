"""Model-level decode latency: one 2-bar pattern (batch 1) on ONE torch thread.

Times ``FaderVAE.decode(z, a).to_array()`` (free-running, thresholded hits) and the
teacher-forced decode, for each checkpoint given (or an untrained preset: same cost).
Prints JSON; target (issue 3): p99 <= 2 ms for the shipped model, and at most a quarter of
the GrooVAE-configuration baseline's latency.

    .venv/bin/python bench/model_decode_latency.py checkpoints/default.pt checkpoints/baseline_groovae.pt
    .venv/bin/python bench/model_decode_latency.py --preset fader_2bar --preset groovae_2bar
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from _report import emit_json, times_ms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def measure(model, runs: int) -> dict[str, object]:
    import torch

    cfg = model.config
    z = torch.randn(1, cfg.z_dim)
    a = torch.zeros(1, cfg.num_attributes) if cfg.num_attributes else None
    teacher = model.decode(z, a).to_array().detach()
    with torch.inference_mode():
        free = times_ms(lambda: model.decode(z, a).to_array(), runs, warmup=50)
        forced = times_ms(lambda: model.decode(z, a, teacher=teacher).to_array(), max(runs // 4, 20),
                          warmup=50)
    params = sum(p.numel() for p in model.parameters())
    return {"decoder": f"{cfg.decoder}/{cfg.decoder_cell}", "parameters": params,
            "free_running": free, "teacher_forced": forced}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="*", type=Path)
    parser.add_argument("--preset", action="append", default=[])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--json", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from models.checkpoint import load_checkpoint
    from models.config import PRESETS
    from models.fader_vae import FaderVAE

    results = {}
    for path in args.checkpoints:
        results[str(path)] = measure(load_checkpoint(path).model, args.runs)
    for name in args.preset:
        torch.manual_seed(0)
        results[f"preset:{name}"] = measure(FaderVAE(PRESETS[name]).eval(), args.runs)
    out = {"bench": "model_decode_latency", "threads": 1, "load_average": os.getloadavg(),
           "torch": torch.__version__, "results": results}
    emit_json(out, args.json, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
