"""What a knob turned slowly plays: how often the groove changes on the way, and how much.

The realism report measures each knob at its ends and its control figures over 9 settings.
A musician hears the way between: a knob is dragged through every position, and the app
decodes the playing groove again at each (``app/knob_binding.py``). This sweeps each knob
over its whole range in fine steps, held as the app holds it, from Randomize's and the pad's
latents, and counts at each step whether the groove's hits changed, how many cells flipped,
and how many of the earlier groove's hits it kept. The knob's path length (cells flipped
over the sweep) against the distance between its two ends (cells differing between the
grooves at 0 % and 100 %) is its detour: 1 when every step adds or removes hits on the way
from one end's groove to the other's, as Grids' density thresholds one pattern; far above 1
when the steps trade hits back and forth, one groove replacing another. The model's own knob
(the decoder's attribute input alone, the data map unused) is measured beside it.

No candidate is chosen here: the study measures the knobs as they ship.

Run::

    python -m training.studies.knob_continuity --checkpoint checkpoints/default.pt \\
        --out docs/studies/knob_continuity
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

import numpy as np

from training.studies import drum_common as dc
from training.studies import skeleton

MODULE = "training.studies.knob_continuity"
MODES = ("held", "model")  # the app's knob (walk and corrections), the decoder's input alone


def sweep_hits(gen: Any, z: np.ndarray, knob: str, positions: int, mode: str
               ) -> tuple[np.ndarray, np.ndarray]:
    """``(S, B, T, V)`` bool: the hits the app plays from latents ``z (B, Z)`` with ``knob``
    at ``positions`` even settings over its range, each row turned from its own groove with
    the knobs nobody set where the groove has them or following the data (as the app does);
    ``mode`` ``"model"``: the decoder's attribute input alone, nothing held; ``"detents K"``:
    held with ``WalkSettings.anchors`` = K. Also ``(S, B)``: the knob's attribute measured
    on each groove played, as a share of the knob's range from its low end."""
    from engine.generation.knobs import KnobState
    from engine.music import attributes as attr_lib
    from training.realism import surfaces as su

    names = tuple(gen.attribute_names)
    fresh = KnobState.for_model(gen.attribute_ranges, gen.attribute_defaults)
    base = np.stack([p.to_array() for p in gen.decode(z, su._app_inputs(gen, fresh))])
    anchor = attr_lib.compute(base, names)
    lo, hi = gen.attribute_ranges[knob]
    shipped = gen.walk_settings
    if mode.startswith("detents "):
        gen.walk_settings = replace(shipped, anchors=int(mode.split()[1]))
    try:
        return _sweep(gen, z, knob, np.linspace(lo, hi, positions), mode, fresh, anchor)
    finally:
        gen.walk_settings = shipped


