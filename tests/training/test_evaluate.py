"""Evaluation metrics on hand-made cases with known answers, and `groovefader eval` end to end."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from training import evaluate as ev

# -- pure metrics ------------------------------------------------------------------------


def _batch(n: int = 2, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 32, 27), np.float32)
    hits = rng.random((n, 32, 9)) < 0.3
    x[..., :9] = hits
    x[..., 9:18] = hits * rng.uniform(0.2, 0.9, (n, 32, 9))
    x[..., 18:] = hits * rng.uniform(-0.3, 0.3, (n, 32, 9))
    return x


def _split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return x[..., :9], x[..., 9:18], x[..., 18:]


def test_perfect_reconstruction() -> None:
    x = _batch()
    m = ev.reconstruction_metrics(x, *_split(x), np.array([120.0, 90.0]))
    for key in ("hit_accuracy", "step_accuracy", "precision", "recall", "f1"):
        assert m[key] == 1.0
    assert m["velocity_mae_midi"] == pytest.approx(0.0, abs=1e-5)
    assert m["timing_mae_ms"] == pytest.approx(0.0, abs=1e-4)


def test_known_timing_and_velocity_errors() -> None:
    x = _batch()
    h, v, o = _split(x)
    # 0.1 step late everywhere: one 16th at 120 BPM is 125 ms, at 60 BPM 250 ms
    m = ev.reconstruction_metrics(x, h, v, o + 0.1, np.array([120.0, 120.0]))
    assert m["timing_mae_ms"] == pytest.approx(12.5, rel=1e-5)
    m = ev.reconstruction_metrics(x, h, v, o + 0.1, np.array([60.0, 60.0]))
    assert m["timing_mae_ms"] == pytest.approx(25.0, rel=1e-5)
    m = ev.reconstruction_metrics(x, h, v + 10 / 127, o, np.array([120.0, 120.0]))
    assert m["velocity_mae_midi"] == pytest.approx(10.0, rel=1e-4)
    assert m["f1"] == 1.0


def test_known_onset_counts() -> None:
    x = np.zeros((1, 32, 27), np.float32)
    x[0, [0, 8, 16, 24], 0] = 1  # four kicks
    pred = np.zeros((1, 32, 9))
    pred[0, [0, 8], 0] = 1  # two found
    pred[0, 4, 1] = 1  # one false snare
    m = ev.reconstruction_metrics(x, pred, x[..., 9:18], x[..., 18:], np.array([100.0]))
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(0.5)
    assert m["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert m["step_accuracy"] == pytest.approx(29 / 32)  # steps 4, 16, 24 wrong
    assert m["hit_accuracy"] == pytest.approx(1 - 3 / (32 * 9))


def test_spearman_and_ranks() -> None:
    x = np.arange(9.0)
    assert ev.spearman(x, x ** 3) == pytest.approx(1.0)  # monotone, not linear
    assert ev.spearman(x, -np.exp(x)) == pytest.approx(-1.0)
    assert ev.spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)  # 1 - 6·4/(5·24)
    assert ev.spearman(x, np.ones(9)) == 0.0
    np.testing.assert_allclose(ev.average_ranks([10, 20, 20, 5]), [2, 3.5, 3.5, 1])


def test_reversals_locate_and_size_the_backward_steps() -> None:
    r = np.array([[0.0, 1.0, 0.5, 2.0], [0.0, 1.0, 2.0, 1.8], [0.0, 0.0, 1.0, 2.0]])
    out = ev.reversals(r)
    assert out["reversal_share_by_step"] == pytest.approx([0.0, 1 / 3, 1 / 3])
    assert out["median_reversal"] == pytest.approx(0.35)
    assert ev.reversals(np.sort(r, axis=1))["median_reversal"] == 0.0


def test_monotone_share_and_coverage() -> None:
    r = np.array([[0, 1, 1, 2], [0, 2, 1, 3], [3, 3, 3, 3], [3, 2, 1, 0]], float)
    assert ev.monotone_share(r) == 0.5  # ties count as non-decreasing
    assert ev.coverage(np.array([0.2, 0.5, 0.6]), 0.0, 1.0) == pytest.approx(0.4)
    assert ev.coverage(np.array([-5.0, 5.0]), 0.0, 1.0) == 1.0
    assert ev.coverage(np.array([2.0, 3.0]), 0.0, 1.0) == 0.0


def test_voice_mix_counts_hits_per_voice_and_compares_shares() -> None:
    hits = np.zeros((2, 32, 9), bool)
    hits[0, ::2, 2] = True   # 16 closed hats
    hits[1, ::8, 5] = True   # 4 mid toms
    mix = ev.voice_mix(hits)
    assert mix[2] == 8.0 and mix[5] == 2.0 and mix.sum() == 10.0
    assert ev.voice_mix_distance(mix, mix * 3) == 0.0  # the same proportions
    only_hats = np.zeros(9)
    only_hats[2] = 5.0
    assert ev.voice_mix_distance(mix, only_hats) == pytest.approx(0.2)  # 2 of 10 hits on toms
    only_kick = np.zeros(9)
    only_kick[0] = 1.0
    assert ev.voice_mix_distance(only_kick, only_hats) == 1.0


def test_wasserstein_known_values() -> None:
    a = np.random.default_rng(0).normal(size=500)
    assert ev.wasserstein_1d(a, a + 0.7) == pytest.approx(0.7)
    assert ev.wasserstein_1d([0, 1], [0, 2]) == pytest.approx(0.5)
    assert ev.wasserstein_1d([1, 2, 3], [3, 2, 1]) == 0.0


def test_latent_usage_known_values() -> None:
    mu = np.zeros((100, 3))
    mu[:, 0] = np.linspace(-1, 1, 100)  # varies: active
    mu[:, 1] = 0.05 * np.linspace(-1, 1, 100)  # variance ≈ 0.00085: inactive
    out = ev.latent_usage(mu, np.zeros((100, 3)))
    assert out["active_units"] == 1 and out["z_dim"] == 3
    assert out["kl_nats"] == pytest.approx(0.5 * np.mean(np.sum(mu ** 2, axis=1)))
    one = ev.latent_usage(np.ones((1, 2)), np.zeros((1, 2)))
    assert one["kl_nats"] == pytest.approx(1.0)


# -- on a tiny real model ----------------------------------------------------------------

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def gens():
    from engine.generation.generator import Generator
    from tests.support.tiny_checkpoint import tiny_checkpoint

    return Generator.from_checkpoint(tiny_checkpoint("fader_vae")), \
        Generator.from_checkpoint(tiny_checkpoint("vae"))


def test_evaluate_generator_figures(gens) -> None:
    from tests.support.tiny_checkpoint import synthetic_patterns

    fader, base = gens
    x = synthetic_patterns(64, seed=77)
    data = ev.EvalData(x, np.full(64, 120.0), "test", 1, "fp")
    cfg = ev.EvalConfig(draws=40, settings=9, realism_samples=200, latency_runs=20, surface_samples=24)
    out = ev.evaluate_generator(fader, data, cfg)
    # the realism of every surface is part of the full evaluation (training.realism)
    assert {"reconstruction", "pad", "randomize", "corner_blends"} <= set(out["surfaces"]["surfaces"])
    assert out["surfaces"]["data"]["performances"] == 64  # no groups known: one per window
    rec = out["reconstruction"]
    assert rec["f1"] > 0.95 and rec["step_accuracy"] > 0.9
    assert out["reconstruction_teacher_forced"]["f1"] > 0.95
    ctl = out["control"]
    assert set(ctl) == set(fader.attribute_names)
    assert ctl["density"]["spearman"] > 0.5  # the density knob works on the trained model
    assert len(ctl["density"]["mean_response"]) == 9
    for knob in ctl.values():
        assert -1 <= knob["spearman"] <= 1 and 0 <= knob["monotone_share"] <= 1
        assert 0 <= knob["range"] <= 1 and knob["crosstalk"] >= 0
        assert 0 <= knob["hits_flipped_per_step"] <= fader.steps * 9
    # every onset the density knob adds or drops between two settings is a flipped hit
    dens = ctl["density"]
    net = abs(dens["mean_response"][-1] - dens["mean_response"][0]) * fader.steps / 8
    assert dens["hits_flipped_per_step"] >= net > 0
    assert out["latent"]["z_dim"] == 8
    assert out["latency"]["p99_ms"] >= out["latency"]["median_ms"] > 0
    assert out["realism"]["greedy"]["mean"] >= 0
    assert 0 <= out["realism"]["greedy"]["voice_mix_distance"] <= 1
    # what Randomize draws, measured the same way (the tiny checkpoint stores anchors)
    assert 0 <= out["realism"]["randomize"]["voice_mix_distance"] <= 1
    assert out["realism"]["randomize"]["voice_hits"] != out["realism"]["greedy"]["voice_hits"]
    # the knob sweeps also run from Randomize's latents: the same figures, other draws
    rand = out["control_on_randomize"]
    assert set(rand) == set(ctl) and rand["density"]["mean_response"] != ctl["density"]["mean_response"]
    z = fader.sample_like_data(cfg.draws, seed=ev.draw_seed(cfg) + 5)
    data_mix = ev.voice_mix(x[..., :9] > 0.5)
    again = ev.evaluate_control(fader, cfg, z=z, data_mix=data_mix)["density"]
    assert again == rand["density"]
    # which drums the knob's ends play, against the data's: the lowest setting's decodes
    assert 0 <= again["voice_mix_distance_low"] <= 1
    names = fader.attribute_names
    knobs = np.tile([fader.attribute_defaults[n] for n in names], (len(z), 1))
    knobs[:, names.index("density")] = fader.attribute_ranges["density"][0]
    low = fader.decode_batch(z, knobs).hits
    assert again["voice_mix_distance_low"] == pytest.approx(
        ev.voice_mix_distance(ev.voice_mix(low), data_mix))
    assert sum(out["realism"]["data_voice_hits"].values()) == pytest.approx(
        (x[..., :9] > 0.5).sum() / len(x))
    # the knobs as the app turns them (held by the generator) reach further than the model's
    # open loop, and the swept knob's own attribute is what is measured
    held = out["control_held"]
    assert set(held) == set(ctl) and set(out) >= {"control_held_on_pad", "control_held_on_randomize"}
    assert np.mean([held[k]["range"] for k in held]) > np.mean([ctl[k]["range"] for k in ctl])
    assert held["density"]["spearman"] >= ctl["density"]["spearman"]
    assert out["latency_held"]["median_ms"] >= out["latency"]["median_ms"]
    b = ev.evaluate_generator(base, data, dataclasses.replace(cfg, surfaces=False))
    assert "surfaces" not in b
    assert b["model_kind"] == "vae" and set(b["control"]) == set(ctl) == set(b["control_held"])
    # a scrambled model reconstructs worse than the trained one: the metric is not a constant
    shuffled = ev.EvalData(x[:, ::-1].copy(), data.tempo_bpm, "test", 1, "fp")
    assert ev.evaluate_reconstruction(fader, shuffled)["reconstruction"]["f1"] < rec["f1"]


def test_each_split_sweeps_its_own_prior_draws(gens) -> None:
    """Knob figures come from prior draws, not from the split's windows: if validation and
    test shared draws, a checkpoint chosen on validation knobs would be chosen on test's."""
    fader, _ = gens
    cfgs = [ev.EvalConfig(split=s, draws=30, settings=5) for s in ("validation", "test")]
    assert ev.draw_seed(cfgs[0]) != ev.draw_seed(cfgs[1])
    assert ev.draw_seed(cfgs[1]) == ev.draw_seed(ev.EvalConfig(split="test", draws=30, settings=5))
    val, test = (ev.evaluate_control(fader, c)["density"]["mean_response"] for c in cfgs)
    assert val != test
    assert ev.evaluate_control(fader, cfgs[1])["density"]["mean_response"] == test


