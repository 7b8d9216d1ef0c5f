"""Tiny melody training runs for the trainer's tests: one config and the run's log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def tiny_run(folk: Path, folder: Path, **kw: Any) -> Any:
    """A ``melody_tiny`` run of a few steps on the small ABC collection ``folk``, in
    ``folder`` (its cache beside it); ``kw`` overrides any field."""
    from training.melody.train import MelodyTrainConfig

    base = dict(preset="melody_tiny", run_dir=str(folder), batch_size=8, max_steps=4,
                val_every_s=0.0, log_every=2, val_windows=16, kl_warmup_steps=2,
                cache_dir=str(folder.parent / "cache"), corpus_root=str(folk), collections=("folk",))
    return MelodyTrainConfig(**{**base, **kw})


def log_rows(run: Path) -> list[dict]:
    """The rows of a run's ``log.jsonl``."""
    return [json.loads(r) for r in (run / "log.jsonl").read_text().splitlines()]
