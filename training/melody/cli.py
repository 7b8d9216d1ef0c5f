"""``groovefader melody data|train|eval``: the melody model's offline commands.

One subcommand group, not flags on the drum commands: the drum ``data``/``train``/``eval``
flags are about drum folders, attributes and knobs, none of which a melody has, and the
melody corpus, presets and metrics have flags the drums do not. ``groovefader data
--melody`` is kept as a short alias of ``groovefader melody data``. The user-facing verbs
``generate`` and ``transition`` take ``--melody`` instead (engine.commands.generate).
torch and music21 load only when a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of ``melody data`` (shared with the ``data --melody`` alias)."""
    p.add_argument("--cache-dir", default=None,
                   help="cache folder (default $GROOVEFADER_CACHE or ./.cache/groovefader)")
    p.add_argument("--workers", type=int, choices=(1, 2), default=2,
                   help="parser processes (1 or 2; default 2)")
    p.add_argument("--no-cache", action="store_true", help="rebuild and write no cache file")
    p.add_argument("--limit-files", type=_positive, default=None,
                   help="only the first N ABC files of each collection (a quick subset)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--verbose", "-v", action="store_true", help="one line per skipped tune")


def register(subparsers: argparse._SubParsersAction) -> None:
    m = subparsers.add_parser(
        "melody", help="melody VAE: build data, train, evaluate",
        description="The melody model's offline commands: data (folk tunes from music21's corpus "
                    "on the 16th grid), train (one CPU thread, resumable), eval (JSON + markdown).")
    sub = m.add_subparsers(dest="melody_command", metavar="STEP")
    d = sub.add_parser("data", help="build (or load) the melody windows from music21's folk corpora")
    add_data_arguments(d)
    d.set_defaults(func=run_data)

    t = sub.add_parser("train", help="train a melody VAE preset (one CPU thread unless --threads)")
    t.add_argument("--preset", default="melody_2bar", help="model preset (models.melody_vae.PRESETS)")
    t.add_argument("--run-dir", type=Path, required=True, help="run folder (config, log, checkpoints)")
    t.add_argument("--minutes", type=float, default=40.0, help="wall-time budget across resumes (default 40)")
    t.add_argument("--max-steps", type=_positive, default=1_000_000, help="step budget")
    t.add_argument("--batch-size", type=_positive, default=64)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--beta", type=float, default=0.2, help="KL weight after warm-up (default 0.2)")
    t.add_argument("--free-bits", type=float, default=16.0, help="nats per example not penalised")
    t.add_argument("--kl-warmup-steps", type=int, default=2000)
    t.add_argument("--sampling", type=float, default=0.0,
                   help="scheduled sampling: share of previous-note inputs drawn from the model (default 0)")
    t.add_argument("--sampling-ramp-steps", type=int, default=4000, help="steps to reach --sampling")
    t.add_argument("--lr-decay", type=float, default=0.9999, help="per-step lr factor, down to 1e-4")
    t.add_argument("--lr-schedule", default="exponential", choices=("exponential", "linear"),
                   help="exponential (--lr-decay per step, down to 1e-4) or linear: from --lr to zero "
                        "when the budget (--minutes or --max-steps) runs out")
    t.add_argument("--dropout", type=float, default=None, help="decoder dropout (default: the preset's)")
    t.add_argument("--word-dropout", type=float, default=None,
                   help="probability of blanking a previous-note input (default: the preset's)")
    t.add_argument("--val-every", type=float, default=120.0, help="seconds between validation checks")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=_positive, default=1, help="torch threads (default 1)")
    t.add_argument("--cache-dir", default=None)
    t.add_argument("--limit-files", type=_positive, default=None, help="corpus subset (quick runs)")
    t.add_argument("--warm-start", type=Path, default=None, metavar="CHECKPOINT",
                   help="a 2-bar flat melody checkpoint whose decoder becomes a conductor preset's "
                        "note decoder (e.g. checkpoints/melody.pt)")
    t.add_argument("--distill-steps", type=int, default=0,
                   help="with --warm-start: first fit the bar embeddings to the source's codes "
                        "for this many steps (default 0)")
    t.add_argument("--decoder-lr-scale", type=float, default=1.0,
                   help="with --warm-start: learning-rate factor of the copied note decoder (default 1)")
    t.add_argument("--distill-batch-size", type=_positive, default=None,
                   help="with --distill-steps: windows per distillation step (default --batch-size; "
                        "a distillation step is cheap, a larger batch fits the codes in less time)")
    t.add_argument("--freeze-segment-encoder", action="store_true",
                   help="with --warm-start and a hierarchical-encoder preset: keep the copied 2-bar "
                        "encoder as it is (each segment's code is the source's)")
    t.add_argument("--precision", default="float32", choices=("float32", "bfloat16"),
                   help="the training step's forward pass (default float32; bfloat16 autocast is "
                        "faster on CPUs with bfloat16 matrix units)")
    t.add_argument("--float32-from-step", type=_positive, default=None,
                   help="with --precision bfloat16: the forward pass is float32 from this step on "
                        "(bfloat16 holds back the late, small updates)")
    t.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    t.add_argument("--export", type=Path, default=None,
                   help="copy the best checkpoint here when done (e.g. checkpoints/melody.pt)")
    t.set_defaults(func=run_train)

    e = sub.add_parser("eval", help="evaluate melody checkpoints on the test tunes (JSON + markdown)")
    e.add_argument("checkpoints", nargs="+", type=Path, metavar="CHECKPOINT",
                   help="one or more melody checkpoints (side by side)")
    e.add_argument("--split", default="test", choices=("validation", "test"))
    e.add_argument("--windows", type=_positive, default=1000, help="windows reconstructed per model")
    e.add_argument("--samples", type=_positive, default=500, help="generated samples for realism")
    e.add_argument("--json", type=Path, default=None, help="write the results as JSON here")
    e.add_argument("--markdown", type=Path, default=None, help="write a markdown table here")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--cache-dir", default=None)
    e.add_argument("--limit-files", type=_positive, default=None)
    e.add_argument("--search", action="store_true",
                   help="also reconstruct by beam search (width 4) and by encoding by search (32 codes)")
    e.set_defaults(func=run_eval)
    ph = sub.add_parser("phrases", help="store training tunes' phrases of codes in a melody checkpoint "
                                         "(longer tunes follow one; re-export after)")
    ph.add_argument("checkpoint", type=Path, help="a melody checkpoint, rewritten in place")
    ph.add_argument("--noise", type=float, default=None,
                    help="σ of a longer tune's one noise draw (default: the checkpoint's anchor noise)")
    ph.add_argument("--cache-dir", default=None)
    ph.add_argument("--limit-files", type=_positive, default=None)
    ph.set_defaults(func=run_phrases)
    m.set_defaults(func=lambda args: (m.print_help(), 2)[1])


