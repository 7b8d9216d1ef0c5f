"""``groovefader eval``: measure a checkpoint (and a baseline beside it) on a MIDI folder.

See :mod:`training.evaluate` for what each figure means. torch loads only when the
command runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from models.atomic import atomic_write
from models.pathnames import portable, shown


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval", help="evaluate a checkpoint (and a baseline) on a folder of drum MIDI",
        description="Reconstruction, knob control, realism of every surface the app plays, "
                    "latent usage and decode latency of a checkpoint, with an optional baseline "
                    "side by side.")
    p.add_argument("--checkpoint", type=Path, required=True, help="checkpoint to evaluate")
    p.add_argument("--baseline", type=Path, default=None,
                   help="baseline checkpoint (plain VAE; knobs via attribute vectors)")
    p.add_argument("--data", type=Path, required=True,
                   help="folder of drum MIDI files (an info.csv split column is honoured)")
    p.add_argument("--split", default="test", choices=("train", "validation", "test"),
                   help="split to evaluate (default test)")
    p.add_argument("--json", type=Path, required=True, help="write all figures here as JSON")
    p.add_argument("--markdown", type=Path, default=None, help="also write the side-by-side table here")
    p.add_argument("--draws", type=_positive, default=500, help="prior draws per knob sweep (default 500)")
    p.add_argument("--settings", type=_positive, default=9, help="knob values per sweep (default 9)")
    p.add_argument("--samples", type=_positive, default=2000,
                   help="prior samples for the realism figures (default 2000)")
    p.add_argument("--pad-points", type=_non_negative, default=23,
                   help="knob sweeps also on an N x N grid of the XY pad's latents (default 23; 0 = off)")
    p.add_argument("--latency-runs", type=_positive, default=300, help="decode calls timed (default 300)")
    p.add_argument("--no-held", action="store_true",
                   help="skip the sweeps of the knobs as the app holds them (the slow part for an "
                        "LSTM baseline); only the model's own response is measured")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--realism-only", action="store_true",
                   help="only the realism of every surface the app plays (reconstruction, Randomize, "
                        "pad, knob ends, Variation, corner blends, transitions): the fast mode for "
                        "model selection, 500 patterns per surface unless --surface-samples says")
    p.add_argument("--surface-samples", type=_positive, default=None,
                   help="generated patterns per surface for the realism figures "
                        "(default 1000; 500 with --realism-only)")
    which.add_argument("--no-surfaces", action="store_true",
                   help="skip the realism of the surfaces in the full evaluation")
    p.add_argument("--knobs-alone", action="store_true",
                   help="while a knob turns, the knobs nobody set stay where the groove had them (the "
                        "app's 'Other knobs follow the data' off) instead of following the data")
    p.add_argument("--feel-keeps", action="store_true",
                   help="intensity and laid back edit the playing groove's feel instead of walking to a "
                        "recorded groove (the app's 'Feel knobs keep the groove')")
    p.add_argument("--hit-keeps", action="store_true",
                   help="density and hat busyness add or remove the playing groove's hits instead of "
                        "walking to a recorded groove (the app's 'Density and hats keep the groove')")
    p.add_argument("--cache-dir", type=Path, default=None, help="dataset cache folder")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_eval)


def _write_atomic(path: Path, text: str) -> None:
    """The report, atomically, with this machine's paths made relative (it is committed)."""
    text = portable(text)
    atomic_write(path, lambda f: f.write(text), text=True)


def _command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run (quoted in the model card)."""
    parts = ["groovefader", "eval", "--checkpoint", shown(args.checkpoint)]
    if args.baseline is not None:
        parts += ["--baseline", shown(args.baseline)]
    parts += ["--data", shown(args.data), "--split", args.split, "--json", shown(args.json)]
    if args.markdown is not None:
        parts += ["--markdown", shown(args.markdown)]
    if args.realism_only:
        parts += ["--realism-only"]
    else:
        parts += ["--draws", str(args.draws), "--settings", str(args.settings), "--samples",
                  str(args.samples), "--pad-points", str(args.pad_points)]
        if args.no_held:
            parts += ["--no-held"]
        if args.no_surfaces:
            parts += ["--no-surfaces"]
    if args.surface_samples is not None:
        parts += ["--surface-samples", str(args.surface_samples)]
    if args.knobs_alone:
        parts += ["--knobs-alone"]
    if args.feel_keeps:
        parts += ["--feel-keeps"]
    if args.hit_keeps:
        parts += ["--hit-keeps"]
    parts += ["--seed", str(args.seed)]
    return " ".join(parts)


def run_eval(args: argparse.Namespace) -> int:
    from engine.errors import CheckpointError, DatasetError
    from models.atomic import check_target
    from training.evaluate import EvalConfig, run_evaluation, to_markdown

    for path in (args.checkpoint, args.baseline):
        if path is not None and not path.is_file():
            raise CheckpointError(f"{path}: no such checkpoint")
    if not args.data.is_dir():
        raise DatasetError(f"{args.data}: not a folder")
    for out in (args.json, args.markdown):  # before minutes of evaluation, not after
        if out is not None:
            check_target(out)
    surface_samples = args.surface_samples or (500 if args.realism_only else 1000)
    cfg = EvalConfig(split=args.split, draws=args.draws, settings=args.settings,
                     realism_samples=args.samples, latency_runs=args.latency_runs, seed=args.seed,
                     pad_points=args.pad_points, held=not args.no_held,
                     surfaces=not args.no_surfaces, surface_samples=surface_samples,
                     realism_only=args.realism_only, knobs_alone=args.knobs_alone,
                     feel_keeps=args.feel_keeps, hit_keeps=args.hit_keeps)
    report = run_evaluation(args.checkpoint, args.data, cfg, baseline=args.baseline,
                            cache_dir=args.cache_dir)
    report["command"] = _command_line(args)
    _write_atomic(args.json, json.dumps(report, indent=2, allow_nan=True) + "\n")
    table = to_markdown(report)
    if args.markdown is not None:
        _write_atomic(args.markdown, table)
    print(table, end="")
    return 0
