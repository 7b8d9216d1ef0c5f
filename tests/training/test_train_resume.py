"""Exact resume after SIGKILL, and DDP with two CPU processes under torchrun (real subprocesses)."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from models.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
ARGS = ["train", "synthetic", "--preset", "tiny", "--synthetic-size", "480", "--batch-size", "32",
        "--epochs", "4", "--threads", "1", "--quiet", "--beta-warmup-steps", "50", "--adv-ramp-steps", "50",
        # augmentation draws must resume exactly too
        "--augment-ride-swap", "0.3", "--augment-tom-shuffle", "0.3", "--augment-bar-rotate", "0.3"]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", *args]


def final_weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "state.pt", weights_only=True)["model"]


def val_losses(run: Path) -> list[str]:
    with (run / "log.csv").open() as f:
        return [row["val_loss"] for row in csv.DictReader(f)]


@pytest.mark.slow
def test_resume_after_sigkill_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    subprocess.run(cli(*ARGS, "--run-dir", str(whole)), cwd=REPO, env=ENV, check=True,
                   capture_output=True, timeout=120)

    proc = subprocess.Popen(cli(*ARGS, "--run-dir", str(killed)), cwd=REPO, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in proc.stdout:
            if line.startswith("epoch 2 done"):
                proc.send_signal(signal.SIGKILL)  # mid-run: epoch 3 is under way
                break
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "checkpoint.pt").exists()  # it really died before the end
    assert torch.load(killed / "state.pt", weights_only=True)["epoch"] in (2, 3)

    done = subprocess.run(cli("train", "--resume", str(killed), "--quiet"), cwd=REPO, env=ENV,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert val_losses(killed) == val_losses(whole)
    a, b = final_weights(whole), final_weights(killed)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert load_checkpoint(killed / "checkpoint.pt").meta["metrics"]["total_epochs"] == 4


@pytest.mark.slow
def test_ddp_two_cpu_processes_under_torchrun(tmp_path: Path) -> None:
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))
    run = tmp_path / "ddp"
    cmd = [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "app.cli", "train", "synthetic",
           "--preset", "tiny", "--synthetic-size", "600", "--batch-size", "32", "--epochs", "2",
           "--threads", "1", "--quiet", "--run-dir", str(run)]
    done = subprocess.run(cmd, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    ck = load_checkpoint(run / "checkpoint.pt")
    metrics = ck.meta["metrics"]
    assert metrics["world_size"] == 2 and metrics["total_epochs"] == 2
    # each rank saw half of the 480 training windows per epoch: 8 steps of 32, not 15
    with (run / "log.csv").open() as f:
        steps = [int(r["step"]) for r in csv.DictReader(f)]
    assert steps == [8, 16]
    state = torch.load(run / "state.pt", weights_only=True)
    assert state["rng"].shape[0] == 2  # both ranks' RNG states are kept for an exact resume


def test_a_run_killed_after_stopping_early_resumes_into_its_end_and_a_cut_state_is_one_line(
        tmp_path: Path) -> None:
    """Early stopping is decided after the epoch's state is saved: a run killed in its final
    phase (the data map, the export: minutes on the real data) must resume into that phase,
    not train on."""
    run = tmp_path / "run"
    subprocess.run(cli(*ARGS, "--epochs", "2", "--patience", "3", "--run-dir", str(run)), cwd=REPO,
                   env=ENV, check=True, capture_output=True, timeout=120)
    state = torch.load(run / "state.pt", weights_only=True)
    state["bad_epochs"] = 3  # as the last epoch left it when patience ran out
    state["epoch"] = 1
    torch.save(state, run / "state.pt")
    for name in ("checkpoint.pt", "checkpoint.json"):
        (run / name).unlink()  # killed before the end was written
    rows_before = val_losses(run)
    done = subprocess.run(cli("train", "--resume", str(run), "--quiet"), cwd=REPO, env=ENV,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert load_checkpoint(run / "checkpoint.pt").meta["metrics"]["stopped"] == "early stopping"
    assert len(val_losses(run)) <= len(rows_before)  # no epoch trained after the stop
    (run / "state.pt").write_bytes((run / "state.pt").read_bytes()[:1000])
    cut = subprocess.run(cli("train", "--resume", str(run), "--quiet"), cwd=REPO, env=ENV,
                         capture_output=True, text=True, timeout=120)
    assert cut.returncode == 1 and cut.stderr.count("\n") == 1 and "not a readable resume state" in cut.stderr
