"""Drum-model studies: core metrics on known inputs and a tiny smoke run of
each CLI (tiny preset, synthetic grooves, one batch per training run) writing its report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.music import attributes as attr_lib
from engine.music.drums import NUM_VOICES
from training.studies import beta_warmup, hierarchical, latent_space, transitions
from training.studies import drum_common as dc

torch.set_num_threads(1)


# -- transitions: smoothness / monotonicity / ends ---------------------------------------------


def test_smoothness_of_a_linear_ramp_is_zero_and_of_a_zigzag_is_not():
    ramp = np.linspace(0, 7, 8)[:, None] * np.array([[1.0, -0.5]])
    s = transitions.smoothness(ramp)
    assert s["second_diff"] == pytest.approx(0.0, abs=1e-12)
    assert s["first_diff"] == pytest.approx(0.75)  # mean of |1| and |-0.5|
    zigzag = np.array([[0.0], [1.0], [0.0], [1.0]])
    assert transitions.smoothness(zigzag)["second_diff"] == pytest.approx(2.0)


def test_monotonicity_counts_moves_against_the_direction():
    ramp = np.linspace(0, 1, 8)[:, None]
    assert transitions.monotonicity(ramp, np.array([0.0]), np.array([1.0])) == 1.0
    assert transitions.monotonicity(ramp[::-1], np.array([0.0]), np.array([1.0])) == 0.0
    one_back = np.array([[0.0], [0.5], [0.4], [1.0]])
    assert transitions.monotonicity(one_back, np.array([0.0]), np.array([1.0])) == pytest.approx(2 / 3)
    # no attribute differs enough between the ends: undefined
    assert np.isnan(transitions.monotonicity(ramp, np.array([0.0]), np.array([0.1])))


def _pattern(steps: int, voice_steps: dict[int, list[int]]) -> np.ndarray:
    arr = np.zeros((steps, 3 * NUM_VOICES), np.float32)
    for v, steps_on in voice_steps.items():
        arr[steps_on, v] = 1.0
        arr[steps_on, NUM_VOICES + v] = 0.8
    return arr


def test_onset_f1_and_hard_cut_and_bar_attributes():
    a = _pattern(32, {0: [0, 8, 16, 24]})
    b = _pattern(32, {1: [4, 12, 20, 28]})
    assert transitions.onset_f1(a[:16], a[:16]) == 1.0
    assert transitions.onset_f1(a[:16], b[:16]) == 0.0
    cut = transitions.hard_cut(a, b, 8)
    assert cut.shape == (128, 27)
    np.testing.assert_array_equal(cut[:64], np.concatenate([a, a]))
    np.testing.assert_array_equal(cut[64:], np.concatenate([b, b]))
    per_bar = transitions.bar_attributes(cut, ["density"])
    np.testing.assert_allclose(per_bar[:, 0], attr_lib.density(a[:16][None])[0])  # 2 onsets / 16 both
    pairs = transitions.choose_pairs(np.array(["x", "x", "y"]), 20)
    assert all({i, j} & {2} and i != j for i, j in pairs)


# -- latent space: probes ------------------------------------------------------------------------


def test_probes_find_a_linear_attribute_and_nothing_in_noise():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((1200, 16))
    w = rng.standard_normal((16, 2))
    y_lin = z @ w + 0.3
    noise = rng.standard_normal((1200, 2))
    tr, te = slice(0, 1000), slice(1000, None)
    r_lin = latent_space.ridge_probe(z[tr], y_lin[tr], z[te], y_lin[te])
    r_noise = latent_space.ridge_probe(z[tr], noise[tr], z[te], noise[te])
    assert np.all(r_lin > 0.99)
    assert np.all(np.abs(r_noise) < 0.05)
    m_lin = latent_space.mlp_probe(z[tr], y_lin[tr], z[te], y_lin[te], steps=200)
    m_noise = latent_space.mlp_probe(z[tr], noise[tr], z[te], noise[te], steps=200)
    assert np.all(m_lin > 0.9)
    assert np.all(m_noise < 0.05)


def test_r2_scores_known_values():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert latent_space.r2_scores(y, y)[0] == 1.0
    assert latent_space.r2_scores(y, np.full(4, y.mean()))[0] == pytest.approx(0.0)


# -- helpers -------------------------------------------------------------------------------------


def test_beta_grid_and_per_bar_metrics_and_table():
    grid = beta_warmup.settings_grid([0.0, 1.0])
    assert grid == [(0.0, False), (0.0, True), (1.0, False), (1.0, True)]
    true = np.stack([_pattern(64, {0: [0, 16, 32, 48]})] * 3)
    pred = true.copy()
    pred[:, 48:, :NUM_VOICES] = 0  # bar 4 lost
    bars = hierarchical.per_bar_metrics(true, pred, np.full(3, 120.0))
    assert [b["step_accuracy"] for b in bars] == [1.0, 1.0, 1.0, pytest.approx(15 / 16)]
    assert bars[3]["f1"] == 0.0
    md = dc.md_table(["a", "b"], [[1, 0.12345]])
    assert "| 1 | 0.123 |" in md


# -- smoke runs of the CLIs (tiny preset, synthetic data) ----------------------------------------


def test_beta_warmup_smoke_cli_writes_report(tmp_path):
    out = tmp_path / "bw"
    assert beta_warmup.main(["--smoke", "--betas", "0", "2", "--out", str(out),
                             "--runs-dir", str(tmp_path / "runs")]) == 0
    res = json.loads((out / "results.json").read_text())
    assert len(res["runs"]) == 4
    text = (out / "report.md").read_text()
    assert "--smoke" in text and "| β |" in text
    for png in ("metrics_vs_beta.png", "prior_samples.png"):
        assert 0 < (out / png).stat().st_size < 300_000


@pytest.fixture(scope="module")
def tiny_checkpoints(tmp_path_factory):
    """A tiny fader-VAE and a tiny plain VAE, one batch of synthetic training each."""
    from training.synthetic import synthetic_dataset

    root = tmp_path_factory.mktemp("ckpts")
    ds = synthetic_dataset(240, 32, 0)
    fader, _ = dc.train_small(root / "fader", ds, preset="tiny", epochs=1, smoke=True)
    base, _ = dc.train_small(root / "base", ds, preset="tiny", model={"num_attributes": 0}, epochs=1,
                             smoke=True)
    return fader, base


def test_latent_space_smoke_cli_writes_report(tmp_path, tiny_checkpoints):
    fader, base = tiny_checkpoints
    out = tmp_path / "ls"
    assert latent_space.main(["--smoke", "--fader", str(fader), "--baseline", str(base),
                              "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert "discriminator" in res["models"]["fader"]["probes"]
    assert "discriminator" not in res["models"]["baseline"]["probes"]
    assert "R²" in (out / "report.md").read_text()
    assert (out / "pad_heatmaps.png").stat().st_size < 300_000


def test_transitions_smoke_cli_writes_report_and_clips(tmp_path, tiny_checkpoints):
    fader, _ = tiny_checkpoints
    out = tmp_path / "tr"
    assert transitions.main(["--smoke", "--checkpoint", str(fader), "--pairs", "4", "--examples", "1",
                             "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert set(res["summary"]) == set(transitions.METHODS)
    assert len(list((out / "clips").glob("*.mid"))) == 3
    from engine.music.midifile import read_clip

    assert read_clip(out / "clips" / "pair1_strategy1.mid").bars == 8
    assert "strategy 3" in (out / "report.md").read_text()


def test_hierarchical_smoke_cli_writes_report(tmp_path):
    out = tmp_path / "h"
    assert hierarchical.main(["--smoke", "--cells", "conv", "--out", str(out),
                              "--runs-dir", str(tmp_path / "runs")]) == 0
    res = json.loads((out / "results.json").read_text())
    assert [r["decoder"] for r in res["runs"]] == ["flat", "hierarchical"]
    assert len(res["runs"][1]["per_bar"]["sampled"]) == 4
    text = Path(out / "report.md").read_text()
    assert text.startswith("# Hierarchical") and "Equal optimiser steps" in text
    assert res["runs"][0]["curve"][0]["step"] == 1  # the smoke run's one optimiser step, from log.csv


def test_randomize_draws_smoke_cli_writes_report(tmp_path, tiny_checkpoints):
    from training.studies import randomize_draws

    fader, _ = tiny_checkpoints
    out = tmp_path / "rd"
    assert randomize_draws.main(["--smoke", "--checkpoint", str(fader), "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert "prior N(0, I)" in res["candidates"] and "stored code + N(0, 0.5²)" in res["candidates"]
    for row in res["candidates"].values():
        assert 0 <= row["voice_mix_distance"] <= 1 and row["mean_w1_over_std"] >= 0
    noise = {r["noise"]: r for r in res["noise"]}
    assert noise[0.0]["hits_flipped_vs_code"] == 0  # a code without noise decodes as itself
    assert noise[0.7]["distinct_grooves"] >= noise[0.0]["distinct_grooves"]
    assert "| draw | voice-mix TV |" in (out / "report.md").read_text()
    reach = {(r["shrink"], r["noise"]): r for r in res["knobs"]}
    assert set(reach[(1.0, 0.5)]["knobs"]) == set(res["knobs"][0]["knobs"]) and len(reach) == 5
    for r in reach.values():
        for k in r["knobs"].values():
            assert -1 <= k["spearman"] <= 1 and 0 <= k["range"] <= 1


def test_fitted_gaussians_match_the_codes_covariance():
    from training.studies.randomize_draws import fitted_gaussian

    rng = np.random.default_rng(0)
    mix = np.array([[2.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.5]])
    codes = rng.standard_normal((4000, 3)) @ mix + 3.0
    for rank in (None, 0, 1):
        z = fitted_gaussian(codes, rank, 20000, np.random.default_rng(1))
        np.testing.assert_allclose(z.mean(0), codes.mean(0), atol=0.05)
        np.testing.assert_allclose(z.var(0), codes.var(0), rtol=0.06)  # every rank keeps the variances
    full = np.cov(fitted_gaussian(codes, None, 20000, np.random.default_rng(1)).T)
    np.testing.assert_allclose(full, np.cov(codes.T), atol=0.15)  # and the full fit the covariances
    assert abs(np.cov(fitted_gaussian(codes, 0, 20000, np.random.default_rng(1)).T)[0, 1]) < 0.1


def test_on_data_blends_rule_counts_targets_then_c2st_then_simplicity():
    from training.studies import on_data_blends as odb

    def cand(pull, met_corner, met_mid, acc):
        def surface(met):
            targets = {k: i < met for i, k in enumerate(
                ["c2st_features", "c2st_raw", "mgeval_mean_oa", "mgeval_min_oa", "timing_std", "swing"])}
            return {"targets": {**targets, "all": met == 6}, "c2st_features": {"accuracy": acc},
                    "c2st_raw": {"accuracy": acc}}
        return {"pull": pull, "surfaces": {"corner_blends": surface(met_corner),
                                           "transition_middle": surface(met_mid)}}

    assert odb.score(cand(0.0, 4, 3, 0.8)) == (7, pytest.approx(0.8))
    rows = {"a": cand(0.0, 4, 3, 0.83), "b": cand(1.0, 2, 1, 0.79)}
    assert odb.choose(rows) == "a"  # more targets beats a lower C2ST
    rows = {"a": cand(0.0, 4, 3, 0.83), "b": cand(1.0, 4, 3, 0.79)}
    assert odb.choose(rows) == "b"  # then the lower C2ST
    rows = {"a": cand(0.5, 4, 3, 0.8), "b": cand(1.0, 4, 3, 0.8), "c": cand(0.0, 4, 3, 0.8)}
    assert odb.choose(rows) == "c"  # then the simpler
    hits = dict(cand(1.0, 4, 3, 0.8), method="hits")
    assert odb.choose({"h": hits, "a": cand(0.5, 4, 3, 0.8)}) == "h"
    assert odb.choose({"h": hits, "b": cand(1.0, 4, 3, 0.8)}) == "b"


def test_blend_shapes_rule_takes_the_least_lean_that_passes_the_classifier():
    from training.studies import blend_shapes as bs

    def cand(p, met, c2st_ok):
        names = ["c2st_features", "c2st_raw", "mgeval_mean_oa", "mgeval_min_oa", "timing_std", "swing"]
        order = names if c2st_ok else names[2:] + names[:2]  # the classifier ones last when missed
        targets = {k: k in order[:met] for k in names}
        return {"p": p, "surface": {"targets": {**targets, "all": met == 6}}}

    assert bs.targets_met(cand(2.0, 3, True)["surface"]) == (3, True)
    assert bs.targets_met(cand(2.0, 5, False)["surface"]) == (5, False)  # raw missed
    rows = {"1": cand(1.0, 4, False), "2": cand(2.0, 3, True), "3": cand(3.0, 6, True)}
    assert bs.choose(rows) == 2.0  # the smallest lean meeting both classifier targets
    rows = {"1": cand(1.0, 3, False), "2": cand(2.0, 4, False), "3": cand(3.0, 4, False)}
    assert bs.choose(rows) == 2.0  # none passes: most targets, ties to the smaller lean
    assert bs.choose({"3": cand(3.0, 2, False), "1": cand(1.0, 2, False)}) == 1.0


def test_mix_decoder_rule_needs_reconstructions_more_targets_and_no_fewer_whole_surfaces():
    from training.studies import mix_decoder as md

    good = {"step_accuracy": 0.965, "f1": 0.98, "velocity_mae_midi": 6.5, "timing_mae_ms": 5.5}

    def model(met, every, rec=good):
        return {"realism_score": (met, every), "reconstruction": rec}

    assert md.choose(model(100, 7), model(110, 7)) == "candidate"
    assert md.choose(model(100, 7), model(100, 9)) == "shipped"   # more targets needed
    assert md.choose(model(100, 7), model(110, 6)) == "shipped"   # fewer whole surfaces
    assert md.choose(model(100, 7), model(110, 8, {**good, "step_accuracy": 0.955})) == "shipped"
    assert md.choose(model(100, 7), model(110, 8, {**good, "timing_mae_ms": 6.2})) == "shipped"
    names = ["c2st_features", "c2st_raw", "mgeval_mean_oa", "mgeval_min_oa", "timing_std", "swing"]
    t = {k: True for k in names}
    surfaces = {"reconstruction": {"targets": {**t, "all": True}},
                "pad": {"targets": {**t, "all": True}},
                "knob_x": {"targets": {**t, "swing": False, "all": False}},
                "knob_y": {"skipped": "too few"}}
    assert md.realism_score(surfaces) == (11, 1)  # the floor and skipped ends not counted


def test_transition_paths_rule_gates_ends_and_steps_then_targets_then_c2st():
    from training.studies import transition_paths as tp

    names = ["c2st_features", "c2st_raw", "mgeval_mean_oa", "mgeval_min_oa", "timing_std", "swing"]

    def cand(met, acc, f1=0.99, step=20.0):
        targets = {k: i < met for i, k in enumerate(names)}
        return {"surface": {"targets": {**targets, "all": met == 6}, "c2st_features": {"accuracy": acc},
                            "c2st_raw": {"accuracy": acc}},
                "shape": {"f1_first_vs_a": f1, "f1_last_vs_b": 0.99, "max_step_hits": step}}

    straight = cand(4, 0.77)
    assert tp.choose({"straight": straight, "a": cand(6, 0.60), "b": cand(6, 0.55)}, 26.0) == "b"
    assert tp.choose({"straight": straight, "a": cand(6, 0.60), "b": cand(5, 0.50)}, 26.0) == "a"
    # gates: ends kept (F1 >= 0.95), largest step below the cut's
    assert tp.choose({"straight": straight, "a": cand(6, 0.5, f1=0.94)}, 26.0) == "straight"
    assert tp.choose({"straight": straight, "a": cand(6, 0.5, step=26.0)}, 26.0) == "straight"
    # it must beat the straight path by the same order
    assert tp.choose({"straight": straight, "a": cand(4, 0.78)}, 26.0) == "straight"
    assert tp.choose({"straight": straight, "a": cand(4, 0.70)}, 26.0) == "a"
    assert tp.onset_f1(np.array([1, 1, 0], bool), np.array([1, 0, 0], bool)) == pytest.approx(2 / 3)

    def stepped(met, mean_step):
        row = cand(met, 0.5)
        row["shape"]["mean_step_hits"] = mean_step
        return row

    assert tp.choose_follow_up({tp.FIRST: stepped(6, 15.1), tp.FOLLOW_UP: stepped(6, 12.0)}) == tp.FOLLOW_UP
    assert tp.choose_follow_up({tp.FIRST: stepped(6, 15.1), tp.FOLLOW_UP: stepped(6, 15.3)}) == tp.FIRST
    assert tp.choose_follow_up({tp.FIRST: stepped(6, 15.1), tp.FOLLOW_UP: stepped(5, 12.0)}) == tp.FIRST
    assert tp.choose_follow_up({tp.FIRST: stepped(6, 15.1)}) is None
    assert tp.choose({"a": cand(6, 0.5)}, 26.0) is None  # the straight path not measured: no choice
    # the second follow-up: strategy 1 must pass the gates and rank ahead of strategy 3
    assert tp.choose_strategy({tp.FIRST: cand(6, 0.535), tp.STRATEGY_FOLLOW_UP: cand(6, 0.52)}, 26.0) == 1
    assert tp.choose_strategy({tp.FIRST: cand(6, 0.535), tp.STRATEGY_FOLLOW_UP: cand(6, 0.536)}, 26.0) == 3
    assert tp.choose_strategy({tp.FIRST: cand(5, 0.60), tp.STRATEGY_FOLLOW_UP: cand(6, 0.52, f1=0.9)},
                              26.0) == 3
    assert tp.choose_strategy({tp.FIRST: cand(6, 0.535)}, 26.0) is None


def test_corner_paths_rule_needs_realer_blends_and_a_bounded_step():
    from training.studies import corner_paths as cp

    names = ["c2st_features", "c2st_raw", "mgeval_mean_oa", "mgeval_min_oa", "timing_std", "swing"]

    def cand(met, acc, step):
        targets = {k: i < met for i, k in enumerate(names)}
        return {"surface": {"targets": {**targets, "all": met == 6}, "c2st_features": {"accuracy": acc},
                            "c2st_raw": {"accuracy": acc}},
                "smooth": {"mean_step_hits": step}}

    current = cand(6, 0.59, 6.7)
    assert cp.choose({"current": current, "a": cand(6, 0.56, 10.0)}) == "a"
    assert cp.choose({"current": current, "a": cand(6, 0.56, 10.3)}) == "current"  # over 1.5 x 6.7
    assert cp.choose({"current": current, "a": cand(6, 0.58, 7.0)}) == "current"   # C2ST not 0.02 lower
    assert cp.choose({"current": cand(5, 0.62, 6.7), "a": cand(6, 0.61, 9.0)}) == "a"  # one target more
    # the best candidate is the one judged: most targets, then the lowest C2ST
    assert cp.choose({"current": current, "a": cand(6, 0.55, 12.0), "b": cand(6, 0.56, 8.0)}) == "current"
    assert cp.choose({"current": current}) == "current"


def test_eval_data_groups_windows_by_performance():
    """Overlapping windows of one performance must share a group, or a two-sample test's
    folds put them on both sides and the classifier learns the performance."""
    from types import SimpleNamespace

    sub = SimpleNamespace(patterns=np.zeros((4, 32, 27), np.float32), tempo_bpm=np.full(4, 120.0),
                          source=np.array(["a.mid", "a.mid", "b.mid", "b.mid"]))
    ds = SimpleNamespace(subset=lambda split: sub, fingerprint="f")
    data = dc.eval_data(ds, "validation")
    assert data.performance_groups().tolist() == ["a.mid", "a.mid", "b.mid", "b.mid"]
    assert data.sources == 2


def test_walk_trend_rule_needs_a_clear_realism_gain_without_losing_targets():
    from training.studies.walk_trend import choose

    def row(acc, realism):
        return {"mean_c2st": acc, "realism_targets": realism}

    base = row(0.600, 80)
    # too small a gain; then a gain that loses too many targets
    assert choose({"follow 0": base, "follow 0.5": row(0.595, 90)}) == "follow 0"
    assert choose({"follow 0": base, "follow 0.5": row(0.550, 76)}) == "follow 0"
    # of those that qualify, the lowest mean C2ST; a tie goes to the smaller follow
    rows = {"follow 0": base, "follow 0.5": row(0.580, 77), "follow 1": row(0.570, 90)}
    assert choose(rows) == "follow 1"
    rows["follow 1"] = row(0.580, 90)
    assert choose(rows) == "follow 0.5"


def test_expression_rule_needs_a_realism_gain_that_keeps_targets_and_reconstruction():
    from training.studies.expression_spread import choose

    def row(acc, realism, vel=7.5, tim=5.9):
        return {"mean_c2st": acc, "realism_targets": realism,
                "reconstruction": {"velocity_mae_midi": vel, "timing_mae_ms": tim}}

    base = row(0.600, 100)
    assert choose({"own": base, "fitted": row(0.595, 100)}) == "fitted"
    assert choose({"own": base, "fitted": row(0.597, 110)}) == "own"  # gain below 0.005
    assert choose({"own": base, "fitted": row(0.580, 96)}) == "own"  # 4 targets lost
    assert choose({"own": base, "fitted": row(0.580, 97, tim=6.01)}) == "own"  # timing MAE target
    assert choose({"own": base, "fitted": row(0.580, 97, vel=8.2)}) == "own"  # velocity MAE target


def test_expression_targets_can_be_counted_against_another_floor():
    from training.studies.expression_spread import against_floor

    def surface(features, raw):
        return {"c2st_features": {"accuracy": features}, "c2st_raw": {"accuracy": raw},
                "mgeval": {"mean_oa": 0.9, "min_oa": 0.7}, "timing_std": 0.16, "reference_timing_std": 0.16,
                "swing": 0.5, "reference_swing": 0.5}

    own = {"surfaces": {"reconstruction": surface(0.53, 0.52), "pad": surface(0.60, 0.55)}}
    moved = against_floor(own, surface(0.58, 0.53))
    assert moved["surfaces"]["pad"]["targets"]["c2st_features"]  # 0.60 ≤ 0.58 + 0.05
    assert moved["surfaces"]["reconstruction"]["c2st_features"]["accuracy"] == 0.53  # its own kept
    assert "targets" not in own["surfaces"]["pad"]  # the input untouched


def test_expression_spread_smoke_cli_writes_report(tmp_path):
    from tests.support.tiny_checkpoint import mapped_checkpoint
    from training.studies import expression_spread

    path, _ = mapped_checkpoint()
    out = tmp_path / "expression"
    assert expression_spread.main(["--smoke", "--checkpoint", str(path), "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    own, fitted = res["candidates"].values()
    assert own["expression"] == {"velocity": 1.0, "timing": 1.0} and fitted["expression"] != own["expression"]
    assert res["chosen"] in res["candidates"]
    text = (out / "report.md").read_text()
    assert "Chosen by the rule" in text and "own floor" in text


def test_surface_studies_get_the_training_windows_and_their_performances(tiny_checkpoints):
    """A study measures the map's draws grouped by training performance, as the eval does."""
    from types import SimpleNamespace

    fader, _ = tiny_checkpoints
    args = SimpleNamespace(checkpoint=str(fader), data="unused", smoke=True, split="validation")
    _, data = dc.surface_study_setup(args)
    train_windows, performances = data.training
    ds = dc.load_groove("unused", True)
    np.testing.assert_array_equal(train_windows, ds.subset("train").patterns)
    np.testing.assert_array_equal(performances, dc.eval_data(ds, "train").performance_groups())
    assert data.split == "validation" and len(data.patterns) != len(train_windows)


