"""Evaluation of a checkpoint (and a baseline beside it): reconstruction, knob control,
realism of prior samples, latent usage and decode latency.

Everything goes through :class:`engine.generation.generator.Generator`, so a fader-VAE and the
plain-VAE baseline (knobs = attribute vectors added to z) are measured by the same code
and the same decoding the instrument uses.

Definitions (all hits decoded at temperature 0 = thresholded at p = 0.5 unless noted):

* **Reconstruction, no teacher forcing**: z = posterior mean, knobs = the window's own
  attributes (fader) or none (baseline); per-cell hit accuracy; per-step exact accuracy
  (all 9 voices right); onset precision / recall / F1 over cells; velocity MAE in MIDI
  units and timing MAE in ms on the *true* hits (the decoder's velocity/offset output at
  those cells, hit predicted or not); ms = offset error in steps × 60000 / (bpm × steps
  per beat) at each window's tempo. *Teacher-forced*: the same with the true window fed
  as the decoder's teacher input.
* **Knob control**: ``draws`` latents from the prior (seeded per split and seed,
  :func:`draw_seed`, so validation and test sweeps never share draws) × ``settings``
  knob values evenly spanning the checkpoint's 5–95 % data range; the other knobs are
  held at their defaults (the data medians, or means where the checkpoint stores no
  medians, as the shipped ones). Per knob: Spearman ρ pooled over all (setting, measured attribute)
  pairs; share of draws whose response is non-decreasing; cross-talk = mean over draws
  and over the other attributes of |attribute at the top setting − at the bottom| divided
  by that attribute's 5–95 % range; control range = share of the knob's 5–95 % range
  covered by the draw-averaged response curve; hits flipped per step = mean number of
  grid cells whose hit changes between neighbouring settings (how much of the groove one
  step of the knob rewrites).
* **Knob control on the XY pad** (``control_on_pad``): the same sweeps from the latents
  of a ``pad_points`` × ``pad_points`` grid over the pad's plane (:func:`pad_latents`)
  instead of prior draws: the plane runs through the training latents, which carry more
  of each groove's own attributes than N(0, I) draws, and it is where the app's knobs turn.
* **Knob control on Randomize's latents** (``control_on_randomize``, checkpoints that
  store training codes): the same sweeps from ``draws`` latents drawn as the app's
  Randomize draws them (a stored code plus noise, ``Generator.sample_like_data``).
* **Realism**: prior samples (fader: knobs set to the attribute rows of randomly chosen
  evaluation windows, i.e. a draw from p(z)·p_data(a); baseline: z alone) against the
  evaluation windows: per-attribute 1-D Wasserstein distance divided by the data's std,
  and their mean; at temperature 0 and at temperature 1 (sampled hits). Voice mix: the
  samples' mean hits per window on each voice against the windows', and the
  total-variation distance between the two as shares of all hits (the attributes do not
  say which voices play: a groove of toms and one of hi-hats can share every attribute).
* **Realism of every surface** (``surfaces``; :mod:`training.realism`): reconstructions (the
  floor), Randomize, the XY pad, the prior, Variation, corner blends, transitions and each
  knob at 10 % and 90 % held as the app holds it, each against real held-out windows: a
  classifier two-sample test grouped by performance, MGEval overlap per drum feature, the
  voice mix and micro-timing, with the realism targets. ``realism_only`` measures only these
  (the fast mode for choosing between models on the validation split).
* **Latent**: mean KL(q(z|x) ‖ N(0, I)) in nats per window; active units = dimensions
  whose posterior mean varies across windows by more than 0.01 (Burda et al. 2016).
* **Knobs held** (``control_held*``): the same sweeps decoded as the app decodes them
  when a knob is turned: the generator corrects the model's attribute input until the
  decoded pattern's measured attributes meet the swept knob (on a map of the data, by
  walking it), and holds the other attributes where the draw's own groove (its open-loop
  decode at the default knobs) has them, moved along the data's trend as far as the
  generator's ``WalkSettings.follow`` says (:mod:`engine.generation.data_trend`). The plain
  ``control*`` figures are the model's own (open-loop) response to its attribute input.
* **Latency**: ``Generator.decode`` of one z to one Pattern, torch on one thread: the
  model's one decode (``latency``) and the app's decode holding every knob with the first
  one turned (``latency_held``, up to 1 + 2 × iterations model calls).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from engine.generation.knobs import KnobState
from engine.music import attributes as attr_lib
from engine.music.drums import NUM_VOICES, Voice
from models.pathnames import shown

# -- settings --------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalConfig:
    """One evaluation run's settings (saved with the results)."""

    split: str = "test"
    draws: int = 500            # prior latents per knob sweep
    settings: int = 9           # knob values per sweep, spanning the data's 5-95 % range
    realism_samples: int = 2000
    latency_runs: int = 300
    batch_size: int = 1024
    seed: int = 0
    pad_points: int = 23        # the same sweeps on a pad_points² grid of the XY pad (0 = off)
    held: bool = True           # also sweep the knobs as the app turns them (held by the generator)
    surfaces: bool = True       # realism of every surface the app plays (training.realism)
    surface_samples: int = 1000  # generated patterns per surface
    realism_only: bool = False  # only the surfaces' realism (the fast mode for model selection)
    # the knobs nobody set stay where the groove had them while one turns (the app's *Other
    # knobs follow the data* off) instead of following the data's trend
    knobs_alone: bool = False
    # intensity and laid back edit the playing groove's feel instead of walking the data (the
    # app's *Feel knobs keep the groove*)
    feel_keeps: bool = False
    # density and hat busyness add or remove the playing groove's hits instead of walking the
    # data (the app's *Density and hats keep the groove*)
    hit_keeps: bool = False


