"""Where "Randomize" should draw its latents: the prior, a Gaussian fitted to the codes, or
near stored training codes.

Every candidate draws ``--draws`` latents, which are decoded greedily with the knobs set to
the attributes of random evaluation windows (as ``groovefader eval``'s prior rows) and, for
the code-plus-noise draws, also with the knobs at their defaults (what Randomize first
plays). Figures per candidate: the voice mix's total-variation distance to the evaluation
windows' (``training.evaluate.voice_mix_distance``), tom and closed hi-hat hits per window,
the mean attribute W1/std, and for code-plus-noise draws the hits flipped against the
code's own decode and how many distinct grooves came out.

Run (validation split; the codes are the train split's posterior means)::

    python -m training.studies.randomize_draws --checkpoint checkpoints/default.pt \
        --data ../shared/data/groove --split validation --out docs/studies/randomize_draws
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.music import attributes as attr_lib
from engine.music.drums import NUM_VOICES, Voice
from training.studies import drum_common as dc
from training.studies import skeleton

MODULE = "training.studies.randomize_draws"
NOISES = (0.0, 0.2, 0.35, 0.5, 0.7)
TOMS = [Voice.LOW_TOM, Voice.MID_TOM, Voice.HIGH_TOM]


def fitted_gaussian(mu: np.ndarray, rank: int | None, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` draws from a Gaussian fitted to the codes ``mu (N, Z)``: full covariance
    (``rank`` None), its top ``rank`` principal directions plus a diagonal rest, or a
    diagonal (``rank`` 0)."""
    mean = mu.mean(0)
    centred = mu - mean
    if rank == 0:
        return mean + rng.standard_normal((n, mu.shape[1])) * mu.std(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    k = len(s) if rank is None else min(rank, len(s))
    comp = vt[:k] * (s[:k] / np.sqrt(len(mu) - 1))[:, None]
    rest = np.sqrt(np.maximum(centred.var(0) - (comp ** 2).sum(0), 0.0))
    return mean + rng.standard_normal((n, k)) @ comp + rng.standard_normal((n, mu.shape[1])) * rest


def kmeans_mixture(mu: np.ndarray, k: int, n: int, rng: np.random.Generator, iters: int = 25) -> np.ndarray:
    """``n`` draws from a mixture of ``k`` diagonal Gaussians, one per k-means cluster of ``mu``."""
    centres = mu[rng.choice(len(mu), k, replace=False)]
    for _ in range(iters):
        d = (mu ** 2).sum(1)[:, None] - 2 * mu @ centres.T + (centres ** 2).sum(1)[None]
        label = d.argmin(1)
        centres = np.stack([mu[label == j].mean(0) if (label == j).any() else centres[j] for j in range(k)])
    weights = np.bincount(label, minlength=k) / len(mu)
    spread = np.stack([mu[label == j].std(0) if (label == j).sum() > 1 else mu.std(0) for j in range(k)])
    pick = rng.choice(k, n, p=weights)
    return centres[pick] + spread[pick] * rng.standard_normal((n, mu.shape[1]))


def measure(gen: Any, z: np.ndarray, knobs: np.ndarray | None, data: np.ndarray,
            batch_size: int = 500) -> tuple[dict[str, float], np.ndarray]:
    """Figures of the greedy decodes of ``z`` against the windows ``data (N, T, 27)``, and
    the decodes' hit grids."""
    from training.evaluate import _decode_attributes, voice_mix, voice_mix_distance, wasserstein_1d

    names = gen.attribute_names
    data_attrs = attr_lib.compute(data, names)
    std = data_attrs.std(0)
    attrs, hits = _decode_attributes(gen, z.astype(np.float32), knobs, batch_size)
    mix, data_mix = voice_mix(hits), voice_mix(data[..., :NUM_VOICES] > 0.5)
    w1 = [wasserstein_1d(attrs[:, j], data_attrs[:, j]) / (std[j] if std[j] > 0 else 1.0)
          for j in range(len(names))]
    return {"voice_mix_distance": voice_mix_distance(mix, data_mix), "tom_hits": float(mix[TOMS].sum()),
            "closed_hat_hits": float(mix[Voice.CLOSED_HAT]), "hits": float(mix.sum()),
            "mean_w1_over_std": float(np.mean(w1)), "z_norm": float(np.linalg.norm(z, axis=1).mean())}, hits


def run(gen: Any, codes: np.ndarray, data: np.ndarray, draws: int, seed: int = 0,
        anchors: int = 256, noises: Sequence[float] = NOISES) -> dict[str, Any]:
    """Every candidate's figures (module docstring); ``codes`` are train-split posterior means."""
    rng = np.random.default_rng(seed)
    data_attrs = attr_lib.compute(data, gen.attribute_names)
    knobs = data_attrs[rng.integers(0, len(data_attrs), draws)]
    z_dim = codes.shape[1]
    candidates = {
        "prior N(0, I)": rng.standard_normal((draws, z_dim)),
        "Gaussian fit, diagonal": fitted_gaussian(codes, 0, draws, rng),
        "Gaussian fit, full covariance": fitted_gaussian(codes, None, draws, rng),
        "Gaussian fit, rank 16 + diagonal": fitted_gaussian(codes, 16, draws, rng),
        "k-means mixture, 16": kmeans_mixture(codes, min(16, len(codes)), draws, rng),
        "k-means mixture, 256": kmeans_mixture(codes, min(256, len(codes)), draws, rng),
    }
    rows = {name: measure(gen, z, knobs, data)[0] for name, z in candidates.items()}
    stored = codes[np.sort(rng.choice(len(codes), min(anchors, len(codes)), replace=False))]
    pick = rng.integers(0, len(stored), draws)
    eps = rng.standard_normal((draws, z_dim))
    _, own = measure(gen, stored[pick], None, data)
    noise_rows = []
    for noise in noises:
        z = stored[pick] + noise * eps
        fig, hits = measure(gen, z, knobs, data)
        rows[f"stored code + N(0, {noise:g}²)"] = fig
        at_defaults, hits = measure(gen, z, None, data)
        noise_rows.append({"noise": float(noise),
                           "voice_mix_distance_at_default_knobs": at_defaults["voice_mix_distance"],
                           "hits_flipped_vs_code": float((hits != own).sum(axis=(1, 2)).mean()),
                           "distinct_grooves": len({h.tobytes() for h in hits})})
    return {"draws": draws, "anchors": len(stored), "seed": seed, "candidates": rows, "noise": noise_rows,
            "knobs": knob_reach(gen, stored, data, min(draws, 200), rng)}


REACH_DRAWS = ((1.0, 0.5), (1.0, 1.0), (1.0, 1.5), (0.7, 0.7), (0.5, 0.87))  # (shrink, noise)


def knob_reach(gen: Any, stored: np.ndarray, data: np.ndarray, draws: int, rng: np.random.Generator,
               draws_spec: Sequence[tuple[float, float]] = REACH_DRAWS) -> list[dict[str, Any]]:
    """Knob sweeps (``training.evaluate.evaluate_control``) from ``shrink · code + N(0, noise²)``
    draws, with the voice mix of their decodes at default knobs: how far the knobs reach
    against how data-like the drums are."""
    from training.evaluate import EvalConfig, evaluate_control

    cfg = EvalConfig(draws=draws, settings=9)
    out = []
    for shrink, noise in draws_spec:
        z = shrink * stored[rng.integers(0, len(stored), draws)] + noise * rng.standard_normal(
            (draws, stored.shape[1]))
        control = evaluate_control(gen, cfg, z=z)
        fig, _ = measure(gen, z, None, data)
        out.append({"shrink": shrink, "noise": noise, "voice_mix_distance": fig["voice_mix_distance"],
                    "tom_hits": fig["tom_hits"],
                    "knobs": {k: {"spearman": v["spearman"], "range": v["range"],
                                  "monotone_share": v["monotone_share"]} for k, v in control.items()}})
    return out


def report(results: dict[str, Any]) -> str:
    head = (f"# Where Randomize draws\n\n`{results['command']}`\n\n"
            f"{results['draws']} draws per candidate, decoded greedily with the knobs of random "
            f"{results['split']} windows; {results['anchors']} stored codes.\n\n")
    cand = dc.md_table(["draw", "voice-mix TV", "tom hits", "closed hi-hat hits", "hits", "mean W1/std"],
                       [(k, v["voice_mix_distance"], v["tom_hits"], v["closed_hat_hits"], v["hits"],
                         v["mean_w1_over_std"]) for k, v in results["candidates"].items()])
    noise = dc.md_table(["noise", "voice-mix TV, knobs at defaults", "hits flipped vs the code's decode",
                         "distinct grooves"],
                        [(r["noise"], r["voice_mix_distance_at_default_knobs"], r["hits_flipped_vs_code"],
                          r["distinct_grooves"]) for r in results["noise"]])
    knobs = list(results["knobs"][0]["knobs"]) if results["knobs"] else []
    reach = dc.md_table(["draw", "voice-mix TV", "tom hits"] + [f"{k} ρ / range" for k in knobs],
                        [(f"{r['shrink']:g} · code + N(0, {r['noise']:g}²)", r["voice_mix_distance"],
                          r["tom_hits"], *(f"{r['knobs'][k]['spearman']:.2f} / {r['knobs'][k]['range']:.2f}"
                                           for k in knobs)) for r in results["knobs"]])
    data = results["data_voice_hits"]
    return (head + cand + f"\nData: {data['toms']:.2f} tom and {data['closed_hat']:.2f} closed hi-hat "
            "hits per window.\n\nStored code plus noise, knobs at their defaults:\n\n" + noise
            + "\nHow far the knobs reach from such draws (knob sweeps as `groovefader eval`'s, 9 "
            "settings; voice mix at default knobs):\n\n" + reach)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", default=str(dc.GROOVE_DIR))
    p.add_argument("--split", default="validation")
    p.add_argument("--draws", type=int, default=1000)


def _quick(args: argparse.Namespace) -> None:
    args.draws = min(args.draws, 60)


def _run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from engine.generation.generator import Generator
    from models.checkpoint import load_checkpoint
    from training.evaluate import voice_mix
    from training.train import encode_means

    torch.set_num_threads(1)
    ck = load_checkpoint(args.checkpoint)
    # the model and its stored codes alone: this study draws near the codes itself
    gen = Generator(ck.model, {k: v for k, v in ck.meta.items() if k != "data_map"}, ck.config)
    ds = dc.load_groove(args.data, args.smoke)
    split = np.asarray(ds.split)
    train = np.ascontiguousarray(ds.patterns[split == "train"], np.float32)
    codes = encode_means(ck.model, torch.from_numpy(train))
    data = np.asarray(ds.patterns[split == args.split], np.float32)
    results = run(gen, codes, data, args.draws, args.seed)
    mix = voice_mix(data[..., :NUM_VOICES] > 0.5)
    hits = {"toms": float(mix[TOMS].sum()), "closed_hat": float(mix[Voice.CLOSED_HAT])}
    results.update(split=args.split, data_voice_hits=hits)
    return results


STUDY = skeleton.Study(module=MODULE, description=__doc__.splitlines()[0], arguments=_arguments, run=_run,
                       report=lambda results, args: report(results), smoke="synthetic grooves, few draws",
                       quick=_quick, seed=0)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
