"""Recompute a checkpoint's latent statistics and XY-pad plane from its training data.

``python -m training.relatent CHECKPOINT --data DIR`` encodes every train-split window (as
the final checkpoint of a training run does) with the checkpoint's encoder and rewrites
``meta["latent"]`` (models.latent.latent_summary) in place, atomically, weights untouched.
For checkpoints written before a change of the plane's definition or before checkpoints
stored the training codes that "Randomize" draws near (``latent.anchors``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from engine.errors import GrooveFaderError
from models import latent as latent_mod
from models.checkpoint import load_checkpoint, save_checkpoint
from training.dataset import build_dataset
from training.train import encode_means


def relatent(checkpoint: Path, data: Path) -> dict:
    ck = load_checkpoint(checkpoint)
    cfg = ck.config
    names = tuple(ck.meta["attributes"]["names"])
    ds = build_dataset(data, bars=cfg.bars, steps_per_bar=cfg.steps_per_bar, attributes=names)
    x = torch.from_numpy(np.ascontiguousarray(ds.patterns[np.asarray(ds.split) == "train"], np.float32))
    meta = dict(ck.meta)
    meta["latent"] = latent_mod.latent_summary(encode_means(ck.model, x))
    save_checkpoint(checkpoint, ck.model, cfg, meta)
    return meta


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--data", type=Path, required=True, help="the folder the checkpoint was trained on")
    args = p.parse_args(argv)
    try:
        meta = relatent(args.checkpoint, args.data)
    except GrooveFaderError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    origin = np.asarray(meta["latent"]["plane"]["origin"])
    print(json.dumps({"checkpoint": str(args.checkpoint), "origin_norm": float(np.linalg.norm(origin))}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
