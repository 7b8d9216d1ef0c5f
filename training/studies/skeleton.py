"""The command every study runs through: a study brings its science, this does the rest.

A study is a :class:`Study`: its own arguments, a ``run`` that computes the results, and a
``report`` that draws its figures and returns the Markdown text. :func:`main` parses the
common options (``--out``, ``--smoke``, ``--report-only``, ``--seed`` where the study has
one), records the command line in the results, runs, writes ``results.json`` and
``report.md`` atomically (models.atomic) and turns a :class:`GrooveFaderError` into one line
on stderr. ``--report-only`` rebuilds the report from a saved ``results.json`` without
running anything.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import GrooveFaderError
from training.studies import drum_common as dc

RESULTS = "results.json"
REPORT = "report.md"

Results = dict[str, Any]


def write_results(results: Results, args: argparse.Namespace) -> None:
    """The default save: ``OUT/results.json``, atomically."""
    dc.write_json(args.out / RESULTS, results)


def read_results(args: argparse.Namespace) -> Results:
    """The default load (``--report-only``): ``OUT/results.json``."""
    path = args.out / RESULTS
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise GrooveFaderError(f"{path}: cannot read the study's results ({err})") from err


@dataclass(frozen=True)
class Study:
    """One study's own parts; everything else is :func:`main`'s."""

    module: str                                          # run as ``python -m <module>``
    description: str                                     # --help's first line
    arguments: Callable[[argparse.ArgumentParser], None]  # the study's own options
    run: Callable[[argparse.Namespace], Results]         # the science: JSON-able results
    report: Callable[[Results, argparse.Namespace], str]  # figures into args.out; report.md's text
    smoke: str | None = None                             # --smoke's help; None: no --smoke
    quick: Callable[[argparse.Namespace], None] | None = None  # what --smoke shrinks in the options
    save: Callable[[Results, argparse.Namespace], None] = write_results  # e.g. arrays to a side .npz
    load: Callable[[argparse.Namespace], Results] = read_results
    report_only: bool = True                             # offer --report-only
    seed: int | None = None                              # --seed's default; None: no --seed
    out: str | None = None                               # --out's default; None: required

    @property
    def name(self) -> str:
        return self.module.rsplit(".", 1)[-1]


def kept_test_run(results: Results, args: argparse.Namespace) -> Results | None:
    """The test split's run kept in ``OUT/test`` beside a validation run, for its report
    (None for a test run itself, or when there is none yet)."""
    path = args.out / "test" / RESULTS
    if results["split"] == "test" or not path.is_file():
        return None
    return json.loads(path.read_text())


def command_line(module: str, argv: Sequence[str]) -> str:
    """The command as typed, for the report (``python -m <module> <args>``)."""
    return dc.command_line(module, argv)


def parser(study: Study) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m {study.module}", description=study.description)
    p.add_argument("--out", type=Path, required=study.out is None, default=study.out,
                   help="report folder: results.json, report.md and figures"
                   + (f" (default {study.out})" if study.out else ""))
    if study.seed is not None:
        p.add_argument("--seed", type=int, default=study.seed, help=f"random seed (default {study.seed})")
    if study.smoke is not None:
        p.add_argument("--smoke", action="store_true", help=study.smoke)
    if study.report_only:
        p.add_argument("--report-only", action="store_true",
                       help="rebuild report.md and the figures from OUT/results.json; run nothing")
    study.arguments(p)
    return p


def entry(study: Study) -> Callable[[Sequence[str] | None], int]:
    """The study module's ``main(argv=None)``: :func:`main` bound to ``study``."""
    def study_main(argv: Sequence[str] | None = None) -> int:
        return main(study, argv)

    study_main.__doc__ = f"Run {study.module} (``python -m {study.module} --help``)."
    return study_main


def main(study: Study, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run or reload, save, report. Returns the exit status (0, or 1 after a
    one-line error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser(study).parse_args(argv)
    args.command = command_line(study.module, argv)
    try:
        if getattr(args, "report_only", False):
            results = study.load(args)
        else:
            if getattr(args, "smoke", False) and study.quick is not None:
                study.quick(args)
            results = study.run(args)
            results = {"command": args.command, **{k: v for k, v in results.items() if k != "command"}}
            study.save(results, args)
        text = study.report(results, args)
        dc.write_text(args.out / REPORT, text)
    except GrooveFaderError as err:
        print(f"{study.name}: error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {args.out / REPORT}", file=sys.stderr)
    return 0


def surface_study(module: str, doc: str, run: Any, report: Any) -> Study:
    """A study measuring realism surfaces of one checkpoint
    (:func:`~training.studies.drum_common.surface_study_arguments`; ``--quick`` caps the
    samples at 120); ``report(results)`` gives its Markdown."""

    def quick(args: Any) -> None:
        args.samples = min(args.samples, 120)

    return Study(module=module, description=doc.splitlines()[0], arguments=dc.surface_study_arguments,
                 run=run, report=lambda results, args: report(results),
                 smoke="synthetic grooves, few samples", quick=quick, seed=0)