def test_knobs_are_also_swept_on_the_pad_latents(gens) -> None:
    """The app turns knobs at latents on the pad's plane, not at prior draws: the eval
    sweeps there too, from exactly the pad grid's latents."""
    fader, _ = gens
    z = ev.pad_latents(fader, 3)
    assert z.shape == (9, fader.z_dim)
    np.testing.assert_allclose(z[0], fader.pad_to_z(-1.0, -1.0))
    np.testing.assert_allclose(z[4], fader.pad_to_z(0.0, 0.0))
    np.testing.assert_allclose(z[-1], fader.pad_to_z(1.0, 1.0))
    cfg = ev.EvalConfig(draws=30, settings=5, pad_points=3)
    on_pad = ev.evaluate_control(fader, cfg, z=z)
    prior = ev.evaluate_control(fader, cfg)
    assert set(on_pad) == set(fader.attribute_names)
    assert on_pad["density"]["mean_response"] != prior["density"]["mean_response"]
    # the pad sweep of one latent is that latent's own sweep: nothing else is averaged in
    from engine.music import attributes as attr_lib

    one = ev.evaluate_control(fader, cfg, z=z[4:5])["density"]
    names = fader.attribute_names
    knobs = np.tile([fader.attribute_defaults[n] for n in names], (5, 1))
    knobs[:, names.index("density")] = one["settings"]
    pats = fader.decode_batch(np.repeat(z[4:5], 5, axis=0), knobs).to_array()
    np.testing.assert_allclose(one["mean_response"], attr_lib.compute(pats, ["density"])[:, 0])
    report = {"settings": {"draws": 30, "settings": 5, "realism_samples": 0, "pad_points": 3},
              "data": {"dir": "d", "split": "test", "windows": 1, "files": 1},
              "models": {"model": {"model_kind": "fader_vae", "control": prior,
                                   "control_on_pad": on_pad, "control_on_randomize": prior}}}
    table = ev.to_markdown(report)
    assert "| Knob density on the XY pad's latents: control range | " in table
    assert "| Knob density on Randomize's latents: Spearman ρ | " in table
    assert "3² grid" in table


