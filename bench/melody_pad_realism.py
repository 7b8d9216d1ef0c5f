"""Is the melody pad as realistic as melody Randomize? Both against held-out tunes.

The melody pad (:mod:`engine.generation.melody_pad`) is a map of the loaded checkpoint's
stored training codes. This decodes, with the app's own jobs (greedy, the model's window):

- ``pad_points``: ``--points`` pad points drawn uniformly over the pad (what dragging plays,
  node codes and the blends between them alike);
- ``pad_nodes``: the map's nodes alone (one training code each);
- ``randomize``: as many melody Randomize draws (a stored code plus the checkpoint's noise);
- ``plane``: a latent plane through the codes (centred on their mean, along their two
  principal directions, two standard deviations either way), for comparison;

and measures each against the test split's windows with the melody eval's realism
(:func:`training.melody.evaluate.realism`: MGEval overlapping areas of four features and a
classifier two-sample test, 0.5 = indistinguishable). Also: how related neighbouring pad
points are (the pad's "neighbours related"): the mean latent distance between adjacent
nodes against random pairs of codes, and the share of adjacent nodes whose tunes share
more than half of their note-ons (pitch and step).

    .venv/bin/python bench/melody_pad_realism.py --json bench/melody_pad_realism.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _report import emit_json  # noqa: E402


def plane_points(codes: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Latents of pad points on the principal plane of ``codes`` (two std either way)."""
    origin = codes.mean(0)
    _, s, vt = np.linalg.svd(codes - origin, full_matrices=False)
    axes = vt[:2] * (2.0 * s[:2] / np.sqrt(len(codes) - 1))[:, None]
    return origin + xy @ axes


def onset_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Share of note-ons (step, pitch) two class rows have in common (of the larger count)."""
    sa = {(i, int(c)) for i, c in enumerate(a) if c >= 2}
    sb = {(i, int(c)) for i, c in enumerate(b) if c >= 2}
    return len(sa & sb) / max(len(sa), len(sb), 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoints" / "melody.pt")
    parser.add_argument("--points", type=int, default=500, help="pad points and Randomize draws each")
    parser.add_argument("--split", default="test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from engine.generation.melody import MelodyGenerator
    from training.melody import data as mdata
    from training.melody.evaluate import realism

    t0 = time.perf_counter()
    gen = MelodyGenerator.from_checkpoint(args.checkpoint)
    t_pad = time.perf_counter()
    pad = gen.pad
    build_s = time.perf_counter() - t_pad
    if not pad.on_data:
        print(f"{args.checkpoint}: no stored training codes; the pad is a prior plane", file=sys.stderr)
        return 1
    corpus = mdata.build_corpus()
    w = mdata.windows(corpus, gen.bars, args.split)
    groups = corpus.tune_id[w.tune]
    rng = np.random.default_rng(args.seed)
    xy = rng.uniform(-1, 1, (args.points, 2))
    codes = np.asarray(gen.meta["latent"]["anchors"], np.float64)
    rows, cols = pad.map.shape  # type: ignore[union-attr]
    node_z = np.asarray(pad.map._z).reshape(rows * cols, -1)  # type: ignore[union-attr]  # noqa: SLF001

    def decode(z: np.ndarray) -> np.ndarray:
        return np.stack([m.to_classes() for m in gen.decode_batch(z)])

    surfaces = {
        "pad_points": decode(np.stack([pad.to_z(x, y) for x, y in xy])),
        "pad_nodes": decode(node_z),
        "randomize": decode(gen.sample_like_data(args.points, seed=args.seed)),
        "plane": decode(plane_points(codes, xy)),
    }
    results = {name: realism(w.classes, gen_classes, groups, seed=args.seed)
               for name, gen_classes in surfaces.items()}
    for r in results.values():
        r.pop("c2st", None)
    # neighbours: adjacent nodes against random pairs of stored codes
    grid = node_z.reshape(rows, cols, -1)
    adjacent = np.concatenate([np.linalg.norm(grid[:, 1:] - grid[:, :-1], axis=-1).ravel(),
                               np.linalg.norm(grid[1:] - grid[:-1], axis=-1).ravel()])
    i, j = rng.integers(0, len(codes), (2, 5000))
    keep = i != j
    random_pairs = np.linalg.norm(codes[i[keep]] - codes[j[keep]], axis=-1)
    nodes = surfaces["pad_nodes"].reshape(rows, cols, -1)
    overlaps = [onset_overlap(nodes[r, c], nodes[r, c + 1]) for r in range(rows) for c in range(cols - 1)]
    overlaps += [onset_overlap(nodes[r, c], nodes[r + 1, c]) for r in range(rows - 1) for c in range(cols)]
    k = rng.integers(0, rows * cols, (2, 2000))
    flat = surfaces["pad_nodes"]
    random_overlaps = [onset_overlap(flat[a], flat[b]) for a, b in zip(*k, strict=True) if a != b]
    out = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "checkpoint": args.checkpoint.name, "backend": gen.backend, "split": args.split,
        "test_windows": int(len(w.classes)), "stored_codes": int(len(codes)),
        "map": {"rows": rows, "cols": cols, "build_seconds": round(build_s, 3)},
        "points": args.points, "seed": args.seed,
        "realism": results,
        "neighbours": {
            "adjacent_node_distance_mean": float(adjacent.mean()),
            "random_code_distance_mean": float(random_pairs.mean()),
            "adjacent_onset_overlap_mean": float(np.mean(overlaps)),
            "random_node_onset_overlap_mean": float(np.mean(random_overlaps))},
        "loadavg": os.getloadavg(), "seconds": round(time.perf_counter() - t0, 1),
    }
    emit_json(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
