"""Conv-decoder latency: one batch-1 decode on ONE torch thread, CPU time and wall time.

Prints JSON. CPU time (``time.thread_time_ns``) is this thread's own work, which other jobs
competing for the cores inflate much less than wall time; both are reported, median and p99.

    .venv/bin/python bench/conv_decoder_latency.py --checkpoint checkpoints/default.pt
    .venv/bin/python bench/conv_decoder_latency.py --runs 5000

Per model (the ``fader_2bar`` preset untrained, the same with a 96-channel decoder and
monotone density/hat knobs, and each checkpoint given): ``ConvDecoder``'s inference path
(what ``no_grad``/``inference_mode`` decodes run) and its reference path (the training-mode
code, i.e. the decoder before the inference path existed), timed in alternating blocks so
machine load hits both alike; ``FaderVAE.decode``; for checkpoints also ``Generator.decode``
(latent -> Pattern, what the app pays).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import emit_json  # noqa: E402

BLOCK = 250  # calls per block when alternating variants


def _summary(wall: list[int], cpu: list[int]) -> dict[str, float]:
    w, c = np.asarray(wall) * 1e-6, np.asarray(cpu) * 1e-6
    return {"median_ms": round(float(np.median(w)), 4), "p99_ms": round(float(np.percentile(w, 99)), 4),
            "cpu_median_ms": round(float(np.median(c)), 4),
            "cpu_p99_ms": round(float(np.percentile(c, 99)), 4), "runs": len(w)}


def _alternating(fns: dict[str, Callable[[], object]], runs: int, warmup: int = 200) -> dict[str, dict]:
    """Median/p99 wall and CPU ms of each ``fn()``, ``runs`` calls each, in alternating blocks."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, tuple[list[int], list[int]]] = {name: ([], []) for name in fns}
    for _ in range(max(1, runs // BLOCK)):
        for name, fn in fns.items():
            wall, cpu = times[name]
            for _ in range(BLOCK):
                c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
                fn()
                wall.append(time.perf_counter_ns() - t0)
                cpu.append(time.thread_time_ns() - c0)
    return {name: _summary(*t) for name, t in times.items()}


def _model(model, runs: int, generator=None) -> dict[str, dict]:
    import torch

    cfg = model.config
    rng = torch.Generator().manual_seed(0)
    z = torch.randn(1, cfg.z_dim, generator=rng)
    a = torch.randn(1, cfg.num_attributes, generator=rng) if cfg.num_attributes else None
    dec = model.decoder
    fns = {"decoder_inference": lambda: dec(z, a),
           "decoder_reference": lambda: dec._forward_reference(z, a, None, None),
           "model_decode": lambda: model.decode(z, a)}
    if generator is not None:
        fns["generator_decode"] = functools.partial(generator.decode, generator.sample(1, seed=0)[0])
    with torch.inference_mode():
        return _alternating(fns, runs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, action="append", default=[])
    ap.add_argument("--runs", type=int, default=3000, help="timed calls per variant")
    ap.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from engine.generation.generator import Generator
    from models.checkpoint import load_checkpoint
    from models.config import PRESETS
    from models.fader_vae import FaderVAE

    base = PRESETS["fader_2bar"]
    configs = {"fader_2bar": base,
               "fader_2bar_c96_mono": dataclasses.replace(base, decoder_size=96, decoder_proj=48,
                                                          monotone_density=True, monotone_hats=True)}
    results: dict[str, object] = {}
    for name, cfg in configs.items():
        torch.manual_seed(0)
        results[name] = _model(FaderVAE(cfg).eval(), args.runs)
    for path in args.checkpoint:
        results[str(path)] = _model(load_checkpoint(path).model, args.runs, Generator.from_checkpoint(path))
    out = {"bench": "conv_decoder_latency", "threads": torch.get_num_threads(), "torch": torch.__version__,
           "load_average": [round(v, 2) for v in os.getloadavg()], "results": results}
    emit_json(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
