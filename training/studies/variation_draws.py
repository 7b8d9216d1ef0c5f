"""Where Variation should draw: a nearby training groove, that groove plus Randomize's
noise, or the current latent plus Gaussian noise.

Variation of Randomize's grooves at the app's amount (0.35), measured as ``groovefader
eval`` measures the variation surface: classifier two-sample test against real held-out
windows with the reconstructions' floor from the same run (each variation grouped by the
training performance of the map's groove nearest it), MGEval overlaps, micro-timing.

Selection rule, written before any candidate was scored: most realism targets met (6), then
the lowest mean C2ST accuracy (features and raw), then the simpler (neighbour, noise,
neighbour plus noise).

A fourth candidate came after that run, the rule unchanged and last in its order: the
nearest grooves are plainer than most (on test the chosen neighbour missed the data's swing,
0.435 against 0.566), and ``'neighbour-hub'`` ranks the nearest grooves by the transitions'
hub-penalised link cost instead, so the plain grooves near everything are picked less.

A fifth came after that, the rule again unchanged and last in its order:
``'neighbour-even'`` draws among the same nearest grooves with odds 1 / in-degree (how many
grooves have it among their 10 nearest), so that, from Randomize's grooves, every training
groove is reached about as often as any other (a plain nearest draw reaches a groove in
proportion to its in-degree, so hubs, the plainer grooves, come more often).

Run (validation split)::

    python -m training.studies.variation_draws --checkpoint checkpoints/default.pt \\
        --data ../shared/data/groove --split validation --out docs/studies/variation_draws
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from training.studies import drum_common as dc
from training.studies import skeleton

MODULE = "training.studies.variation_draws"
METHODS = ("neighbour", "noise", "neighbour+noise", "neighbour-hub", "neighbour-even")  # the rule's order


def score(surface: dict[str, Any]) -> tuple[int, float]:
    """(targets met, mean C2ST) of the variation surface."""
    return dc.surface_score(surface)


def choose(rows: dict[str, dict[str, Any]]) -> str:
    def key(name: str) -> tuple[int, float, int]:
        met, acc = score(rows[name]["variation"])
        return -met, acc, METHODS.index(name)

    return min(rows, key=key)


def _run(args: argparse.Namespace) -> dict[str, Any]:
    rows = measure(args, METHODS)
    return {"split": args.split, "samples": args.samples, "seed": args.seed, "candidates": rows,
            "chosen": choose(rows)}


def measure(args: argparse.Namespace, methods: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The variation surface and the run's floor for each of ``methods``
    (``Generator.variation_method``)."""
    from training.realism.scorecard import evaluate_surfaces

    gen, data = dc.surface_study_setup(args)
    rows: dict[str, dict[str, Any]] = {}
    for method in methods:
        gen.variation_method = method
        res = evaluate_surfaces(gen, data.patterns, data.performance_groups(), samples=args.samples,
                                seed=args.seed, only=("variation",), training=data.training)
        rows[method] = {"variation": res["surfaces"]["variation"], "summary": res["summary"]}
        met, acc = score(rows[method]["variation"])
        print(f"{method}: {met} targets met, mean C2ST {acc:.3f}", flush=True)
    return rows


def render(title: str, intro: str, results: dict[str, Any], headers: list[str],
           cells: Callable[[dict[str, Any]], tuple[Any, ...]]) -> str:
    """A Variation study's report: ``intro``, the split and floor, one row per candidate
    (the surface's cells, then ``cells(row)`` under ``headers``) and the rule's choice."""
    rows = results["candidates"]
    floor = next(iter(rows.values()))["summary"]
    table = [(name, *dc.surface_cells(r["variation"]), *cells(r)) for name, r in rows.items()]
    return (f"# {title}\n\n{intro}\n\n"
            f"Split: {results['split']}, {results['samples']} variations, seed {results['seed']}; floor "
            f"(reconstructions) C2ST features {floor['floor_c2st_features']:.2f}, raw "
            f"{floor['floor_c2st_raw']:.2f}.\n\n"
            + dc.md_table(["candidate", *dc.SURFACE_HEADERS, *headers], table)
            + f"\nChosen by the rule: **{results['chosen']}**.\n")


def report(results: dict[str, Any]) -> str:
    intro = "\n\n".join(__doc__.split("\n\n")[1:5])  # the question, the candidates and the rule
    return render("Variation draws", intro, results, ["targets met (of 6)"],
                  lambda r: (score(r["variation"])[0],))


STUDY = skeleton.surface_study(MODULE, __doc__, _run, report)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())
