"""A recording output for tests: no MIDI server, every send kept with its times."""

from __future__ import annotations

import time
from collections.abc import Sequence

from engine.errors import PortError
from engine.ports.base import BaseOutput


class RecordingOutput(BaseOutput):
    """Records ``(sent_ns, deadline_ns, data)`` per send; set ``is_alive = False`` to make
    it fail as a port whose server went away does (sends raise :class:`PortError`)."""

    def __init__(self, lookahead_ns: int = 0, name: str = "recording") -> None:
        super().__init__(name)
        self.lookahead_ns = lookahead_ns
        self.sent: list[tuple[int, int | None, tuple[int, ...]]] = []
        self.is_alive = True

    def _send(self, data: Sequence[int], deadline_ns: int | None) -> None:
        if not self.is_alive:
            raise PortError("recording output is down")
        self.sent.append((time.perf_counter_ns(), deadline_ns, tuple(data)))

    def _alive(self) -> bool:
        return self.is_alive
