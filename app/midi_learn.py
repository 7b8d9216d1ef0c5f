"""MIDI learn: which hardware control (channel, CC number) moves which knob.

Pure state, no Qt and no ports: the controller arms a knob, feeds every incoming control
change to :meth:`CCBindings.handle`, and applies what it returns. A CC value 0–127 maps
linearly onto the knob's range.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class CCAction:
    """What an incoming control change means: set ``target`` to ``fraction`` (0..1) of its
    range, or, when ``learned`` is True, the CC was just bound to ``target``."""

    target: str
    fraction: float
    learned: bool = False


class CCBindings:
    """``(channel, cc) → target`` map with a one-shot learn mode."""

    def __init__(self) -> None:
        self._map: dict[tuple[int, int], str] = {}
        self._armed: str | None = None

    @property
    def armed(self) -> str | None:
        """The target waiting for its CC, or None."""
        return self._armed

    def arm(self, target: str | None) -> None:
        self._armed = target

    def forget(self, target: str) -> None:
        self._map = {k: v for k, v in self._map.items() if v != target}

    def binding_of(self, target: str) -> tuple[int, int] | None:
        return next((k for k, v in self._map.items() if v == target), None)

    def label_of(self, target: str) -> str:
        b = self.binding_of(target)
        return f"CC {b[1]} ch {b[0] + 1}" if b else ""

    def handle(self, channel: int, cc: int, value: int) -> CCAction | None:
        """Apply one control change; None when it moves nothing."""
        key = (int(channel), int(cc))
        if self._armed is not None:
            target, self._armed = self._armed, None
            self.forget(target)
            self._map[key] = target  # one control moves one knob: rebinding replaces
            return CCAction(target, value / 127.0, learned=True)
        target = self._map.get(key)
        return CCAction(target, value / 127.0) if target else None

    def to_json(self) -> str:
        return json.dumps([[ch, cc, t] for (ch, cc), t in sorted(self._map.items())])

    @classmethod
    def from_json(cls, text: str) -> CCBindings:
        """Inverse of :meth:`to_json`; malformed entries are dropped (settings may be stale)."""
        out = cls()
        try:
            rows = json.loads(text) if text else []
        except ValueError:
            rows = []
        for row in rows if isinstance(rows, list) else []:
            if (isinstance(row, list) and len(row) == 3 and isinstance(row[2], str)
                    and all(isinstance(v, int) and 0 <= v <= 127 for v in row[:2]) and row[0] < 16):
                out._map[(row[0], row[1])] = row[2]
        return out