def test_eval_command_on_a_folder_without_info_csv(tmp_path, capsys) -> None:
    from app.cli import main
    from engine.music.midifile import write_clip
    from engine.music.pattern import Pattern
    from tests.support.tiny_checkpoint import synthetic_patterns, tiny_checkpoint

    data = tmp_path / "clips"
    data.mkdir()
    x = synthetic_patterns(12, seed=5)
    for i in range(6):  # 4-bar clips: 3 windows each
        write_clip(data / f"c{i}.mid", [Pattern.from_array(x[2 * i]), Pattern.from_array(x[2 * i + 1])],
                   tempo_bpm=100 + 10 * i)
    out_json, out_md = tmp_path / "eval.json", tmp_path / "eval.md"
    code = main(["eval", "--checkpoint", str(tiny_checkpoint("fader_vae")),
                 "--baseline", str(tiny_checkpoint("vae")), "--data", str(data), "--json", str(out_json),
                 "--markdown", str(out_md), "--draws", "20", "--settings", "9", "--samples", "50",
                 "--latency-runs", "10", "--no-surfaces", "--cache-dir", str(tmp_path / "cache")])
    assert code == 0
    report = json.loads(out_json.read_text())
    assert report["data"]["split"] == "all (no info.csv)"
    assert report["data"]["files"] == 6 and report["data"]["windows"] >= 6
    assert set(report["models"]) == {"model", "baseline"}
    assert report["command"].startswith("groovefader eval --checkpoint")
    table = out_md.read_text()
    assert "model (fader_vae)" in table and "baseline (vae)" in table
    assert "Knob density: Spearman ρ" in table
    assert "Knob density held (the app's knobs): Spearman ρ" in table
    assert table in capsys.readouterr().out
    # --no-held: only the model's own response
    code = main(["eval", "--checkpoint", str(tiny_checkpoint("fader_vae")), "--data", str(data),
                 "--json", str(out_json), "--draws", "10", "--settings", "5", "--samples", "20",
                 "--latency-runs", "5", "--pad-points", "0", "--no-held", "--no-surfaces",
                 "--cache-dir", str(tmp_path / "cache")])
    assert code == 0
    model = json.loads(out_json.read_text())["models"]["model"]
    assert "control" in model and not any(k.startswith("control_held") for k in model)