# -- pure metrics ----------------------------------------------------------------------


def reconstruction_metrics(true: np.ndarray, hits: np.ndarray, velocities: np.ndarray,
                           offsets: np.ndarray, tempo_bpm: np.ndarray,
                           steps_per_bar: int = 16) -> dict[str, float]:
    """Reconstruction figures of a batch.

    Args:
        true: ``(N, T, 27)`` codec arrays of the targets.
        hits: ``(N, T, 9)`` predicted hits (bool-like).
        velocities, offsets: ``(N, T, 9)`` predicted regressions (not masked by hits).
        tempo_bpm: ``(N,)`` tempo of each window (for the timing error in ms).
        steps_per_bar: grid resolution (4 beats per bar).

    Returns:
        ``hit_accuracy``, ``step_accuracy``, ``precision``, ``recall``, ``f1``,
        ``velocity_mae_midi``, ``timing_mae_ms`` (NaN where there is no true hit).
    """
    n = NUM_VOICES
    t = np.asarray(true, np.float64)
    th = t[..., :n] > 0.5
    ph = np.asarray(hits) > 0.5
    if ph.shape != th.shape:
        raise ValueError(f"hits shape {ph.shape} does not match targets {th.shape}")
    tp = float(np.sum(th & ph))
    fp = float(np.sum(~th & ph))
    fn = float(np.sum(th & ~ph))
    precision = tp / (tp + fp) if tp + fp else (1.0 if fn == 0 else 0.0)
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    ms_per_step = 60000.0 / (np.asarray(tempo_bpm, np.float64) * (steps_per_bar / 4))  # (N,)
    vel_err = np.abs(np.asarray(velocities, np.float64) - t[..., n:2 * n]) * 127.0
    off_err = np.abs(np.asarray(offsets, np.float64) - t[..., 2 * n:]) * ms_per_step[:, None, None]
    n_true = th.sum()
    return {
        "hit_accuracy": float(np.mean(th == ph)),
        "step_accuracy": float(np.mean(np.all(th == ph, axis=2))),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "velocity_mae_midi": float(vel_err[th].mean()) if n_true else float("nan"),
        "timing_mae_ms": float(off_err[th].mean()) if n_true else float("nan"),
    }


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of a 1-D array, ties sharing their average rank."""
    x = np.asarray(x, np.float64).ravel()
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(x.size, np.float64)
    ranks[order] = np.arange(1, x.size + 1, dtype=np.float64)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's ρ (Pearson correlation of average ranks); 0 when either side is constant."""
    rx, ry = average_ranks(x), average_ranks(y)
    if rx.size != ry.size:
        raise ValueError(f"sizes differ: {rx.size} vs {ry.size}")
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = np.sqrt(np.sum(rx * rx) * np.sum(ry * ry))
    return float(np.sum(rx * ry) / denom) if denom > 0 else 0.0


def monotone_share(responses: np.ndarray, tol: float = 1e-9) -> float:
    """Share of rows (draws) of ``(D, S)`` that never decrease along the settings."""
    r = np.asarray(responses, np.float64)
    return float(np.mean(np.all(np.diff(r, axis=1) >= -tol, axis=1)))


def reversals(responses: np.ndarray, tol: float = 1e-9) -> dict[str, Any]:
    """Where knob sweeps ``(D, S)`` go backwards: the share of draws that decrease between
    settings i and i+1 (``S - 1`` values) and the median size of a decrease (raw units, 0 if none)."""
    steps = np.diff(np.asarray(responses, np.float64), axis=1)
    down = steps < -tol
    return {"reversal_share_by_step": down.mean(axis=0).tolist(),
            "median_reversal": float(np.median(-steps[down])) if down.any() else 0.0}


