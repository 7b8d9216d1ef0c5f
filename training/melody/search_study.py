"""How often the searched transition ends reproduce A's first and B's last bar, by search size.

    .venv/bin/python -m training.melody.search_study --checkpoint checkpoints/melody.pt \\
        --split validation --seed 1 --candidates 64 --rounds 4 --beam 1 [--refine-steps 200] \\
        [--json OUT]

On ``--pairs`` pairs of windows from different tunes (the transition study's pairs), the
codes :meth:`~engine.generation.melody.MelodyGenerator.search_codes` finds for A's first bar
and B's bar at an 8-bar transition's end (its second bar) are decoded, and the shares of exact
bars and the search's time per end are reported: the ends alone, without the transition's
middle (``training.melody.study`` measures that). ``--refine-steps`` N > 0 refines the codes the
search leaves inexact by gradient (:mod:`training.melody.refine`, needs torch) and reports how
many ends it refined, how many it made exact and its seconds per refined end.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from engine.generation.melody import MelodyGenerator
from engine.music.melody import Melody, events_to_classes
from models.atomic import atomic_write
from training.melody.refine import REFINE_CHECK, REFINE_LR, REFINE_WHOLE, RefinedSearch
from training.melody.study import pairs_from


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--split", default="validation", choices=("validation", "test"))
    p.add_argument("--pairs", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--candidates", type=int, default=64)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--beam", type=int, default=1)
    p.add_argument("--refine-steps", type=int, default=0, help="Adam steps refining a code (0: none)")
    p.add_argument("--refine-lr", type=float, default=REFINE_LR)
    p.add_argument("--refine-check", type=int, default=REFINE_CHECK, help="Adam steps between decodes")
    p.add_argument("--refine-whole", type=float, default=REFINE_WHOLE,
                   help="weight of the whole window's cross-entropy beside the bar's")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from training.melody import data as mdata

    gen = (RefinedSearch.load(args.checkpoint, args.refine_steps, args.refine_lr, args.refine_check,
                              args.refine_whole)
           if args.refine_steps > 0 else MelodyGenerator.from_checkpoint(args.checkpoint))
    corpus = mdata.build_corpus()
    w = mdata.windows(corpus, gen.bars, args.split)
    spb = gen.steps_per_bar
    firsts, lasts, searched = [], [], []
    t0 = time.perf_counter()
    for k, (i, j) in enumerate(pairs_from(w, corpus, args.pairs, args.seed)):
        a, b = Melody.from_classes(w.classes[i]), Melody.from_classes(w.classes[j])
        _, found = gen.search_codes([a, b], [0, 1], args.candidates, args.beam, args.seed + k,
                                    rounds=args.rounds)
        xa, xb = (events_to_classes(gen.fit(m).events) for m in (a, b))
        firsts.append(np.array_equal(found[0][:spb], xa[:spb]))
        lasts.append(np.array_equal(found[1][spb:2 * spb], xb[spb:2 * spb]))
        if args.refine_steps > 0:
            s = gen.searched
            searched.append((np.array_equal(s[0][:spb], xa[:spb]),
                             np.array_equal(s[1][spb:2 * spb], xb[spb:2 * spb])))
    out = {"checkpoint": str(args.checkpoint), "split": args.split, "pairs": args.pairs, "seed": args.seed,
           "candidates": args.candidates, "rounds": args.rounds, "beam": args.beam,
           "first_bar_is_a": float(np.mean(firsts)), "last_bar_is_b": float(np.mean(lasts)),
           "seconds_per_pair_of_ends": (time.perf_counter() - t0) / args.pairs,
           "backend": gen.backend, "threads": torch.get_num_threads()}
    if args.refine_steps > 0:
        st = gen.stats
        out["refine"] = {"steps": args.refine_steps, "lr": args.refine_lr, "check": args.refine_check,
                         "whole": args.refine_whole,
                         "search_alone": {"first_bar_is_a": float(np.mean([f for f, _ in searched])),
                                          "last_bar_is_b": float(np.mean([la for _, la in searched]))},
                         "ends_refined": st["refined"],
                         "ends_made_exact": st["made_exact"],
                         "seconds_per_refined_end": st["seconds"] / max(1, st["refined"])}
    out["data_fingerprint"] = corpus.fingerprint
    text = json.dumps(out, indent=1) + "\n"
    if args.json is not None:
        atomic_write(args.json, lambda f: f.write(text), text=True)
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