def test_eval_knobs_alone_and_keeps_change_the_held_knobs_as_the_app_does(tmp_path) -> None:
    from app.cli import main
    from engine.music.midifile import write_clip
    from engine.music.pattern import Pattern
    from tests.support.tiny_checkpoint import mapped_checkpoint, synthetic_patterns

    data = tmp_path / "clips"
    data.mkdir()
    x = synthetic_patterns(12, seed=5)
    for i in range(6):
        write_clip(data / f"c{i}.mid", [Pattern.from_array(x[2 * i]), Pattern.from_array(x[2 * i + 1])])
    ckpt, _ = mapped_checkpoint()
    reports = {}
    for mode in ([], ["--knobs-alone"], ["--feel-keeps"], ["--hit-keeps"]):
        out = tmp_path / f"eval{'-'.join(mode)}.json"
        assert main(["eval", "--checkpoint", str(ckpt), "--data", str(data), "--json", str(out),
                     "--draws", "12", "--settings", "5", "--samples", "20", "--latency-runs", "5",
                     "--pad-points", "0", "--no-surfaces", "--cache-dir", str(tmp_path / "cache"),
                     *mode]) == 0
        reports[tuple(mode)] = json.loads(out.read_text())
    alone, keeps, plain = reports[("--knobs-alone",)], reports[("--feel-keeps",)], reports[()]
    assert alone["settings"]["knobs_alone"] is True and "--knobs-alone" in alone["command"].split()
    assert plain["settings"]["knobs_alone"] is False and plain["settings"]["feel_keeps"] is False
    assert keeps["settings"]["feel_keeps"] is True and "--feel-keeps" in keeps["command"].split()
    hits = reports[("--hit-keeps",)]
    assert hits["settings"]["hit_keeps"] is True and "--hit-keeps" in hits["command"].split()
    held = {m: r["models"]["model"]["control_held"] for m, r in reports.items()}
    # the same sweeps, the others' targets held where each groove had them instead of moved
    assert held[("--knobs-alone",)] != held[()]
    # the feel knobs edit the playing groove: their sweeps differ, density's does not
    assert held[("--feel-keeps",)]["intensity"] != held[()]["intensity"]
    assert held[("--feel-keeps",)]["density"] == held[()]["density"]
    # density edits the playing groove's hits: its sweep differs, intensity's does not
    assert held[("--hit-keeps",)]["density"] != held[()]["density"]
    assert held[("--hit-keeps",)]["intensity"] == held[()]["intensity"]


