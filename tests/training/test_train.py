"""``groovefader train`` and training.train on tiny synthetic runs (seconds each)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from app.cli import build_parser, main
from engine.generation.onnx_nets import find_export
from models.checkpoint import load_checkpoint
from training.synthetic import synthetic_dataset
from training.train import TrainConfig, _prepare, evaluate_split, train
from training.train_cli import build_config

torch.set_num_threads(1)


def rows(run: Path) -> list[dict[str, str]]:
    with (run / "log.csv").open() as f:
        return list(csv.DictReader(f))


def test_smoke_test_through_the_cli(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    code = main(["train", "synthetic", "--preset", "tiny", "--run-dir", str(run), "--smoke-test",
                 "--quiet", "--threads", "1", "--synthetic-size", "128"])
    assert code == 0
    ck = load_checkpoint(run / "checkpoint.pt")
    assert ck.meta["metrics"]["stopped"] == "smoke test"
    assert ck.meta["metrics"]["total_epochs"] == 1
    assert len(ck.meta["attributes"]["names"]) == ck.config.num_attributes
    assert str(run / "checkpoint.pt") in capsys.readouterr().out


def test_tiny_run_learns_logs_and_writes_every_artifact(tmp_path: Path) -> None:
    cfg = TrainConfig(data="synthetic", run_dir=str(tmp_path / "run"), preset="tiny", epochs=4,
                      batch_size=32, synthetic_size=400, lr=3e-3, threads=1, beta_warmup_steps=20,
                      adv_ramp_steps=20)
    path = train(cfg, quiet=True)
    run = Path(cfg.run_dir)
    for name in ("config.json", "log.csv", "state.pt", "last.pt", "best.pt", "checkpoint.pt",
                 "checkpoint.json"):
        assert (run / name).exists(), name
    assert list(run.glob("events.out.tfevents.*"))
    assert find_export(path, "drums")[0] is not None  # the graphs the instrument plays on
    log = rows(run)
    assert [int(r["epoch"]) for r in log] == [1, 2, 3, 4]
    assert float(log[-1]["val_loss"]) < float(log[0]["val_loss"])
    assert float(log[-1]["adv_lambda"]) == pytest.approx(1.0)
    ck = load_checkpoint(path)
    assert ck.meta["model_kind"] == "fader_vae"
    assert ck.meta["metrics"]["train_examples"] == 320
    assert ck.meta["data_fingerprint"] == synthetic_dataset(400, 32, 0).fingerprint
    assert len(ck.meta["latent"]["plane"]["axes"]) == 2
    assert json.loads((run / "config.json").read_text())["preset"] == "tiny"


def test_plain_vae_stores_attribute_vectors(tmp_path: Path) -> None:
    cfg = TrainConfig(data="synthetic", run_dir=str(tmp_path / "run"), preset="tiny", epochs=1,
                      batch_size=64, synthetic_size=256, threads=1, model={"num_attributes": 0})
    ck = load_checkpoint(train(cfg, quiet=True))
    assert ck.meta["model_kind"] == "vae"
    names = ck.meta["attributes"]["names"]
    assert set(ck.meta["attribute_vectors"]) == set(names) and len(names) == 5
    assert all(len(v) == ck.config.z_dim for v in ck.meta["attribute_vectors"].values())


def test_early_stopping_when_validation_stops_improving(tmp_path: Path) -> None:
    # lr 1e-30 leaves the weights unchanged: the validation loss is identical every epoch
    cfg = TrainConfig(data="synthetic", run_dir=str(tmp_path / "run"), preset="tiny", epochs=20,
                      batch_size=64, synthetic_size=256, threads=1, lr=1e-30, min_lr=1e-30, disc_lr=1e-30,
                      patience=2)
    ck = load_checkpoint(train(cfg, quiet=True))
    assert ck.meta["metrics"]["stopped"] == "early stopping"
    assert ck.meta["metrics"]["total_epochs"] == 3
    assert ck.meta["metrics"]["epoch"] == 1  # the best epoch's weights are shipped


def test_time_budget_stops_after_the_epoch_that_fits(tmp_path: Path) -> None:
    cfg = TrainConfig(data="synthetic", run_dir=str(tmp_path / "run"), preset="tiny", epochs=20,
                      batch_size=64, synthetic_size=256, threads=1, max_minutes=1e-4)
    ck = load_checkpoint(train(cfg, quiet=True))
    assert ck.meta["metrics"]["stopped"] == "time budget"
    assert ck.meta["metrics"]["total_epochs"] == 1


def test_existing_run_is_not_overwritten(tmp_path: Path) -> None:
    cfg = TrainConfig(data="synthetic", run_dir=str(tmp_path / "run"), preset="tiny", epochs=1,
                      batch_size=64, synthetic_size=128, threads=1, smoke_test=True)
    train(cfg, quiet=True)
    assert main(["train", "synthetic", "--preset", "tiny", "--run-dir", cfg.run_dir, "--quiet",
                 "--smoke-test"]) == 1


def test_resume_refuses_data_that_changed_since_the_run_started(tmp_path: Path, monkeypatch,
                                                                capsys) -> None:
    from engine.errors import GrooveFaderError
    from training import train as train_module

    cfg = TrainConfig(data="synthetic", run_dir=str(tmp_path / "run"), preset="tiny", epochs=1,
                      batch_size=64, synthetic_size=128, threads=1, model={"num_attributes": 0})
    train(cfg, quiet=True)
    ran_on = synthetic_dataset(128, 32, 0).fingerprint
    other = synthetic_dataset(128, 32, 5)
    state_path = Path(cfg.run_dir) / "state.pt"
    assert torch.load(state_path, weights_only=True)["data_fingerprint"] == ran_on
    refused = f"the data changed since the run started \\(data fingerprint {other.fingerprint[:16]}, " \
              f"the run's {ran_on[:16]}\\); restore that data or start a new run$"
    log_before = (Path(cfg.run_dir) / "log.csv").read_bytes()
    with pytest.raises(GrooveFaderError, match=refused):
        train(cfg, resume=True, dataset=other, quiet=True)
    assert (Path(cfg.run_dir) / "log.csv").read_bytes() == log_before  # refused before any write
    with monkeypatch.context() as m:  # through the command: one line, no traceback
        m.setattr(train_module, "load_data", lambda *a, **k: other)
        assert main(["train", "--resume", cfg.run_dir, "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the data changed since the run started" in err
    # a state written without the fingerprint: the last checkpoint's names the run's data
    state = torch.load(state_path, weights_only=True)
    del state["data_fingerprint"]
    torch.save(state, state_path)
    with pytest.raises(GrooveFaderError, match=refused):
        train(cfg, resume=True, dataset=other, quiet=True)
    # the data the run started on resumes
    assert load_checkpoint(train(cfg, resume=True, quiet=True)).meta["data_fingerprint"] == ran_on


def test_a_resumed_run_logs_each_epoch_once(tmp_path: Path) -> None:
    """Killed after logging an epoch but before saving its state, the run redoes that epoch;
    resumed with its time budget spent, it trains none: either way the log ends with the
    state's epoch."""
    cfg = TrainConfig(data="synthetic", run_dir=str(tmp_path / "run"), preset="tiny", epochs=2,
                      batch_size=64, synthetic_size=128, threads=1, max_minutes=60,
                      model={"num_attributes": 0})
    train(cfg, quiet=True)
    run = Path(cfg.run_dir)
    assert [int(r["epoch"]) for r in rows(run)] == [1, 2]
    state = torch.load(run / "state.pt", weights_only=True)
    state["epoch"], state["elapsed_s"] = 1, 3600.0  # epoch 2 logged, then killed; the hour used
    torch.save(state, run / "state.pt")
    ck = load_checkpoint(train(cfg, resume=True, quiet=True))
    assert ck.meta["metrics"]["stopped"] == "time budget" and ck.meta["metrics"]["total_epochs"] == 1
    assert [int(r["epoch"]) for r in rows(run)] == [1]