def test_walk_studies_score_the_knob_ends_only():
    """The floor and the real training windows are measured in the same run but are not a
    walk's doing: only the knob-end surfaces count toward a candidate's realism."""
    from training.studies.walk_weights import score

    def surf(acc, met):
        targets = dict.fromkeys(("c2st_features", "c2st_raw", "mgeval_mean_oa", "mgeval_min_oa",
                                 "timing_std", "swing"), False)
        targets.update(dict.fromkeys(list(targets)[:met], True))
        return {"targets": {**targets, "all": met == 6}, "c2st_features": {"accuracy": acc},
                "c2st_raw": {"accuracy": acc}}

    row = {"surfaces": {"surfaces": {"reconstruction": surf(0.5, 6), "training_windows": surf(0.5, 6),
                                     "knob_density_10_randomize": surf(0.6, 4),
                                     "knob_density_90_pad": surf(0.7, 2),
                                     "knob_laid_back_90_pad": {"targets": None},
                                     "knob_density_90_training": {**surf(0.5, 6), "data_level": True}}},
           "control": {}}
    assert score(row) == (6, 0, pytest.approx(0.65))


def test_walk_qualify_rule_needs_a_realism_gain_that_keeps_the_knobs():
    from training.studies.walk_qualify import choose

    def row(acc, realism, knobs):
        return {"mean_c2st": acc, "realism_targets": realism, "knob_targets": knobs}

    base = row(0.600, 80, 40)
    assert choose({"qualify decode": base, "qualify both": row(0.595, 90, 40)}) == "qualify decode"
    # a clear gain that costs the knobs three targets does not ship
    assert choose({"qualify decode": base, "qualify both": row(0.550, 80, 37)}) == "qualify decode"
    rows = {"qualify decode": base, "qualify both": row(0.580, 78, 38), "qualify own": row(0.570, 77, 38)}
    assert choose(rows) == "qualify own"
    rows["qualify own"] = row(0.580, 90, 40)
    assert choose(rows) == "qualify both"  # a tie: the one listed first


