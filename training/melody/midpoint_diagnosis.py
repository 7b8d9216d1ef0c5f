"""What tells strategy 3's transition midpoints from real tunes, beside strategy 1's.

    .venv/bin/python -m training.melody.midpoint_diagnosis --checkpoint checkpoints/melody.pt \\
        --split validation --pairs 400 --seed 1 --out docs/studies/melody_transitions/diagnosis.json

The study's pairs and transitions (:mod:`training.melody.study`, the instrument's path and
draw, decoded ends) for strategies 1 and 3 per bar, and of their midpoints:

* the classifier two-sample test (:mod:`training.melody.evaluate`) on each feature alone and
  on the share of successive note-ons on the same pitch alone (the interval histogram's
  0-semitone column);
* that share, and the share of steps (1 or 2 semitones), beside the real windows';
* successive note-ons on the same pitch per midpoint, by what the mixed melody strategy 3 is
  fed does at the repeat's step: strikes that pitch too (``copy``), strikes another pitch
  (``re-guess``: the decoder asks for its own pitch again while it is fed the melody's),
  fed nothing since the output struck the pitch (``re-request``), or anything else;
* the share of the melody's note-ons whose pitch the output plays at that step.

For strategy 1, fed nothing, the same counts against the melody strategy 3 would be fed are
the chance level. ``--feed own-notes``: strategy 3 as the instrument makes it, the decoder
hearing the notes it strikes. Also: the share of midpoint steps equal to strategy 1's.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from engine.music.melody import Melody, events_to_classes

KINDS = ("copy", "re-guess", "re-request", "other")
UNISON = 12 + 12  # the interval histogram's 0-semitone column in the feature matrix


def repeat_kinds(out: np.ndarray, fed: np.ndarray) -> dict[str, int]:
    """Successive note-ons of ``out`` (events) on the same pitch, by what ``fed`` (the mixed
    melody's events, step-aligned) does at the repeat's step (module docstring)."""
    counts = dict.fromkeys(KINDS, 0)
    on = np.flatnonzero(out >= 0)
    for x, y in zip(on[:-1], on[1:], strict=True):
        if out[x] != out[y]:
            continue
        if fed[y] == out[y]:
            counts["copy"] += 1
        elif fed[y] >= 0:
            counts["re-guess"] += 1
        elif np.all(fed[x:y] == -2):
            counts["re-request"] += 1
        else:
            counts["other"] += 1
    return counts


def unison_share(events: np.ndarray, low: int = 0, high: int = 0) -> float:
    """Share of successive note-ons ``low``..``high`` semitones apart (either way; default the
    same pitch; 0 with fewer than two note-ons)."""
    on = events[events >= 0]
    if on.size < 2:
        return 0.0
    step = np.abs(np.diff(on))
    return float(((step >= low) & (step <= high)).mean())


def diagnose(gen: Any, windows: Any, pairs: list[tuple[int, int]], seed: int, bars: int = 8
             ) -> dict[str, Any]:
    """The module docstring's figures of ``gen``'s transitions (a :class:`~training.melody.study.OwnFeed`
    for another feed) of ``pairs`` of ``windows``."""
    from training.melody.evaluate import FEATURES, feature_matrix, melody_features
    from training.melody.study import data_path, run_variants
    from training.realism.c2st import two_sample_test

    spb = gen.steps_per_bar
    path = data_path(gen, "all", 1, 0.5)
    res = run_variants(gen, windows, pairs, bars, ((1, "bar"), (3, "bar")), seed, "switch", path)
    groups = np.array([str(t) for t in windows.tune])
    real = windows.classes
    fr = melody_features(real)
    xr = feature_matrix(fr)
    cols: dict[str, np.ndarray] = {}
    start = 0
    for k in FEATURES:
        n = fr[k].shape[1] if fr[k].ndim == 2 else 1
        cols[k] = np.arange(start, start + n)
        start += n
    cols["same_pitch_share"] = np.array([UNISON])
    mid = slice((bars // 2 - 1) * spb, (bars // 2 + 1) * spb)
    fed = []
    for k, (i, j) in enumerate(pairs):
        a, b = Melody.from_classes(real[i]), Melody.from_classes(real[j])
        mix = gen.bernoulli_mix(a, b, bars, "bar", seed + k, "switch")
        fed.append(Melody.from_classes(mix).events)
    real_ev = [Melody.from_classes(r).events for r in real]
    out: dict[str, Any] = {"real_same_pitch_share": float(np.mean([unison_share(e) for e in real_ev])),
                           "real_step_share": float(np.mean([unison_share(e, 1, 2) for e in real_ev]))}
    for key, outs in res["outputs"].items():
        mids = np.stack([m.events[mid] for m in outs])
        xg = feature_matrix(melody_features(events_to_classes(mids)))
        gg = np.arange(len(xg)) % 97
        c2st = {"all": two_sample_test(xr, xg, groups, gg, seed=seed)["accuracy"]}
        for name, c in cols.items():
            c2st[name] = two_sample_test(xr[:, c], xg[:, c], groups, gg, seed=seed)["accuracy"]
        kinds = np.array([[repeat_kinds(m, f[mid])[k] for k in KINDS]
                          for m, f in zip(mids, fed, strict=True)])
        mel_on = [(m[f[mid] >= 0] == f[mid][f[mid] >= 0]) for m, f in zip(mids, fed, strict=True)]
        out[key] = {"c2st": c2st,
                    "same_pitch_share": float(np.mean([unison_share(m) for m in mids])),
                    "step_share": float(np.mean([unison_share(m, 1, 2) for m in mids])),
                    "same_pitch_per_midpoint": dict(zip(KINDS, kinds.mean(0).tolist(), strict=True)),
                    "melody_onsets_played": float(np.concatenate(mel_on).mean()),
                    "onsets_per_midpoint": float(np.mean([(m >= 0).sum() for m in mids])),
                    "steps_as_strategy_1": float(np.mean([(m.events[mid] == o.events[mid]).mean()
                                                          for m, o in zip(outs, res["outputs"]["s1"],
                                                                          strict=True)]))}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--pairs", type=int, default=400)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--split", default="validation", choices=("validation", "test"))
    p.add_argument("--feed", default="all", choices=("all", "own-notes"),
                   help="strategy 3's feed (engine.generation.melody; default every step)")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from models.atomic import atomic_write
    from training.melody import data as mdata
    from training.melody.study import OwnFeed, pairs_from

    corpus = mdata.build_corpus()
    OwnFeed.feed = args.feed
    gen = OwnFeed.from_checkpoint(args.checkpoint)
    w = mdata.windows(corpus, gen.bars, args.split)
    pairs = pairs_from(w, corpus, args.pairs, args.seed)
    res = {"checkpoint": str(args.checkpoint), "split": args.split, "pairs": len(pairs),
           "seed": args.seed, "feed": args.feed, **diagnose(gen, w, pairs, args.seed)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(args.out, lambda f: f.write(json.dumps(res, indent=1) + "\n"), text=True)
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