def test_config_file_then_flags_then_set(tmp_path: Path) -> None:
    file = tmp_path / "cfg.json"
    file.write_text(json.dumps({"data": "synthetic", "epochs": 7, "batch_size": 16, "preset": "tiny",
                                "model": {"z_dim": 4, "beta": 0.5}}))
    args = build_parser().parse_args(["train", "--config", str(file), "--epochs", "3",
                                      "--set", "z_dim=6", "--set", "encoder_kind=conv"])
    cfg = build_config(args)
    assert (cfg.epochs, cfg.batch_size) == (3, 16)
    mcfg = cfg.model_config()
    assert (mcfg.z_dim, mcfg.beta, mcfg.encoder_kind) == (6, 0.5, "conv")


@pytest.mark.parametrize("argv, message", [
    (["train", "synthetic", "--set", "nonsense=1"], "unknown model setting"),
    (["train", "synthetic", "--preset", "huge"], "unknown preset"),
    (["train"], "give a DATA folder"),
    (["train", "synthetic", "--control-prior-share", "1.5"], "control_prior_share is a share"),
])
def test_bad_settings_are_one_line_errors(argv, message, capsys) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_hierarchical_four_bar_preset_trains_on_synthetic_data(tmp_path: Path) -> None:
    small = {"z_dim": 8, "encoder_size": 16, "decoder_size": 16, "decoder_proj": 8, "decoder_hidden": 16,
             "conductor_size": 16, "disc_size": 16}
    cfg = TrainConfig(data="synthetic", run_dir=str(tmp_path / "run"), preset="fader_4bar_hier", epochs=1,
                      batch_size=32, synthetic_size=128, threads=1, smoke_test=True, model=small)
    ck = load_checkpoint(train(cfg, quiet=True))
    assert (ck.config.steps, ck.config.decoder) == (64, "hierarchical")
    with torch.no_grad():
        out = ck.model.decode(torch.zeros(1, 8))
    assert out.hit_logits.shape == (1, 64, 9)