def coverage(curve: np.ndarray, low: float, high: float) -> float:
    """Share of [low, high] covered by the span [min(curve), max(curve)]."""
    if high <= low:
        return float("nan")
    lo, hi = max(float(np.min(curve)), low), min(float(np.max(curve)), high)
    return max(0.0, hi - lo) / (high - low)


def voice_mix(hits: np.ndarray) -> np.ndarray:
    """Mean hits per window on each voice, ``(9,)``, of hit grids ``(N, T, 9)``."""
    return np.asarray(hits, bool).sum(axis=1).mean(axis=0).astype(np.float64)


def data_voice_mix(data: EvalData) -> np.ndarray:
    """The evaluation windows' hits per window by voice, ``(9,)``."""
    return voice_mix(np.asarray(data.patterns)[..., :NUM_VOICES] > 0.5)


def voice_mix_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total-variation distance between two voice mixes as shares of their hits, in
    [0, 1]: 0 = the same voices in the same proportions, 1 = no voice in common."""
    pa, pb = a / max(a.sum(), 1e-12), b / max(b.sum(), 1e-12)
    return float(0.5 * np.abs(pa - pb).sum())


def wasserstein_1d(a: np.ndarray, b: np.ndarray) -> float:
    """1-D Wasserstein-1 distance between two empirical distributions (∫|F_a − F_b|)."""
    a, b = np.sort(np.asarray(a, np.float64).ravel()), np.sort(np.asarray(b, np.float64).ravel())
    if a.size == 0 or b.size == 0:
        raise ValueError("both samples must be non-empty")
    grid = np.concatenate([a, b])
    grid.sort(kind="mergesort")
    widths = np.diff(grid)
    fa = np.searchsorted(a, grid[:-1], side="right") / a.size
    fb = np.searchsorted(b, grid[:-1], side="right") / b.size
    return float(np.sum(np.abs(fa - fb) * widths))


def latent_usage(mu: np.ndarray, logvar: np.ndarray, threshold: float = 0.01) -> dict[str, Any]:
    """Mean KL(q(z|x) ‖ N(0, I)) in nats and the active units (Cov_x(E[z|x]) > threshold)."""
    mu, logvar = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    kl = 0.5 * np.sum(mu * mu + np.exp(logvar) - logvar - 1.0, axis=1)
    var = mu.var(axis=0)
    return {"kl_nats": float(kl.mean()), "active_units": int(np.sum(var > threshold)),
            "z_dim": int(mu.shape[1])}


def latency_ms(fn: Callable[[], Any], runs: int, warmup: int = 20) -> dict[str, float]:
    """Median and p99 wall time of ``fn()`` in ms."""
    for _ in range(warmup):
        fn()
    times = np.empty(runs)
    for i in range(runs):
        t0 = time.perf_counter()
        fn()
        times[i] = (time.perf_counter() - t0) * 1e3
    return {"median_ms": float(np.median(times)), "p99_ms": float(np.percentile(times, 99)),
            "runs": int(runs)}


# -- data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalData:
    """The windows evaluated: ``patterns (N, T, 27)``, ``tempo_bpm (N,)``, which split;
    ``groups (N,)``: each window's performance (its MIDI file), None = unknown."""

    patterns: np.ndarray
    tempo_bpm: np.ndarray
    split: str
    sources: int
    fingerprint: str
    groups: np.ndarray | None = None
    # real training windows and their performances: how far the evaluated split differs
    # from what the model learned (a surface of the realism report)
    training: tuple[np.ndarray, np.ndarray] | None = None

    def performance_groups(self) -> np.ndarray:
        """``(N,)`` str: the windows' performances, or one group per window when unknown."""
        if self.groups is None:
            return np.array([f"window{i}" for i in range(len(self.patterns))])
        return np.asarray(self.groups).astype(str)


def load_eval_data(data_dir: str | Path, split: str, *, steps: int, steps_per_bar: int,
                   cache_dir: str | Path | None = None) -> EvalData:
    """Windows of a folder of drum MIDI via the dataset builder.

    A folder without a usable ``info.csv`` has every window marked 'train'; then all
    windows are evaluated (``split`` reads ``"all (no info.csv)"``).

    Raises:
        DatasetError: no usable window.
    """
    from engine.errors import DatasetError
    from training.dataset import build_dataset, read_splits

    ds = build_dataset(Path(data_dir), bars=steps // steps_per_bar, hop_bars=1,
                       steps_per_bar=steps_per_bar, cache_dir=cache_dir)
    label = split
    if read_splits(Path(data_dir)) is None:  # no (usable) info.csv: every window is 'train'
        sub, label = ds, "all (no info.csv)"
    else:
        sub = ds.subset(split)
    if len(sub.patterns) == 0:
        raise DatasetError(f"{data_dir}: no {split!r} windows to evaluate")
    return EvalData(np.asarray(sub.patterns, np.float32), np.asarray(sub.tempo_bpm, np.float64),
                    label, len(set(np.asarray(sub.source).tolist())), str(ds.fingerprint),
                    np.asarray(sub.source).astype(str))


