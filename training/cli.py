"""``groovefader data``: build (or load from the cache) the windowed training set.

Registered by ``app.cli`` through :func:`register`. Heavy imports (numpy, mido) happen
when the command runs, so ``groovefader --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "data", help="build the 2-bar training windows from a folder of drum MIDI files",
        description=(
            "Read every .mid/.midi under SRC_DIR (recursively), cut 4/4 drum takes into windows, "
            "drop near-empty and duplicate windows, compute the attributes and cache the result in "
            "one .npz keyed by the sources' contents and the settings (a second run loads it). "
            "SRC_DIR/info.csv with midi_filename and split columns (the Groove MIDI Dataset's) "
            "assigns train/validation/test; without it every window is train. The cache folder is "
            "--cache-dir, else $GROOVEFADER_CACHE, else ./.cache/groovefader. Exits 1 only when no "
            "usable window was found."))
    p.add_argument("src_dir", metavar="SRC_DIR", nargs="?",
                   help="folder of drum MIDI files (info.csv optional; not with --melody)")
    p.add_argument("--melody", action="store_true",
                   help="build the melody windows from music21's folk corpora instead "
                        "(= groovefader melody data)")
    p.add_argument("--bars", type=int, default=2, help="window length in bars (default 2)")
    p.add_argument("--hop-bars", type=int, default=1, help="hop between windows in bars (default 1)")
    p.add_argument("--min-onsets", type=int, default=2,
                   help="drop windows with fewer onsets than this (default 2)")
    p.add_argument("--cache-dir", default=None,
                   help="cache folder (default $GROOVEFADER_CACHE or ./.cache/groovefader)")
    p.add_argument("--workers", type=int, default=None,
                   help="reader processes (default: number of CPUs; small folders use one)")
    p.add_argument("--no-cache", action="store_true", help="rebuild and write no cache file")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="list every skipped file and passage (default: the first 10 of each)")
    p.set_defaults(func=run_data)


def format_summary(s: dict[str, Any], verbose: bool = False) -> str:
    """The human-readable summary: one line per fact, one per skipped file (first 10)."""
    lines = [f"source: {s['src_dir']}  (splits from {s['splits_from']})",
             f"files: {s['files_found']} found, {s.get('files_read', '?')} read, "
             f"{s.get('files_used', '?')} gave windows, "
             f"{s['files_skipped']} skipped"]
    if s["skipped_by_reason"]:
        lines.append("skipped by reason: " + ", ".join(
            f"{reason}: {n}" for reason, n in s["skipped_by_reason"].items()))
    limit = None if verbose else 10
    # files too short for one window are normal (the Groove set's 1-bar fills): listed with -v
    listed = [x for x in s["skipped_files"] if verbose or x["reason"] != "shorter than a window"]
    for item in listed[:limit]:
        lines.append(f"  skipped {item['message']}")
    hidden = len(s["skipped_files"]) - len(listed[:limit])
    if hidden:
        lines.append(f"  ({hidden} more skipped files not listed: --verbose or --json lists all)")
    for passage in s["passages_skipped"][:limit]:
        lines.append(f"  passage {passage}")
    splits = ("train", "validation", "test")
    lines.append("windows before filtering: " + ", ".join(
        f"{k} {s['windows_before_filtering'][k]}" for k in splits))
    lines.append(f"dropped (< {s['settings']['min_onsets']} onsets): " + ", ".join(
        f"{k} {s['dropped_near_empty'][k]}" for k in splits))
    lines.append("dropped (duplicate within split): " + ", ".join(
        f"{k} {s['dropped_duplicates'][k]}" for k in splits))
    lines.append("windows: " + ", ".join(f"{k} {s['windows'][k]}" for k in splits)
                 + f"  (total {s['total_windows']}, {s['settings']['bars']} bars, "
                 f"hop {s['settings']['hop_bars']})")
    lines.append(f"cache: {s['cache']}" + (f"  {s['cache_file']}" if s.get("cache_file") else "")
                 + f"  fingerprint {s['fingerprint'][:16]}  {s['seconds']:.2f} s")
    return "\n".join(lines)


def run_data(args: argparse.Namespace) -> int:
    from engine.errors import DatasetError
    from training.dataset import build, no_windows_message

    if args.workers is not None and args.workers < 1:
        raise DatasetError(f"--workers must be at least 1, got {args.workers}")
    if args.melody:
        from training.melody.cli import run_data as run_melody_data

        if args.src_dir is not None:
            raise DatasetError("--melody reads music21's bundled corpora: drop SRC_DIR")
        return run_melody_data(argparse.Namespace(
            cache_dir=args.cache_dir, workers=args.workers or 2, no_cache=args.no_cache,
            limit_files=None, json=args.json, verbose=args.verbose))
    if args.src_dir is None:
        raise DatasetError("SRC_DIR is required (a folder of drum MIDI files), or pass --melody")
    _, summary = build(args.src_dir, bars=args.bars, hop_bars=args.hop_bars,
                       cache_dir=args.cache_dir, workers=args.workers, use_cache=not args.no_cache,
                       min_onsets=args.min_onsets)
    text = json.dumps(summary, indent=2) if args.json else format_summary(summary, args.verbose)
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `groovefader data ... --json | head`: the reader left, not our error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps Python's exit flush quiet
    if summary["total_windows"] == 0:
        print(f"groovefader: error: {no_windows_message(summary)}", file=sys.stderr)
        return 1
    return 0