def test_sampling_floor_rule_needs_a_realism_gain_that_keeps_the_knob_varying():
    from training.studies.sampling_floor import choose

    def row(acc, met, changed):
        targets = dict.fromkeys(("c2st_features", "c2st_raw", "mgeval_mean_oa", "mgeval_min_oa",
                                 "timing_std", "swing"), False)
        targets.update(dict.fromkeys(list(targets)[:met], True))
        return {"temperature": {"targets": {**targets, "all": met == 6}, "c2st_features": {"accuracy": acc},
                                "c2st_raw": {"accuracy": acc}}, "hits_changed": changed}

    base = row(0.60, 5, 10.0)
    assert choose({"floor 0": base, "floor 0.05": row(0.595, 6, 9.0)}) == "floor 0"  # too small a gain
    assert choose({"floor 0": base, "floor 0.2": row(0.50, 6, 4.0)}) == "floor 0"  # varies too little
    assert choose({"floor 0": base, "floor 0.1": row(0.55, 4, 8.0)}) == "floor 0"  # a target lost
    rows = {"floor 0": base, "floor 0.05": row(0.58, 5, 9.0), "floor 0.1": row(0.56, 5, 6.0)}
    assert choose(rows) == "floor 0.1"
    rows["floor 0.1"] = row(0.58, 6, 6.0)
    assert choose(rows) == "floor 0.05"  # a tie: the smaller floor