def test_control_loss_is_trained_and_logged(tmp_path: Path) -> None:
    cfg = TrainConfig(data="synthetic", run_dir=str(tmp_path / "run"), preset="tiny", epochs=3,
                      batch_size=32, synthetic_size=256, lr=3e-3, threads=1, beta_warmup_steps=10,
                      adv_ramp_steps=10, control_weight=1.0)
    load_checkpoint(train(cfg, quiet=True))
    log = rows(Path(cfg.run_dir))
    control = [float(r["train_control"]) for r in log]
    assert all(c > 0 for c in control)
    assert control[-1] < control[0]
    assert json.loads((Path(cfg.run_dir) / "config.json").read_text())["control_weight"] == 1.0


def test_monotone_hinge_is_trained_and_logged(tmp_path: Path) -> None:
    cfg = TrainConfig(data="synthetic", run_dir=str(tmp_path / "run"), preset="tiny", epochs=2,
                      batch_size=32, synthetic_size=256, lr=3e-3, threads=1, beta_warmup_steps=10,
                      adv_ramp_steps=10, control_weight=1.0, monotone_weight=1.0)
    load_checkpoint(train(cfg, quiet=True))
    log = rows(Path(cfg.run_dir))
    assert all(float(r["train_monotone"]) > 0 for r in log)
    assert all(float(r["train_edit"]) == 0 for r in log)  # off by default
    assert all(float(r["train_crosstalk"]) == 0 for r in log)


