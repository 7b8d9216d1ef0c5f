"""How far the splits themselves differ where the knobs end: real training windows near a
knob setting against the evaluated split's windows near it.

The realism report compares each knob end's generated grooves with the real windows of the
evaluated split near that setting, against one floor (reconstructions of that split). But the
model learned the training split, and the splits come from different drummers and sessions:
the training split rides more (5.3 against 3.3 hits per 2 bars on the test split). This
measures, for each knob at 10 % and 90 % of its range, the classifier two-sample test and the
voice mix of real training windows in the band against the evaluated split's windows in the
band — the part of a knob end's gap that no generator trained on that data could close.

Run::

    python -m training.studies.split_shift --checkpoint checkpoints/default.pt \\
        --data ../shared/data/groove --split test --out docs/studies/split_shift
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from training.studies import drum_common as dc
from training.studies import skeleton

MODULE = "training.studies.split_shift"


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", default="checkpoints/default.pt", help="whose knob ranges are used")
    p.add_argument("--data", default=str(dc.GROOVE_DIR))
    p.add_argument("--split", default="test")
    p.add_argument("--samples", type=int, default=1000, help="training windows per knob end at most")


def _quick(args: argparse.Namespace) -> None:
    args.samples = min(args.samples, 100)


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from engine.generation.generator import Generator
    from engine.music import attributes as attr_lib
    from training.realism.scorecard import _Cache, measure_surface
    from training.realism.surfaces import KNOB_ENDS, Surface, knob_reference

    gen = Generator.from_checkpoint(args.checkpoint)
    ds = dc.load_groove(args.data, args.smoke)
    test, train = dc.eval_data(ds, args.split), dc.eval_data(ds, "train")
    names = gen.attribute_names
    test_attrs, train_attrs = attr_lib.compute(test.patterns, names), attr_lib.compute(train.patterns, names)
    lo = np.array([gen.attribute_ranges[n][0] for n in names])
    hi = np.array([gen.attribute_ranges[n][1] for n in names])
    cache = _Cache(test.patterns, 16)
    rng = np.random.default_rng(args.seed)
    rows = {}
    for k, name in enumerate(names):
        for end in KNOB_ENDS:
            setting = lo[k] + end * (hi[k] - lo[k])
            ref = knob_reference(test_attrs[:, k], setting, hi[k] - lo[k])
            mine = knob_reference(train_attrs[:, k], setting, hi[k] - lo[k])
            if len(mine) > args.samples:
                mine = np.sort(rng.choice(mine, args.samples, replace=False))
            key = f"{name}_{round(end * 100)}"
            surface = Surface(key, f"{name} at {round(end * 100)} %", train.patterns[mine],
                              train.performance_groups()[mine], ref, test.performance_groups()[ref])
            res = measure_surface(surface, cache, args.seed)
            res["training_windows_in_band"] = int(len(mine))
            rows[key] = res
            acc = res.get("c2st_features", {}).get("accuracy")
            print(f"{key}: {len(mine)} training / {len(ref)} {args.split} windows, C2ST {acc}", flush=True)
    return {"split": args.split, "samples": args.samples, "seed": args.seed, "ends": rows}


def report(results: dict[str, Any]) -> str:
    rows = []
    for r in results["ends"].values():
        if "skipped" in r:
            rows.append((r["label"], f"{r['n_generated']} / {r['n_reference']}", r["skipped"], "", "", ""))
            continue
        mix, ref = r["voice_hits_per_2_bars"], r["reference_voice_hits_per_2_bars"]
        rows.append((r["label"], f"{r['n_generated']} / {r['n_reference']}",
                     f"{r['c2st_features']['accuracy']:.2f}", f"{r['c2st_raw']['accuracy']:.2f}",
                     f"{mix['ride']:.1f} / {ref['ride']:.1f}",
                     f"{r['swing']:.3f} / {r['reference_swing']:.3f}"))
    return (f"# How far the splits differ at the knob ends\n\n{__doc__.split(chr(10) + chr(10))[1]}\n\n"
            f"Training windows against the {results['split']} split's, per knob end (band ±5 % of the "
            f"knob's 5–95 % range, as the realism report's), seed {results['seed']}:\n\n"
            + dc.md_table(["knob end", "n training / evaluated", "C2ST features", "C2ST raw",
                           "ride training / evaluated", "swing training / evaluated"], rows))


STUDY = skeleton.Study(module=MODULE, description=__doc__.splitlines()[0], arguments=_arguments, run=_run,
                       report=lambda results, args: report(results), smoke="synthetic grooves",
                       quick=_quick, seed=0)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
