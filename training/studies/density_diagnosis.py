"""What gives the density knob at 90 % away: one feature at a time, and what the decoder changes.

The density knob at 90 % from Randomize is told from real held-out windows at that density
more often than the target allows (on test; from the pad it meets there). This study
measures, on the realism report's own draws (:func:`training.realism.surfaces.build_surfaces`
with the same seed: Randomize's latents, the pad's grid, the knob held as the app holds it,
the reference windows within ±5 % of the setting), the surfaces at that knob end: the
decodes from Randomize and from the pad, the recorded training windows the walk picked for
each, the training windows at that density (no model), and the same walks decoded without
the corrections of the other held knobs' inputs (``WalkSettings.correct`` 0). For each it
reports the classifier two-sample test (:mod:`training.realism.c2st`, grouped folds and
repeats as the report's) on the whole feature vector, on each feature alone and on each
family of features alone and left out, the voice mix and the per-voice velocities and
micro-timing; and, row by row, what the decoder changes in the picked grooves (hits added
and dropped per voice, velocity and offset on the hits both keep).

Run (validation split; the report's seed 2 and a fresh seed 3)::

    python -m training.studies.density_diagnosis --checkpoint checkpoints/default.pt \\
        --data ../shared/data/groove --split validation --seeds 2 3 --out docs/studies/density_diagnosis
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

import numpy as np

from training.realism import c2st
from training.realism import features as feat
from training.studies import drum_common as dc
from training.studies import skeleton

MODULE = "training.studies.density_diagnosis"
KNOB = "density"
END = 0.9
SOURCES = ("randomize", "pad")


def feature_names(steps: int) -> tuple[str, ...]:
    """Names of :func:`features.classifier_features`' columns, in order."""
    groove = ("voices_used", "step_density", "velocity_mean", "velocity_std", "timing_mean", "timing_std",
              "swing", "laidbackness", "syncopation_kick", "syncopation_snare", "syncopation_hats")
    return (groove + tuple(f"hits_{v}" for v in feat.VOICE_NAMES)
            + tuple(f"velocity_{v}" for v in feat.VOICE_NAMES)
            + tuple(f"offset_{v}" for v in feat.VOICE_NAMES) + ("abs_offset",)
            + tuple(f"onsets_step_{t}" for t in range(steps)))


def families(names: tuple[str, ...]) -> dict[str, list[int]]:
    """Column indices of each feature family: voice mix, velocities, micro-timing, onset
    profile, the rest (voices used, step density, syncopation)."""
    def pick(test: Any) -> list[int]:
        return [j for j, n in enumerate(names) if test(n)]

    timing = {"timing_mean", "timing_std", "swing", "laidbackness", "abs_offset"}
    fam = {"voice mix": pick(lambda n: n.startswith("hits_")),
           "velocities": pick(lambda n: n.startswith("velocity_")),
           "micro-timing": pick(lambda n: n in timing or n.startswith("offset_")),
           "onset profile": pick(lambda n: n.startswith("onsets_step_"))}
    used = {j for cols in fam.values() for j in cols}
    fam["rest"] = [j for j in range(len(names)) if j not in used]
    return fam


def _test(real: np.ndarray, fake: np.ndarray, real_groups: np.ndarray, fake_groups: np.ndarray,
          seed: int, repeats: int) -> float:
    return float(c2st.two_sample_test(real, fake, real_groups, fake_groups, seed=seed,
                                      repeats=repeats)["accuracy"])


def per_voice(batch: np.ndarray) -> dict[str, dict[str, float]]:
    """Per voice: hits per 2 bars (the patterns are 2 bars), mean MIDI velocity and mean
    offset (steps) over its hits, and the within-pattern std of each (pooled over patterns)."""
    hits, vel, off = feat.split(batch)
    out = {}
    for j, name in enumerate(feat.VOICE_NAMES):
        h = hits[..., j]
        n = int(h.sum())
        v, o = vel[..., j][h] * 127.0, off[..., j][h]
        out[name] = {"hits": float(h.sum(axis=1).mean()) if len(h) else 0.0,
                     "velocity": float(v.mean()) if n else float("nan"),
                     "velocity_std": float(v.std()) if n else float("nan"),
                     "offset": float(o.mean()) if n else float("nan"),
                     "offset_std": float(o.std()) if n else float("nan")}
    return out


