"""How to draw a tune longer than the model's window: independent codes or a stored phrase.

    .venv/bin/python -m training.melody.phrase_study --checkpoint checkpoints/melody.pt \\
        --split validation --out docs/studies/melody_phrases/validation

Per variant, ``--tunes`` new tunes of ``--bars`` bars against as many windows of that length
from the split's tunes (held out from training):

* ``independent``: each window a stored training code plus noise (the 2-bar draws);
* ``phrase``: a stored phrase (:mod:`training.melody.phrases`), each window its own noise;
* ``phrase_shared``: a stored phrase, one noise draw for the whole tune.

Figures: realism (:func:`training.melody.evaluate.realism` over the whole tune: MGEval OA
per feature, classifier two-sample accuracy), the mean leap (semitones) between the last
note before a window line and the first after it, the share of 2-bar segments that repeat an
earlier one (≥ 90 % of steps equal), and for the phrase variants the share of steps unlike
the stored tune's own decode (how new the tune is). The data's own figures are the split's
windows against a sample of training windows of the same length.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from engine.music.melody import Melody, events_to_classes
from models.atomic import atomic_write

VARIANTS = ("independent", "phrase", "phrase_shared")


def window_leap(classes: np.ndarray, window_steps: int) -> float | None:
    """Mean |pitch step| between successive note-ons that lie in different windows (None:
    no window line)."""
    leaps = []
    for c in classes:
        ev = Melody.from_classes(c).events
        on = np.flatnonzero(ev >= 0)
        cross = (on[1:] // window_steps) != (on[:-1] // window_steps)
        leaps.extend(np.abs(np.diff(ev[on].astype(np.int64)))[cross].tolist())
    return float(np.mean(leaps)) if leaps else None


def repeat_share(classes: np.ndarray, window_steps: int) -> float | None:
    """Share of windows after the first that equal an earlier one on ≥ 90 % of steps (None:
    one window)."""
    out = []
    for c in classes:
        s = c.reshape(-1, window_steps)
        out.extend(any((s[i] == s[j]).mean() >= 0.9 for j in range(i)) for i in range(1, len(s)))
    return float(np.mean(out)) if out else None


def draw(gen: Any, phrases: np.ndarray, variant: str, tunes: int, windows: int, seed: int,
         noise: float | None = None) -> np.ndarray:
    """``(tunes, windows, Z)`` codes of one variant (``noise``: the phrases' σ; default the
    checkpoint's ``anchor_noise``)."""
    from engine.generation.latent_paths import sample_phrases

    if variant == "independent":
        return gen.sample_like_data(tunes * windows, seed=seed).reshape(tunes, windows, -1)
    sigma = gen.anchor_noise if noise is None else noise
    return sample_phrases(phrases, sigma, windows, tunes, seed, shared=variant == "phrase_shared")


def decode(gen: Any, z: np.ndarray) -> np.ndarray:
    tunes, windows, _ = z.shape
    dec = gen.decode_batch(z.reshape(tunes * windows, -1))
    return np.stack([np.concatenate([events_to_classes(dec[i * windows + k].events) for k in range(windows)])
                     for i in range(tunes)])


def run(gen: Any, phrases: np.ndarray, real: np.ndarray, groups: np.ndarray, train: np.ndarray,
        tunes: int, bars: int, seed: int, noises: list[float] | None = None) -> dict[str, Any]:
    """The variants' figures; with ``noises``, the shared-noise phrase at each σ instead
    (keys ``phrase_shared_<σ>``)."""
    from training.melody.evaluate import realism

    windows = -(-bars // gen.bars)
    steps = gen.bars * gen.steps_per_bar
    sel = np.random.default_rng(seed).choice(len(train), min(tunes, len(train)), replace=False)
    out: dict[str, Any] = {"data": _figures(realism(real, train[sel], groups, seed=seed), train[sel], steps)}
    runs = [(v, v, None) for v in VARIANTS] if noises is None else \
        [(f"phrase_shared_{sigma:g}", "phrase_shared", sigma) for sigma in noises]
    for name, variant, sigma in runs:
        z = draw(gen, phrases, variant, tunes, windows, seed, sigma)
        classes = decode(gen, z)[:, :bars * gen.steps_per_bar]
        row = _figures(realism(real, classes, groups, seed=seed), classes, steps)
        if variant != "independent":  # how far each tune moved from the stored tune it came from
            src = draw(gen, phrases, variant, tunes, windows, seed, 0.0)  # the same phrases, no noise
            plain = decode(gen, src)[:, :bars * gen.steps_per_bar]
            row["unlike_source"] = float((plain != classes).mean())
        out[name] = row
    return out


def run_variation(gen: Any, phrases: np.ndarray, real: np.ndarray, groups: np.ndarray, tunes: int,
                  bars: int, seed: int, amount: float, toward: list[float] | None = None,
                  swap: list[float] | None = None) -> dict[str, Any]:
    """Tunes drawn as the app draws them (:meth:`MelodyGenerator.sample_tunes`), each varied
    once with a draw per window and once with one draw per tune (``amount`` spreads); with
    ``toward``, instead of the draw per window, moved each fraction of the way toward a
    neighbouring stored tune (:func:`toward_neighbour`),
    window by window (``toward_<t>``) and by one shared step (``toward_shared_<t>``); with
    ``swap``, also that share of each tune's windows given another real window
    (:func:`swap_windows`, ``swap_<share>``)."""
    from engine.generation.latent_paths import nudge
    from training.melody.evaluate import realism

    windows = -(-bars // gen.bars)
    steps = gen.bars * gen.steps_per_bar
    z = gen.sample_tunes(tunes, windows, seed=seed)
    before = decode(gen, z)[:, :bars * gen.steps_per_bar]
    scale = gen.pad.spread * amount
    out: dict[str, Any] = {"before": _figures(realism(real, before, groups, seed=seed), before, steps)}
    moves: list[tuple[str, Any]] = [("per_tune", lambda zi, s: nudge(zi, scale, s, shared=True))]
    if toward is None:
        moves.insert(0, ("per_window", lambda zi, s: nudge(zi, scale, s)))
    for t in toward or []:
        moves += [(f"toward_{t:g}", lambda zi, s, t=t: toward_neighbour(zi, phrases, t, s)),
                  (f"toward_shared_{t:g}",
                   lambda zi, s, t=t: toward_neighbour(zi, phrases, t, s, shared=True))]
    codes = np.vstack([gen.anchors, phrases.reshape(-1, gen.z_dim)]) if swap else None
    for share in swap or []:
        moves.append((f"swap_{share:g}", lambda zi, s, share=share: swap_windows(zi, codes, share, s)))
    for name, move in moves:
        varied = np.stack([move(z[i], seed + 1 + i) for i in range(tunes)])
        classes = decode(gen, varied)[:, :bars * gen.steps_per_bar]
        row = _figures(realism(real, classes, groups, seed=seed), classes, steps)
        row["unlike_source"] = float((classes != before).mean())
        out[name] = row
    return out


def toward_neighbour(z: np.ndarray, phrases: np.ndarray, amount: float, seed: int | None = None,
                     neighbours: int = 8, shared: bool = False) -> np.ndarray:
    """``z`` ``(W, Z)`` (a tune's window codes) moved ``amount`` of the way toward a real tune
    near it — a Variation along the data instead of a random direction. The tune is one of the
    ``neighbours`` stored phrases (``phrases`` ``(P, L, Z)``, their first W windows, looped)
    nearest ``z`` over all its windows, the nearest excepted: a tune drawn from a stored
    phrase lies nearest its own. Window by window, or with ``shared`` every window by the
    windows' mean step (the tune's repeats stay repeats)."""
    z = np.atleast_2d(np.asarray(z, np.float64))
    ph = np.asarray(phrases, np.float64)
    ph = ph[:, np.arange(len(z)) % ph.shape[1]]
    order = np.argsort(((ph - z) ** 2).sum((1, 2)), kind="stable")[1:1 + max(1, int(neighbours))]
    step = ph[np.random.default_rng(seed).choice(order)] - z
    if shared:
        step = step.mean(0, keepdims=True)
    return z + float(amount) * step


def swap_windows(z: np.ndarray, codes: np.ndarray, share: float, seed: int | None = None,
                 neighbours: int = 8) -> np.ndarray:
    """``z`` ``(W, Z)`` with ``share`` of its distinct windows (at least one; the first kept
    while there are others) replaced, each by one of the ``neighbours`` stored ``codes``
    ``(N, Z)`` nearest it (the nearest excepted: the tune's own window lies nearest). Windows
    with the same code change together, so the tune's repeats stay repeats: a Variation that
    gives a few of its phrases another real phrase instead of moving all of them off course."""
    z = np.array(np.atleast_2d(z), np.float64, copy=True)
    rng = np.random.default_rng(seed)
    _, group = np.unique(np.round(z, 6), axis=0, return_inverse=True)
    group = np.asarray(group).ravel()
    distinct = np.unique(group)
    pool = distinct[distinct != group[0]] if len(distinct) > 1 else distinct
    k = min(len(pool), max(1, int(round(share * len(distinct)))))
    for g in rng.choice(pool, k, replace=False):
        rows = np.flatnonzero(group == g)
        d = ((codes - z[rows[0]]) ** 2).sum(1)
        order = np.argsort(d, kind="stable")[1:1 + max(1, int(neighbours))]
        z[rows] = codes[rng.choice(order)]
    return z


def continue_tune(phrases: np.ndarray, z: np.ndarray, windows: int) -> np.ndarray:
    """``(windows, Z)``: ``z`` first, then as a real tune goes on from it: the stored phrase
    window nearest ``z`` and the ones after it in its phrase (looping past the end), all moved
    by ``z`` minus that window's code."""
    n, length, zdim = phrases.shape
    z = np.asarray(z, np.float64).reshape(zdim)
    nearest = int(((phrases.reshape(n * length, zdim) - z) ** 2).sum(1).argmin())
    p, k = divmod(nearest, length)
    return phrases[p][(k + np.arange(int(windows))) % length] + (z - phrases[p, k])


def run_pad(gen: Any, phrases: np.ndarray, real: np.ndarray, groups: np.ndarray, tunes: int, bars: int,
            seed: int) -> dict[str, Any]:
    """``tunes`` uniform pad points, each as its window repeated, as :func:`continue_tune`
    continues it and as the map of stored phrases plays it (``phrase_map``:
    :class:`~engine.generation.melody_pad.PhrasePad`); with each, the share of steps that
    change between points a sixteenth of the pad apart (how smoothly the pad plays)."""
    from training.melody.evaluate import realism

    windows = -(-bars // gen.bars)
    steps = gen.bars * gen.steps_per_bar
    points = np.random.default_rng(seed).uniform(-1.0, 1.0, (tunes, 2))
    from engine.generation.melody_pad import PhrasePad

    phrase_pad = PhrasePad.build(phrases)
    step = np.random.default_rng(seed + 1).standard_normal((tunes, 2))
    nearby = np.clip(points + step / np.linalg.norm(step, axis=1, keepdims=True) * 2 / 16, -1, 1)
    ways = {"repeated": lambda x, y: np.repeat(gen.pad.to_z(x, y)[None], windows, axis=0),
            "continued": lambda x, y: continue_tune(phrases, gen.pad.to_z(x, y), windows),
            "phrase_map": lambda x, y: phrase_pad.to_z(x, y, windows)}
    out: dict[str, Any] = {}
    for name, way in ways.items():
        codes = np.stack([way(float(x), float(y)) for x, y in points])
        classes = decode(gen, codes)[:, :bars * gen.steps_per_bar]
        out[name] = _figures(realism(real, classes, groups, seed=seed), classes, steps)
        near = decode(gen, np.stack([way(float(x), float(y)) for x, y in nearby]))
        near = near[:, :bars * gen.steps_per_bar]
        out[name]["nearby_change"] = float((near != classes).mean())
    return out


def _figures(r: dict[str, Any], classes: np.ndarray, steps: int) -> dict[str, Any]:
    return {"c2st_accuracy": r["c2st_accuracy"], "mean_oa": r["mean_oa"], "min_oa": r["min_oa"],
            "oa": {k: v["oa"] for k, v in r["mgeval"].items()},
            "window_leap_semitones": window_leap(classes, steps),
            "repeat_share": repeat_share(classes, steps)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--split", default="validation", choices=("validation", "test"))
    p.add_argument("--tunes", type=int, default=300)
    p.add_argument("--bars", type=int, nargs="+", default=[16, 8])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--phrases", type=int, default=None,
                   help="compute this many phrases from the checkpoint's model instead of its stored ones")
    p.add_argument("--variation", type=float, default=None, metavar="AMOUNT",
                   help="measure Variation (this many spreads) per window and per tune instead")
    p.add_argument("--toward", type=float, nargs="+", default=None, metavar="T",
                   help="with --variation: also move each tune this fraction of the way toward a "
                        "neighbouring stored tune (instead of a draw per window)")
    p.add_argument("--swap", type=float, nargs="+", default=None, metavar="SHARE",
                   help="with --variation: also give this share of each tune's windows another "
                        "real window (swap_windows)")
    p.add_argument("--pad", action="store_true",
                   help="measure pad points' longer tunes (window repeated or continued) instead")
    p.add_argument("--noise", type=float, nargs="+", default=None,
                   help="measure the shared-noise phrase at each of these σ instead of the variants")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from engine.generation.melody import MelodyGenerator
    from models.melody_checkpoint import load_melody_checkpoint
    from training.melody import data as mdata
    from training.melody.phrases import PHRASES, phrase_codes

    corpus = mdata.build_corpus()
    gen = MelodyGenerator.from_checkpoint(args.checkpoint, backend="torch")
    phrases = gen.phrases
    if phrases is None or args.phrases is not None:
        count = PHRASES if args.phrases is None else args.phrases
        phrases = phrase_codes(load_melody_checkpoint(args.checkpoint).model, corpus, count=count)
    out: dict[str, Any] = {"checkpoint": str(args.checkpoint), "split": args.split, "tunes": args.tunes,
                           "seed": args.seed, "phrases": len(phrases), "data_fingerprint": corpus.fingerprint}
    for bars in args.bars:
        w = mdata.windows(corpus, bars, args.split)
        tr = mdata.windows(corpus, bars, "train")
        sel = np.random.default_rng(args.seed).choice(len(w), min(args.tunes, len(w)), replace=False)
        groups = np.array([str(t) for t in w.tune[sel]])
        if args.pad:
            res = run_pad(gen, phrases, w.classes[sel], groups, args.tunes, bars, args.seed)
        elif args.variation is not None:
            res = run_variation(gen, phrases, w.classes[sel], groups, args.tunes, bars, args.seed,
                                args.variation, args.toward, args.swap)
        else:
            res = run(gen, phrases, w.classes[sel], groups, tr.classes, args.tunes, bars, args.seed,
                      args.noise)
        out[f"{bars}_bars"] = res
        for name, v in res.items():
            leap, rep = v["window_leap_semitones"], v["repeat_share"]
            print(f"{bars} bars {name}: C2ST {v['c2st_accuracy']:.3f}, mean OA {v['mean_oa']:.3f}"
                  + ("" if leap is None else f", leap {leap:.2f}")
                  + ("" if rep is None else f", repeats {rep:.3f}")
                  + (f", unlike its source {v['unlike_source']:.3f}" if "unlike_source" in v else ""),
                  flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write(args.out / "results.json", lambda f: f.write(json.dumps(out, indent=1) + "\n"), text=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
