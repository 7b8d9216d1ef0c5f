"""The saved settings read back tolerantly: a settings file cut short, edited by hand or left
by another version never stops the app from starting; what could not be used is named.

Pure Python, no Qt: the window hands over the raw values QSettings returns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from app.tolerant_json import changed_keys, loads_object
from models.pathnames import one_line

# older names of engine-state keys, still honoured when restoring
ALIASES = {"hold_knobs": "holding"}


def int_value(raw: Any, default: int, low: int, high: int) -> int:
    """``raw`` (a QSettings value: str, int or anything) as an int in [low, high], else ``default``."""
    try:
        value = int(str(raw).strip()) if not isinstance(raw, int) or isinstance(raw, bool) else raw
    except ValueError:
        return default
    return value if low <= value <= high else default


def engine_state(raw: Any) -> tuple[dict[str, Any], list[str]]:
    """The saved engine state (a JSON object in one settings value) and notes on what was lost.

    A value cut short is read up to its last complete entry; anything that is no JSON object
    gives ``{}`` (defaults) with a note.
    """
    if raw is None:
        return {}, []
    try:
        values, note = loads_object(str(raw))
    except ValueError as err:
        return {}, [f"engine state unreadable ({one_line(str(err))[:80]}): defaults used"]
    return values, [f"engine state: {note}"] if note else []


def ignored_entries(given: Mapping[str, Any], restored: Mapping[str, Any]) -> list[str]:
    """Entries of the saved engine state that the restore did not take, each ``key (value)``."""
    out = []
    for key in changed_keys(given, restored, ALIASES):
        shown_value = one_line(json.dumps(given[key]))
        out.append(f"{one_line(str(key))} ({shown_value[:40]})")
    return out


def summary(notes: list[str]) -> str | None:
    """One status line for the notes, or None when everything was used."""
    if not notes:
        return None
    return "Settings: ignored " + "; ".join(notes)
