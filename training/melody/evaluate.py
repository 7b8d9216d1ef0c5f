"""``groovefader melody eval``: reconstruction, realism and latent usage of melody checkpoints.

Every figure is measured on held-out tunes (the test split by default; validation for
choosing a checkpoint), with greedy decoding, never teacher forcing:

* **Reconstruction** of test windows of the model's length from their posterior mean:
  per-step accuracy over all 39 classes, note-onset F1 (a note-on at the step, any pitch),
  pitch accuracy on the true onsets (:func:`training.melody.train.reconstruction_metrics`).
* **Realism** of new melodies (``sample_like_data``: stored training codes + noise, what
  the app plays; prior draws; and for a model with stored phrases, 16-bar tunes as the app
  draws them, ``tunes_16_bars``, against 16-bar test windows) against test windows, on four
  features per melody:
  pitch-class histogram (12 shares of note-ons), interval histogram (semitones between
  successive note-ons clipped to ±12: 25 shares), note density (note-ons per bar), in-key
  share (note-ons on C major's pitch classes: the data is in C major / A minor). Each as an
  MGEval overlapping area (Yang & Lerch 2018; :mod:`training.realism.mgeval`; histograms
  compared by Euclidean distance), and a classifier two-sample test on the feature vector
  (:mod:`training.realism.c2st`, folds grouped by tune so a held-out tune's windows are
  never on both sides; 0.5 = indistinguishable).
* **Latent usage**: mean KL per example and active units (Cov_x E[z|x] > 0.01; Burda 2016).
* With ``search``: reconstruction by **beam search** from the posterior mean (still
  free-running: each hypothesis is fed its own notes), and **encoding by search** (the
  posterior mean and draws from q(z|x), each decoded greedily, the decode agreeing most with
  the window kept: :meth:`engine.generation.melody.MelodyGenerator.search_codes`); the window
  chooses among the model's decodes, none is fed its notes. Greedy stays the headline figure.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.music.melody import MAJOR_SCALE, MIN_PITCH, NUM_SPECIAL, STEPS_PER_BAR
from training.realism import mgeval
from training.realism.c2st import two_sample_test

FEATURES = ("pitch_class_histogram", "interval_histogram", "note_density", "in_key_share")
MAX_INTERVAL = 12


def melody_features(classes: np.ndarray) -> dict[str, np.ndarray]:
    """``(N, T)`` classes → per-melody features (module docstring): ``pitch_class_histogram``
    ``(N, 12)``, ``interval_histogram`` ``(N, 25)``, ``note_density`` ``(N,)`` note-ons per
    bar, ``in_key_share`` ``(N,)`` (1.0 for a melody without notes)."""
    c = np.asarray(classes)
    n, t = c.shape
    pch = np.zeros((n, 12))
    ivh = np.zeros((n, 2 * MAX_INTERVAL + 1))
    density = np.zeros(n)
    in_key = np.ones(n)
    scale = np.zeros(12, bool)
    scale[list(MAJOR_SCALE)] = True
    for i in range(n):
        pitches = c[i][c[i] >= NUM_SPECIAL] - NUM_SPECIAL + MIN_PITCH
        density[i] = len(pitches) / (t / STEPS_PER_BAR)
        if len(pitches):
            pc = pitches % 12
            pch[i] = np.bincount(pc, minlength=12) / len(pc)
            in_key[i] = float(scale[pc].mean())
        if len(pitches) > 1:
            iv = np.clip(np.diff(pitches), -MAX_INTERVAL, MAX_INTERVAL) + MAX_INTERVAL
            ivh[i] = np.bincount(iv, minlength=2 * MAX_INTERVAL + 1) / len(iv)
    return {"pitch_class_histogram": pch, "interval_histogram": ivh, "note_density": density,
            "in_key_share": in_key}


def feature_matrix(feats: dict[str, np.ndarray]) -> np.ndarray:
    """The classifier's input: every feature's columns side by side ``(N, 39)``."""
    return np.concatenate([np.atleast_2d(feats[k].T).T if feats[k].ndim == 1 else feats[k]
                           for k in FEATURES], axis=1)


def _vector_oa(real: np.ndarray, gen: np.ndarray) -> dict[str, float]:
    """MGEval OA of a vector feature: the scalar procedure on Euclidean distances."""
    def pdist(a: np.ndarray) -> np.ndarray:
        i, j = np.triu_indices(len(a), k=1)
        return np.linalg.norm(a[i] - a[j], axis=1)

    d_real, d_gen = pdist(real), pdist(gen)
    d_inter = np.linalg.norm(real[:, None] - gen[None], axis=2).ravel()
    top = float(np.concatenate([d_real, d_gen, d_inter]).max())
    if top <= 0:
        return {"oa": 1.0, "oa_real": 1.0, "oa_generated": 1.0}
    n = max(min(len(real), len(gen)), 2)
    width = top / (mgeval.GRID_BINS - 64)
    bands = [max(1.06 * float(d.std()) * n ** (-0.2), 2 * width) for d in (d_real, d_gen, d_inter)]
    pad = 4 * max(bands)
    edges = np.arange(-pad, top + pad + width, width)
    p = [mgeval._reflect_at_zero(mgeval.binned_kde(d, edges, bw), edges)
         for d, bw in zip((d_real, d_gen, d_inter), bands, strict=True)]
    oa_r, oa_g = mgeval.overlap_area(p[0], p[2], width), mgeval.overlap_area(p[1], p[2], width)
    return {"oa": min(oa_r, oa_g), "oa_real": oa_r, "oa_generated": oa_g}


def realism(real: np.ndarray, generated: np.ndarray, real_groups: np.ndarray, *, seed: int = 0,
            max_set: int = 400) -> dict[str, Any]:
    """MGEval OA per feature + C2ST of ``generated`` ``(M, T)`` against ``real`` ``(N, T)``."""
    rng = np.random.default_rng(seed)
    r_sel = rng.choice(len(real), min(max_set, len(real)), replace=False)
    g_sel = rng.choice(len(generated), min(max_set, len(generated)), replace=False)
    fr, fg = melody_features(real[r_sel]), melody_features(generated[g_sel])
    per: dict[str, Any] = {}
    for k in FEATURES:
        if fr[k].ndim == 2:
            per[k] = _vector_oa(fr[k], fg[k])
        else:
            per[k] = mgeval.compare_feature(fr[k], fg[k])
    oas = [per[k]["oa"] for k in FEATURES]
    full_r, full_g = melody_features(real), melody_features(generated)
    c2st = two_sample_test(feature_matrix(full_r), feature_matrix(full_g), np.asarray(real_groups),
                           np.arange(len(generated)) % 97, seed=seed)
    return {"mgeval": per, "mean_oa": float(np.mean(oas)), "min_oa": float(np.min(oas)),
            "c2st_accuracy": c2st["accuracy"], "c2st": c2st,
            "in_key_share": float(full_g["in_key_share"].mean()),
            "in_key_share_real": float(full_r["in_key_share"].mean()),
            "note_density": float(full_g["note_density"].mean()),
            "note_density_real": float(full_r["note_density"].mean())}


def latent_usage(model: Any, x: Any) -> dict[str, Any]:
    """Mean KL per example (nats) and active units of the posterior means over ``x``."""
    import torch

    from models.melody_vae import kl_divergence

    with torch.no_grad():
        mus, kls = [], []
        for i in range(0, len(x), 512):
            mu, sigma = model.encode(x[i:i + 512])
            mus.append(mu)
            kls.append(kl_divergence(mu, sigma))
    mu = torch.cat(mus).numpy()
    kl = torch.cat(kls).numpy()
    var = mu.var(axis=0)
    return {"kl_per_example": float(kl.sum(1).mean()), "active_units": int((var > 0.01).sum()),
            "z_dim": int(mu.shape[1])}


def search_reconstruction(gen: Any, x: np.ndarray, beams: Sequence[int], candidates: int,
                          seed: int, chunk: int = 64) -> dict[str, Any]:
    """Reconstruction figures of ``x`` ``(N, T)`` by beam search (each width in ``beams``)
    and by encoding by search (``candidates`` codes per window); see the module docstring."""
    from engine.music.melody import Melody
    from training.melody.train import reconstruction_metrics

    out: dict[str, Any] = {}
    melodies = [Melody.from_classes(row) for row in x]
    mu = gen.encode_batch(melodies).astype(np.float32)
    for width in beams:
        pred = np.concatenate([gen.beam_search(mu[i:i + chunk], width=width)
                               for i in range(0, len(x), chunk)])
        out[f"beam_{width}"] = {**reconstruction_metrics(x, pred), **_exact(x, pred)}
    pred = np.concatenate([gen.search_codes(melodies[i:i + chunk], candidates=candidates, seed=seed)[1]
                           for i in range(0, len(x), chunk)])
    out[f"searched_{candidates}"] = {**reconstruction_metrics(x, pred), **_exact(x, pred)}
    return out


def _exact(true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Shares of windows and of bars reproduced exactly."""
    bars = true.shape[1] // STEPS_PER_BAR
    same = (true == pred).reshape(len(true), bars, STEPS_PER_BAR).all(axis=2)
    return {"exact_windows": float(same.all(axis=1).mean()), "exact_bars": float(same.mean())}


