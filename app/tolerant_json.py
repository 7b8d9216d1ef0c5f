"""JSON objects from files a user's disk holds: cut short by a crash or a full disk, or edited
by hand. What can be read is read; what could not be is named.

Pure Python, no Qt: presets (:mod:`app.presets`) and the saved engine state
(:mod:`app.settings_check`) read through it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any


def loads_object(text: str) -> tuple[dict[str, Any], str | None]:
    """The JSON object in ``text``; a file cut short is read up to its last complete entry.

    Returns:
        ``(object, note)``: ``note`` is None for a whole file, else says where it ended.

    Raises:
        ValueError: not a JSON object, even cut back to a complete entry.
    """
    try:
        data = json.loads(text)
    except ValueError as err:
        data = None
        for repaired in (text.rstrip() + "}", _cut_to_last_entry(text)):  # only the brace lost; or more
            if repaired is None:
                continue
            try:
                data = json.loads(repaired)
            except ValueError:
                continue
            if isinstance(data, dict):
                break
        if not isinstance(data, dict):
            raise err from None
        last = list(data)[-1] if data else None
        where = f"after '{last}'" if last else "before its first entry"
        return data, f"the file ends early ({err.msg}, character {err.pos}); read up to {where}"
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    return data, None


def _cut_to_last_entry(text: str) -> str | None:
    """``text`` cut after the last complete top-level ``"key": value`` and closed, or None."""
    depth, in_string, escaped = 0, False, False
    last_end: int | None = None  # where the last complete top-level entry ends
    started = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
            started = started or (ch == "{" and depth == 1)
        elif ch in "}]":
            depth -= 1
        elif ch == "," and depth == 1:
            last_end = i
    if not started:
        return None
    head = text[:last_end] if last_end is not None else text[:text.index("{") + 1]
    return head + "}"


def finite_number(value: Any, low: float, high: float) -> float:
    """``value`` as a float in [low, high]; bools and strings are not numbers.

    Raises:
        ValueError: naming what was wrong.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number")
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{value!r} is outside [{low:g}, {high:g}]")
    return float(value)


def changed_keys(given: Mapping[str, Any], kept: Mapping[str, Any], aliases: Mapping[str, str]) -> list[str]:
    """The entries of ``given`` that did not survive into ``kept`` (a restore's result).

    A key that ``kept`` lacks, or holds with another value, was ignored; ``aliases`` maps
    older key names to the ones that replaced them.
    """
    out = []
    for key, value in given.items():
        name = aliases.get(key, key)
        if name not in kept or not _same(value, kept[name]):
            out.append(key)
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, str) and str(b).lower() == a)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, str) and isinstance(b, str) and a != b:
        try:
            return json.loads(a) == json.loads(b)  # the same JSON written another way
        except ValueError:
            return False
    return a == b