# -- model-level evaluation ------------------------------------------------------------


def _chunks(n: int, size: int) -> list[slice]:
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def evaluate_reconstruction(gen: Any, data: EvalData, batch_size: int = 1024) -> dict[str, Any]:
    """Reconstruction without teacher forcing, and teacher-forced where the model allows."""
    x = data.patterns
    names = gen.attribute_names
    parts: dict[str, list[np.ndarray]] = {"free": [], "tf": []}
    mus, logvars = [], []
    teacher_ok = True
    for sl in _chunks(len(x), batch_size):
        xb = x[sl]
        mu, logvar = gen.encode_batch(xb)
        mus.append(mu)
        logvars.append(logvar)
        knobs = attr_lib.compute(xb, names) if names else None
        use_knobs = gen.model_kind != "vae"
        out = gen.decode_batch(mu, knobs, use_knobs=use_knobs)
        parts["free"].append(np.concatenate([out.hits, out.velocities, out.offsets], axis=2))
        if teacher_ok:
            try:
                tf = gen.decode_batch(mu, knobs, teacher=xb, use_knobs=use_knobs)
            except (NotImplementedError, TypeError, ValueError):
                teacher_ok = False
            else:
                parts["tf"].append(np.concatenate([tf.hits, tf.velocities, tf.offsets], axis=2))
    result: dict[str, Any] = {}
    n = NUM_VOICES
    for key, name in (("free", "reconstruction"), ("tf", "reconstruction_teacher_forced")):
        if key == "tf" and not teacher_ok:
            result[name] = None
            continue
        pred = np.concatenate(parts[key])
        result[name] = reconstruction_metrics(x, pred[..., :n], pred[..., n:2 * n], pred[..., 2 * n:],
                                              data.tempo_bpm, gen.steps_per_bar)
    result["latent"] = latent_usage(np.concatenate(mus), np.concatenate(logvars))
    return result


def draw_seed(cfg: EvalConfig) -> int:
    """The seed of the prior draws (knob sweeps, realism) for this split and ``cfg.seed``.

    The knob figures sweep prior draws, not the split's windows, so with one seed for all
    splits a validation run would measure the test run's very draws. Each split gets its
    own: choosing a checkpoint on validation knob figures leaves the test ones unseen."""
    return zlib.crc32(f"{cfg.split}/{cfg.seed}".encode())