def eval_selection(total: int, count: int, seed: int) -> np.ndarray:
    """Indices (sorted) of the ``count`` windows of ``total`` the evaluation reconstructs."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(total, min(count, total), replace=False))


LONG_BARS = 16  # the length of the longer tunes measured for a model with stored phrases


def evaluate_checkpoint(path: Path, corpus: Any, split: str, n_windows: int, n_samples: int,
                        seed: int, search: bool = False, long_bars: int = LONG_BARS) -> dict[str, Any]:
    import torch

    from engine.generation.melody import MelodyGenerator
    from models.melody_checkpoint import load_melody_checkpoint
    from training.melody import data as mdata
    from training.melody.train import sampled_accuracy

    torch.set_num_threads(1)
    ck = load_melody_checkpoint(path)
    gen = MelodyGenerator(ck.model, ck.meta)
    model = ck.model
    cfg = model.config
    out: dict[str, Any] = {"checkpoint": str(path), "preset_config": cfg.to_dict(), "bars": cfg.bars,
                           "decoder": cfg.decoder, "split": split}
    w = mdata.windows(corpus, cfg.bars, split)
    sel = eval_selection(len(w), n_windows, seed)
    x = torch.from_numpy(w.classes[sel])
    t0 = time.perf_counter()
    out["reconstruction"] = {**sampled_accuracy(model, x), "windows": int(len(sel)),
                             "tunes": int(len(set(w.tune[sel].tolist())))}
    if search:
        greedy = np.concatenate([model.decode(model.encode(x[i:i + 256])[0]).numpy()
                                 for i in range(0, len(x), 256)])
        out["reconstruction"].update(_exact(x.numpy(), greedy))
        out["reconstruction_search"] = search_reconstruction(gen, x.numpy(), (4,), 32, seed)
    out["latent"] = latent_usage(model, x)
    groups = corpus.tune_id[w.tune]
    samples = {}
    near = np.stack([m.to_classes() for m in gen.decode_batch(gen.sample_like_data(n_samples, seed=seed))])
    samples["sample_like_data"] = realism(w.classes, near, groups, seed=seed)
    prior = np.stack([m.to_classes() for m in gen.decode_batch(gen.sample(n_samples, seed=seed + 1))])
    samples["prior"] = realism(w.classes, prior, groups, seed=seed)
    if gen.phrases is not None and cfg.bars < long_bars:  # longer tunes as the app draws them
        w_long = mdata.windows(corpus, long_bars, split)
        if len(w_long) >= 2:
            tunes = np.stack([m.to_classes() for m in gen.generate(n_samples, bars=long_bars, seed=seed)])
            samples[f"tunes_{long_bars}_bars"] = realism(w_long.classes, tunes, corpus.tune_id[w_long.tune],
                                                         seed=seed)
    out["realism"] = samples
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def evaluate(checkpoints: Sequence[Path], *, split: str = "test", n_windows: int = 1000,
             n_samples: int = 500, seed: int = 0, cache_dir: str | None = None,
             limit_files: int | None = None, search: bool = False) -> dict[str, Any]:
    """Every checkpoint on the same corpus and split (side by side in the report)."""
    from training.melody import data as mdata

    corpus = mdata.build_corpus(cache_dir=cache_dir, limit_files=limit_files)
    return {"split": split, "data_fingerprint": corpus.fingerprint, "seed": seed,
            "models": [evaluate_checkpoint(Path(p), corpus, split, n_windows, n_samples, seed, search)
                       for p in checkpoints]}


def to_markdown(results: dict[str, Any]) -> str:
    """One table: a row per figure, a column per checkpoint."""
    models = results["models"]
    head = "| figure | " + " | ".join(f"{Path(m['checkpoint']).name} ({m['bars']}-bar {m['decoder']})"
                                      for m in models) + " |"
    rows = [head, "|---|" + "---|" * len(models)]

    def row(name: str, get) -> None:
        vals = []
        for m in models:
            try:
                v = get(m)
                vals.append(f"{v:.3f}" if isinstance(v, float) else str(v))
            except (KeyError, TypeError):
                vals.append("—")
        rows.append(f"| {name} | " + " | ".join(vals) + " |")

    row("windows (tunes)", lambda m: f"{m['reconstruction']['windows']} ({m['reconstruction']['tunes']})")
    row("sampled per-step accuracy", lambda m: m["reconstruction"]["step_accuracy"])
    row("note-onset F1", lambda m: m["reconstruction"]["onset_f1"])
    row("pitch accuracy on onsets", lambda m: m["reconstruction"]["onset_pitch_accuracy"])
    if any("reconstruction_search" in m for m in models):
        row("exact bars / windows, greedy", lambda m: f"{m['reconstruction']['exact_bars']:.3f} / "
                                                      f"{m['reconstruction']['exact_windows']:.3f}")
        for how in models[0].get("reconstruction_search", {}):
            label = how.replace("_", " ") + (" posterior candidates" if how.startswith("searched") else "")
            row(f"{label}: per-step accuracy",
                lambda m, h=how: m["reconstruction_search"][h]["step_accuracy"])
            row(f"{label}: exact bars / windows",
                lambda m, h=how: f"{m['reconstruction_search'][h]['exact_bars']:.3f} / "
                                 f"{m['reconstruction_search'][h]['exact_windows']:.3f}")
    longer = sorted({k for m in models for k in m.get("realism", {}) if k.startswith("tunes_")})
    kinds = ["sample_like_data", "prior", *longer]
    for kind in kinds:
        row(f"{kind}: MGEval mean OA", lambda m, k=kind: m["realism"][k]["mean_oa"])
        for f in FEATURES:
            row(f"{kind}: OA {f}", lambda m, k=kind, f=f: m["realism"][k]["mgeval"][f]["oa"])
        row(f"{kind}: classifier accuracy", lambda m, k=kind: m["realism"][k]["c2st_accuracy"])
        row(f"{kind}: in-key share (data)", lambda m, k=kind: f"{m['realism'][k]['in_key_share']:.3f} "
                                                              f"({m['realism'][k]['in_key_share_real']:.3f})")
    row("KL per example (nats)", lambda m: m["latent"]["kl_per_example"])
    row("active units", lambda m: f"{m['latent']['active_units']}/{m['latent']['z_dim']}")
    return f"Split: {results['split']}, data {results['data_fingerprint'][:12]}\n\n" + "\n".join(rows)