def decoder_changes(decoded: np.ndarray, recorded: np.ndarray) -> dict[str, Any]:
    """Row by row, what the decode of each picked groove changes in its recorded window:
    per voice, hits added and dropped per pattern, and on the hits both keep the mean
    velocity (MIDI) and offset (steps) difference (decoded − recorded) and the mean
    within-pattern spread of each, decoded and recorded."""
    dh, dv, do = feat.split(decoded)
    rh, rv, ro = feat.split(recorded)
    both = dh & rh
    out: dict[str, Any] = {"rows": int(len(decoded))}
    voices = {}
    for j, name in enumerate(feat.VOICE_NAMES):
        b = both[..., j]
        k = int(b.sum())
        voices[name] = {"added": float((dh[..., j] & ~rh[..., j]).sum(axis=1).mean()),
                        "dropped": float((rh[..., j] & ~dh[..., j]).sum(axis=1).mean()),
                        "kept": float(b.sum(axis=1).mean()),
                        "velocity_change": float((dv - rv)[..., j][b].mean() * 127.0) if k else float("nan"),
                        "offset_change": float((do - ro)[..., j][b].mean()) if k else float("nan")}
    out["voices"] = voices
    for key, dec, rec, scale in (("velocity", dv, rv, 127.0), ("offset", do, ro, 1.0)):
        out[f"{key}_abs_change_on_kept"] = float((np.abs(dec - rec)[both] * scale).mean())
        out[f"{key}_spread_decoded"] = float(np.mean(_spread(dec * scale, dh)))
        out[f"{key}_spread_recorded"] = float(np.mean(_spread(rec * scale, rh)))
    return out


def _spread(values: np.ndarray, hits: np.ndarray) -> np.ndarray:
    n = np.maximum(hits.sum(axis=(1, 2)), 1)
    mean = (values * hits).sum(axis=(1, 2)) / n
    return np.sqrt((((values - mean[:, None, None]) ** 2) * hits).sum(axis=(1, 2)) / n)


def knob_end_surfaces(gen: Any, data: Any, samples: int, seed: int) -> tuple[list[Any], np.ndarray]:
    """The realism report's surfaces at the density knob's 90 % end with ``seed``'s draws
    (the decodes from Randomize and the pad, the training windows each picked, the training
    windows there), and the training windows. Reproduces
    :func:`~training.realism.surfaces.knob_surfaces`' draws without decoding the other knobs."""
    from engine.generation.knobs import KnobState
    from engine.music import attributes as attr_lib
    from training.realism import surfaces as sf
    from training.realism.scorecard import data_at_knob_ends, picked_at_knob_ends

    windows, groups = data.patterns, np.asarray(data.performance_groups()).astype(str)
    train_windows, performances = data.training
    performances = np.asarray(performances).astype(str)
    names = tuple(gen.attribute_names)
    fresh = KnobState.for_model(gen.attribute_ranges, gen.attribute_defaults)
    free = sf._app_inputs(gen, fresh)
    # the same draws as build_surfaces(seed): its rng picks the floor's windows first
    np.random.default_rng(seed).choice(len(windows), min(samples, len(windows)), replace=False)
    z_rand = np.asarray(gen.sample_like_data(samples, seed=seed + 1), np.float64)
    _, z_pad = sf.pad_grid(gen, samples)
    sources = {"randomize": (z_rand, sf._play(gen, z_rand, free)), "pad": (z_pad, sf._play(gen, z_pad, free))}
    trend = gen.data_trend
    data_attrs = attr_lib.compute(windows, names)
    rng = np.random.default_rng(seed + 7)  # knob_surfaces' reference draws, in its order
    out, uncorrected = [], []
    for source in SOURCES:
        z, decoded = sources[source]
        anchor = attr_lib.compute(decoded, names)
        for k, name in enumerate(names):
            lo, hi = gen.attribute_ranges[name]
            for end in sf.KNOB_ENDS:
                setting = lo + end * (hi - lo)
                near = sf.knob_reference(data_attrs[:, k], setting, hi - lo)
                available = len(near)
                if len(near) > samples:
                    near = np.sort(rng.choice(near, samples, replace=False))
                if name != KNOB or end != END:
                    continue
                inputs, targets = sf.app_turn(gen, fresh, name, setting, anchor, trend)
                pats = sf._play(gen, z, inputs, targets, name)
                played, picks = sf._played_latents(gen, z, targets, name)
                own, drawn = sf._source_groups(gen, played, f"{source}-{name}-{end}-", performances)
                out.append(sf.Surface(
                    f"knob_{name}_{round(end * 100)}_{source}",
                    f"{name} at {round(end * 100)} % ({'Randomize' if source == 'randomize' else 'pad'})",
                    pats, own, near, groups[near],
                    {"knob": name, "setting": float(setting), "share_of_range": end, "source": source,
                     "reference_band": [float(setting - sf.KNOB_REFERENCE_BAND * (hi - lo)),
                                        float(setting + sf.KNOB_REFERENCE_BAND * (hi - lo))],
                     "reference_windows_available": int(available)}, drawn, picks))
                # the same walk, the picked grooves decoded with their own attributes only (no
                # corrections of the other held knobs' inputs): what the corrections change
                shipped = gen.walk_settings
                gen.walk_settings = replace(shipped, correct=0)
                try:
                    plain = sf._play(gen, z, inputs, targets, name)
                finally:
                    gen.walk_settings = shipped
                uncorrected.append(replace(out[-1], name=out[-1].name + "_uncorrected", patterns=plain,
                                           label=out[-1].label + ", decoded without corrections"))
    training = (np.asarray(train_windows, np.float32), performances)
    out += picked_at_knob_ends(out, training)
    out += data_at_knob_ends(gen, out[:1], training, samples, seed)
    return out + uncorrected, training[0]