def format_summary(s: dict[str, Any], verbose: bool = False) -> str:
    lines = [f"tunes: {s['tunes_found']} found, {s['tunes_kept']} kept, {s['tunes_skipped']} skipped",
             "skipped by reason: " + ", ".join(f"{k}: {v}" for k, v in s["skipped_by_reason"].items()),
             "meters kept: " + ", ".join(f"{k}: {v}" for k, v in s["meters_kept"].items()),
             "tunes per split: " + ", ".join(f"{k} {v}" for k, v in s["tunes_per_split"].items())
             + f"  ({s['split_rule']})"]
    bad = [x for x in s["skipped"] if verbose or not x["reason"].startswith(("meter", "no meter"))]
    lines += [f"  skipped {x['message']}" for x in bad]
    for bars, counts in s.get("windows", {}).items():
        lines.append(f"{bars}-bar windows: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    lines.append(f"cache: {s['cache']}  {s.get('cache_file', '')}  build {s.get('build_seconds', '?')} s, "
                 f"this run {s['seconds']} s, {s['workers']} process(es)")
    return "\n".join(lines)


def run_data(args: argparse.Namespace) -> int:
    from training.melody import data

    corpus = data.build_corpus(cache_dir=args.cache_dir, workers=args.workers, use_cache=not args.no_cache,
                               limit_files=args.limit_files)
    summary = dict(corpus.summary)
    summary["windows"] = {bars: {s: len(data.windows(corpus, bars, s)) for s in data.SPLITS}
                          for bars in (2, 16)}
    print(json.dumps(summary, indent=1) if args.json else format_summary(summary, args.verbose))
    return 0