@pytest.mark.parametrize(("field", "heavy_weight"), [
    ("edit", 1.0),       # the penalty makes a knob step flip fewer hits
    ("crosstalk", 3.0),  # ... move the other attributes less
])
def test_hinge_pair_penalty_is_trained_and_logged(tmp_path: Path, field: str,
                                                  heavy_weight: float) -> None:
    def logged(weight: float) -> list[float]:
        cfg = TrainConfig(data="synthetic", run_dir=str(tmp_path / f"w{weight}"), preset="tiny",
                          epochs=4, batch_size=32, synthetic_size=256, lr=3e-3, threads=1,
                          beta_warmup_steps=10, adv_ramp_steps=10, control_weight=1.0,
                          monotone_weight=1.0, patience=10, **{f"{field}_weight": weight})
        train(cfg, quiet=True)
        return [float(r[f"train_{field}"]) for r in rows(Path(cfg.run_dir))]

    light, heavy = logged(0.01), logged(heavy_weight)
    assert all(v > 0 for v in light + heavy)
    assert heavy[-1] < light[-1]
    with pytest.raises(ValueError, match=f"{field}_weight"):
        TrainConfig(data="synthetic", **{f"{field}_weight": 0.1})  # no hinge pairs to measure on


def test_weight_decay_shrinks_the_weights_and_must_not_be_negative(tmp_path: Path) -> None:
    def norm(weight_decay: float) -> float:
        cfg = TrainConfig(data="synthetic", run_dir=str(tmp_path / f"wd{weight_decay}"), preset="tiny",
                          epochs=2, batch_size=32, synthetic_size=128, threads=1,
                          weight_decay=weight_decay)
        ck = load_checkpoint(train(cfg, quiet=True))
        return float(sum(p.detach().pow(2).sum() for p in ck.model.parameters()))

    assert norm(10.0) < 0.95 * norm(0.0)  # ~6 steps at lr 1e-3: a 1 % shrink per step
    with pytest.raises(ValueError, match="weight_decay"):
        TrainConfig(data="synthetic", weight_decay=-1.0)


