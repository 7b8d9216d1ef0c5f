"""Realism of every surface the app plays: the measures, the targets, the table.

For each surface (:mod:`training.realism.surfaces`) against its real reference windows:

* **C2ST** (:mod:`training.realism.c2st`): balanced held-out accuracy of a logistic
  regression on the fixed feature vector (:func:`features.classifier_features`) and of a
  ridge classifier on the raw hit/velocity/offset grid (:func:`features.raw_tensor`).
* **MGEval** (:mod:`training.realism.mgeval`) on :func:`features.groove_features`: overlap
  area per feature, their mean and minimum.
* **Voice mix**: hits per voice per 2 bars, generated and real.
* **Micro-timing**: the mean per-pattern std of onset offsets (steps) and the mean swing
  (Groove Toolbox swingness, see :mod:`training.realism.features`), generated and real.

Targets (:data:`TARGETS`): C2ST accuracy within 0.05 of the reconstructions' (the floor; the
knob ends are compared with the same floor though their reference is the windows near the
setting); MGEval mean OA ≥ 0.8 with no feature below 0.6; micro-timing std and swing within
15 % of the reference's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

import numpy as np

from engine.music import attributes as attr_lib
from training.realism import c2st, mgeval
from training.realism import features as feat
from training.realism.surfaces import TRANSITION_STRATEGY, Surface, build_surfaces, knob_reference

TARGETS = {"c2st_over_floor": 0.05, "mgeval_mean_oa": 0.8, "mgeval_min_oa": 0.6,
           "timing_rel_error": 0.15}
MIN_REFERENCE = 20  # fewer real windows near a knob setting than this: no test
MAX_REPEATS = 5     # C2ST subsamples averaged when the generated set outnumbers the reference


class _Cache:
    """Features of the evaluation windows, computed once for all surfaces."""

    def __init__(self, windows: np.ndarray, steps_per_bar: int) -> None:
        self.spb = steps_per_bar
        self.groove, self.names = feat.groove_features(windows, steps_per_bar)
        self.clf = feat.classifier_features(windows, steps_per_bar)
        self.raw = feat.raw_tensor(windows)
        self.hits = feat.hits_per_voice(windows)


def _voice_mix(hits: np.ndarray, bars: int) -> dict[str, float]:
    per_2_bars = hits.mean(axis=0) * 2.0 / bars
    return {n: float(v) for n, v in zip(feat.VOICE_NAMES, per_2_bars, strict=True)}


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b) if b else (0.0 if a == 0 else float("inf"))


def measure_surface(surface: Surface, cache: _Cache, seed: int = 0,
                    folds: int = c2st.FOLDS) -> dict[str, Any]:
    """Every realism figure of one surface (module docstring), targets not yet applied."""
    gen = surface.patterns
    ref = surface.reference
    bars = gen.shape[1] // cache.spb
    out: dict[str, Any] = {"label": surface.label, "n_generated": int(len(gen)),
                           "n_reference": int(len(ref)), **surface.info}
    if not len(gen):  # a knob end no training window reaches
        out["skipped"] = "no patterns"
        return out
    groove_gen, _ = feat.groove_features(gen, cache.spb)
    names = list(cache.names)
    col = {n: j for j, n in enumerate(names)}
    out["voice_hits_per_2_bars"] = _voice_mix(feat.hits_per_voice(gen), bars)
    out["reference_voice_hits_per_2_bars"] = _voice_mix(cache.hits[ref], bars) if len(ref) else None
    out["timing_std"] = float(groove_gen[:, col["timing_std"]].mean())
    out["swing"] = float(groove_gen[:, col["swing"]].mean())
    out["velocity_mean"] = float(groove_gen[:, col["velocity_mean"]].mean())
    if len(ref):
        out["reference_timing_std"] = float(cache.groove[ref, col["timing_std"]].mean())
        out["reference_swing"] = float(cache.groove[ref, col["swing"]].mean())
        out["reference_velocity_mean"] = float(cache.groove[ref, col["velocity_mean"]].mean())
    if len(ref) < MIN_REFERENCE:
        out["skipped"] = f"only {len(ref)} real windows in the reference band (< {MIN_REFERENCE})"
        return out
    # a small reference (a knob end's band) against many generated patterns: average over
    # several balanced subsamples of the generated set, so none of it is left unused
    repeats = int(min(MAX_REPEATS, max(1, len(gen) // max(len(ref), 1))))
    inputs = {"features": (cache.clf[ref], feat.classifier_features(gen, cache.spb), "logistic"),
              "raw": (cache.raw[ref], feat.raw_tensor(gen), "ridge")}

    def test(key: str, groups: np.ndarray) -> dict[str, Any]:
        real, fake, clf = inputs[key]
        return c2st.two_sample_test(real, fake, surface.reference_groups, groups, classifier=clf,
                                    folds=folds, seed=seed, repeats=repeats)

    out["c2st_features"], out["c2st_raw"] = test("features", surface.groups), test("raw", surface.groups)
    if surface.draw_groups is not None:  # the same tests with one group per pattern, for comparison
        out["c2st_one_group_per_pattern"] = {key: test(key, surface.draw_groups)["accuracy"]
                                             for key in inputs}
    mg = mgeval.compare_sets(cache.groove[ref], groove_gen, names, seed=seed)
    out["mgeval"] = {"mean_oa": mg["mean_oa"], "min_oa": mg["min_oa"], "min_feature": mg["min_feature"],
                     "mean_kl": mg["mean_kl"],
                     "oa": {n: v["oa"] for n, v in mg["features"].items()},
                     "oa_real": {n: v["oa_real"] for n, v in mg["features"].items()},
                     "oa_generated": {n: v["oa_generated"] for n, v in mg["features"].items()},
                     "kl": {n: v["kl"] for n, v in mg["features"].items()}}
    return out


def apply_targets(results: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """Mark each surface's targets met or missed (in place: ``result["targets"]``); returns
    the floor and the count of surfaces meeting all."""
    floor = results.get("reconstruction", {})
    floor_f = floor.get("c2st_features", {}).get("accuracy", float("nan"))
    floor_r = floor.get("c2st_raw", {}).get("accuracy", float("nan"))
    met_all = 0
    for res in results.values():
        if "skipped" in res:
            res["targets"] = None
            continue
        t = {
            "c2st_features": res["c2st_features"]["accuracy"] <= floor_f + TARGETS["c2st_over_floor"],
            "c2st_raw": res["c2st_raw"]["accuracy"] <= floor_r + TARGETS["c2st_over_floor"],
            "mgeval_mean_oa": res["mgeval"]["mean_oa"] >= TARGETS["mgeval_mean_oa"],
            "mgeval_min_oa": res["mgeval"]["min_oa"] >= TARGETS["mgeval_min_oa"],
            "timing_std": _rel(res["timing_std"], res["reference_timing_std"]) <= TARGETS["timing_rel_error"],
            "swing": _rel(res["swing"], res["reference_swing"]) <= TARGETS["timing_rel_error"],
        }
        t = {k: bool(v) for k, v in t.items()}
        res["targets"] = {**t, "all": all(t.values())}
        met_all += res["targets"]["all"] and not res.get("data_level", False)
    return {"floor_c2st_features": floor_f, "floor_c2st_raw": floor_r, "surfaces_meeting_all": met_all,
            "surfaces_measured": sum(1 for r in results.values()
                                     if "skipped" not in r and not r.get("data_level", False))}


def data_at_knob_ends(gen: Any, surfaces: list[Surface], training: tuple[np.ndarray, np.ndarray],
                      samples: int, seed: int) -> list[Surface]:
    """The data's own level at each knob end: the training windows whose attribute lies in
    the knob end's reference band (up to ``samples``, grouped by their performances) against
    that end's held-out reference. No model: how far a knob end's few held-out performances
    differ from the training performances at the same setting, which no model trained on the
    training split can close."""
    windows, performances = np.asarray(training[0], np.float32), np.asarray(training[1]).astype(str)
    names = tuple(getattr(gen, "attribute_names", ()))
    if not names or not len(windows):
        return []
    values = attr_lib.compute(windows, names)
    rng = np.random.default_rng(seed + 11)
    out, seen = [], set()
    for s in surfaces:
        knob = s.info.get("knob")
        if knob is None or (knob, s.info["share_of_range"]) in seen:
            continue  # one per knob end: every source of it shares its reference
        seen.add((knob, s.info["share_of_range"]))
        lo, hi = gen.attribute_ranges[knob]
        near = knob_reference(values[:, names.index(knob)], s.info["setting"], hi - lo)
        available = len(near)
        if len(near) > samples:
            near = np.sort(rng.choice(near, samples, replace=False))
        pct = round(s.info["share_of_range"] * 100)
        out.append(Surface(f"knob_{knob}_{pct}_training", f"{knob} at {pct} %: training windows there",
                           windows[near], performances[near], s.reference, s.reference_groups,
                           {"knob": knob, "setting": s.info["setting"], "share_of_range": pct / 100,
                            "source": "training", "reference_band": s.info["reference_band"],
                            "data_level": True, "training_windows_available": int(available)}))
    return out


def picked_at_knob_ends(surfaces: list[Surface], training: tuple[np.ndarray, np.ndarray]) -> list[Surface]:
    """The real training windows the walk picked at each knob end (their recorded hits,
    velocities and timing, not their decodes) against that end's held-out reference. No
    model: a miss shared with these is the walk's choice of grooves (which keeps the playing
    groove's voices), one they meet is the decoder's."""
    windows, performances = np.asarray(training[0], np.float32), np.asarray(training[1]).astype(str)
    out = []
    for s in surfaces:
        if s.picks is None or s.info.get("knob") is None or len(windows) == 0:
            continue
        moved = s.picks[(s.picks >= 0) & (s.picks < len(windows))]
        if len(np.unique(performances[moved])) < c2st.FOLDS:  # too few for the test's grouped folds
            continue
        out.append(Surface(f"{s.name}_picked", f"{s.label}: the training windows it picked",
                           windows[moved], performances[moved], s.reference, s.reference_groups,
                           {**{k: s.info[k] for k in ("knob", "setting", "share_of_range", "source",
                                                       "reference_band")},
                            "data_level": True, "picked": int(len(moved)), "rows": int(len(s.picks))}))
    return out


def evaluate_surfaces(gen: Any, windows: np.ndarray, groups: np.ndarray, samples: int = 500,
                      seed: int = 0, folds: int = c2st.FOLDS,
                      progress: Callable[[str], None] | None = None,
                      tempo_bpm: np.ndarray | None = None,
                      only: Collection[str] | None = None,
                      training: tuple[np.ndarray, np.ndarray] | None = None,
                      transition_strategy: int = TRANSITION_STRATEGY) -> dict[str, Any]:
    """Decode every surface from ``gen`` and measure it against the held-out ``windows``
    ``(W, T, 27)`` grouped by performance ``groups (W,)``. ``tempo_bpm (W,)`` (optional):
    also the data's swing with the toolbox's 25 ms taken at each window's own tempo
    (``data.swing_at_own_tempo``; generated patterns have no tempo, so the surfaces are
    compared at 120 BPM's 0.2 steps). ``transition_strategy``: the transitions' strategy
    (default the app's). ``only``: the surfaces to measure besides the floor
    (:func:`~training.realism.surfaces.build_surfaces`). ``training``: real training windows
    and their performances; a sample of them is measured as one more surface, how far the
    evaluated windows differ from what the model learned (no model involved).

    Returns:
        ``{"surfaces": {name: figures}, "summary": {...}, "settings": {...}, "seconds": s}``;
        see :func:`measure_surface` and :func:`apply_targets` for the figures.
    """
    t0 = time.perf_counter()
    windows = np.asarray(windows, np.float32)
    cache = _Cache(windows, gen.steps_per_bar)
    surfaces = build_surfaces(gen, windows, groups, samples, seed, folds, progress=progress, only=only,
                              performances=None if training is None else np.asarray(training[1]),
                              transition_strategy=transition_strategy)
    if training is not None and len(training[0]):
        floor = surfaces[0]
        n_train = len(training[0])
        pick = np.sort(np.random.default_rng(seed + 7).choice(n_train, min(samples, n_train), replace=False))
        surfaces.insert(1, Surface("training_windows", "Real training windows (the splits' difference; "
                                   "no model)", np.asarray(training[0][pick], np.float32),
                                   np.asarray(training[1])[pick].astype(str), floor.reference,
                                   floor.reference_groups))
        surfaces += data_at_knob_ends(gen, surfaces, training, samples, seed)
        bank = getattr(gen, "groove_bank", None)
        if bank is not None and len(bank) == len(training[0]):  # picks index the map's grooves
            surfaces += picked_at_knob_ends(surfaces, training)
    t_decode = time.perf_counter() - t0
    results = {s.name: measure_surface(s, cache, seed, folds) for s in surfaces}
    summary = apply_targets(results)
    data_groove = {n: float(v) for n, v in zip(cache.names, cache.groove.mean(axis=0), strict=True)}
    own_tempo = None
    if tempo_bpm is not None:
        thr = feat.ms_to_steps(25.0, tempo_bpm, gen.steps_per_bar // 4)
        own_tempo = float(feat.swing(windows, gen.steps_per_bar // 4, thr).mean())
    return {"surfaces": results, "summary": summary,
            "data": {"windows": int(len(windows)), "performances": int(len(np.unique(groups))),
                     "timing_std": data_groove["timing_std"], "swing": data_groove["swing"],
                     "swing_at_own_tempo": own_tempo,
                     "voice_hits_per_2_bars": _voice_mix(cache.hits, windows.shape[1] // gen.steps_per_bar)},
            "settings": {"samples": int(samples), "seed": int(seed), "folds": int(folds),
                         "c2st_l2_features": c2st.L2_FEATURES, "c2st_l2_raw": c2st.L2_RAW,
                         "targets": dict(TARGETS)},
            "seconds": {"decode": round(t_decode, 1), "total": round(time.perf_counter() - t0, 1)}}


def _f(v: Any, digits: int = 2) -> str:
    if v is None:
        return "–"
    if isinstance(v, float) and np.isnan(v):
        return "nan"
    return f"{v:.{digits}f}"


def _mark(targets: Mapping[str, bool] | None, key: str) -> str:
    if targets is None:
        return ""
    return " ✓" if targets[key] else " ✗"


_SHOWN_VOICES = (("kick", "K"), ("snare", "S"), ("closed_hat", "CH"), ("open_hat", "OH"),
                 ("toms", "T"), ("crash", "Cr"), ("ride", "R"))


def _voices(mix: Mapping[str, float] | None) -> str:
    if mix is None:
        return "–"
    toms = mix["low_tom"] + mix["mid_tom"] + mix["high_tom"]
    vals = {**mix, "toms": toms}
    return " ".join(f"{short} {vals[k]:.1f}" for k, short in _SHOWN_VOICES)


def _one_group_each(res: Mapping[str, Any]) -> str:
    both = res.get("c2st_one_group_per_pattern")
    return "" if both is None else f"{_f(both['features'])} / {_f(both['raw'])}"


def _row(res: Mapping[str, Any], with_ci: bool) -> str:
    """A surface's label, sizes and measured cells (C2ST, MGEval, timing), ✓/✗ per target."""
    head = f"| {res['label']} | {res['n_generated']} / {res['n_reference']} |"
    if "skipped" in res:
        return f"{head} {res['skipped']} | | | | | |"
    t = res.get("targets")
    cf, cr, mg = res["c2st_features"], res["c2st_raw"], res["mgeval"]
    ci = f" [{_f(cf['ci95'][0])}, {_f(cf['ci95'][1])}]" if with_ci else ""
    return (f"{head} {_f(cf['accuracy'])}{ci}{_mark(t, 'c2st_features')} | "
            f"{_f(cr['accuracy'])}{_mark(t, 'c2st_raw')} | {_f(mg['mean_oa'])}{_mark(t, 'mgeval_mean_oa')} | "
            f"{_f(mg['min_oa'])} ({mg['min_feature']}){_mark(t, 'mgeval_min_oa')} | "
            f"{_f(res['timing_std'], 3)} / {_f(res['reference_timing_std'], 3)}{_mark(t, 'timing_std')} | "
            f"{_f(res['swing'], 3)} / {_f(res['reference_swing'], 3)}{_mark(t, 'swing')} |")


def to_markdown(report: Mapping[str, Any]) -> str:
    """The surfaces table (one row per surface, ✓/✗ per target) and the voice-mix table."""
    s = report["summary"]
    d = report["data"]
    lines = [
        f"Realism of every surface against {d['windows']} held-out windows from {d['performances']} "
        f"performances ({report['settings']['samples']} patterns per surface, draw seed "
        f"{report['settings']['seed']}, {report['settings']['folds']} folds grouped by performance; "
        f"n real = the reference windows, for a knob end those within ±5 % of the knob's range of "
        f"its setting). "
        f"C2ST = balanced held-out accuracy, 0.5 = indistinguishable; floor (reconstructions): "
        f"features {_f(s['floor_c2st_features'])}, raw {_f(s['floor_c2st_raw'])}; targets: C2ST ≤ floor "
        f"+ {TARGETS['c2st_over_floor']}, MGEval mean OA ≥ {TARGETS['mgeval_mean_oa']} and min ≥ "
        f"{TARGETS['mgeval_min_oa']}, timing std and swing within {TARGETS['timing_rel_error']:.0%} of "
        f"the reference's. Data: timing std {_f(d['timing_std'], 3)} steps, swing {_f(d['swing'], 3)} "
        f"(Groove Toolbox swingness, 25 ms taken as 0.2 steps"
        + (f"; {_f(d['swing_at_own_tempo'], 3)} at each window's own tempo" if d.get("swing_at_own_tempo")
           is not None else "") + "). "
        f"{s['surfaces_meeting_all']} of {s['surfaces_measured']} surfaces meet every target. "
        "A surface drawn from the map of the training grooves (Randomize, the pad, Variation, the "
        "knob ends) is grouped by the training performance each pattern plays; the last column "
        "gives its C2ST with one group per pattern (features / raw), for comparison.",
        "",
        "| surface | n gen / real | C2ST features [95 % CI] | C2ST raw | MGEval mean OA | min OA (feature) "
        "| timing std gen / real | swing gen / real | all | C2ST one group per pattern |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    played = [r for r in report["surfaces"].values() if not r.get("data_level", False)]
    data_level = [r for r in report["surfaces"].values() if r.get("data_level", False)]
    for res in played:
        t = res.get("targets")
        tail = "" if "skipped" in res else f" {'✓' if t and t['all'] else '✗'} | {_one_group_each(res)} |"
        lines.append(_row(res, with_ci=True) + (" | |" if "skipped" in res else tail))
    if data_level:
        lines += ["", "The data's own level at each knob end (no model; not counted above): training "
                  "windows whose attribute lies in the knob end's band, against the same held-out "
                  "windows, grouped by performance. A figure missed here is the split's difference at "
                  "that setting, which a model trained on the training split inherits. On a map of the "
                  "data, also the training windows the walk picked at each end (their recorded notes, "
                  "not their decodes): a miss shared with them is the walk's choice of grooves, one they "
                  "meet is the decoder's.", "",
                  "| knob end | n train / real | C2ST features | C2ST raw | MGEval mean OA "
                  "| min OA (feature) | timing std train / real | swing train / real |",
                  "|---|---|---|---|---|---|---|---|"]
        lines += [_row(res, with_ci=False) for res in data_level]
    lines += ["", "Voice mix, hits per 2 bars (K kick, S snare, CH/OH closed/open hi-hat, T toms, Cr crash, "
              "R ride), generated vs the surface's reference windows:", "",
              "| surface | generated | real |", "|---|---|---|"]
    for res in report["surfaces"].values():
        lines.append(f"| {res['label']} | {_voices(res.get('voice_hits_per_2_bars'))} | "
                     f"{_voices(res.get('reference_voice_hits_per_2_bars'))} |")
    return "\n".join(lines) + "\n"