def diagnose(gen: Any, data: Any, samples: int, seed: int) -> dict[str, Any]:
    """Every figure of the module docstring for one seed's draws."""
    from training.realism.scorecard import MAX_REPEATS, _Cache, measure_surface

    windows = np.asarray(data.patterns, np.float32)
    spb = gen.steps_per_bar
    cache = _Cache(windows, spb)
    surfaces, train_windows = knob_end_surfaces(gen, data, samples, seed)
    names = feature_names(windows.shape[1])
    fam = families(names)
    ref = surfaces[0].reference
    result: dict[str, Any] = {"seed": seed, "reference": int(len(ref)), "features": list(names),
                              "reference_per_voice": per_voice(windows[ref]), "surfaces": {},
                              "reference_performances": _performances(surfaces[0].reference_groups),
                              "floor": _floor(gen, data, samples, seed, cache),
                              "reference_feature_means": dict(zip(names, _means(cache.clf[ref]),
                                                                  strict=True))}
    for s in surfaces:
        whole = measure_surface(s, cache, seed)
        row = {"label": s.label, "n_generated": int(len(s.patterns)), "per_voice": per_voice(s.patterns),
               "voice_hits_per_2_bars": whole.get("voice_hits_per_2_bars")}
        if s.picks is not None:
            moved = (s.picks >= 0) & (s.picks < len(train_windows))
            row["picked"] = int(moved.sum())
            recorded = train_windows[s.picks[moved]]
            row["decoder_changes"] = decoder_changes(s.patterns[moved], recorded)
            row["decoder_changes"]["c2st"] = _decoded_vs_recorded(s.patterns[moved], recorded,
                                                                  s.groups[moved], spb, seed)
        result["surfaces"][s.name] = row
        if "skipped" in whole:
            row["skipped"] = whole["skipped"]
            continue
        repeats = int(min(MAX_REPEATS, max(1, len(s.patterns) // max(len(s.reference), 1))))
        real, fake = cache.clf[s.reference], feat.classifier_features(s.patterns, spb)
        rg, gg = s.reference_groups, s.groups

        def acc(cols: list[int], real: np.ndarray = real, fake: np.ndarray = fake,
                rg: np.ndarray = rg, gg: np.ndarray = gg, repeats: int = repeats) -> float:
            return _test(real[:, cols], fake[:, cols], rg, gg, seed, repeats)

        row["feature_means"] = dict(zip(names, _means(fake), strict=True))
        single = {n: acc([j]) for j, n in enumerate(names)}
        alone = {f: acc(cols) for f, cols in fam.items()}
        left_out = {f: acc([j for j in range(len(names)) if j not in cols]) for f, cols in fam.items()}
        row.update(c2st_features=whole["c2st_features"]["accuracy"], c2st_raw=whole["c2st_raw"]["accuracy"],
                   timing_std=whole["timing_std"], swing=whole["swing"], velocity_mean=whole["velocity_mean"],
                   single_feature=single, family_alone=alone, family_left_out=left_out)
        print(f"seed {seed} {s.name}: features {row['c2st_features']:.3f}, raw {row['c2st_raw']:.3f}",
              flush=True)
    return result


def _means(x: np.ndarray) -> list[float]:
    """Column means of ``x`` (NaN for no rows)."""
    return x.mean(axis=0).tolist() if len(x) else [float("nan")] * x.shape[1]


def _performances(groups: np.ndarray) -> dict[str, Any]:
    """How many performances the real windows come from, and the largest shares (drummer,
    session and file of each)."""
    names, counts = np.unique(np.asarray(groups).astype(str), return_counts=True)
    order = np.argsort(-counts, kind="stable")
    short = ["/".join(str(n).replace("\\", "/").split("/")[-3:]) for n in names]  # drummer/session/file
    return {"performances": int(len(names)), "largest": [[short[i], int(counts[i])] for i in order[:5]]}


def _floor(gen: Any, data: Any, samples: int, seed: int, cache: Any) -> dict[str, float]:
    """The realism report's floor with ``seed``'s draws: C2ST of the reconstructions of its
    held-out windows against those windows."""
    from training.realism.scorecard import measure_surface
    from training.realism.surfaces import build_surfaces

    floor = build_surfaces(gen, np.asarray(data.patterns, np.float32), data.performance_groups(), samples,
                           seed, only=())[0]
    res = measure_surface(floor, cache, seed)
    return {"c2st_features": res["c2st_features"]["accuracy"], "c2st_raw": res["c2st_raw"]["accuracy"]}


def _decoded_vs_recorded(decoded: np.ndarray, recorded: np.ndarray, groups: np.ndarray, spb: int,
                         seed: int) -> dict[str, float]:
    """C2ST of the decodes against the recorded windows they decode (grouped by the
    windows' performances): 0.5 when the classifier sees nothing the decoder changes."""
    groups = np.asarray(groups).astype(str)
    if len(np.unique(groups)) < c2st.FOLDS:
        return {}
    rec, dec = feat.classifier_features(recorded, spb), feat.classifier_features(decoded, spb)
    raw = c2st.two_sample_test(feat.raw_tensor(recorded), feat.raw_tensor(decoded), groups, groups,
                               classifier="ridge", seed=seed)
    return {"c2st_features": _test(rec, dec, groups, groups, seed, 1), "c2st_raw": float(raw["accuracy"])}


def _arguments(p: argparse.ArgumentParser) -> None:
    dc.surface_study_arguments(p)
    p.add_argument("--seeds", type=int, nargs="+", default=[2, 3], help="the draws' seeds (default 2 3)")


def _quick(args: argparse.Namespace) -> None:
    args.samples, args.seeds = min(args.samples, 60), args.seeds[:1]


def _run(args: argparse.Namespace) -> dict[str, Any]:
    gen, data = dc.surface_study_setup(args, needs_map="the knobs do not walk")
    return {"split": args.split, "samples": args.samples, "knob": KNOB, "end": END,
            "seeds": {str(seed): diagnose(gen, data, args.samples, seed) for seed in args.seeds}}


def _short(label: str) -> str:
    return (label.replace("density at 90 % ", "").replace(": the training windows it picked", ", picked")
            .replace("density at 90 %: ", ""))


def report(results: dict[str, Any], args: argparse.Namespace | None = None) -> str:
    """The report's tables (one set per seed); the findings are written by hand below them."""
    parts = [f"Split: {results['split']}; {results['samples']} patterns per surface; command: "
             f"`{results.get('command', '')}`. Feature families: voice mix (hits per voice), "
             "velocities (their mean and spread, mean per voice), micro-timing (offset mean and "
             "spread, swing, laid-back-ness, mean |offset|, mean offset per voice), onset profile "
             "(onsets per step), rest (voices used, step density, syncopation of kick, snare and "
             "hats).\n"]
    for seed, r in results["seeds"].items():
        surf = r["surfaces"]
        every = list(surf)
        cols = [c for c in every if "skipped" not in surf[c]]
        fl = r["floor"]
        parts.append(f"\n### Seed {seed} ({r['reference']} real windows at the setting; floor C2ST "
                     f"features {fl['c2st_features']:.3f}, raw {fl['c2st_raw']:.3f})\n\n")
        perf = r.get("reference_performances")
        if perf:
            parts.append(f"The real windows come from {perf['performances']} performances; the largest: "
                         + ", ".join(f"{n} ({c})" for n, c in perf["largest"]) + ".\n\n")
        if not cols:
            parts.append("Too few real windows at the setting for a two-sample test.\n")
        else:
            parts.append(_c2st_tables(r, surf, cols))
        parts.append(_voice_tables(r, surf, every))
    return "# Density at 90 %: what gives it away\n\n" + "".join(parts)


def _c2st_tables(r: dict[str, Any], surf: dict[str, Any], cols: list[str]) -> str:
    parts = [dc.md_table(["figure"] + [_short(surf[c]["label"]) for c in cols],
                         [("C2ST features", *(surf[c]["c2st_features"] for c in cols)),
                          ("C2ST raw", *(surf[c]["c2st_raw"] for c in cols))]
                         + [(f"{f} alone", *(surf[c]["family_alone"][f] for c in cols))
                            for f in surf[cols[0]]["family_alone"]]
                         + [(f"all but {f}", *(surf[c]["family_left_out"][f] for c in cols))
                            for f in surf[cols[0]]["family_left_out"]], digits=3)]
    top = sorted(r["features"], key=lambda n: -surf[cols[0]]["single_feature"][n])[:12]
    parts.append("\nSingle features (each alone), the twelve that tell the first surface best:\n\n")
    parts.append(dc.md_table(["feature"] + [_short(surf[c]["label"]) for c in cols],
                             [(n, *(surf[c]["single_feature"][n] for c in cols)) for n in top], digits=3))
    training = next((c for c in cols if c.endswith("_training")), None)
    if training is not None:
        gap = sorted(r["features"], key=lambda n: surf[training]["single_feature"][n]
                     - surf[cols[0]]["single_feature"][n])[:10]
        parts.append("\nThe ten features that tell the first surface better than the training windows "
                     "there (accuracy alone; mean: real → first surface / training windows there):\n\n")
        parts.append(dc.md_table(
            ["feature", "first surface", "training windows there", "mean: real", "first surface",
             "training windows there"],
            [(n, surf[cols[0]]["single_feature"][n], surf[training]["single_feature"][n],
              r["reference_feature_means"][n], surf[cols[0]]["feature_means"][n],
              surf[training]["feature_means"][n]) for n in gap], digits=3))
    return "".join(parts)


def _voice_tables(r: dict[str, Any], surf: dict[str, Any], cols: list[str]) -> str:
    ref = r["reference_per_voice"]
    parts = ["\nPer voice: hits per 2 bars / mean velocity (MIDI) / mean offset (steps):\n\n",
             dc.md_table(["voice", "real"] + [_short(surf[c]["label"]) for c in cols],
                         [(v, _voice_cell(ref[v]), *(_voice_cell(surf[c]["per_voice"][v]) for c in cols))
                          for v in feat.VOICE_NAMES])]
    for c in cols:
        ch = surf[c].get("decoder_changes")
        if not ch or not ch["rows"]:
            continue
        parts.append(f"\nWhat the decoder changes in the grooves picked ({_short(surf[c]['label'])}, "
                     f"{ch['rows']} rows; per pattern; on hits both keep: decoded − recorded):\n\n")
        parts.append(dc.md_table(["voice", "added", "dropped", "kept", "velocity change", "offset change"],
                                 [(v, d["added"], d["dropped"], d["kept"], d["velocity_change"],
                                   d["offset_change"]) for v, d in ch["voices"].items()], digits=2))
        if ch.get("c2st"):
            parts.append(f"\nC2ST of the decodes against the windows they decode: features "
                         f"{ch['c2st']['c2st_features']:.3f}, raw {ch['c2st']['c2st_raw']:.3f}.\n")
        parts.append(f"\nSpread within a pattern, decoded / recorded: velocity "
                     f"{ch['velocity_spread_decoded']:.1f} / {ch['velocity_spread_recorded']:.1f}, offset "
                     f"{ch['offset_spread_decoded']:.3f} / {ch['offset_spread_recorded']:.3f}.\n")
    return "".join(parts)


def _voice_cell(d: dict[str, float]) -> str:
    return f"{d['hits']:.1f} / {d['velocity']:.0f} / {d['offset']:+.3f}" if d["hits"] else f"{d['hits']:.1f}"


STUDY = skeleton.Study(module=MODULE, description=__doc__.splitlines()[0], arguments=_arguments, run=_run,
                       report=report, smoke="synthetic grooves, few samples", quick=_quick)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
