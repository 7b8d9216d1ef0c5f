"""Melody training: a few steps on a small ABC collection, checkpoints, resume, refusal."""

from __future__ import annotations

import dataclasses
import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("music21")

from engine.errors import GrooveFaderError  # noqa: E402
from engine.generation.onnx_nets import find_export  # noqa: E402
from models.melody_checkpoint import load_melody_checkpoint  # noqa: E402
from training.melody.train import MelodyTrainConfig, reconstruction_metrics, train  # noqa: E402


def _cfg(folk, tmp_path, **kw) -> MelodyTrainConfig:
    base = dict(preset="melody_tiny", run_dir=str(tmp_path / "run"), batch_size=8, max_steps=4,
                val_every_s=0.0, log_every=2, val_windows=16, kl_warmup_steps=2,
                cache_dir=str(tmp_path / "cache"), corpus_root=str(folk), collections=("folk",))
    return MelodyTrainConfig(**{**base, **kw})


def test_train_writes_checkpoints_and_resumes(folk, tmp_path) -> None:
    cfg = _cfg(folk, tmp_path)
    best = train(cfg, quiet=True)
    ck = load_melody_checkpoint(best)
    assert ck.meta["model_kind"] == "melody_vae" and ck.meta["metrics"]["step"] >= 1
    assert find_export(best, "melody")[0] is not None  # the graphs the instrument plays on
    assert len(ck.meta["latent"]["anchors"][0]) == ck.config.z_dim
    rows = [json.loads(r) for r in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert any("val_step_accuracy" in r for r in rows) and rows[-1]["step"] == 4
    with pytest.raises(GrooveFaderError, match="already there"):
        train(cfg, quiet=True)
    with pytest.raises(GrooveFaderError, match="different config.*lr"):
        train(_cfg(folk, tmp_path, lr=5e-3), resume=True, quiet=True)
    state = torch.load(tmp_path / "run" / "state.pt", weights_only=True)
    assert state["step"] == 4
    assert train(cfg, resume=True, quiet=True) == best  # finished: nothing more to do
    # killed while exporting: the finished run's resume writes the export it lacks
    import shutil

    shutil.rmtree(tmp_path / "run" / "best-onnx")
    assert train(cfg, resume=True, quiet=True) == best and find_export(best, "melody")[0] is not None
    # a budget not given again is the run's own, not the default million steps
    defaults = MelodyTrainConfig()
    assert train(_cfg(folk, tmp_path, max_steps=defaults.max_steps, val_every_s=defaults.val_every_s,
                      log_every=defaults.log_every), resume=True, quiet=True) == best
    assert torch.load(tmp_path / "run" / "state.pt", weights_only=True)["step"] == 4
    assert json.loads((tmp_path / "run" / "config.json").read_text())["max_steps"] == 4
    # a larger budget goes on, on as many threads as the machine has to spare now; the folder
    # named another way (absolute here) is the same run
    train(_cfg(folk, tmp_path, max_steps=6, threads=2, run_dir=str((tmp_path / "run").resolve()) + "/"),
          resume=True, quiet=True)
    assert torch.load(tmp_path / "run" / "state.pt", weights_only=True)["step"] == 6
    # a run config cut short is one line
    (tmp_path / "run" / "config.json").write_text('{"preset": "melo')
    with pytest.raises(GrooveFaderError, match="not a readable run config"):
        train(cfg, resume=True, quiet=True)


def test_a_resumed_run_logs_each_step_once(folk, tmp_path) -> None:
    """Killed after logging steps past its last saved state, the run redoes those steps: the
    log keeps one line of each (and drops a line the kill cut short)."""
    import shutil

    run = tmp_path / "run"
    cfg = _cfg(folk, tmp_path, max_steps=2)
    train(cfg, quiet=True)
    shutil.copy(run / "state.pt", tmp_path / "state-at-2.pt")
    train(dataclasses.replace(cfg, max_steps=4), resume=True, quiet=True)
    whole = (run / "log.jsonl").read_text()
    # as if killed before the state of step 4 was saved: the state is step 2's, steps 3 and 4
    # are in the log, and the kill cut a line short
    shutil.copy(tmp_path / "state-at-2.pt", run / "state.pt")
    (run / "log.jsonl").write_text(whole + '{"step": 5, "train_lo')
    train(dataclasses.replace(cfg, max_steps=4), resume=True, quiet=True)
    rows = [json.loads(r) for r in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "val_step_accuracy" in r] == [1, 2, 3, 4]
    assert [r["step"] for r in rows if "train_loss" in r] == [2, 4]
    # a run started again from nothing (no state saved yet) starts its log again too
    (run / "state.pt").unlink()
    train(dataclasses.replace(cfg, max_steps=4), resume=True, quiet=True)
    rows = [json.loads(r) for r in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "val_step_accuracy" in r] == [1, 2, 3, 4]


def test_resume_refuses_tunes_that_changed_since_the_run_started(folk, tmp_path) -> None:
    import shutil

    root = tmp_path / "abc"
    shutil.copytree(folk, root)
    cfg = _cfg(root, tmp_path, max_steps=2)
    train(cfg, quiet=True)
    state = torch.load(tmp_path / "run" / "state.pt", weights_only=True)
    abc = root / "folk" / "tunes.abc"
    abc.write_text(abc.read_text(encoding="latin-1") + "\nX:99\nT:new\nM:4/4\nL:1/8\nK:C\nCDEF|GABc|\n",
                   encoding="latin-1")
    later = dataclasses.replace(cfg, max_steps=4)
    with pytest.raises(GrooveFaderError, match="melodies changed since the run started") as e:
        train(later, resume=True, quiet=True)
    assert state["data_fingerprint"][:16] in str(e.value)
    assert torch.load(tmp_path / "run" / "state.pt", weights_only=True)["step"] == 2  # nothing trained
    # a state written without a fingerprint is compared through the run's last checkpoint
    del state["data_fingerprint"]
    torch.save(state, tmp_path / "run" / "state.pt")
    shutil.copy(tmp_path / "run" / "best.pt", tmp_path / "run" / "last.pt")
    with pytest.raises(GrooveFaderError, match="melodies changed"):
        train(later, resume=True, quiet=True)
    # the run's own tunes back: it goes on
    abc.write_text((folk / "folk" / "tunes.abc").read_text(encoding="latin-1"), encoding="latin-1")
    train(later, resume=True, quiet=True)
    assert torch.load(tmp_path / "run" / "state.pt", weights_only=True)["step"] == 4


def test_scheduled_sampling_and_model_overrides_reach_the_checkpoint(folk, tmp_path) -> None:
    cfg = _cfg(folk, tmp_path, sampling=0.5, sampling_ramp_steps=2, word_dropout=0.3, dropout=0.2)
    ck = load_melody_checkpoint(train(cfg, quiet=True))
    assert ck.config.word_dropout == 0.3 and ck.config.dropout == 0.2
    assert ck.meta["train"]["sampling"] == 0.5
    rows = [json.loads(r) for r in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert all(r["train_loss"] == r["train_loss"] for r in rows if "train_loss" in r)  # not NaN


def test_bfloat16_steps_learn_and_keep_float32_weights(folk, tmp_path) -> None:
    cfg = _cfg(folk, tmp_path, precision="bfloat16", sampling=0.5, sampling_ramp_steps=2, max_steps=40,
               log_every=10, lr=3e-3)
    ck = load_melody_checkpoint(train(cfg, quiet=True))
    assert ck.meta["train"]["precision"] == "bfloat16"
    assert all(p.dtype == torch.float32 for p in ck.model.parameters())
    rows = [json.loads(r) for r in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    recon = [r["train_recon"] for r in rows if "train_recon" in r]
    assert all(v == v for v in recon) and recon[-1] < recon[0]  # finite, and it learns
    with pytest.raises(GrooveFaderError, match="different config.*precision"):
        train(_cfg(folk, tmp_path, precision="float32", max_steps=41), resume=True, quiet=True)
    with pytest.raises(GrooveFaderError, match="precision 'half'"):
        MelodyTrainConfig(precision="half")


def test_the_bfloat16_stage_ends_at_float32_from_step(folk, tmp_path) -> None:
    def weights(name: str, **kw) -> dict[str, torch.Tensor]:
        cfg = _cfg(folk, tmp_path, run_dir=str(tmp_path / name), max_steps=12, lr=3e-3, **kw)
        return load_melody_checkpoint(train(cfg, quiet=True)).model.state_dict()

    fp32 = weights("fp32")
    switched_at_0 = weights("at0", precision="bfloat16", float32_from_step=0)
    bf16 = weights("bf16", precision="bfloat16")
    assert all(torch.equal(fp32[k], switched_at_0[k]) for k in fp32)  # float32 from the first step
    assert not all(torch.equal(fp32[k], bf16[k]) for k in fp32)

    # a run that crosses the switch across a resume logs it once, at its step
    cfg = _cfg(folk, tmp_path, precision="bfloat16", float32_from_step=6, max_steps=4)
    train(cfg, quiet=True)
    train(dataclasses.replace(cfg, max_steps=10), resume=True, quiet=True)
    rows = [json.loads(r) for r in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "precision" in r] == [6]
    with pytest.raises(GrooveFaderError, match="needs precision='bfloat16'"):
        MelodyTrainConfig(float32_from_step=10)


def test_reconstruction_metrics_count_onsets_and_pitches() -> None:
    import numpy as np

    true = np.array([[5, 1, 1, 0, 7, 1]])
    pred = np.array([[5, 1, 1, 1, 8, 1]])
    m = reconstruction_metrics(true, pred)
    assert m["step_accuracy"] == pytest.approx(4 / 6)
    assert m["onset_f1"] == 1.0 and m["onset_pitch_accuracy"] == 0.5


def test_the_linear_schedule_reaches_zero_when_the_budget_runs_out(folk, tmp_path) -> None:
    by_steps = MelodyTrainConfig(lr=2e-3, lr_schedule="linear", max_steps=1000, max_minutes=60)
    assert by_steps.learning_rate(0, 0.0) == pytest.approx(2e-3)
    assert by_steps.learning_rate(500, 60.0) == pytest.approx(1e-3)  # the steps run out first
    assert by_steps.learning_rate(100, 45 * 60.0) == pytest.approx(0.5e-3)  # the hour runs out first
    assert by_steps.learning_rate(1000, 0.0) == 0.0 and by_steps.learning_rate(5, 3600.0) == 0.0
    exp = MelodyTrainConfig(lr=2e-3, lr_decay=0.99, lr_min=1e-4)
    assert exp.learning_rate(10, 1e6) == pytest.approx(2e-3 * 0.99 ** 10)  # wall time plays no part
    assert exp.learning_rate(10_000, 0.0) == 1e-4
    with pytest.raises(GrooveFaderError, match="lr schedule 'cosine'"):
        MelodyTrainConfig(lr_schedule="cosine")

    train(_cfg(folk, tmp_path, lr=3e-3, lr_schedule="linear", max_steps=10), quiet=True)
    rows = [json.loads(r) for r in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    lrs = [r["lr"] for r in rows if "lr" in r]
    assert lrs == sorted(lrs, reverse=True) and lrs[0] < 3e-3
    assert lrs[-1] == pytest.approx(3e-3 * 0.1, rel=0.05)  # the tenth of ten steps: one tenth left
