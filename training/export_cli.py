"""``groovefader export``: write a checkpoint's ONNX graphs for the instrument (see
:mod:`training.export`). Registered by ``app.cli``; torch is imported only when it runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.generation.onnx_nets import TOLERANCE


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export", help="write a checkpoint's ONNX graphs: the app and play then run without torch",
        description=(
            "Export CHECKPOINT's networks (drum or melody model) as ONNX graphs beside its metadata "
            "and arrays, into OUT (default: CHECKPOINT's name with -onnx, beside it). The graphs are "
            "run on ONNX Runtime and compared with torch on random inputs first; the largest "
            "difference is printed, and past --tolerance nothing is written."))
    p.add_argument("--checkpoint", required=True, type=Path, help="drum or melody checkpoint (.pt)")
    p.add_argument("-o", "--out", type=Path, default=None, help="export folder (default: beside it)")
    p.add_argument("--tolerance", type=float, default=TOLERANCE,
                   help=f"largest absolute difference from torch allowed (default {TOLERANCE:g})")
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    import torch

    from training.export import export_checkpoint

    torch.set_num_threads(1)
    report = export_checkpoint(args.checkpoint, args.out, tolerance=args.tolerance)
    print(report.summary())
    return 0