def _sweep(gen: Any, z: np.ndarray, knob: str, values: np.ndarray, mode: str, fresh: Any,
           anchor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from engine.music import attributes as attr_lib
    from engine.music.drums import NUM_VOICES
    from training.realism import surfaces as su

    lo, hi = gen.attribute_ranges[knob]
    out, measured = [], []
    for value in values:
        if mode == "model":
            pats = gen.decode(z, {knob: float(value)})
        else:
            inputs, targets = su.app_turn(gen, fresh, knob, float(value), anchor, gen.data_trend)
            pats = gen.decode(z, inputs, targets=targets, turning=knob)
        arrays = np.stack([p.to_array() for p in pats])
        out.append(arrays[..., :NUM_VOICES] > 0.5)
        measured.append((attr_lib.compute(arrays, (knob,))[:, 0] - lo) / max(hi - lo, 1e-12))
    return np.stack(out), np.stack(measured)


def continuity(hits: np.ndarray) -> dict[str, float]:
    """The sweep figures of ``hits (S, B, T, V)`` (module docstring)."""
    flips = (hits[1:] != hits[:-1]).sum((2, 3))                    # (S-1, B)
    changed = flips > 0
    kept = (hits[1:] & hits[:-1]).sum((2, 3)) / np.maximum(hits[:-1].sum((2, 3)), 1)
    path = flips.sum(0).astype(np.float64)
    direct = (hits[-1] != hits[0]).sum((1, 2)).astype(np.float64)
    grooves = [len({h.tobytes() for h in hits[:, b]}) for b in range(hits.shape[1])]
    return {
        "steps": int(hits.shape[0] - 1),
        "change_share": float(changed.mean()),
        "grooves_per_sweep": float(np.median(grooves)),
        "flips_per_change": float(np.median(flips[changed])) if changed.any() else 0.0,
        "kept_at_change": float(np.median(kept[changed])) if changed.any() else 1.0,
        "path_flips": float(path.mean()),
        "direct_flips": float(direct.mean()),
        "detour": float(np.median(path[direct > 0] / direct[direct > 0])) if (direct > 0).any() else 1.0,
        "hits_low_high": [float(hits[0].sum((1, 2)).mean()), float(hits[-1].sum((1, 2)).mean())],
    }


def tracking(measured: np.ndarray) -> dict[str, float]:
    """How the knob's attribute follows the knob over a sweep: ``measured (S, B)`` as shares
    of the range at ``S`` even settings from 0 to 1. ``tracking_error``: the mean absolute
    gap to the setting; ``moves_with_knob``: the share of steps whose attribute moved the
    knob's way (over the steps where it moved at all)."""
    settings = np.linspace(0.0, 1.0, len(measured))[:, None]
    step = np.diff(measured, axis=0)
    moved = np.abs(step) > 1e-9
    return {"tracking_error": float(np.mean(np.abs(measured - settings))),
            "moves_with_knob": float((step[moved] > 0).mean()) if moved.any() else 1.0}


def _sources(gen: Any, samples: int, seed: int) -> dict[str, np.ndarray]:
    from training.realism.surfaces import pad_grid

    return {"randomize": np.asarray(gen.sample_like_data(samples, seed=seed), np.float64),
            "pad": pad_grid(gen, samples)[1]}


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--samples", type=int, default=100, help="latents per source (pad: nearest square)")
    p.add_argument("--positions", type=int, default=41, help="knob positions over its range (default 41)")
    p.add_argument("--detents", type=int, nargs="*", default=[],
                   help="also the app's knob with WalkSettings.anchors set to each of these")


def _quick(args: argparse.Namespace) -> None:
    args.samples, args.positions = min(args.samples, 9), min(args.positions, 5)


def _run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from engine.errors import GrooveFaderError
    from engine.generation.generator import Generator

    torch.set_num_threads(1)
    gen = Generator.from_checkpoint(args.checkpoint)
    if not gen.has_data_map:
        raise GrooveFaderError(f"{args.checkpoint}: no map of the data: the knobs do not walk")
    figures: dict[str, Any] = {}
    for source, z in _sources(gen, args.samples, args.seed).items():
        for knob in gen.attribute_names:
            for mode in (*MODES, *(f"detents {k}" for k in args.detents)):
                hits, measured = sweep_hits(gen, z, knob, args.positions, mode)
                figures[f"{knob}|{source}|{mode}"] = {**continuity(hits), **tracking(measured)}
    return {"samples": args.samples, "positions": args.positions, "seed": args.seed,
            "detents": list(args.detents), "shipped_anchors": int(gen.walk_settings.anchors),
            "shipped_chain": bool(gen.walk_settings.chain),
            "shipped_trend_at_detents": bool(gen.walk_settings.trend_at_detents),
            "figures": figures}


def report(results: dict[str, Any], args: argparse.Namespace | None = None) -> str:
    del args
    rows = []
    for key, f in results["figures"].items():
        knob, source, mode = key.split("|")
        label = {"held": "held (the app)", "model": "model's own",
                 "detents 0": "held, no detents"}.get(mode, f"held, {mode}")
        rows.append([knob, source, label,
                     f"{f['change_share']:.2f}", f"{f['grooves_per_sweep']:g}", f"{f['flips_per_change']:g}",
                     f"{f['kept_at_change']:.2f}", f"{f['path_flips']:.0f}", f"{f['direct_flips']:.0f}",
                     f"{f['detour']:.1f}", " → ".join(f"{h:.0f}" for h in f["hits_low_high"]),
                     f"{f['tracking_error']:.3f}", f"{f['moves_with_knob']:.2f}"])
    table = dc.md_table(["knob", "from", "knob as", "steps changing the groove", "grooves per sweep",
                         "cells flipped per change", "hits kept at a change", "cells flipped over the sweep",
                         "cells between the ends", "detour", "hits at 0 % → 100 %",
                         "attribute off the knob (share of range)", "attribute moves the knob's way"], rows)
    doc = __doc__.split("Run::")[0].strip().split("\n\n")
    return "\n\n".join([
        "# " + doc[0].splitlines()[0], "\n\n".join(doc[1:]),
        f"{results['positions']} positions over each knob's range ({results['positions'] - 1} steps); "
        f"{results['samples']} Randomize latents and a pad grid of about as many; seed {results['seed']}; "
        "medians over the grooves except the path and end-to-end flips (means).",
        table, "## What it shows", summary(results), ""])


def _span(results: dict[str, Any], mode: str, key: str) -> str:
    """``key``'s lowest and highest figure over the knobs and sources of ``mode``."""
    vals = [f[key] for k, f in results["figures"].items() if k.split("|")[2] == mode]
    lo, hi = min(vals), max(vals)
    return f"{lo:.2f}" if round(lo, 2) == round(hi, 2) else f"{lo:.2f}–{hi:.2f}"


def _walk_words(results: dict[str, Any]) -> str:
    """How the shipped walk reaches its detents, in words (empty for a plain walk)."""
    words = []
    if results.get("shipped_chain"):
        words.append("reached one from the next")
    if results.get("shipped_trend_at_detents"):
        words.append("the knobs nobody set following the data's trend from detent to detent")
    return ", " + ", ".join(words) if words else ""


def summary(results: dict[str, Any]) -> str:
    """The findings in words, every figure read from ``results``."""
    steps = results["positions"] - 1
    walk = "detents 0" if 0 in results.get("detents", []) else "held"
    out = [
        f"With every setting walking to its own recorded groove, a slow turn is a run of different "
        f"grooves: over the {steps} steps of a sweep the hits change at a share of "
        f"{_span(results, walk, 'change_share')}, each change keeping "
        f"{_span(results, walk, 'kept_at_change')} of the groove's hits, and the cells flipped on "
        f"the way are {_span(results, walk, 'detour')} "
        "times those between the sweep's two ends. Each setting is met by the recorded groove with "
        "the fewest hits changed from the groove that was playing before the knob was touched; "
        "neighbouring settings are met by different grooves, each near that groove but not near "
        "each other. A drummer asked for a little more does not play another groove, and the "
        "intensity and laid-back knobs, which a drummer meets by playing harder or later, trade "
        "hits too.",
        f"The model's own knob (the decoder's input alone) changes a groove a hit at a time "
        f"(detour {_span(results, 'model', 'detour')}, {_span(results, 'model', 'kept_at_change')} of "
        "the hits kept at a change) but its attribute lies "
        f"{_span(results, 'model', 'tracking_error')} of the range off the knob, and its ends are "
        "the grooves the realism report tells from real drumming.",
    ]
    for k in (k for k in results.get("detents", []) if k > 1):
        mode = f"detents {k}"
        out.append(
            f"With {k} detents (`WalkSettings.anchors` = {k}: the walk meets the nearest of the playing "
            f"groove's own value plus or minus whole {k - 1}ths of the range, or an end of it, and the "
            "decoder's corrections carry the groove on toward the knob's own value; otherwise the walk "
            "as it ships) the detour is "
            f"{_span(results, mode, 'detour')} and a change keeps {_span(results, mode, 'kept_at_change')} "
            "of the hits: fewer grooves on the way, still another groove at each detent. The knob's "
            f"attribute lies {_span(results, mode, 'tracking_error')} of the range off the knob "
            f"(without detents {_span(results, walk, 'tracking_error')}).")
    shipped = results.get("shipped_anchors", 0)
    if shipped > 1:
        out.append(
            f"The app's knobs ship with {shipped} detents{_walk_words(results)} (chosen by "
            "docs/studies/walk_anchors and walk_detents): the "
            f"detour is {_span(results, 'held', 'detour')}, a change keeps "
            f"{_span(results, 'held', 'kept_at_change')} of the hits, the groove changes at a share of "
            f"{_span(results, 'held', 'change_share')} of the steps and the knob's attribute lies "
            f"{_span(results, 'held', 'tracking_error')} of the range off the knob. Fewer swaps, "
            "not yet a knob that only adds or removes hits as the model's own does.")
    else:
        out.append("The app's knobs ship without detents (docs/studies/walk_anchors).")
    return "\n\n".join(out)


STUDY = skeleton.Study(module=MODULE, description=__doc__.splitlines()[0], arguments=_arguments, run=_run,
                       report=report, smoke="the tiny mapped checkpoint, few latents and positions",
                       quick=_quick, seed=0)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
