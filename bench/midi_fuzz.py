"""Mutation fuzz of the MIDI reader over real drum files: counts per outcome, time per file.

Usage::

    .venv/bin/python bench/midi_fuzz.py [SRC_DIR] [--mutants 10000] [--seed 1] [--json FILE]
    .venv/bin/python bench/midi_fuzz.py --reader melody [--mutants 10000] [--json FILE]

Every ``.mid`` under SRC_DIR (default: the Groove MIDI Dataset next to the repository) is a
source in turn; each mutant gets one mutation (``tests/support/midi_fuzz.py``: bytes or bits
flipped, cut short, ranges cut/duplicated/zeroed, lying chunk lengths, track counts and time
divisions, huge delta times, endless variable-length numbers, absurd tempo and time
signature values, splices) and is read as the app and the dataset builder read a file.
Outcomes: ``read``, ``refused`` (the domain error, ``MidiReadError``, with its reasons),
``unexpected`` (any other exception) and ``hang`` (over 10 s). Targets: 0 unexpected, 0
hangs, at most 1 s per file. The process's address space is capped (``--memory-gb``) so a
mutant asking for gigabytes fails instead of swapping a shared machine. Failing mutants are
kept in ``--keep DIR`` to reproduce them. ``--reader melody`` reads the mutants with the
melody lane's clip reader instead, from two tunes (``tests/support/melody.py``) unless
SRC_DIR is given.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._report import emit_json  # noqa: E402
from tests.support.midi_fuzz import HANG_S, MUTATIONS, fuzz, read_drums, read_melody  # noqa: E402

DEFAULT_SRC = REPO.parent / "shared" / "data" / "groove"
MAX_SECONDS_PER_FILE = 1.0  # target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src_dir", nargs="?", type=Path, default=None,
                        help="folder of .mid files (default: the Groove MIDI Dataset; for "
                             "--reader melody, two written tunes)")
    parser.add_argument("--reader", choices=("drums", "melody"), default="drums")
    parser.add_argument("--mutants", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory-gb", type=float, default=4.0, help="address-space cap (default 4)")
    parser.add_argument("--keep", type=Path, default=None, help="folder for failing mutants")
    parser.add_argument("--json", default=None, help="also write the result here")
    args = parser.parse_args()
    scratch_dir = Path(tempfile.mkdtemp(prefix="midi-fuzz-"))
    src = args.src_dir
    if src is None and args.reader == "melody":
        from tests.support.melody import melody_a, melody_b

        src = scratch_dir / "tunes"
        src.mkdir()
        for i, tune in enumerate((melody_a(), melody_b())):
            tune.write_midi(src / f"tune{i}.mid")
    src = src or DEFAULT_SRC
    sources = sorted(src.rglob("*.mid"), key=lambda p: p.relative_to(src).as_posix())
    if not sources:
        print(f"no .mid files under {src}", file=sys.stderr)
        return 2
    cap = int(args.memory_gb * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    workdir = args.keep or scratch_dir
    workdir.mkdir(parents=True, exist_ok=True)
    report = fuzz(sources, args.mutants, args.seed, workdir,
                  read_melody if args.reader == "melody" else read_drums)
    source_bytes_max = max(p.stat().st_size for p in sources)
    shutil.rmtree(scratch_dir, ignore_errors=True)
    result = {
        "command": f"python bench/midi_fuzz.py --reader {args.reader} --mutants {args.mutants} "
                   f"--seed {args.seed}", "reader": args.reader,
        "sources": len(sources), "source_bytes_max": source_bytes_max,
        "mutations": list(MUTATIONS), "hang_after_s": HANG_S,
        **report.as_json(),
        "seconds_total": round(time.perf_counter() - t0, 1), "load_average_at_start": round(load, 2),
        "targets": {"unexpected": 0, "hang": 0, "max_seconds_per_file": MAX_SECONDS_PER_FILE},
    }
    result["met"] = (report.outcomes.get("unexpected", 0) == 0 and report.outcomes.get("hang", 0) == 0
                     and report.max_seconds <= MAX_SECONDS_PER_FILE)
    emit_json(result, args.json)
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
