"""The studies' shared command (training.studies.skeleton) on a toy study, and every study on it."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

import pytest

from engine.errors import DatasetError
from training.studies import skeleton

STUDIES = ("beta_warmup", "hierarchical", "latent_space", "transitions", "randomize_draws", "mnist_vae")


def toy(calls: list[str]) -> skeleton.Study:
    def arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("--size", type=int, default=10)
        p.add_argument("--fail", action="store_true")

    def run(args: argparse.Namespace) -> dict:
        calls.append("run")
        if args.fail:
            raise DatasetError("no data here")
        return {"size": args.size, "seed": args.seed}

    def quick(args: argparse.Namespace) -> None:
        args.size = 2

    def report(results: dict, args: argparse.Namespace) -> str:
        calls.append("report")
        return f"# Toy\n\n`{results['command']}`: size {results['size']}, seed {results['seed']}\n"

    return skeleton.Study(module="tests.toy_study", description="A toy study.", arguments=arguments,
                          run=run, report=report, smoke="small", quick=quick, seed=7)


def test_run_records_the_command_and_writes_results_and_report(tmp_path: Path, capsys) -> None:
    calls: list[str] = []
    out = tmp_path / "toy"
    assert skeleton.main(toy(calls), ["--out", str(out), "--smoke", "--seed", "3"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results == {"command": f"python -m tests.toy_study --out {out} --smoke --seed 3", "size": 2,
                       "seed": 3}
    assert list(results)[0] == "command"
    assert (out / "report.md").read_text() == f"# Toy\n\n`{results['command']}`: size 2, seed 3\n"
    assert calls == ["run", "report"]
    assert not list(out.glob("*.tmp"))  # written atomically
    # --report-only rebuilds the report from results.json alone
    (out / "report.md").unlink()
    assert skeleton.main(toy(calls), ["--out", str(out), "--report-only", "--size", "99"]) == 0
    assert calls == ["run", "report", "report"]
    assert "size 2, seed 3" in (out / "report.md").read_text()


def test_errors_are_one_line_and_write_nothing(tmp_path: Path, capsys) -> None:
    out = tmp_path / "toy"
    assert skeleton.main(toy([]), ["--out", str(out), "--fail"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "toy_study: error: no data here"
    assert not out.exists()
    assert skeleton.main(toy([]), ["--out", str(out), "--report-only"]) == 1
    assert "cannot read the study's results" in capsys.readouterr().err


@pytest.mark.parametrize("name", STUDIES)
def test_every_study_runs_through_the_skeleton(name: str) -> None:
    module = importlib.import_module(f"training.studies.{name}")
    assert isinstance(module.STUDY, skeleton.Study)
    assert module.STUDY.module == f"training.studies.{name}"
    help_text = skeleton.parser(module.STUDY).format_help()
    assert "--out" in help_text
