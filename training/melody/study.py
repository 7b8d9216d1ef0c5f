"""The melody-transition study: three strategies, per-bar vs per-note mixing, flat vs conductor.

    .venv/bin/python -m training.melody.study --checkpoint checkpoints/melody.pt \\
        --out docs/studies/melody_transitions [--long FLAT.pt HIER.pt]

On ``--pairs`` pairs of test windows (A, B from different test tunes; ``--split validation``
for choices), an N-bar transition
per strategy and mix scale, and per transition:

* **faithfulness**: first bar = A's first bar, last bar = B's bar at that phrase position
  (exact match of the 16 events; also the per-step agreement);
* **smoothness**: mean jump of the mean pitch between successive bars (semitones; the test
  windows' own bar-to-bar jump is the reference) and **progress**: the share of transitions
  whose distance to B (per-step disagreement) falls from the first bar to the last half;
* **in-key share** of the note-ons (C major pitch classes);
* **realism of midpoints**: the middle two bars against test windows (MGEval mean OA and
  the classifier two-sample test of :mod:`training.melody.evaluate`).

``--path``: strategies 1 and 3 follow (``--pull 1``) or lean toward a chain of stored
training codes (the drums' :class:`~engine.generation.data_path.GrooveGraph` over the
checkpoint's stored window codes, ``anchors``, or those and its stored phrases' codes,
``all``; ``--hold 2`` keeps each code for its whole 2-bar window) instead of the plain
spherical interpolation (``slerp``, the default here); ``--path all --pull 0.5`` with
``--mix-draw switch --feed own-notes`` is what the instrument plays.

``--render held``: strategies 2 and 3 render an onset the decoder asks for again while its
forced inputs brought nothing new (:func:`hold_rerequests`) as a hold: under teacher forcing
the decoder never hears its own note, so while the forced melody holds it may ask for the
same note at every step. The midpoints also report how often successive note-ons repeat a
pitch one or two 16ths apart (``midpoint_same_pitch``), beside the real windows'.

``--render melody``: as ``held``, and an onset repeating the output's previous pitch where
the forced melody strikes another takes the melody's pitch (:func:`repeats_from_melody`).

``--feed onsets-rests`` / ``onsets``: strategies 2 and 3 feed the mixed tune only where it
strikes or ends a note (or only where it strikes one); elsewhere the decoder hears its own
output (:func:`own_feed`), so it knows which note it struck. ``own-notes``: the mixed tune
at every step but where the decoder strikes a note, which it hears.

``--long``: the same for two 16-bar models (flat, conductor) on 16-bar test windows, 16-bar
transitions, strategies 1 and 3. Writes ``results.json``, ``piano_rolls.png`` and a few
``.mid`` examples into ``--out``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from engine.generation.melody import MelodyGenerator
from engine.music.melody import MAJOR_SCALE, NUM_SPECIAL, STEPS_PER_BAR, Melody, events_to_classes
from models.atomic import atomic_write

VARIANTS = ((1, "bar"), (2, "bar"), (2, "note"), (3, "bar"), (3, "note"))


def _mean_pitch(events: np.ndarray) -> float | None:
    on = events[events >= 0]
    return float(on.mean()) if on.size else None


def _bar_jumps(m: Melody) -> list[float]:
    means = [_mean_pitch(m.events[i * STEPS_PER_BAR:(i + 1) * STEPS_PER_BAR]) for i in range(m.bars)]
    return [abs(b - a) for a, b in zip(means, means[1:], strict=False) if a is not None and b is not None]


def _in_key(m: Melody) -> float:
    on = m.events[m.events >= 0]
    return float(np.isin(on % 12, MAJOR_SCALE).mean()) if on.size else 1.0


def onset_share(events: np.ndarray) -> float:
    """Share of 16th steps that start a note (a busier line has more)."""
    return float((np.asarray(events) >= 0).mean())


def repeated_run(events: np.ndarray, length: int = 4) -> bool:
    """Whether ``length`` or more consecutive 16th steps strike the same pitch again (a
    machine-gun figure real tunes rarely have)."""
    ev = np.asarray(events)
    run = 0
    for i, e in enumerate(ev):
        run = (run + 1 if i and e == ev[i - 1] else 1) if e >= 0 else 0
        if run >= length:
            return True
    return False


def hold_rerequests(classes: np.ndarray, forced: np.ndarray) -> np.ndarray:
    """``classes`` decoded under teacher forcing with an onset rendered as a hold (class 1)
    where the output already sounds that pitch and every forced input since the output's
    onset of it was "no event" (class 1): the decoder, fed none of its own notes, learnt
    nothing new since it asked for that note, so it asked again rather than struck again."""
    out = np.array(classes, copy=True)
    forced = np.asarray(forced)
    sounding, start = -1, 0
    for i, c in enumerate(out):
        if c >= NUM_SPECIAL:
            if c == sounding and np.all(forced[start:i] == 1):
                out[i] = 1
                continue
            sounding, start = int(c), i
        elif c == 0:
            sounding = -1
    return out


def repeats_from_melody(classes: np.ndarray, forced: np.ndarray) -> np.ndarray:
    """``classes`` decoded under teacher forcing with the output's repeats of its previous
    note-on's pitch rendered from the forced melody: where the melody strikes another pitch at
    that step the output takes the melody's (the decoder, fed the melody's notes, never heard
    its own and asked for it again), and a re-request (:func:`hold_rerequests`) is held."""
    out = np.array(classes, copy=True)
    forced = np.asarray(forced)
    last, start, sounding = -1, 0, False
    for i, c in enumerate(out):
        if c >= NUM_SPECIAL:
            if c == last:
                if forced[i] >= NUM_SPECIAL and forced[i] != c:
                    out[i] = c = forced[i]
                elif sounding and np.all(forced[start:i] == 1):
                    out[i] = 1
                    continue
            last, start, sounding = int(c), i, True
        elif c == 0:
            sounding = False
    return out


def same_pitch_gaps(events: np.ndarray) -> np.ndarray:
    """``(2,)`` counts of successive note-ons on the same pitch 1 and 2 16ths apart."""
    on = np.flatnonzero(events >= 0)
    same = events[on[1:]] == events[on[:-1]]
    gaps = np.diff(on)[same]
    return np.array([np.sum(gaps == 1), np.sum(gaps == 2)])


class HeldRerequests(MelodyGenerator):
    """A melody generator whose forced decodes are rendered by :func:`hold_rerequests`
    (``render``, a class attribute set by the study: or by :func:`repeats_from_melody`,
    ``'melody'``)."""

    render = "held"

    def decode_batch(self, z: np.ndarray, bars: int | None = None, temperature: float = 0.0,
                     seed: int | None = None, forced: np.ndarray | None = None) -> list[Melody]:
        ms = super().decode_batch(z, bars, temperature, seed, forced)
        if forced is None:
            return ms
        f = np.asarray(forced)
        fn = repeats_from_melody if self.render == "melody" else hold_rerequests
        return [Melody.from_classes(fn(events_to_classes(m.events), f[k]),
                                    self.steps_per_bar) for k, m in enumerate(ms)]


def own_feed(forced: np.ndarray, feed: str) -> np.ndarray:
    """``forced`` with the steps the decoder hears its own output at set to -1: where the mixed
    tune holds (``onsets-rests``), or everywhere but its note-ons (``onsets``); ``all`` keeps
    every forced step; ``own-notes`` feeds the tune except where the decoder strikes a note,
    which it hears (``-2 - c``, see :meth:`models.melody_vae.MelodyVAE.decode`)."""
    f = np.array(forced, np.int64, copy=True)
    if feed == "own-notes":
        return np.where(f >= 0, -2 - f, f)
    if feed == "onsets-rests":
        f[f == 1] = -1
    elif feed == "onsets":
        f[f < NUM_SPECIAL] = -1
    elif feed != "all":
        raise ValueError(f"feed must be all, onsets-rests, onsets or own-notes, got {feed!r}")
    return f


class OwnFeed(MelodyGenerator):
    """A melody generator whose forced decodes hear their own output where :func:`own_feed`
    (``feed``, a class attribute set by the study) leaves the mixed tune out."""

    feed = "all"

    def decode_batch(self, z: np.ndarray, bars: int | None = None, temperature: float = 0.0,
                     seed: int | None = None, forced: np.ndarray | None = None) -> list[Melody]:
        f = None if forced is None else own_feed(forced, self.feed)
        return super().decode_batch(z, bars, temperature, seed, f)


def pairs_from(windows: Any, corpus: Any, n: int, seed: int) -> list[tuple[int, int]]:
    """``n`` (i, j) window pairs from different tunes."""
    rng = np.random.default_rng(seed)
    out: list[tuple[int, int]] = []
    while len(out) < n:
        i, j = rng.integers(0, len(windows), 2)
        if windows.tune[i] != windows.tune[j]:
            out.append((int(i), int(j)))
    return out


def data_path(gen: Any, nodes: str, hold: int,
              pull: float = 1.0) -> Callable[[Melody, Melody, int], np.ndarray]:
    """``(a, b, bars) -> (bars, Z)`` latents: A's code, the chain of stored codes between
    (each bar the chain's code at its share of the way, or its window's first bar's with
    ``hold`` 2, the last window B's), B's code; ``pull`` < 1 moves each bar's interpolated
    latent only that share of the way to its chain code."""
    from engine.generation.data_path import GrooveGraph
    from engine.generation.latent_paths import interpolate

    # the instrument's own graph holds the stored window and phrase codes
    graph = gen.transition_graph() if nodes == "all" else GrooveGraph(gen.anchors)

    def path(a: Melody, b: Melody, bars: int) -> np.ndarray:
        za, zb = gen.encode_batch([a, b])
        t = np.linspace(0.0, 1.0, bars)
        if hold == 2:
            start = np.arange(bars) - np.arange(bars) % 2
            t = t[start]
            t[start == start[-1]] = 1.0
        return graph.pulled(za, zb, t, interpolate(za, zb, t), pull)

    return path


def run_variants(gen: Any, windows: Any, pairs: list[tuple[int, int]], bars: int,
                 variants: tuple[tuple[int, str], ...], seed: int, mix_draw: str = "independent",
                 path: Callable[[Melody, Melody, int], np.ndarray] | None = None,
                 **ends: Any) -> dict[str, Any]:
    """``ends``: the transition's ``ends``, ``candidates`` and ``beam`` (default: decoded);
    ``path``: strategies 1 and 3's latents for a pair (default: the plain interpolation)."""
    from engine.generation.melody import loop_to
    from training.melody.evaluate import realism

    spb = STEPS_PER_BAR
    results: dict[str, Any] = {}
    outputs: dict[str, list[Melody]] = {}
    groups = np.array([str(t) for t in windows.tune])
    real = windows.classes[:, :2 * spb] if windows.classes.shape[1] > 2 * spb else windows.classes
    real_ev = [Melody.from_classes(c).events for c in real]
    real_onsets = float(np.mean([onset_share(e) for e in real_ev]))
    real_runs = float(np.mean([repeated_run(e) for e in real_ev]))
    real_same = np.sum([same_pitch_gaps(e) for e in real_ev], axis=0) / len(real_ev)
    for strategy, scale in variants:
        key = f"s{strategy}" + ("" if strategy == 1 else f"_{scale}")
        first_ok, last_ok, first_acc, last_acc, jumps, keys, progress = [], [], [], [], [], [], []
        mids = []
        outs = []
        for k, (i, j) in enumerate(pairs):
            a = Melody.from_classes(windows.classes[i])
            b = Melody.from_classes(windows.classes[j])
            z = None if path is None or strategy == 2 else path(a, b, bars)
            # the mix fed at every step: the study's own decoders (--render, --feed) change it
            out = gen.transition(a, b, bars, strategy, mix_scale=scale, mix_draw=mix_draw,
                                 seed=seed + k, path=z, along_data=0.0, feed="all", **ends)
            outs.append(out)
            ea, eb = loop_to(a, bars).events, loop_to(b, bars).events
            f_out, l_out = out.events[:spb], out.events[-spb:]
            first_ok.append(np.array_equal(f_out, ea[:spb]))
            last_ok.append(np.array_equal(l_out, eb[-spb:]))
            first_acc.append(float((f_out == ea[:spb]).mean()))
            last_acc.append(float((l_out == eb[-spb:]).mean()))
            jumps.extend(_bar_jumps(out))
            keys.append(_in_key(out))
            dist_b = [float((out.events[q * spb:(q + 1) * spb] != eb[q * spb:(q + 1) * spb]).mean())
                      for q in range(bars)]
            progress.append(np.mean(dist_b[bars // 2:]) < dist_b[0])
            mid = bars // 2 - 1
            mids.append(out.events[mid * spb:(mid + 2) * spb])

        mid_classes = events_to_classes(np.stack(mids))
        results[key] = {
            "strategy": strategy, "mix_scale": None if strategy == 1 else scale,
            "first_bar_is_a": float(np.mean(first_ok)), "last_bar_is_b": float(np.mean(last_ok)),
            "first_bar_step_agreement": float(np.mean(first_acc)),
            "last_bar_step_agreement": float(np.mean(last_acc)),
            "bar_jump_semitones": float(np.mean(jumps)) if jumps else None,
            "progress_share": float(np.mean(progress)), "in_key_share": float(np.mean(keys)),
            "midpoint_realism": _slim(realism(real, mid_classes, groups, seed=seed)),
            "midpoint_onset_share": float(np.mean([onset_share(m) for m in mids])),
            "real_onset_share": real_onsets,
            "midpoint_repeated_runs": float(np.mean([repeated_run(m) for m in mids])),
            "real_repeated_runs": real_runs,
            # per midpoint: same-pitch note-ons one and two 16ths apart
            "midpoint_same_pitch": (np.sum([same_pitch_gaps(m) for m in mids], axis=0)
                                    / len(mids)).tolist(),
            "real_same_pitch": real_same.tolist(),
        }
        outputs[key] = outs
    return {"variants": results, "outputs": outputs}


def _slim(r: dict[str, Any]) -> dict[str, Any]:
    return {"mean_oa": r["mean_oa"], "min_oa": r["min_oa"], "c2st_accuracy": r["c2st_accuracy"],
            "c2st_ci95": r["c2st"]["ci95"],
            "oa": {k: v["oa"] for k, v in r["mgeval"].items()}}


def reference_jump(windows: Any, n: int = 2000) -> float:
    jumps: list[float] = []
    for row in windows.classes[:n]:
        jumps.extend(_bar_jumps(Melody.from_classes(row)))
    return float(np.mean(jumps))


def piano_rolls(path: Path, rows: list[tuple[str, Melody]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(rows), 1, figsize=(10, 1.3 * len(rows)), sharex=True)
    for ax, (title, m) in zip(axes, rows, strict=True):
        for start, end, pitch in m.notes():
            ax.add_patch(plt.Rectangle((start, pitch - 0.4), end - start, 0.8, color="tab:blue"))
        for bar in range(m.bars + 1):
            ax.axvline(bar * STEPS_PER_BAR, color="0.8", lw=0.5)
        rng = m.pitch_range() or (60, 72)
        ax.set_ylim(rng[0] - 2, rng[1] + 2)
        ax.set_xlim(0, max(r[1].steps for r in rows))
        ax.set_ylabel("pitch", fontsize=7)
        ax.set_title(title, fontsize=8, loc="left")
    axes[-1].set_xlabel("16th step")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--pairs", type=int, default=100)
    p.add_argument("--bars", type=int, default=8, help="transition length (default 8)")
    p.add_argument("--long", type=Path, nargs=2, default=None, metavar=("FLAT", "HIER"))
    p.add_argument("--long-pairs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", default="test", choices=("validation", "test"),
                   help="the windows paired and the midpoints' reference (default test)")
    p.add_argument("--ends", default="decoded", choices=("decoded", "searched", "refined", "melodies"),
                   help="the transitions' first and last bars (engine.generation.melody)")
    p.add_argument("--candidates", type=int, default=32,
                   help="codes tried per melody (--ends searched, refined)")
    p.add_argument("--beam", type=int, default=1, help="beam width of the search's decodes (1 = greedy)")
    p.add_argument("--mix-draw", default="independent", choices=("independent", "switch"),
                   help="strategies 2 and 3: a draw per step/bar, or one switch from A to B")
    p.add_argument("--path", default="slerp", choices=("slerp", "anchors", "all"),
                   help="strategies 1 and 3: the plain interpolation, or a chain of stored codes "
                        "(see above; --path all --pull 0.5 is the instrument's default)")
    p.add_argument("--hold", type=int, default=1, choices=(1, 2), help="--path: bars each code plays")
    p.add_argument("--pull", type=float, default=1.0,
                   help="--path: share of the way from the interpolation to the chain (default 1)")
    p.add_argument("--render", default="plain", choices=("plain", "held", "melody"),
                   help="strategies 2 and 3: the decodes as they come, re-requests held, or "
                        "repeats rendered from the melody (see above)")
    p.add_argument("--feed", default="all", choices=("all", "onsets-rests", "onsets", "own-notes"),
                   help="strategies 2 and 3: the steps the mixed tune is fed at (the decoder's own "
                        "output elsewhere; default every step)")
    args = p.parse_args(argv)
    if args.render != "plain" and args.feed != "all":
        p.error(f"--render {args.render} applies to the mixed tune fed at every step (--feed all)")
    ends = {"ends": args.ends, "candidates": args.candidates, "beam": args.beam}
    import torch

    torch.set_num_threads(1)
    from training.melody import data as mdata

    corpus = mdata.build_corpus()
    if args.feed != "all":
        OwnFeed.feed = args.feed
    HeldRerequests.render = args.render
    cls = HeldRerequests if args.render != "plain" else OwnFeed if args.feed != "all" else MelodyGenerator
    gen = cls.from_checkpoint(args.checkpoint)
    w = mdata.windows(corpus, gen.bars, args.split)
    pairs = pairs_from(w, corpus, args.pairs, args.seed)
    path = None if args.path == "slerp" else data_path(gen, args.path, args.hold, args.pull)
    res = run_variants(gen, w, pairs, args.bars, VARIANTS, args.seed, args.mix_draw, path, **ends)
    out: dict[str, Any] = {"checkpoint": str(args.checkpoint), "split": args.split, "pairs": len(pairs),
                           "bars": args.bars, "mix_draw": args.mix_draw,
                           "path": args.path, "hold": args.hold, "pull": args.pull,
                           "render": args.render, "feed": args.feed,
                           "ends": ends if args.ends in ("searched", "refined") else {"ends": args.ends},
                           "data_fingerprint": corpus.fingerprint, "seed": args.seed,
                           "reference_bar_jump_semitones": reference_jump(w),
                           "variants": res["variants"]}
    args.out.mkdir(parents=True, exist_ok=True)
    a, b = Melody.from_classes(w.classes[pairs[0][0]]), Melody.from_classes(w.classes[pairs[0][1]])
    rows = [("melody 1 (A)", a), ("melody 2 (B)", b)]
    for key, outs in res["outputs"].items():
        rows.append((f"{key}: {args.bars}-bar transition", outs[0]))
        outs[0].write_midi(args.out / f"pair0_{key}.mid", force=True)
    a.write_midi(args.out / "pair0_A.mid", force=True)
    b.write_midi(args.out / "pair0_B.mid", force=True)
    piano_rolls(args.out / "piano_rolls.png", rows)
    if args.long is not None:
        w16 = mdata.windows(corpus, 16, args.split)
        lp = pairs_from(w16, corpus, args.long_pairs, args.seed)
        out["long"] = {}
        for name, path in zip(("flat", "hier"), args.long, strict=True):
            g16 = MelodyGenerator.from_checkpoint(path)
            r16 = run_variants(g16, w16, lp, 16, ((1, "bar"), (3, "bar")), args.seed, args.mix_draw, **ends)
            out["long"][name] = {"checkpoint": str(path), "pairs": len(lp), **r16["variants"]}
    atomic_write(args.out / "results.json", lambda f: f.write(json.dumps(out, indent=1) + "\n"), text=True)
    print(json.dumps({k: v for k, v in out.items() if k != "long"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
