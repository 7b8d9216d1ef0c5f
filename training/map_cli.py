"""``groovefader map``: add the map of the data (groove bank + pad map) to a drum checkpoint.

Registered by ``app.cli``; torch is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from training.data_map import MapConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "map", help="add the map of the training grooves (knobs walk it, the pad shows it) to a checkpoint",
        description=(
            "Encode every training window of DATA with CHECKPOINT's model, decode and measure each, "
            "lay a self-organising map of the codes over the XY pad (one real groove per node, style "
            "labels from DATA/info.csv) and write the checkpoint with this map to OUT (default: "
            "CHECKPOINT itself, replaced atomically)."))
    p.add_argument("--checkpoint", required=True, type=Path, help="drum checkpoint (.pt)")
    p.add_argument("--data", required=True, type=Path, help="the drum MIDI folder it was trained on")
    p.add_argument("-o", "--out", type=Path, default=None, help="output checkpoint (default: in place)")
    for f in fields(MapConfig):
        p.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default,
                       help=f"(default {f.default})")
    p.add_argument("--expression-only", action="store_true",
                   help="keep the map CHECKPOINT has and only fit (or renew) the spread of velocities "
                        "and micro-timing its decodes are given back, on DATA's training windows")
    p.add_argument("--graph-only", action="store_true",
                   help="keep the map CHECKPOINT has and only add (or renew) its grooves' neighbour "
                        "lists, the links transitions walk (DATA is not read)")
    p.set_defaults(func=run_map)


def run_graph_only(args: argparse.Namespace) -> int:
    """``--graph-only``: the checkpoint's own map with its bank's neighbour lists added."""
    from models.checkpoint import load_checkpoint, save_checkpoint
    from training.data_map import graph_arrays

    t0 = time.perf_counter()
    ckpt = load_checkpoint(args.checkpoint)
    if "data_map" not in ckpt.meta or "bank.codes" not in ckpt.arrays:
        print(f"groovefader: error: {args.checkpoint}: no map of the data to add the neighbour lists to "
              f"(run groovefader map without --graph-only)", file=sys.stderr)
        return 1
    arrays = {**ckpt.arrays, **graph_arrays(ckpt.arrays["bank.codes"])}
    out = args.out or args.checkpoint
    save_checkpoint(out, ckpt.model, ckpt.config, ckpt.meta, arrays)
    print(f"{out}: neighbour lists of {len(arrays['bank.codes'])} training grooves "
          f"({time.perf_counter() - t0:.1f} s)")
    from training.export import export_after_training

    export_after_training(Path(out))  # its export carries the arrays too
    return 0


def run_expression_only(args: argparse.Namespace) -> int:
    """``--expression-only``: the checkpoint as it is, with its expression fitted anew."""
    from engine.generation.generator import Generator
    from models.checkpoint import load_checkpoint, save_checkpoint
    from training.dataset import build_dataset
    from training.expression_fit import fit_expression

    t0 = time.perf_counter()
    ckpt = load_checkpoint(args.checkpoint)
    gen = Generator(ckpt.model, {k: v for k, v in ckpt.meta.items() if k not in ("data_map", "expression")},
                    ckpt.config)
    steps_per_bar = int(ckpt.config.steps_per_bar)
    ds = build_dataset(args.data, bars=int(ckpt.config.steps) // steps_per_bar, steps_per_bar=steps_per_bar,
                       attributes=gen.attribute_names)
    train = ds.subset("train")
    expression = fit_expression(gen, train.patterns)
    meta = {**ckpt.meta, "expression": expression.to_meta()}
    out = args.out or args.checkpoint
    save_checkpoint(out, ckpt.model, ckpt.config, meta, ckpt.arrays)
    print(f"{out}: expression velocity x{expression.velocity:.3f}, timing x{expression.timing:.3f} "
          f"from {len(train.patterns)} training windows ({time.perf_counter() - t0:.1f} s)")
    from training.export import export_after_training

    export_after_training(Path(out))
    return 0


def run_map(args: argparse.Namespace) -> int:
    from engine.generation.generator import Generator
    from models.checkpoint import load_checkpoint, save_checkpoint
    from training.data_map import build_data_map, read_styles
    from training.dataset import build_dataset

    if args.graph_only:
        return run_graph_only(args)
    if args.expression_only:
        return run_expression_only(args)
    cfg = MapConfig(**{f.name: getattr(args, f.name) for f in fields(MapConfig)})
    t0 = time.perf_counter()
    ckpt = load_checkpoint(args.checkpoint)
    # the model alone (a map it already has is rebuilt, not used)
    gen = Generator(ckpt.model, {k: v for k, v in ckpt.meta.items() if k != "data_map"}, ckpt.config)
    steps_per_bar = int(ckpt.config.steps_per_bar)
    ds = build_dataset(args.data, bars=int(ckpt.config.steps) // steps_per_bar, steps_per_bar=steps_per_bar,
                       attributes=gen.attribute_names)
    train = ds.subset("train")
    if list(train.attribute_names) != list(gen.attribute_names):
        print(f"groovefader: error: {args.data}: its attributes {list(train.attribute_names)} are not "
              f"the checkpoint's {list(gen.attribute_names)}", file=sys.stderr)
        return 1
    styles, style_names = read_styles(args.data, [str(s) for s in train.source])
    arrays, info = build_data_map(gen, train.patterns, train.attributes, styles, style_names, cfg)
    meta: dict[str, Any] = {k: v for k, v in ckpt.meta.items() if k != "data_map"}
    meta["data_map"] = info
    from training.expression_fit import fit_expression

    meta["expression"] = fit_expression(gen, train.patterns).to_meta()
    out = args.out or args.checkpoint
    save_checkpoint(out, ckpt.model, ckpt.config, meta, arrays)
    print(f"{out}: map of {info['size']} training grooves, pad {cfg.rows}x{cfg.cols}, "
          f"{len(info['labels'])} style labels ({time.perf_counter() - t0:.1f} s)")
    from training.export import export_after_training

    export_after_training(Path(out))  # its export would be stale: the instrument plays the new map
    return 0