def test_walk_typical_rule_needs_a_realism_gain_that_keeps_the_knobs():
    from training.studies.walk_typical import WEIGHTS, choose

    def row(acc, realism, knobs):
        return {"mean_c2st": acc, "realism_targets": realism, "knob_targets": knobs}

    assert WEIGHTS[0] == 0.0  # the walk as it ships is the baseline row
    base = row(0.600, 80, 40)
    assert choose({"typical 0": base, "typical 2": row(0.595, 85, 40)}) == "typical 0"
    assert choose({"typical 0": base, "typical 2": row(0.560, 76, 40)}) == "typical 0"  # 4 targets lost
    rows = {"typical 0": base, "typical 0.5": row(0.585, 79, 39), "typical 2": row(0.570, 78, 38)}
    assert choose(rows) == "typical 2"


@pytest.mark.parametrize("module, label, values", [("walk_typical", "typical", "WEIGHTS"),
                                                   ("walk_slack", "slack", "SLACKS"),
                                                   ("walk_balance", "balance", "BALANCES")])
def test_walk_setting_studies_smoke_cli_measure_each_value(tmp_path, module, label, values):
    import importlib

    from tests.support.tiny_checkpoint import mapped_checkpoint

    study = importlib.import_module(f"training.studies.{module}")
    path, _ = mapped_checkpoint()
    out = tmp_path / label
    assert study.main(["--smoke", "--checkpoint", str(path), "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert list(res["candidates"]) == [f"{label} {v:g}" for v in getattr(study, values)]
    assert res["chosen"] in res["candidates"]
    assert "Chosen by the rule" in (out / "report.md").read_text()


def test_walk_time_rule_ships_merged_time_voices_only_for_a_clear_gain():
    from training.studies.walk_time import MODES, choose

    def row(acc, realism, knobs):
        return {"mean_c2st": acc, "realism_targets": realism, "knob_targets": knobs}

    assert MODES[0] is False  # the walk as it ships is the baseline row
    base = row(0.519, 94, 32)
    assert choose({"same time False": base, "same time True": row(0.512, 96, 32)}) == "same time False"
    assert choose({"same time False": base, "same time True": row(0.505, 94, 29)}) == "same time False"
    assert choose({"same time False": base, "same time True": row(0.505, 91, 30)}) == "same time True"


def test_variation_even_rule_ships_the_even_draw_only_for_a_clear_gain_in_feel():
    from training.studies.variation_even import choose, feel_error

    def row(met, timing, swing):
        targets = dict.fromkeys(("c2st_features", "c2st_raw", "mgeval_mean_oa", "mgeval_min_oa",
                                 "timing_std", "swing"), False)
        targets.update(dict.fromkeys(list(targets)[:met], True))
        return {"variation": {"targets": {**targets, "all": met == 6}, "c2st_features": {"accuracy": 0.5},
                              "c2st_raw": {"accuracy": 0.5}, "timing_std": timing,
                              "reference_timing_std": 0.165, "swing": swing, "reference_swing": 0.526}}

    near = row(6, 0.146, 0.477)
    assert feel_error(near["variation"]) == pytest.approx(0.019 / 0.165 + 0.049 / 0.526)
    assert choose({"neighbour": near, "neighbour-even": row(6, 0.160, 0.541)}) == "neighbour-even"
    assert choose({"neighbour": near, "neighbour-even": row(5, 0.160, 0.541)}) == "neighbour"  # a target lost
    assert choose({"neighbour": near, "neighbour-even": row(6, 0.150, 0.490)}) == "neighbour"  # too small
    lost = {"neighbour": row(5, 0.14, 0.40), "neighbour-even": row(6, 0.146, 0.477)}
    assert choose(lost) == "neighbour-even"  # the neighbour misses a target: no gain asked


def test_walk_slack_rule_keeps_small_turns_small_and_needs_a_realism_gain():
    from training.studies.walk_slack import SLACKS, choose

    def row(acc, realism, knobs, flips):
        control = {"randomize": {"density": {"hits_flipped_per_step": flips}},
                   "pad": {"density": {"hits_flipped_per_step": flips}}}
        return {"mean_c2st": acc, "realism_targets": realism, "knob_targets": knobs, "control": control}

    assert SLACKS[0] == 0.0  # the walk as it ships is the baseline row
    base = row(0.600, 80, 40, 10.0)
    assert choose({"slack 0": base, "slack 0.3": row(0.580, 80, 40, 12.0)}) == "slack 0.3"
    # the same gain at 30 % more hits flipped per knob step: a small turn no longer small
    assert choose({"slack 0": base, "slack 0.3": row(0.580, 80, 40, 13.0)}) == "slack 0"
    assert choose({"slack 0": base, "slack 0.3": row(0.595, 80, 40, 10.0)}) == "slack 0"  # under 0.01
    rows = {"slack 0": base, "slack 0.3": row(0.585, 80, 40, 11.0), "slack 0.6": row(0.570, 80, 40, 14.0)}
    assert choose(rows) == "slack 0.3"


def test_walk_slack_density_rule_asks_a_clear_gain_at_the_density_ends_only():
    from training.studies.walk_slack_density import SURFACES, choose

    def row(acc, realism=90, knobs=32, flips=10.0):
        surf = {"c2st_features": {"accuracy": acc}, "c2st_raw": {"accuracy": acc}}
        return {"surfaces": {"surfaces": dict.fromkeys(SURFACES, surf)}, "realism_targets": realism,
                "knob_targets": knobs, "control": {"randomize": {"density": {"hits_flipped_per_step": flips}},
                                                   "pad": {"density": {"hits_flipped_per_step": flips}}}}

    base = row(0.60)
    assert choose({"as it ships": base, "density slack 0.6": row(0.575)}) == "density slack 0.6"
    assert choose({"as it ships": base, "density slack 0.6": row(0.59)}) == "as it ships"  # under 0.02
    assert choose({"as it ships": base, "density slack 0.6": row(0.55, realism=88)}) == "as it ships"
    assert choose({"as it ships": base, "density slack 0.6": row(0.55, knobs=30)}) == "as it ships"
    assert choose({"as it ships": base, "density slack 0.6": row(0.55, flips=13.0)}) == "as it ships"


def test_density_diagnosis_names_every_feature_and_counts_what_the_decoder_changes():
    from engine.music.drums import Voice
    from training.realism import features as feat
    from training.studies import density_diagnosis as dd

    rec = _pattern(32, {int(Voice.KICK): [0, 16], int(Voice.RIDE): [0, 4, 8, 12]})
    dec = _pattern(32, {int(Voice.KICK): [0, 16], int(Voice.CLOSED_HAT): [0, 2, 4]})
    dec[0, NUM_VOICES + int(Voice.KICK)] = 0.9  # 0.1 louder than recorded on a kept hit
    names = dd.feature_names(32)
    assert len(names) == feat.classifier_features(rec[None]).shape[1]
    assert sorted(j for cols in dd.families(names).values() for j in cols) == list(range(len(names)))
    ch = dd.decoder_changes(dec[None], rec[None])
    assert ch["voices"]["ride"]["dropped"] == 4 and ch["voices"]["closed_hat"]["added"] == 3
    assert ch["voices"]["kick"]["kept"] == 2
    assert ch["voices"]["kick"]["velocity_change"] == pytest.approx(0.05 * 127, rel=1e-4)


def test_density_diagnosis_smoke_cli_writes_report(tmp_path):
    from tests.support.tiny_checkpoint import mapped_checkpoint
    from training.studies import density_diagnosis

    path, _ = mapped_checkpoint()
    out = tmp_path / "density"
    assert density_diagnosis.main(["--smoke", "--checkpoint", str(path), "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    (seed, run), = res["seeds"].items()
    assert seed == "2" and "knob_density_90_randomize" in run["surfaces"]
    assert set(run["reference_per_voice"]) == set(run["surfaces"]["knob_density_90_randomize"]["per_voice"])
    assert "Per voice" in (out / "report.md").read_text()


def test_knob_continuity_tells_a_knob_that_adds_hits_from_one_that_swaps_grooves():
    from training.studies.knob_continuity import continuity

    steps, voices = 8, 2
    nested = np.zeros((5, 1, steps, voices), bool)
    for s in range(5):  # each position adds one hit to the last: a Grids-like density knob
        nested[s, 0, :s + 1, 0] = True
    f = continuity(nested)
    assert f["change_share"] == 1.0 and f["kept_at_change"] == 1.0 and f["flips_per_change"] == 1
    assert f["path_flips"] == f["direct_flips"] == 4 and f["detour"] == 1.0 and f["grooves_per_sweep"] == 5

    a, b = np.zeros((steps, voices), bool), np.zeros((steps, voices), bool)
    a[::2, 0], b[1::2, 0] = True, True  # two grooves sharing no hit
    swapping = np.stack([a, b, a, b, b])[:, None]
    g = continuity(swapping)
    assert g["change_share"] == 0.75 and g["kept_at_change"] == 0.0 and g["grooves_per_sweep"] == 2
    assert g["direct_flips"] == 8 and g["path_flips"] == 24 and g["detour"] == 3.0

    still = np.repeat(a[None, None], 4, axis=0)  # a knob that never changes the hits
    h = continuity(still)
    assert h["change_share"] == 0.0 and h["detour"] == 1.0 and h["kept_at_change"] == 1.0


def test_knob_tracking_tells_a_knob_that_lags_from_one_that_follows():
    from training.studies.knob_continuity import tracking

    settings = np.linspace(0.0, 1.0, 9)[:, None]
    follows = tracking(np.repeat(settings, 3, axis=1))
    assert follows["tracking_error"] == 0.0 and follows["moves_with_knob"] == 1.0
    stepped = np.floor(settings * 2) / 2  # three detents: the attribute waits, then jumps
    lag = tracking(np.repeat(stepped, 3, axis=1))
    assert lag["tracking_error"] > 0.1 and lag["moves_with_knob"] == 1.0
    back = settings[::-1].copy()  # an attribute that falls as the knob rises
    assert tracking(back)["moves_with_knob"] == 0.0


def test_knob_continuity_smoke_cli_measures_every_knob_every_way(tmp_path):
    from tests.support.tiny_checkpoint import mapped_checkpoint
    from training.studies import knob_continuity

    path, _ = mapped_checkpoint()
    out = tmp_path / "kc"
    assert knob_continuity.main(["--smoke", "--checkpoint", str(path), "--detents", "3",
                                 "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    knobs = {k.split("|")[0] for k in res["figures"]}
    assert knobs and set(res["figures"]) == {f"{k}|{s}|{m}" for k in knobs for s in ("randomize", "pad")
                                             for m in (*knob_continuity.MODES, "detents 3")}
    assert all(f["steps"] == res["positions"] - 1 for f in res["figures"].values())
    assert "| density | randomize | held (the app) |" in (out / "report.md").read_text()


@pytest.mark.parametrize("module, key, names, base_path", [
    ("walk_anchors", "detour", ("anchors 0", "anchors 9"), 16.0),
    ("walk_chain", "path_flips", ("detents", "detents chained"), 100.0),
])
def test_smoother_walk_rules_ship_a_smoother_walk_only_as_real(module, key, names, base_path):
    """walk_anchors and walk_chain: the candidate ships only with at most 0.7 (0.8) times
    the shipped walk's detour (hits traded), within its realism and knob allowances."""
    import importlib

    choose = importlib.import_module(f"training.studies.{module}").choose
    shipped, candidate = names

    def row(share, acc, realism, knobs):
        return {key: share * base_path, "mean_c2st": acc, "realism_targets": realism, "knob_targets": knobs}

    base = row(1.0, 0.520, 94, 32)
    assert choose({shipped: base, candidate: row(0.5, 0.528, 92, 31)}) == candidate
    assert choose({shipped: base, candidate: row(0.85, 0.510, 96, 32)}) == shipped  # not smoother
    assert choose({shipped: base, candidate: row(0.5, 0.535, 94, 32)}) == shipped  # less real
    assert choose({shipped: base, candidate: row(0.5, 0.520, 90, 32)}) == shipped  # targets lost
    assert choose({shipped: base, candidate: row(0.5, 0.520, 94, 29)}) == shipped  # knobs lost


def test_walk_anchors_smoke_cli_measures_both_walks_and_their_detours(tmp_path):
    from tests.support.tiny_checkpoint import mapped_checkpoint
    from training.studies import walk_anchors

    path, _ = mapped_checkpoint()
    out = tmp_path / "anchors"
    assert walk_anchors.main(["--smoke", "--checkpoint", str(path), "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert walk_anchors.ANCHORS[0] == 0  # the walk as it shipped is the baseline row
    assert list(res["candidates"]) == [f"anchors {k}" for k in walk_anchors.ANCHORS]
    assert all(r["detour"] >= 1.0 for r in res["candidates"].values()) and res["chosen"] in res["candidates"]
    text = (out / "report.md").read_text()
    assert "Chosen by the rule" in text and "Mean detour" in text


def test_walk_chain_smoke_cli_measures_both_walks_and_their_sweeps(tmp_path):
    from tests.support.tiny_checkpoint import mapped_checkpoint
    from training.studies import walk_chain

    path, _ = mapped_checkpoint()
    out = tmp_path / "chain"
    assert walk_chain.main(["--smoke", "--checkpoint", str(path), "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert list(res["candidates"]) == ["detents", "detents chained"]
    assert all(r["detour"] >= 1.0 and 0.0 <= r["kept_at_change"] <= 1.0 for r in res["candidates"].values())
    assert res["chosen"] in res["candidates"]
    text = (out / "report.md").read_text()
    assert "Chosen by the rule" in text and "| detents chained |" in text


def test_walk_detents_rule_ships_the_smoothest_of_those_as_real():
    from training.studies.walk_detents import choose

    def row(path, acc, realism, knobs):
        return {"path_flips": path, "mean_c2st": acc, "realism_targets": realism, "knob_targets": knobs}

    base = row(100.0, 0.520, 94, 32)
    rows = {"as shipped": base, "a": row(79.0, 0.525, 92, 31), "b": row(60.0, 0.531, 94, 32),
            "c": row(70.0, 0.520, 94, 32)}
    assert choose(rows) == "c"  # b traded fewest but is less real
    rows["c"] = row(70.0, 0.520, 90, 32)  # realism targets lost
    assert choose(rows) == "a"
    rows["a"] = row(81.0, 0.510, 94, 32)  # not smooth enough
    assert choose(rows) == "as shipped"
    assert choose({"as shipped": base, "d": row(70.0, 0.520, 94, 29)}) == "as shipped"  # knobs lost


def test_walk_detents_smoke_cli_measures_every_candidate_and_its_sweeps(tmp_path):
    from tests.support.tiny_checkpoint import mapped_checkpoint
    from training.studies import walk_detents

    path, _ = mapped_checkpoint()
    out = tmp_path / "detents"
    assert walk_detents.main(["--smoke", "--checkpoint", str(path), "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert list(res["candidates"]) == list(walk_detents.candidates())
    assert all(r["path_flips"] >= 0.0 and 0.0 <= r["change_share"] <= 1.0 for r in res["candidates"].values())
    assert res["chosen"] in res["candidates"]
    assert "| trend at detents, chained, 5 detents |" in (out / "report.md").read_text()


def test_walk_keep_rule_ships_the_most_kept_knobs_that_stay_real():
    from training.studies.walk_keep import choose

    knobs = ("density", "intensity", "laid_back")

    def row(keep, flips, acc, realism, knobs_met):
        per = {k: {"path_flips": flips.get(k, 100.0)} for k in knobs}
        return {"keep": list(keep), "per_knob": per, "mean_c2st": acc, "realism_targets": realism,
                "knob_targets": knobs_met}

    base = row((), {}, 0.510, 96, 32)
    one = row(("laid_back",), {"laid_back": 3.0}, 0.515, 94, 34)
    both = row(("intensity", "laid_back"), {"intensity": 6.0, "laid_back": 3.0}, 0.519, 93, 36)
    rows = {"as shipped": base, "one": one, "both": both}
    assert choose(rows) == "both"  # more knobs kept, within every allowance
    rows["both"] = {**both, "realism_targets": 92}  # one realism target too many lost
    assert choose(rows) == "one"
    rows["one"] = {**one, "mean_c2st": 0.521}  # less real than allowed
    assert choose(rows) == "as shipped"
    slow = row(("laid_back",), {"laid_back": 51.0}, 0.510, 96, 32)  # still trades half the hits
    assert choose({"as shipped": base, "slow": slow}) == "as shipped"


def test_walk_keep_smoke_cli_measures_every_candidate_and_each_knobs_sweeps(tmp_path):
    from tests.support.tiny_checkpoint import mapped_checkpoint
    from training.studies import walk_keep

    path, _ = mapped_checkpoint()
    out = tmp_path / "keep"
    assert walk_keep.main(["--smoke", "--checkpoint", str(path), "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert list(res["candidates"]) == list(walk_keep.candidates())
    kept = res["candidates"]["intensity and laid back kept"]
    assert kept["keep"] == ["intensity", "laid_back"]
    walked = res["candidates"]["as shipped"]
    # a kept knob trades no more hits over a sweep than the walk does
    assert kept["per_knob"]["laid_back"]["path_flips"] <= walked["per_knob"]["laid_back"]["path_flips"]
    assert res["chosen"] in res["candidates"]
    assert "| intensity and laid back kept |" in (out / "report.md").read_text()


def test_walk_keep_hits_smoke_cli_measures_the_walk_and_both_hit_edits(tmp_path):
    from tests.support.tiny_checkpoint import mapped_checkpoint
    from training.studies import walk_keep_hits

    path, _ = mapped_checkpoint()
    out = tmp_path / "keep_hits"
    assert walk_keep_hits.main(["--smoke", "--checkpoint", str(path), "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert list(res["candidates"]) == list(walk_keep_hits.candidates())
    kept = res["candidates"]["density and hat busyness kept"]
    assert kept["keep"] == ["density", "hat_busyness"]
    walked = res["candidates"]["as shipped"]
    # an edit trades no more hits than the walk (the knobs this small model has)
    assert kept["per_knob"]["density"]["path_flips"] <= walked["per_knob"]["density"]["path_flips"]
    assert res["chosen"] in res["candidates"]
    text = (out / "report.md").read_text()
    assert "Hit knobs that keep the groove" in text and "| kept, any voice added |" in text


def test_hit_keep_voices_rule_picks_the_switchs_edit_by_the_kept_knobs_ends():
    from training.studies.hit_keep_voices import BY_VOICE, ORDER, choose_switch, kept_ends_c2st

    def row(acc, realism):
        surfaces = {f"knob_{k}_{s}_{src}": {"c2st_features": {"accuracy": acc}}
                    for k in ("density", "hat_busyness") for s in (10, 90) for src in ("randomize", "pad")}
        surfaces["knob_syncopation_10_pad"] = {"c2st_features": {"accuracy": 0.99}}  # not a kept knob
        return {"surfaces": {"surfaces": surfaces}, "realism_targets": realism}

    assert kept_ends_c2st(row(0.6, 80)) == pytest.approx(0.6)
    assert choose_switch({ORDER: row(0.60, 80), BY_VOICE: row(0.589, 79)}) == BY_VOICE
    assert choose_switch({ORDER: row(0.60, 80), BY_VOICE: row(0.595, 85)}) == ORDER  # too small a gain
    assert choose_switch({ORDER: row(0.60, 80), BY_VOICE: row(0.55, 78)}) == ORDER  # 2 targets lost


def test_hit_keep_voices_smoke_cli_measures_the_walk_and_both_edits(tmp_path):
    from tests.support.tiny_checkpoint import mapped_checkpoint
    from training.studies import hit_keep_voices

    path, _ = mapped_checkpoint()
    out = tmp_path / "hit_voices"
    assert hit_keep_voices.main(["--smoke", "--checkpoint", str(path), "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert list(res["candidates"]) == list(hit_keep_voices.candidates())
    assert res["chosen"] in res["candidates"]
    assert res["switch"] in (hit_keep_voices.ORDER, hit_keep_voices.BY_VOICE)
    assert set(res["kept_ends_c2st"]) == set(res["candidates"])
    assert "The switch's edit by the rule" in (out / "report.md").read_text()


def test_hit_keep_hold_rule_holds_the_others_only_when_the_kept_ends_gain():
    from training.studies.hit_keep_hold import AS_SHIPS, HOLD, choose

    def row(acc, realism, knobs):
        surfaces = {f"knob_{k}_{s}_{src}": {"c2st_features": {"accuracy": acc}}
                    for k in ("density", "hat_busyness") for s in (10, 90) for src in ("randomize", "pad")}
        return {"surfaces": {"surfaces": surfaces}, "realism_targets": realism, "knob_targets": knobs}

    base = row(0.64, 82, 32)
    assert choose({AS_SHIPS: base, HOLD: row(0.62, 81, 34)}) == HOLD
    assert choose({AS_SHIPS: base, HOLD: row(0.635, 85, 36)}) == AS_SHIPS  # too small a gain
    assert choose({AS_SHIPS: base, HOLD: row(0.60, 80, 36)}) == AS_SHIPS  # 2 realism targets lost
    assert choose({AS_SHIPS: base, HOLD: row(0.60, 82, 31)}) == AS_SHIPS  # a knob target lost


def test_hit_keep_hold_smoke_cli_measures_both_edits(tmp_path):
    from tests.support.tiny_checkpoint import mapped_checkpoint
    from training.studies import hit_keep_hold

    path, _ = mapped_checkpoint()
    out = tmp_path / "hit_hold"
    assert hit_keep_hold.main(["--smoke", "--checkpoint", str(path), "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert list(res["candidates"]) == list(hit_keep_hold.candidates())
    assert res["chosen"] in res["candidates"]
    assert "holding the knobs nobody set" in (out / "report.md").read_text()


def test_walk_voices_rule_keeps_the_voices_unless_it_costs_realism_or_knobs():
    from training.studies.walk_voices import choose

    def row(realism, knobs, acc):
        return {"realism_targets": realism, "knob_targets": knobs, "mean_c2st": acc}

    base = row(96, 32, 0.510)
    name = "corrections keep the groove's voices"
    assert choose({"as shipped": base, name: row(95, 30, 0.515)}) == name  # within every allowance
    assert choose({"as shipped": base, name: row(94, 32, 0.505)}) == "as shipped"  # 2 realism targets lost
    assert choose({"as shipped": base, name: row(96, 29, 0.505)}) == "as shipped"  # 3 knob targets lost
    assert choose({"as shipped": base, name: row(97, 32, 0.516)}) == "as shipped"  # less real


def test_walk_voices_smoke_cli_measures_both_and_the_crashes(tmp_path):
    from tests.support.tiny_checkpoint import mapped_checkpoint
    from training.studies import walk_voices

    path, _ = mapped_checkpoint()
    out = tmp_path / "voices"
    assert walk_voices.main(["--smoke", "--checkpoint", str(path), "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert list(res["candidates"]) == list(walk_voices.candidates())
    assert res["chosen"] in res["candidates"]
    text = (out / "report.md").read_text()
    assert "Crash hits per 2 bars" in text and "| mean |" in text
