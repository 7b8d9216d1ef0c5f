"""Shared pieces of the drum-model studies: small training runs, data subsets, grid pictures.

The drum-model studies train small runs of the real models through :func:`training.train.train`
and measure them with the metric functions of :mod:`training.evaluate`; this module holds what
they all repeat (the command line itself is :mod:`training.studies.skeleton`).
Pictures are matplotlib (Agg), saved atomically; a drum grid is drawn steps × voices with
the hit's velocity as shade.
"""

from __future__ import annotations

import io
import json
import shlex
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from engine.music.drums import NUM_VOICES, Voice
from models.atomic import atomic_write
from models.pathnames import portable

VOICE_LABELS = tuple(v.name.lower().replace("_", " ") for v in Voice)
GROOVE_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "groove"


def write_text(path: Path, text: str) -> None:
    """Atomic text write (models.atomic); this machine's paths made relative
    (:func:`models.pathnames.portable`): the reports are committed."""
    text = portable(text)
    atomic_write(path, lambda f: f.write(text), text=True)


def write_json(path: Path, obj: Any) -> None:
    """Atomic JSON write; numpy values become plain numbers and lists."""
    write_text(path, json.dumps(obj, indent=1, default=_json_default) + "\n")


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Atomic compressed .npz write (models.atomic)."""
    atomic_write(path, lambda f: np.savez_compressed(f, **arrays))


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def subset(ds: Any, n_train: int | None, n_val: int | None, n_test: int | None = None,
           seed: int = 0) -> Any:
    """``ds`` (a GrooveDataset) with at most ``n_*`` random windows per split (None = all)."""
    rng = np.random.default_rng(seed)
    keep = []
    for name, n in (("train", n_train), ("validation", n_val), ("test", n_test)):
        idx = np.flatnonzero(np.asarray(ds.split) == name)
        if n is not None and len(idx) > n:
            idx = np.sort(rng.choice(idx, n, replace=False))
        keep.append(idx)
    k = np.concatenate(keep)
    return replace(ds, patterns=ds.patterns[k], attributes=ds.attributes[k], split=ds.split[k],
                   tempo_bpm=ds.tempo_bpm[k], source=ds.source[k], start_bar=ds.start_bar[k])


def train_small(run_dir: Path, dataset: Any, *, preset: str, model: dict[str, Any] | None = None,
                epochs: int, batch_size: int = 128, beta_warmup_steps: int = 0,
                max_minutes: float = 0.0, seed: int = 0, smoke: bool = False) -> tuple[Path, float]:
    """One small training run (torch on 1 thread); returns (checkpoint path, wall seconds).

    An existing finished run in ``run_dir`` is reused (its checkpoint.pt), so a study can be
    resumed after an interruption without retraining what is done.
    """
    from training.train import TrainConfig, train

    final = run_dir / "checkpoint.pt"
    stamp = run_dir / "wall_seconds.txt"
    if final.exists() and stamp.exists():
        return final, float(stamp.read_text())
    if run_dir.exists():  # an interrupted run: start it again from scratch
        import shutil

        shutil.rmtree(run_dir)
    cfg = TrainConfig(data="in-memory", run_dir=str(run_dir), preset=preset, model=dict(model or {}),
                      epochs=epochs, batch_size=batch_size, beta_warmup_steps=beta_warmup_steps,
                      max_minutes=max_minutes, patience=10 ** 6, seed=seed, threads=1,
                      smoke_test=smoke, lr_decay=1.0)
    t0 = time.perf_counter()
    path = train(cfg, dataset=dataset, quiet=True)
    secs = time.perf_counter() - t0
    write_text(stamp, f"{secs:.1f}\n")
    return path, secs


def eval_data(ds: Any, split: str) -> Any:
    """:class:`training.evaluate.EvalData` of one split of a GrooveDataset."""
    from training.evaluate import EvalData

    sub = ds.subset(split)
    sources = getattr(sub, "source", None)
    files = len(set(np.asarray(sources).tolist())) if sources is not None else 0
    # grouped by performance (the source file): overlapping windows of one performance must
    # never sit on both sides of a two-sample test's folds
    groups = None if sources is None else np.asarray(sources).astype(str)
    return EvalData(np.asarray(sub.patterns, np.float32), np.asarray(sub.tempo_bpm, np.float64), split,
                    files, str(ds.fingerprint), groups)


def load_groove(data: str, smoke: bool, bars: int = 2) -> Any:
    """The Groove windows (``bars``-bar, 1-bar hop), or 240 synthetic grooves when ``smoke``."""
    if smoke:
        from training.synthetic import synthetic_dataset

        return synthetic_dataset(240, 16 * bars, 0)
    from training.dataset import build_dataset

    return build_dataset(Path(data), bars=bars)


def draw_grid(ax: Any, arr: np.ndarray, title: str = "", steps_per_bar: int = 16,
              voice_labels: bool = True) -> None:
    """One pattern ``(T, 27)`` as a steps × voices picture: velocity as shade, bar lines."""
    arr = np.asarray(arr, np.float64)
    hits = arr[:, :NUM_VOICES] > 0.5
    vel = np.where(hits, 0.25 + 0.75 * arr[:, NUM_VOICES:2 * NUM_VOICES], 0.0)
    ax.imshow(vel.T, aspect="auto", cmap="Greys", vmin=0, vmax=1, origin="lower",
              interpolation="nearest")
    for b in range(steps_per_bar, arr.shape[0], steps_per_bar):
        ax.axvline(b - 0.5, color="tab:red", lw=0.8)
    for b in range(4, arr.shape[0], 4):
        if b % steps_per_bar:
            ax.axvline(b - 0.5, color="0.85", lw=0.4)
    ax.set_yticks(range(NUM_VOICES))
    ax.set_yticklabels(VOICE_LABELS if voice_labels else [], fontsize=5)
    ax.set_xticks([])
    if title:
        ax.set_title(title, fontsize=7)


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path, dpi: int = 90, max_bytes: int = 300_000) -> int:
    """Save atomically as PNG; lower the dpi until it is under ``max_bytes``. Returns bytes."""
    plt = pyplot()
    while True:
        buf = io.BytesIO()
        fig.savefig(buf, dpi=dpi, format="png")
        if buf.tell() <= max_bytes or dpi <= 40:
            break
        dpi = int(dpi * 0.8)
    atomic_write(path, lambda f: f.write(buf.getvalue()))
    plt.close(fig)
    return buf.tell()


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]], digits: int = 3) -> str:
    """A Markdown table; floats formatted to ``digits``."""
    def fmt(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return "nan" if not np.isfinite(v) else f"{v:.{digits}f}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def command_line(module: str, argv: Sequence[str]) -> str:
    """The command as a shell would take it back (arguments with spaces quoted)."""
    return "python -m " + module + (" " + shlex.join(argv) if argv else "")


def surface_study_arguments(p: Any, samples: int = 1000) -> None:
    """The options of a study that measures the realism surfaces of one checkpoint."""
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", default=str(GROOVE_DIR))
    p.add_argument("--split", default="validation")
    p.add_argument("--samples", type=int, default=samples, help="generated patterns per surface")


def surface_study_setup(args: Any, needs_map: str | None = None) -> tuple[Any, Any]:
    """The generator (one thread) and the evaluation windows of ``args.split``, with the
    training windows and their performances (``data.training``: the realism report groups
    the grooves drawn from the map by them); ``needs_map``: why the study needs a map of the
    data, said in the error when the checkpoint has none."""
    import torch

    from engine.errors import GrooveFaderError
    from engine.generation.generator import Generator

    torch.set_num_threads(1)
    gen = Generator.from_checkpoint(args.checkpoint)
    if needs_map and not gen.has_data_map:
        raise GrooveFaderError(f"{args.checkpoint}: no map of the data: {needs_map}")
    ds = load_groove(args.data, args.smoke)
    train = eval_data(ds, "train")
    return gen, replace(eval_data(ds, args.split), training=(train.patterns, train.performance_groups()))


def chosen_candidates(text: str, known: Sequence[str]) -> list[str]:
    """The candidates named in a comma-separated ``--candidates`` value, checked.

    Raises:
        GrooveFaderError: a name that is not one of ``known``.
    """
    from engine.errors import GrooveFaderError

    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise GrooveFaderError(f"unknown candidate(s) {unknown}; known: {list(known)}")
    return names


def surface_score(surface: dict[str, Any]) -> tuple[int, float]:
    """(realism targets met of 6, mean C2ST of features and raw) of one measured surface."""
    met = sum(bool(v) for k, v in surface["targets"].items() if k != "all")
    return met, float(np.mean([surface["c2st_features"]["accuracy"], surface["c2st_raw"]["accuracy"]]))


def surface_cells(surface: dict[str, Any]) -> tuple[str, ...]:
    """A measured surface's C2ST, MGEval and micro-timing cells for a study's table."""
    v = surface
    return (f"{v['c2st_features']['accuracy']:.2f}", f"{v['c2st_raw']['accuracy']:.2f}",
            f"{v['mgeval']['mean_oa']:.2f}", f"{v['mgeval']['min_oa']:.2f} ({v['mgeval']['min_feature']})",
            f"{v['timing_std']:.3f} / {v['reference_timing_std']:.3f}",
            f"{v['swing']:.3f} / {v['reference_swing']:.3f}")


SURFACE_HEADERS = ["C2ST features", "C2ST raw", "MGEval mean OA", "min OA (feature)",
                   "timing std gen / real", "swing gen / real"]
