"""The ceiling of a warm-started conductor: what its copied note decoder plays when the
encoder and the conductor are perfect (:func:`training.melody.warm_start.perfect_conductor_decode`).

Its own module, not :mod:`training.melody.warm_start`'s: it reads the trainer's validation
windows and metrics, and the trainer imports the warm start.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from training.melody import data as mdata
from training.melody.evaluate import eval_selection
from training.melody.train import reconstruction_metrics, validation_selection
from training.melody.warm_start import load_source, perfect_conductor_decode


def _selection(total: int, count: int, split: str) -> np.ndarray:
    """The trainer's validation windows, or the test windows ``groovefader melody eval`` reads."""
    return validation_selection(total, count) if split == "validation" else eval_selection(total, count, 0)


def main(argv: list[str] | None = None) -> int:
    """``python -m training.melody.ceiling SOURCE``: the ceiling of a conductor warm-started
    from SOURCE on the trainer's 16-bar validation windows (one thread), as JSON; beside it,
    SOURCE itself reconstructing each 2-bar segment from its own code (what a hierarchical
    encoder's frozen segment codes hold)."""
    p = argparse.ArgumentParser(description=main.__doc__.splitlines()[0] if main.__doc__ else None)
    p.add_argument("source", type=Path, help="a 2-bar flat melody checkpoint (checkpoints/melody.pt)")
    p.add_argument("--bars", type=int, default=16)
    p.add_argument("--windows", type=int, default=512, help="validation windows (the trainer's 512)")
    p.add_argument("--split", default="validation", choices=("validation", "test"),
                   help="test: the windows `groovefader melody eval --windows N` reads")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    val = mdata.windows(mdata.build_corpus(), args.bars, args.split)
    x = torch.from_numpy(val.classes[_selection(len(val), args.windows, args.split)])
    source = load_source(args.source)
    pred = perfect_conductor_decode(source, x).numpy()
    seg = 2 * source.config.steps_per_bar
    with torch.no_grad():
        own = torch.cat([source.decode(source.encode(x[:, i:i + seg])[0]) for i in range(0, x.shape[1], seg)],
                        dim=1).numpy()
    print(json.dumps({"split": args.split, "windows": len(x),
                      "perfect_conductor": reconstruction_metrics(x.numpy(), pred),
                      "source_per_segment": reconstruction_metrics(x.numpy(), own)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
