"""Attach a training recipe to a checkpoint trained before checkpoints recorded their own.

``python -m training.recipe CHECKPOINT RECIPE.json --revision COMMIT [--note TEXT]`` checks
that the recipe (TrainConfig fields) builds exactly the checkpoint's model config, field by
field, then writes it into the checkpoint's metadata as ``training`` (models.checkpoint),
atomically. The weights are not touched: the state dict is written back unchanged and
compared tensor by tensor after the write. Checkpoints trained now record this themselves
(training.config.training_record).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.errors import GrooveFaderError
from models.checkpoint import load_checkpoint, save_checkpoint
from models.config import FaderVAEConfig
from training.config import TrainConfig


def model_differences(cfg: TrainConfig, shipped: FaderVAEConfig) -> list[str]:
    """The model-config fields where the recipe's model differs from ``shipped`` ('name: a != b')."""
    built, want = cfg.model_config().to_dict(), shipped.to_dict()
    return [f"{k}: {built[k]!r} != {want[k]!r}" for k in want if built[k] != want[k]]


def attach(checkpoint: Path, recipe: Path, revision: str, note: str = "") -> dict[str, Any]:
    """Write ``recipe`` into ``checkpoint``'s metadata; returns the ``training`` record.

    Raises:
        GrooveFaderError: the recipe is unreadable or builds another model config.
    """
    try:
        cfg = TrainConfig.from_dict(json.loads(recipe.read_text()))
    except (OSError, json.JSONDecodeError, TypeError, ValueError) as err:
        raise GrooveFaderError(f"{recipe}: not a training config ({err})") from err
    ck = load_checkpoint(checkpoint)
    diffs = model_differences(cfg, ck.config)
    if diffs:
        raise GrooveFaderError(f"{recipe}: builds another model than {checkpoint}: {'; '.join(diffs)}")
    before = {k: v.clone() for k, v in ck.model.state_dict().items()}
    record: dict[str, Any] = {"config": cfg.to_dict(), "code_revision": revision, "dirty": None}
    if note:
        record["note"] = note
    save_checkpoint(checkpoint, ck.model, ck.config, {**ck.meta, "training": record}, arrays=ck.arrays)
    again = load_checkpoint(checkpoint)  # the weights and the stored arrays (the map of the data) kept
    after = again.model.state_dict()
    if set(after) != set(before) or any(not torch.equal(before[k], after[k]) for k in before) \
            or set(again.arrays) != set(ck.arrays) \
            or any(not np.array_equal(again.arrays[k], ck.arrays[k]) for k in ck.arrays):
        raise GrooveFaderError(f"{checkpoint}: the weights or arrays changed on rewrite")  # cannot happen
    return record


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.recipe", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path)
    p.add_argument("recipe", type=Path, help="JSON file of TrainConfig fields")
    p.add_argument("--revision", default="unknown", help="git commit of the code that trained it")
    p.add_argument("--note", default="", help="where the recipe comes from")
    args = p.parse_args(argv)
    try:
        record = attach(args.checkpoint, args.recipe, args.revision, args.note)
    except GrooveFaderError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(json.dumps({"checkpoint": str(args.checkpoint), "code_revision": record["code_revision"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