def run_train(args: argparse.Namespace) -> int:

    from engine.errors import GrooveFaderError
    from models.melody_vae import PRESETS
    from training.melody.train import MelodyTrainConfig, train

    if args.preset not in PRESETS:
        raise GrooveFaderError(f"unknown melody preset {args.preset!r}; known: {', '.join(PRESETS)}")
    cfg = MelodyTrainConfig(preset=args.preset, run_dir=str(args.run_dir), batch_size=args.batch_size,
                            lr=args.lr, beta=args.beta, free_bits=args.free_bits,
                            kl_warmup_steps=args.kl_warmup_steps, max_minutes=args.minutes,
                            max_steps=args.max_steps, val_every_s=args.val_every, seed=args.seed,
                            cache_dir=args.cache_dir, limit_files=args.limit_files,
                            lr_decay=args.lr_decay, lr_schedule=args.lr_schedule, dropout=args.dropout,
                            word_dropout=args.word_dropout,
                            sampling=args.sampling, sampling_ramp_steps=args.sampling_ramp_steps,
                            threads=args.threads, distill_steps=args.distill_steps,
                            warm_start=None if args.warm_start is None else str(args.warm_start),
                            decoder_lr_scale=args.decoder_lr_scale,
                            freeze_segment_encoder=args.freeze_segment_encoder,
                            distill_batch_size=args.distill_batch_size, precision=args.precision,
                            float32_from_step=args.float32_from_step)
    best = train(cfg, resume=args.resume)
    print(f"best checkpoint: {best}")
    if args.export is not None:  # replaced whole or not at all (a full disk leaves the old one)
        from models.atomic import atomic_write

        for suffix in (".pt", ".json"):
            data = best.with_suffix(suffix).read_bytes()
            atomic_write(args.export.with_suffix(suffix), lambda f, data=data: f.write(data))
        print(f"exported to {args.export}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from models.atomic import atomic_write, check_target
    from training.melody.evaluate import evaluate, to_markdown

    for out in (args.json, args.markdown):  # before the evaluation, not after it
        if out is not None:
            check_target(out)
    results = evaluate(args.checkpoints, split=args.split, n_windows=args.windows, n_samples=args.samples,
                       seed=args.seed, cache_dir=args.cache_dir, limit_files=args.limit_files,
                       search=args.search)
    md = to_markdown(results)
    if args.json is not None:
        atomic_write(args.json, lambda f: f.write(json.dumps(results, indent=1) + "\n"), text=True)
    if args.markdown is not None:
        atomic_write(args.markdown, lambda f: f.write(md + "\n"), text=True)
    print(md)
    sys.stdout.flush()
    return 0


def run_phrases(args: argparse.Namespace) -> int:
    from training.melody import data
    from training.melody.phrases import add_phrases

    corpus = data.build_corpus(cache_dir=args.cache_dir, limit_files=args.limit_files)
    n = add_phrases(args.checkpoint, corpus, noise=args.noise)
    print(f"{args.checkpoint}: {n} phrases stored; re-export it: groovefader export --checkpoint "
          f"{args.checkpoint}")
    return 0
