"""Whether the decoder fine-tuned on mixes (``training.mix_finetune``) should ship.

Two checkpoints, the shipped one and its decoder fine-tuned so latent mixes decode like
decoded codes (ACAI), each with its own map of the data, measured on the validation split
as ``groovefader eval`` measures them: free-running reconstruction, and the realism of the
surfaces the app plays (Randomize, the XY pad, Variation, corner blends, transition middles
and the 20 knob ends, each against its real reference, the floor from the same run).

Selection rule, written before the fine-tuned model existed: the fine-tuned decoder ships
only if (a) its validation reconstruction still meets the targets (per-step exact ≥ 0.96,
onset F1 ≥ 0.97, velocity MAE ≤ 8, timing MAE ≤ 6 ms), (b) it meets more realism targets
over those surfaces (6 per surface) than the shipped model, and (c) no fewer of those
surfaces meet every target. Otherwise the shipped model stays.

Run (validation split)::

    python -m training.studies.mix_decoder --shipped checkpoints/default.pt \
        --candidate path/to/mix_finetune.pt --data path/to/groove --out docs/studies/mix_decoder
"""

from __future__ import annotations

import argparse
from typing import Any

from training.studies import drum_common as dc
from training.studies import skeleton

MODULE = "training.studies.mix_decoder"
SURFACES = ("randomize", "pad", "variation", "corner_blends", "transition_middle", "knobs")
RECONSTRUCTION_TARGETS = {"step_accuracy": (">=", 0.96), "f1": (">=", 0.97),
                          "velocity_mae_midi": ("<=", 8.0), "timing_mae_ms": ("<=", 6.0)}


def realism_score(surfaces: dict[str, Any]) -> tuple[int, int]:
    """(targets met, surfaces meeting every target) over the measured surfaces but the floor."""
    met = every = 0
    for name, s in surfaces.items():
        if name == "reconstruction" or "targets" not in s:
            continue
        t = {k: v for k, v in s["targets"].items() if k != "all"}
        met += sum(bool(v) for v in t.values())
        every += int(all(t.values()))
    return met, every


def reconstruction_ok(rec: dict[str, float]) -> bool:
    return all(rec[k] >= v if op == ">=" else rec[k] <= v for k, (op, v) in RECONSTRUCTION_TARGETS.items())


def choose(shipped: dict[str, Any], candidate: dict[str, Any]) -> str:
    """``"candidate"`` when the rule (module docstring) ships it, else ``"shipped"``."""
    met_s, every_s = shipped["realism_score"]
    met_c, every_c = candidate["realism_score"]
    ok = reconstruction_ok(candidate["reconstruction"]) and met_c > met_s and every_c >= every_s
    return "candidate" if ok else "shipped"


def _measure(path: str, data: Any, args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from engine.generation.generator import Generator
    from training.evaluate import evaluate_reconstruction
    from training.realism.scorecard import evaluate_surfaces

    torch.set_num_threads(1)
    gen = Generator.from_checkpoint(path)
    rec = evaluate_reconstruction(gen, data)["reconstruction"]
    res = evaluate_surfaces(gen, data.patterns, data.performance_groups(), samples=args.samples,
                            seed=args.seed, only=SURFACES)
    keep = {k: rec[k] for k in RECONSTRUCTION_TARGETS}
    return {"checkpoint": path, "reconstruction": keep, "summary": res["summary"],
            "surfaces": res["surfaces"], "realism_score": realism_score(res["surfaces"])}


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shipped", required=True)
    p.add_argument("--candidate", required=True)
    p.add_argument("--data", default=str(dc.GROOVE_DIR))
    p.add_argument("--split", default="validation")
    p.add_argument("--samples", type=int, default=1000, help="generated patterns per surface")


def _quick(args: argparse.Namespace) -> None:
    args.samples = min(args.samples, 100)


def _run(args: argparse.Namespace) -> dict[str, Any]:
    data = dc.eval_data(dc.load_groove(args.data, getattr(args, "smoke", False)), args.split)
    rows = {}
    for name, path in (("shipped", args.shipped), ("candidate", args.candidate)):
        rows[name] = _measure(path, data, args)
        met, every = rows[name]["realism_score"]
        print(f"{name}: {met} realism targets, {every} surfaces meeting all; reconstruction "
              f"{rows[name]['reconstruction']}", flush=True)
    return {"split": args.split, "samples": args.samples, "seed": args.seed, "models": rows,
            "chosen": choose(rows["shipped"], rows["candidate"])}


def report(results: dict[str, Any]) -> str:
    models = results["models"]
    names = [n for n in models["shipped"]["surfaces"] if n != "reconstruction"]
    rec_rows = [(name, *(m["reconstruction"].get(k, float("nan")) for k in RECONSTRUCTION_TARGETS),
                 *m["realism_score"]) for name, m in models.items()]
    surf_rows = []
    for s in names:
        row: list[Any] = [models["shipped"]["surfaces"][s]["label"]]
        for name in models:
            fig = models[name]["surfaces"][s]
            if "c2st_features" not in fig:
                row.append(fig.get("skipped", "—"))
                continue
            met = sum(bool(v) for k, v in fig["targets"].items() if k != "all")
            row.append(f"{fig['c2st_features']['accuracy']:.2f} / {fig['c2st_raw']['accuracy']:.2f} "
                       f"({met} of 6)")
        surf_rows.append(row)
    floors = ", ".join(f"{n} {m['summary']['floor_c2st_features']:.2f} / {m['summary']['floor_c2st_raw']:.2f}"
                       for n, m in models.items())
    paras = (__doc__ or "").split("\n\n")
    return (f"# The decoder fine-tuned on mixes\n\n{paras[1]}\n\n{paras[2]}\n\n"
            f"Split: {results['split']}, {results['samples']} patterns per surface, seed {results['seed']}; "
            f"floors (C2ST features / raw): {floors}.\n\n"
            + dc.md_table(["model", "step acc", "onset F1", "velocity MAE", "timing MAE (ms)",
                           "realism targets met", "surfaces meeting all"], rec_rows)
            + "\n" + dc.md_table(["surface", *[f"{n}: C2ST features / raw (targets met)" for n in models]],
                                 surf_rows)
            + f"\nChosen by the rule: **{results['chosen']}**.\n")


STUDY = skeleton.Study(module=MODULE, description=__doc__.splitlines()[0], arguments=_arguments, run=_run,
                       report=lambda results, args: report(results), smoke="synthetic grooves, few samples",
                       quick=_quick, seed=0)


main = skeleton.entry(STUDY)


if __name__ == "__main__":
    raise SystemExit(main())