def test_velocity_trunk_trains_through_the_cli(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert main(["train", "synthetic", "--preset", "tiny", "--run-dir", str(run), "--epochs", "2",
                 "--quiet", "--threads", "1", "--synthetic-size", "128", "--batch-size", "32",
                 "--set", "velocity_trunk=8", "--weight-decay", "0.01"]) == 0
    ck = load_checkpoint(run / "checkpoint.pt")
    assert ck.config.velocity_trunk == 8 and ck.model.decoder.vo_trunk is not None
    assert json.loads((run / "config.json").read_text())["weight_decay"] == 0.01


def test_control_loss_on_a_subset_of_the_rows(tmp_path: Path) -> None:
    cfg = TrainConfig(data="synthetic", run_dir=str(tmp_path / "run"), preset="tiny", epochs=2,
                      batch_size=32, synthetic_size=256, lr=3e-3, threads=1, beta_warmup_steps=10,
                      adv_ramp_steps=10, control_weight=1.0, monotone_weight=1.0, control_rows=8)
    load_checkpoint(train(cfg, quiet=True))
    log = rows(Path(cfg.run_dir))
    assert all(float(r["train_control"]) > 0 and float(r["train_monotone"]) >= 0 for r in log)
    with pytest.raises(ValueError, match="control_rows"):
        TrainConfig(data="synthetic", control_rows=-1)


def test_control_curriculum_starts_late_and_selects_only_after_the_ramp(tmp_path: Path) -> None:
    cfg = TrainConfig(data="synthetic", run_dir=str(tmp_path / "run"), preset="tiny", epochs=4,
                      batch_size=32, synthetic_size=256, lr=3e-3, threads=1, beta_warmup_steps=10,
                      adv_ramp_steps=10, control_weight=1.0, monotone_weight=1.0, control_rows=8,
                      control_start_step=12, control_ramp_steps=6, patience=1)
    ck = load_checkpoint(train(cfg, quiet=True))
    log = rows(Path(cfg.run_dir))
    steps = [int(r["step"]) for r in log]
    assert steps[0] <= 12 and steps[-1] > 18         # epochs before the start, and after the ramp
    control = [float(r["train_control"]) for r in log]
    assert control[0] == 0.0 and control[-1] > 0      # no control decodes before the start
    # selection begins after the ramp: the checkpoint is never from before the control loss
    assert int(ck.meta["metrics"]["step"]) > 18
    with pytest.raises(ValueError, match="control_start_step"):
        TrainConfig(data="synthetic", control_start_step=-1)


def test_augmentation_changes_what_is_trained_on_and_takes_probabilities(tmp_path: Path) -> None:
    def weights(ride_swap: float, run: str) -> torch.Tensor:
        cfg = TrainConfig(data="synthetic", run_dir=str(tmp_path / run), preset="tiny",
                          epochs=1, batch_size=32, synthetic_size=128, threads=1,
                          augment_ride_swap=ride_swap, augment_tom_shuffle=ride_swap,
                          augment_bar_rotate=ride_swap)
        ck = load_checkpoint(train(cfg, quiet=True))
        return torch.cat([p.detach().flatten() for p in ck.model.parameters()])

    plain = weights(0.0, "a")
    assert torch.equal(plain, weights(0.0, "b"))  # the same seed trains the same weights ...
    assert not torch.equal(plain, weights(1.0, "c"))  # ... so this difference is the augmentation's
    with pytest.raises(ValueError, match="augment_ride_swap"):
        TrainConfig(data="synthetic", augment_ride_swap=1.5)


def test_discriminator_on_posterior_samples_through_the_cli(tmp_path: Path, capsys) -> None:
    def run(name: str, *flags: str) -> dict[str, torch.Tensor]:
        assert main(["train", "synthetic", "--preset", "tiny", "--run-dir", str(tmp_path / name),
                     "--epochs", "1", "--quiet", "--threads", "1", "--synthetic-size", "128",
                     "--batch-size", "32", "--adv-ramp-steps", "1", *flags]) == 0
        return load_checkpoint(tmp_path / name / "checkpoint.pt").model.state_dict()

    means, samples = run("mu"), run("z", "--disc-on-sample", "true")
    assert json.loads((tmp_path / "z" / "config.json").read_text())["disc_on_sample"] is True
    # the noise reaches both the discriminator and (through the adversarial term) the encoder
    for prefix in ("disc.", "encoder."):
        keys = [k for k in means if k.startswith(prefix) and means[k].is_floating_point()]
        assert keys and any(not torch.equal(means[k], samples[k]) for k in keys), prefix
    with pytest.raises(SystemExit):  # argparse's usage error
        main(["train", "synthetic", "--disc-on-sample", "maybe"])
    assert "expected true or false" in capsys.readouterr().err


def test_selection_can_count_the_validation_control_error(tmp_path: Path) -> None:
    weight = 50.0
    cfg = TrainConfig(data="synthetic", run_dir=str(tmp_path / "run"), preset="tiny", epochs=5,
                      batch_size=32, synthetic_size=256, lr=3e-3, threads=1, beta_warmup_steps=10,
                      adv_ramp_steps=10, control_weight=1.0, control_rows=8, patience=10,
                      select_control_weight=weight)
    ck = load_checkpoint(train(cfg, quiet=True))
    log = rows(Path(cfg.run_dir))
    control = [float(r["val_control"]) for r in log]
    assert all(c > 0 for c in control)
    criterion = [float(r["val_loss"]) + weight * c for r, c in zip(log, control, strict=True)]
    best = min(range(len(log)), key=criterion.__getitem__)
    assert int(ck.meta["metrics"]["epoch"]) == int(log[best]["epoch"])
    with pytest.raises(ValueError, match="select_control_weight"):
        TrainConfig(data="synthetic", select_control_weight=-1.0)
    # measuring the control error leaves every reconstruction figure as it was
    names = tuple(ck.meta["attributes"]["names"])
    splits, stats = _prepare(synthetic_dataset(256, 32, 0, names), ck.config)
    norm = {k: torch.tensor(stats[k], dtype=torch.float32) for k in ("mean", "std", "low", "high")}
    plain = evaluate_split(ck.model, splits["validation"], ck.config.beta)
    both = evaluate_split(ck.model, splits["validation"], ck.config.beta, control=(names, norm))
    assert both.pop("control") > 0 and both == plain
    assert float(log[best]["val_loss"]) == pytest.approx(plain["loss"], rel=1e-4)


def test_knob_monotone_shares_follow_the_evaluation_definition() -> None:
    """The per-epoch monotone share equals the evaluation's, recomputed here by hand with
    engine.music.attributes on each knob's greedy sweep over the same prior draws."""
    import dataclasses

    import numpy as np

    from engine.music import attributes as exact
    from models.config import PRESETS
    from models.fader_vae import FaderVAE
    from training.evaluate import monotone_share
    from training.train import knob_monotone_shares

    torch.manual_seed(0)
    cfg = dataclasses.replace(PRESETS["fader_2bar"], monotone_density=True)
    model = FaderVAE(cfg).eval()
    names = tuple(exact.ATTRIBUTES)[: cfg.num_attributes]
    n = len(names)
    norm = {"mean": torch.zeros(n), "std": torch.ones(n), "low": torch.full((n,), -2.0),
            "high": torch.full((n,), 2.0)}
    draws, settings = 64, 5
    shares = knob_monotone_shares(model, names, norm, draws=draws, settings=settings, seed=3)
    z = torch.randn(draws, cfg.z_dim, generator=torch.Generator().manual_seed(3))
    for k, name in enumerate(names):
        resp = []
        for s in np.linspace(-2.0, 2.0, settings):
            knobs = torch.zeros(draws, n)
            knobs[:, k] = float(s)
            with torch.no_grad():
                arr = model.decode(z, knobs).to_array().numpy()
            resp.append(exact.compute(arr, names)[:, k])
        assert shares[name] == pytest.approx(monotone_share(np.stack(resp, 1)), abs=1.5 / draws), name
    assert shares["density"] == 1.0  # monotone by construction
    assert min(shares.values()) < 0.5  # an untrained decoder's other knobs are not
    assert set(knob_monotone_shares(model, names, norm, draws=8, knobs=("syncopation",))) == {
        "syncopation"}


def test_control_knob_weights_are_checked(tmp_path: Path, capsys) -> None:
    cfg = TrainConfig(data="synthetic", run_dir=str(tmp_path / "run"), preset="tiny", epochs=2,
                      batch_size=32, synthetic_size=128, threads=1, control_weight=1.0,
                      control_rows=8, control_knob_weights={"syncopation": 3.0})
    train(cfg, quiet=True)
    log = rows(Path(cfg.run_dir))
    assert len(log) == 2 and all(0 <= float(r["val_monotone_worst"]) <= 1 for r in log)
    args = build_parser().parse_args(["train", "synthetic", "--control-knob-weights",
                                      "syncopation=3, density=0.5"])
    assert build_config(args).control_knob_weights == {"syncopation": 3.0, "density": 0.5}
    with pytest.raises(ValueError, match="control_knob_weights"):
        TrainConfig(data="synthetic", control_knob_weights={"syncopation": -1.0})
    with pytest.raises(SystemExit):
        main(["train", "synthetic", "--control-knob-weights", "syncopation"])
    assert "expected NAME=VALUE[,NAME=VALUE...], got 'syncopation'" in capsys.readouterr().err
    code = main(["train", "synthetic", "--preset", "tiny", "--run-dir", str(tmp_path / "r2"),
                 "--smoke-test", "--quiet", "--control-weight", "1", "--control-knob-weights",
                 "swing=2"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "no knob(s) ['swing']" in err and "\n" not in err
    assert not (tmp_path / "r2").exists()  # refused before the run folder was written


def test_every_training_setting_has_a_flag_with_its_type_and_help() -> None:
    import dataclasses

    from training.config import TrainConfig

    parser = build_parser()
    train_parser = parser._subparsers._group_actions[0].choices["train"]
    flags = {a.dest: a for a in train_parser._actions}
    for f in dataclasses.fields(TrainConfig):
        if f.name in ("data", "model"):  # DATA positional; the model's settings are --set
            continue
        assert f.name in flags, f.name
        assert flags[f.name].option_strings == ["--" + f.name.replace("_", "-")]
        assert f.metadata["help"] in flags[f.name].help
    args = parser.parse_args(["train", "synthetic", "--min-lr", "1e-4", "--grad-clip", "0.5",
                              "--disc-lr", "2e-3", "--smoke-test", "--disc-on-sample", "false",
                              "--cache-dir", "none"])
    cfg = build_config(args)
    assert (cfg.min_lr, cfg.grad_clip, cfg.disc_lr, cfg.smoke_test, cfg.disc_on_sample,
            cfg.cache_dir) == (1e-4, 0.5, 2e-3, True, False, None)
    assert build_config(parser.parse_args(["train", "synthetic"])) == TrainConfig(data="synthetic")


@pytest.mark.parametrize("argv, message", [
    (["train", "synthetic", "--epochs", "ten"], "argument --epochs: expected an integer, got 'ten'"),
    (["train", "synthetic", "--smoke-test", "maybe"], "expected true or false, got 'maybe'"),
    (["train", "synthetic", "--unknown-flag", "1"], "unrecognized arguments: --unknown-flag 1"),
])
def test_bad_flags_are_argparse_errors(argv, message, capsys) -> None:
    with pytest.raises(SystemExit):
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith(message)  # argparse: the usage, then one error line


@pytest.mark.parametrize("content, message", [
    ({"data": "synthetic", "epochs": "ten"}, "train: epochs takes an integer, got 'ten'"),
    ({"data": "synthetic", "model": {"dropout": "x"}}, "train: dropout takes a number, got 'x'"),
    ({"data": "synthetic", "smoke_test": 1}, "train: smoke_test takes true or false, got 1"),
    ({"data": "synthetic", "bogus": 1}, "train: unknown training setting(s) ['bogus']"),
    ({"data": "synthetic", "model": {"bogus": 1}}, "unknown model setting(s) ['bogus']"),
])
def test_bad_config_files_are_one_line_errors(tmp_path: Path, content, message, capsys) -> None:
    file = tmp_path / "cfg.json"
    file.write_text(json.dumps(content))
    assert main(["train", "--config", str(file)]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


@pytest.mark.parametrize("setting, message", [
    ("z_dim=abc", "--set z_dim: expected an integer, got 'abc'"),
    ("monotone_hats=perhaps", "--set monotone_hats: expected true or false, got 'perhaps'"),
    ("z_dim", "expected NAME=VALUE"),
    ("nonsense=1", "unknown model setting 'nonsense'"),
])
def test_bad_model_settings_are_one_line_errors(setting, message, capsys) -> None:
    assert main(["train", "synthetic", "--set", setting]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_set_values_take_the_model_fields_types() -> None:
    args = build_parser().parse_args(["train", "synthetic", "--set", "z_dim=64", "--set", "beta=1",
                                      "--set", "monotone_density=true", "--set", "encoder_kind=conv"])
    model = build_config(args).model
    assert model == {"z_dim": 64, "beta": 1.0, "monotone_density": True, "encoder_kind": "conv"}
    assert isinstance(model["beta"], float)


def test_a_folder_another_live_run_trains_in_is_refused_and_a_killed_runs_lock_is_taken_over(
        tmp_path: Path) -> None:
    import subprocess
    import sys

    from engine.errors import GrooveFaderError

    run = tmp_path / "run"
    run.mkdir()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run / ".lock").write_text(f"{other.pid}\n")
        cfg = TrainConfig(data="synthetic", run_dir=str(run), preset="tiny", epochs=1, batch_size=64,
                          synthetic_size=256, threads=1, model={"num_attributes": 0})
        with pytest.raises(GrooveFaderError, match=f"another run \\(process {other.pid}\\) trains here"):
            train(cfg, quiet=True)
        assert not (run / "config.json").exists()  # nothing of the other run's touched
    finally:
        other.kill()
        other.wait()
    # that process is gone now: its lock is stale and the run takes it over, then lets it go
    assert load_checkpoint(train(cfg, quiet=True)).meta["model_kind"] == "vae"
    assert not (run / ".lock").exists()