def test_eval_command_honours_info_csv_split(tmp_path) -> None:
    from app.cli import main
    from engine.music.midifile import write_clip
    from engine.music.pattern import Pattern
    from tests.support.tiny_checkpoint import synthetic_patterns, tiny_checkpoint

    data = tmp_path / "set"
    (data / "d1").mkdir(parents=True)
    x = synthetic_patterns(8, seed=6)
    rows = ["midi_filename,split"]
    for i in range(4):
        clip = [Pattern.from_array(x[2 * i]), Pattern.from_array(x[2 * i + 1])]
        write_clip(data / "d1" / f"c{i}.mid", clip)
        rows.append(f"d1/c{i}.mid,{'test' if i < 1 else 'train'}")
    (data / "info.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "e.json"
    args = ["eval", "--checkpoint", str(tiny_checkpoint("fader_vae")), "--data", str(data), "--json",
            str(out), "--draws", "5", "--samples", "20", "--latency-runs", "5", "--no-surfaces",
            "--cache-dir", str(tmp_path / "cache")]
    assert main(args) == 0
    test = json.loads(out.read_text())["data"]
    assert test["split"] == "test" and test["files"] == 1
    assert main([*args, "--split", "train"]) == 0
    train = json.loads(out.read_text())["data"]
    assert train["files"] == 3 and train["windows"] > test["windows"]
    with pytest.raises(SystemExit) as refused:  # a misspelt split: refused before any work
        main([*args, "--split", "tset"])
    assert refused.value.code == 2
    # a --json that could not be written is said before the evaluation, not after it
    (tmp_path / "a-folder").mkdir()
    json_at = args.index("--json") + 1
    assert main([*args[:json_at], str(tmp_path / "a-folder"), *args[json_at + 1:]]) == 1


def test_eval_realism_only_measures_every_surface_by_performance(tmp_path, capsys) -> None:
    """The fast mode: only the surfaces, against one split, its windows grouped by file."""
    from app.cli import main
    from engine.music.midifile import write_clip
    from engine.music.pattern import Pattern
    from tests.support.tiny_checkpoint import synthetic_patterns, tiny_checkpoint

    data = tmp_path / "set"
    (data / "d1").mkdir(parents=True)
    x = synthetic_patterns(48, seed=8)
    rows = ["midi_filename,split"]
    for i in range(8):  # 6-bar clips: 5 windows each, 5 clips in validation
        write_clip(data / "d1" / f"c{i}.mid", [Pattern.from_array(p) for p in x[6 * i:6 * i + 3]])
        rows.append(f"d1/c{i}.mid,{'validation' if i < 5 else 'train'}")
    (data / "info.csv").write_text("\n".join(rows) + "\n")
    out, md = tmp_path / "r.json", tmp_path / "r.md"
    assert main(["eval", "--checkpoint", str(tiny_checkpoint("fader_vae")), "--data", str(data),
                 "--split", "validation", "--realism-only", "--surface-samples", "20", "--json", str(out),
                 "--markdown", str(md), "--cache-dir", str(tmp_path / "cache")]) == 0
    report = json.loads(out.read_text())
    model = report["models"]["model"]
    assert "reconstruction" not in model and "control" not in model  # only the realism figures
    surf = model["surfaces"]
    assert surf["data"]["performances"] == 5 and surf["settings"]["samples"] == 20
    rec = surf["surfaces"]["reconstruction"]  # 20 of the 25 windows and their reconstructions
    assert rec["n_reference"] == 20 and rec["c2st_features"]["n_per_set"] == 20
    assert 0.0 <= rec["mgeval"]["mean_oa"] <= 1.0
    assert "--realism-only" in report["command"] and "--surface-samples 20" in report["command"]
    assert set(surf["surfaces"]) >= {"reconstruction", "randomize", "pad", "variation", "corner_blends",
                                     "transition_middle", "knob_density_10_randomize",
                                     "knob_density_90_pad"}
    table = md.read_text()
    assert "Realism of every surface" in table and "| XY pad (4² grid) |" in table
    assert table in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:  # argparse: one usage line, exit code 2
        main(["eval", "--checkpoint", "x.pt", "--data", str(data), "--json", str(out),
              "--realism-only", "--no-surfaces"])
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_eval_command_bad_input(tmp_path, capsys) -> None:
    from app.cli import main
    from tests.support.tiny_checkpoint import tiny_checkpoint

    assert main(["eval", "--checkpoint", str(tmp_path / "no.pt"), "--data", str(tmp_path),
                 "--json", str(tmp_path / "o.json")]) == 1
    assert "no.pt" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["eval", "--checkpoint", str(tiny_checkpoint("fader_vae")), "--data",
                 str(tmp_path / "empty"), "--json", str(tmp_path / "o.json"),
                 "--cache-dir", str(tmp_path / "cache")]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "o.json").exists()
