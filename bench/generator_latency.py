"""Generator timing: one-pattern decode (batch 1, one torch thread) and the 32×32 pad heat-map
(one batched decode on ``Generator.heatmap_threads`` intra-op threads).

Prints JSON. Targets (issues 3 and 4): decode p99 ≤ 2 ms; heat-map ≤ 150 ms. Also times
the decode the app makes, holding the knobs (several model calls, ``engine.generation.knob_feedback``).

    .venv/bin/python bench/generator_latency.py --checkpoint checkpoints/default.pt
    .venv/bin/python bench/generator_latency.py --preset fader_2bar   # untrained weights, same cost

Corner blends (the pad's *Blend corners* mode, on the data as shipped): the first point of a
new corner set (its graph search, in the model worker) and each later point of a drag
(a pick and a decode). Variation's pick of a nearby training groove (no decode).

Timing goes through :class:`engine.generation.generator.Generator`, i.e. what the app and ``play``
pay: latent → model → thresholded hits → :class:`Pattern` (decode), and pad grid → one
batched decode of res² latents → attribute per pattern (heat-map).
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from _report import emit_json

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _times_ms(fn, runs: int, warmup: int, cpu_clock=time.thread_time) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    t = np.empty(runs)
    cpu = np.empty(runs)
    for i in range(runs):
        c0, t0 = cpu_clock(), time.perf_counter()
        fn()
        t[i] = (time.perf_counter() - t0) * 1e3
        cpu[i] = (cpu_clock() - c0) * 1e3
    # wall = what a caller waits on this (shared) machine; cpu = this thread's own work
    # (the process's, all threads, for the multi-threaded heat-map), which other jobs
    # competing for the two cores do not inflate
    return {"median_ms": round(float(np.median(t)), 3), "p99_ms": round(float(np.percentile(t, 99)), 3),
            "max_ms": round(float(t.max()), 3), "cpu_median_ms": round(float(np.median(cpu)), 3),
            "cpu_p99_ms": round(float(np.percentile(cpu, 99)), 3), "runs": runs}


def _cycle(gen, zs: np.ndarray, anchored: bool):
    """One held decode per call, cycling through ``zs``, density set to 80 % of its range:
    ``anchored`` = the app while density is turned (the other attributes held where each
    latent's own groove has them); else the app after a pad move with density set (density
    held alone)."""
    from engine.music import attributes as attr_lib

    it = itertools.cycle(range(len(zs)))
    names = gen.attribute_names
    lo, hi = gen.attribute_ranges["density"]
    knobs = dict(gen.attribute_defaults)
    own = attr_lib.compute(gen.decode_batch(zs, knobs).to_array(), names)
    targets = own if anchored else np.full_like(own, np.nan)
    targets[:, names.index("density")] = lo + 0.8 * (hi - lo)
    knobs["density"] = lo + 0.8 * (hi - lo)

    def call():
        i = next(it)
        return gen.decode(zs[i], knobs, targets=targets[i], turning="density" if anchored else None)
    return call


def _kept_times(gen, call, runs: int) -> dict[str, float]:
    """:func:`_times_ms` of ``call`` with the hit knobs keeping the playing groove."""
    from dataclasses import replace

    from engine.generation.hit_edit import HIT_KNOBS

    shipped = gen.walk_settings
    if not gen.has_data_map:
        return {}
    gen.walk_settings = replace(shipped, keep=tuple(n for n in HIT_KNOBS if n in gen.attribute_names))
    try:
        return _times_ms(call, runs, warmup=30)
    finally:
        gen.walk_settings = shipped


def _corner_calls(gen, zs: np.ndarray):
    """``(first, drag)``: the centre point of a new corner set each call (four of ``zs``,
    cycling, so the kept graph search never serves it), and random points of a drag over one
    set, each decoded as the app plays it."""
    sets = [zs[i:i + 4] for i in range(0, len(zs) - 3, 4)]
    it_sets = itertools.cycle(sets)
    rng = np.random.default_rng(2)
    points = itertools.cycle(rng.uniform(-0.9, 0.9, (97, 2)))

    def play(corners: np.ndarray, point: tuple[float, float]) -> None:
        z, own = gen.corner_blend(corners, *point)
        gen.decode(z, {}, own=own)

    # the new set's point at the pad's centre, where no corner plays alone: the search runs
    return (lambda: play(next(it_sets), (0.0, 0.0))), (lambda: play(sets[0], tuple(next(points))))


def _variation_calls(gen, zs: np.ndarray):
    """One Variation pick per call (amount 0.35, a new seed each time), cycling through ``zs``."""
    it = itertools.count()

    def call() -> None:
        i = next(it)
        gen.variation(zs[i % len(zs)], amount=0.35, seed=i)
    return call


def _untrained(preset: str):
    """A Generator around an untrained preset model (cost is that of the architecture)."""
    import torch

    from engine.generation.generator import Generator
    from engine.music import attributes as attr_lib
    from models.config import PRESETS
    from models.fader_vae import FaderVAE

    cfg = PRESETS[preset]
    torch.manual_seed(0)
    names = list(attr_lib.ATTRIBUTES)[: cfg.num_attributes] or list(attr_lib.DEFAULT_ATTRIBUTES)
    n, z = len(names), cfg.z_dim
    rng = np.random.default_rng(0)
    meta = {"model_kind": "fader_vae" if cfg.num_attributes else "vae", "config": cfg.to_dict(),
            "attributes": {"names": names, "mean": [0.0] * n, "std": [1.0] * n,
                           "low": [-1.0] * n, "high": [1.0] * n},
            "latent": {"plane": {"origin": [0.0] * z, "axes": rng.standard_normal((2, z)).tolist(),
                                 "scale": 1.0}},
            "attribute_vectors": {name: rng.standard_normal(z).tolist() for name in names}}
    return Generator(FaderVAE(cfg).eval(), meta, cfg)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--checkpoint", type=Path, default=None)
    src.add_argument("--preset", default=None, help="time an untrained model of this preset")
    ap.add_argument("--runs", type=int, default=500, help="single decodes timed")
    ap.add_argument("--heatmap-runs", type=int, default=30)
    ap.add_argument("--resolution", type=int, default=32)
    ap.add_argument("--attribute", default="density")
    ap.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    args = ap.parse_args(argv)

    import torch

    from engine.generation.generator import Generator

    if args.preset:
        gen, source = _untrained(args.preset), f"untrained preset {args.preset}"
    else:
        path = args.checkpoint or Path("checkpoints/default.pt")
        gen, source = Generator.from_checkpoint(path), str(path)
    z = gen.sample(1, seed=0)[0]
    zs = gen.sample_like_data(64, seed=1)
    res = args.resolution
    new_set, drag = _corner_calls(gen, zs)
    out = {
        "source": source,
        "model_kind": gen.model_kind,
        "decoder": {k: (gen.meta.get("config") or {}).get(k) for k in
                    ("decoder", "decoder_cell", "decoder_size", "decoder_layers", "z_dim")},
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        # the model's one decode (the decode target)
        "decode_batch1": _times_ms(lambda: gen.decode(z), args.runs, warmup=30),
        # what the app pays per pattern when it holds knobs (engine.generation.knob_feedback), at
        # Randomize's latents: while density is turned (the others held at the groove's
        # own), and after a pad move with density set; with no knob set it is the decode above
        "decode_turning_density_batch1": _times_ms(_cycle(gen, zs, True), args.runs, warmup=30),
        "decode_density_set_batch1": _times_ms(_cycle(gen, zs, False), args.runs, warmup=30),
        # the same turn with Edit → Density and hats keep the groove: the playing groove's hits
        # added in the decoder's order (a new latent every call: its sweep decoded each time)
        "decode_turning_density_kept_batch1": _kept_times(gen, _cycle(gen, zs, True), args.runs),
        "feedback": asdict(gen.feedback),
        "heatmap_threads": gen.heatmap_threads,
        f"heatmap_{res}x{res}": _times_ms(lambda: gen.heatmap(args.attribute, res), args.heatmap_runs,
                                          warmup=3, cpu_clock=time.process_time),
        "corner_blend": asdict(gen.data_blend),
        "corner_new_set_point": _times_ms(new_set, 32, warmup=2),
        "corner_drag_point": _times_ms(drag, args.runs, warmup=30),
        # Variation's pick of a nearby training groove (the app makes it on the GUI thread,
        # then the model worker decodes it): at the app's default amount (0.35), cycling latents
        "variation_method": gen.variation_method,
        "variation_pick": _times_ms(_variation_calls(gen, zs), args.runs, warmup=30),
        "targets": {"decode_p99_ms": 2.0, "heatmap_ms": 150.0},
    }
    emit_json(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
