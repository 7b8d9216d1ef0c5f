"""Shared output of the bench scripts: JSON on stdout, and atomically to ``--json FILE``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from models.atomic import atomic_write


def emit_json(result: Any, path: str | Path | None = None, indent: int = 2) -> None:
    """Print ``result`` as JSON; with a path, also write it there (all or nothing)."""
    text = json.dumps(result, indent=indent)
    print(text)
    if path:
        atomic_write(path, lambda f: f.write(text + "\n"), text=True)