def _decode_attributes(gen: Any, z: np.ndarray, knobs: np.ndarray | None, batch_size: int,
                       temperature: float = 0.0, seed: int | None = None,
                       targets: np.ndarray | None = None, turning: str | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Attributes ``(B, A)`` measured on the patterns decoded from ``z`` with ``knobs``, and
    those patterns' hit grids ``(B, T, 9)`` bool. ``targets`` (``(B, A)``, NaN = free): decode
    as the app does, meeting them with ``turning`` turned (``Generator.decode_targets``);
    None: the model's open-loop decode."""
    attrs, hits = [], []
    for i, sl in enumerate(_chunks(len(z), batch_size)):
        kb = None if knobs is None else knobs[sl]
        s = None if seed is None else seed + i
        if targets is not None:
            out = gen.decode_targets(z[sl], kb, targets[sl], turning=turning,
                                     temperature=temperature, seed=s)
        else:
            out = gen.decode_batch(z[sl], kb, temperature=temperature, seed=s)
        dec = out.to_array()
        attrs.append(attr_lib.compute(dec, gen.attribute_names))
        hits.append(np.asarray(dec)[..., :NUM_VOICES] > 0.5)
    return np.concatenate(attrs), np.concatenate(hits)


def pad_latents(gen: Any, points: int) -> np.ndarray:
    """``(points², Z)`` latents on an even ``points`` × ``points`` grid over the XY pad's
    [-1, 1]² (the checkpoint's map of the data, else its latent plane): where the app's knobs are turned."""
    xs = np.linspace(-1.0, 1.0, points)
    x, y = np.meshgrid(xs, xs)
    return gen.pad_to_z(x.ravel(), y.ravel())


def evaluate_control(gen: Any, cfg: EvalConfig, z: np.ndarray | None = None,
                     hold: bool = False, data_mix: np.ndarray | None = None) -> dict[str, Any]:
    """Knob sweeps (module docstring): per knob ρ, monotone share, cross-talk, range; from
    ``cfg.draws`` prior draws, or from the latents ``z (D, Z)`` given; ``hold``: with the
    generator holding the knobs (the app's decode) instead of the model's open loop.
    ``data_mix`` (the data's hits per window by voice): also the voice-mix distance of the
    lowest and of the highest setting's decodes to it (which drums a knob's ends play)."""
    names = gen.attribute_names
    ranges = gen.attribute_ranges
    defaults = np.array([gen.attribute_defaults[n] for n in names])
    span = np.array([ranges[n][1] - ranges[n][0] for n in names])
    if z is None:
        z = gen.sample(cfg.draws, seed=draw_seed(cfg))
    draws = len(z)
    z_rep = np.repeat(z, cfg.settings, axis=0)  # draw-major: (D*S, Z)
    anchor = None
    if hold:  # the other attributes are held where each draw's own groove has them
        # the groove as it plays: on a map of the data each latent with its own attributes
        own = None if getattr(gen, "has_data_map", False) else np.tile(defaults, (draws, 1))
        anchor, _ = _decode_attributes(gen, z, own, cfg.batch_size)
        anchor = np.repeat(anchor, cfg.settings, axis=0)
    fresh = KnobState.for_model(ranges, gen.attribute_defaults)  # a new groove, no knob set
    trend = getattr(gen, "data_trend", None)
    result: dict[str, Any] = {}
    for k, name in enumerate(names):
        settings = np.linspace(ranges[name][0], ranges[name][1], cfg.settings)
        knobs = np.tile(defaults, (draws * cfg.settings, 1))
        knobs[:, k] = np.tile(settings, draws)
        targets = None
        if anchor is not None:  # the app's knob rules: turned from each draw's own groove
            targets = np.stack([fresh.turn(name, v, dict(zip(names, row, strict=True))).targets(trend)
                                for row, v in zip(anchor, knobs[:, k], strict=True)])
        measured, hits = _decode_attributes(gen, z_rep, knobs, cfg.batch_size, targets=targets,
                                            turning=name)
        measured = measured.reshape(draws, cfg.settings, len(names))
        grid = hits.reshape(draws, cfg.settings, -1)
        flips = (grid[:, 1:] != grid[:, :-1]).sum(axis=2)  # (D, S-1) hits changed per step
        resp = measured[:, :, k]
        others = [j for j in range(len(names)) if j != k]
        cross = {names[j]: float(np.mean(np.abs(measured[:, -1, j] - measured[:, 0, j])) / span[j])
                 for j in others}
        result[name] = {
            "settings": settings.tolist(),
            "mean_response": resp.mean(axis=0).tolist(),
            "spearman": spearman(np.tile(settings, draws), resp.ravel()),
            "spearman_per_draw_mean": float(np.mean([spearman(settings, r) for r in resp])),
            "monotone_share": monotone_share(resp),
            **reversals(resp),
            "crosstalk": float(np.mean(list(cross.values()))) if cross else 0.0,
            "crosstalk_by_attribute": cross,
            "range": coverage(resp.mean(axis=0), *ranges[name]),
            "hits_flipped_per_step": float(flips.mean()),
            **({} if data_mix is None else {
                "voice_mix_distance_low": voice_mix_distance(voice_mix(grid[:, 0].reshape(
                    draws, -1, NUM_VOICES)), data_mix),
                "voice_mix_distance_high": voice_mix_distance(voice_mix(grid[:, -1].reshape(
                    draws, -1, NUM_VOICES)), data_mix)}),
        }
    return result


def evaluate_realism(gen: Any, data: EvalData, cfg: EvalConfig,
                     data_mix: np.ndarray | None = None) -> dict[str, Any]:
    """Attribute distributions of prior samples vs the evaluation windows."""
    names = gen.attribute_names
    data_attrs = attr_lib.compute(data.patterns, names)
    seed = draw_seed(cfg)
    rng = np.random.default_rng(seed + 1)
    z = gen.sample(cfg.realism_samples, seed=seed + 2)
    knobs = None
    if gen.model_kind != "vae":
        knobs = data_attrs[rng.integers(0, len(data_attrs), cfg.realism_samples)]
    std = data_attrs.std(axis=0)
    data_mix = data_voice_mix(data) if data_mix is None else data_mix
    result: dict[str, Any] = {"data_voice_hits": _by_voice(data_mix)}
    draws = [("greedy", z, 0.0), ("sampled", z, 1.0)]
    if getattr(gen, "has_anchors", False):  # what the app's Randomize draws, decoded greedily
        draws.append(("randomize", gen.sample_like_data(cfg.realism_samples, seed=seed + 4), 0.0))
    for label, zz, temp in draws:
        sample_attrs, hits = _decode_attributes(gen, zz, knobs, cfg.batch_size, temperature=temp,
                                                seed=seed + 3)
        w = {n: wasserstein_1d(sample_attrs[:, j], data_attrs[:, j]) / (std[j] if std[j] > 0 else 1.0)
             for j, n in enumerate(names)}
        mix = voice_mix(hits)
        result[label] = {"wasserstein_over_std": w, "mean": float(np.mean(list(w.values()))),
                         "voice_hits": _by_voice(mix),
                         "voice_mix_distance": voice_mix_distance(mix, data_mix)}
    return result


def _by_voice(mix: np.ndarray) -> dict[str, float]:
    return {v.name.lower(): float(mix[v]) for v in Voice}


def evaluate_latency(gen: Any, runs: int, hold: bool = False) -> dict[str, float]:
    """One z to one Pattern: the model's decode, or (``hold``) the app's after a knob turn,
    holding every knob (at their defaults, density turned)."""
    z = gen.sample(1, seed=0)[0]
    if not hold:
        return latency_ms(lambda: gen.decode(z), runs)
    knobs = gen.attribute_defaults
    targets = np.array([knobs[n] for n in gen.attribute_names])
    turning = gen.attribute_names[0] if gen.attribute_names else None
    return latency_ms(lambda: gen.decode(z, knobs, targets=targets, turning=turning), runs)


def evaluate_surfaces(gen: Any, data: EvalData, cfg: EvalConfig) -> dict[str, Any]:
    """Realism of every surface the app plays against the evaluation windows
    (:func:`training.realism.scorecard.evaluate_surfaces`), ``cfg.surface_samples`` each."""
    from training.realism.scorecard import evaluate_surfaces as measure

    return measure(gen, data.patterns, data.performance_groups(), samples=cfg.surface_samples,
                   seed=draw_seed(cfg), tempo_bpm=data.tempo_bpm, training=data.training)


def evaluate_generator(gen: Any, data: EvalData, cfg: EvalConfig) -> dict[str, Any]:
    """Every figure for one model."""
    t0 = time.perf_counter()
    out: dict[str, Any] = {"model_kind": gen.model_kind, "z_dim": gen.z_dim,
                           "attributes": list(gen.attribute_names)}
    if cfg.realism_only:
        out["surfaces"] = evaluate_surfaces(gen, data, cfg)
        out["eval_seconds"] = round(time.perf_counter() - t0, 1)
        return out
    out.update(evaluate_reconstruction(gen, data, cfg.batch_size))
    data_mix = data_voice_mix(data)
    where: list[tuple[str, np.ndarray | None]] = [("", None)]
    if cfg.pad_points:
        where.append(("_on_pad", pad_latents(gen, cfg.pad_points)))
    if getattr(gen, "has_anchors", False):  # where Randomize puts the musician
        where.append(("_on_randomize", gen.sample_like_data(cfg.draws, seed=draw_seed(cfg) + 5)))
    for suffix, z in where:
        out["control" + suffix] = evaluate_control(gen, cfg, z=z, data_mix=data_mix)
        if cfg.held:
            out["control_held" + suffix] = evaluate_control(gen, cfg, z=z, hold=True,
                                                            data_mix=data_mix)
    out["realism"] = evaluate_realism(gen, data, cfg, data_mix)
    out["latency"] = evaluate_latency(gen, cfg.latency_runs)
    if cfg.held:
        out["latency_held"] = evaluate_latency(gen, cfg.latency_runs, hold=True)
    if cfg.surfaces:
        out["surfaces"] = evaluate_surfaces(gen, data, cfg)
    out["eval_seconds"] = round(time.perf_counter() - t0, 1)
    return out


def run_evaluation(checkpoint: str | Path, data_dir: str | Path, cfg: EvalConfig,
                   baseline: str | Path | None = None,
                   cache_dir: str | Path | None = None) -> dict[str, Any]:
    """Load the checkpoint(s), the evaluation windows, and measure everything."""
    import torch

    from engine.generation.generator import Generator

    torch.set_num_threads(1)
    gens = {"model": Generator.from_checkpoint(checkpoint)}
    if baseline is not None:
        gens["baseline"] = Generator.from_checkpoint(baseline)
    if cfg.knobs_alone:
        for gen in gens.values():
            gen.walk_settings = replace(gen.walk_settings, follow=0.0)
    if cfg.feel_keeps or cfg.hit_keeps:
        from engine.generation.expression_edit import kept_knobs

        for gen in gens.values():
            kept = kept_knobs(gen.walk_settings.keep, gen.attribute_names, cfg.feel_keeps, cfg.hit_keeps)
            gen.walk_settings = replace(gen.walk_settings, keep=kept)
    g0 = gens["model"]
    data = load_eval_data(data_dir, cfg.split, steps=g0.steps, steps_per_bar=g0.steps_per_bar,
                          cache_dir=cache_dir)
    if cfg.surfaces and data.split in ("validation", "test"):
        train = load_eval_data(data_dir, "train", steps=g0.steps, steps_per_bar=g0.steps_per_bar,
                               cache_dir=cache_dir)
        data = replace(data, training=(train.patterns, train.performance_groups()))
    report: dict[str, Any] = {
        "settings": asdict(cfg),
        "data": {"dir": shown(data_dir), "split": data.split, "windows": int(len(data.patterns)),
                 "files": data.sources, "fingerprint": data.fingerprint},
        "checkpoints": {"model": shown(checkpoint),
                        "baseline": None if baseline is None else shown(baseline)},
        "models": {},
    }
    for label, gen in gens.items():
        if (gen.steps, gen.steps_per_bar) != (g0.steps, g0.steps_per_bar):
            raise ValueError(f"{label} decodes {gen.steps} steps, the model {g0.steps}")
        report["models"][label] = evaluate_generator(gen, data, cfg)
    return report


# -- the table -------------------------------------------------------------------------

TARGETS = {
    "step_accuracy": "≥ 0.96", "f1": "≥ 0.97", "velocity_mae_midi": "≤ 8", "timing_mae_ms": "≤ 6",
    "spearman": "≥ 0.95", "monotone_share": "≥ 0.90", "crosstalk": "≤ 0.10", "range": "≥ 0.80",
    "p99_ms": "≤ 2",
}


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return "nan" if np.isnan(v) else f"{v:.{digits}f}"
    return str(v)


_KNOB_FIGURES = (("spearman", "Spearman ρ"), ("monotone_share", "monotone share"),
                 ("crosstalk", "cross-talk"), ("range", "control range"))
_VOICE_FIGURES = (("voice_mix_distance_low", "voice mix vs the data (TV), lowest setting"),
                  ("voice_mix_distance_high", "voice mix vs the data (TV), highest setting"))


def _rows(report: Mapping[str, Any]) -> list[tuple[str, str, Sequence[Any]]]:
    """(label, target key, one value per model) rows of the table."""
    models = list(report["models"].values())

    def get(path: Sequence[str]) -> list[Any]:
        vals = []
        for m in models:
            v: Any = m
            for p in path:
                v = v.get(p) if isinstance(v, Mapping) else None
            vals.append(v)
        return vals

    rows = []
    for sec, label in (("reconstruction", "no teacher forcing"),
                       ("reconstruction_teacher_forced", "teacher-forced")):
        for key, name in (("hit_accuracy", "hit accuracy (per cell)"),
                          ("step_accuracy", "exact step accuracy (9 voices)"),
                          ("precision", "onset precision"), ("recall", "onset recall"),
                          ("f1", "onset F1"), ("velocity_mae_midi", "velocity MAE (MIDI)"),
                          ("timing_mae_ms", "timing MAE (ms)")):
            target = key if sec == "reconstruction" else ""
            rows.append((f"Reconstruction, {label}: {name}", target, get([sec, key])))
    knobs = list(report["models"]["model"]["control"])
    for section, how in (("control", "Knob {}"), ("control_held", "Knob {} held (the app's knobs)")):
        if not any(section in m for m in models):
            continue
        for knob in knobs:
            for key, name in (*_KNOB_FIGURES, ("hits_flipped_per_step", "hits flipped per step"),
                              *_VOICE_FIGURES):
                rows.append((f"{how.format(knob)}: {name}", key if key in TARGETS else "",
                             get([section, knob, key])))
    for section, where in (("control_on_pad", "on the XY pad's latents"),
                           ("control_on_randomize", "on Randomize's latents"),
                           ("control_held_on_pad", "held, on the XY pad's latents"),
                           ("control_held_on_randomize", "held, on Randomize's latents")):
        if any(section in m for m in models):
            for knob in knobs:  # the targets are defined on the prior draws above
                for key, name in (*_KNOB_FIGURES, *_VOICE_FIGURES):
                    rows.append((f"Knob {knob} {where}: {name}", "", get([section, knob, key])))
    for label in ("greedy", "sampled", "randomize"):
        if label == "randomize" and not any("randomize" in m.get("realism", {}) for m in models):
            continue
        what = "Randomize (near the training codes, greedy)" if label == "randomize" \
            else f"Prior samples ({label})"
        for attr in knobs:
            rows.append((f"{what}: W1/std {attr}", "",
                         get(["realism", label, "wasserstein_over_std", attr])))
        rows.append((f"{what}: mean W1/std", "", get(["realism", label, "mean"])))
        rows.append((f"{what}: voice-mix distance to the data (TV)", "",
                     get(["realism", label, "voice_mix_distance"])))
        for voices, vname in (_TOMS, "tom"), (("closed_hat",), "closed hi-hat"):
            rows.append((f"{what}: {vname} hits per window (data "
                         f"{_fmt(_voice_sum(_data_hits(models), voices), 2)})", "",
                         [_voice_sum(h, voices) for h in get(["realism", label, "voice_hits"])]))
    rows.append(("KL (nats per window)", "", get(["latent", "kl_nats"])))
    rows.append(("Active latent units", "", [f"{a} / {z}" for a, z in zip(
        get(["latent", "active_units"]), get(["latent", "z_dim"]), strict=True)]))
    rows.append(("Decode latency, batch 1, 1 thread: median (ms)", "", get(["latency", "median_ms"])))
    rows.append(("Decode latency, batch 1, 1 thread: p99 (ms)", "p99_ms", get(["latency", "p99_ms"])))
    if any("latency_held" in m for m in models):
        rows.append(("Decode holding every knob, one turned (the app's), batch 1, 1 thread: median (ms)", "",
                     get(["latency_held", "median_ms"])))
        rows.append(("Decode holding every knob, one turned (the app's), batch 1, 1 thread: p99 (ms)", "",
                     get(["latency_held", "p99_ms"])))
    return rows


_TOMS = ("low_tom", "mid_tom", "high_tom")


def _data_hits(models: Sequence[Mapping[str, Any]]) -> Mapping[str, float] | None:
    """The evaluation windows' hits per window by voice (the same for every model)."""
    return next((m["realism"]["data_voice_hits"] for m in models
                 if "data_voice_hits" in m.get("realism", {})), None)


def _voice_sum(hits: Mapping[str, float] | None, voices: Sequence[str]) -> float | None:
    return None if hits is None else float(sum(hits[v] for v in voices))


def _surfaces_markdown(report: Mapping[str, Any]) -> str:
    """The realism table of each model that has one (training.realism.scorecard)."""
    from training.realism.scorecard import to_markdown as surfaces_table

    parts = []
    for label, m in report["models"].items():
        if m.get("surfaces"):
            parts.append(f"### Realism of every surface: {label} ({m['model_kind']})\n\n"
                         + surfaces_table(m["surfaces"]))
    return "\n".join(parts)


def to_markdown(report: Mapping[str, Any]) -> str:
    """One Markdown table, the model and the baseline side by side, with the targets; then
    each model's realism table (only those with ``realism_only``)."""
    if report["settings"].get("realism_only"):
        d = report["data"]
        return (f"Data: `{d['dir']}`, split {d['split']}: {d['windows']} windows from {d['files']} "
                f"files.\n\n" + _surfaces_markdown(report))
    return _full_markdown(report) + ("\n" + _surfaces_markdown(report)
                                     if any(m.get("surfaces") for m in report["models"].values()) else "")


def _full_markdown(report: Mapping[str, Any]) -> str:
    labels = list(report["models"])
    head = "| metric | " + " | ".join(
        f"{lab} ({report['models'][lab]['model_kind']})" for lab in labels) + " | target |"
    lines = [
        f"Data: `{report['data']['dir']}`, split {report['data']['split']}: "
        f"{report['data']['windows']} windows from {report['data']['files']} files. "
        f"Knob sweeps: {report['settings']['draws']} prior draws × {report['settings']['settings']} "
        "settings over the data's 5–95 % range, other knobs at their defaults (baseline: the "
        "knob's attribute vector added to z); *on the XY pad's latents*: the same sweeps from "
        f"a {report['settings'].get('pad_points', 0)}² grid over the pad's plane instead of "
        "prior draws; *on Randomize's latents*: from as many draws as Randomize makes them; "
        "*held (the app's knobs)*: the same sweeps decoded as the app decodes a turned knob, "
        "the generator correcting the model's attribute input until the pattern's measured "
        "attribute meets the knob and the other attributes stay where the draw's own groove "
        "has them, or follow the data's trend from there on a map of the data "
        "(engine/generation/knob_feedback.py, data_trend.py); the rows without it are the model's own "
        "response. "
        "Prior samples: "
        f"{report['settings']['realism_samples']} z ~ N(0, I) (fader knobs set to the attributes of "
        "randomly drawn evaluation windows), attribute W1 distance to the evaluation windows / "
        "the data's std; greedy = hits at p > 0.5, sampled = Bernoulli hits; Randomize: "
        "what the app's Randomize draws (a training code stored in the checkpoint plus "
        "Gaussian noise), same knobs, greedy.",
        "", head, "|---" * (len(labels) + 2) + "|",
    ]
    for label, target_key, values in _rows(report):
        cells = " | ".join(_fmt(v) for v in values)
        lines.append(f"| {label} | {cells} | {TARGETS.get(target_key, '')} |")
    return "\n".join(lines) + "\n"
