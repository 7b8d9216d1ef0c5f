"""Where work runs: a module's function wrapped to note the thread of every call."""

from __future__ import annotations

import threading
from typing import Any


def record_threads(monkeypatch: Any, module: Any, name: str) -> list[str]:
    """Replace ``module.name`` (for the test) by a wrapper that appends the calling thread's
    name to the list returned, then calls the function."""
    where: list[str] = []
    real = getattr(module, name)

    def recorded(*args: Any, **kwargs: Any) -> Any:
        where.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, recorded)
    return where


def melody_lane_with_clip(qtbot: Any, tmp_path: Any, drums: Any) -> tuple[Any, Any]:
    """A melody lane (no clock) and its panel beside ``drums``, playing melody B from a clip."""
    from app.melody_lane import MelodyLane
    from app.melody_panel import MelodyPanel
    from engine.music.drums import GM_NOTE_MAP
    from tests.support.melody import melody_b

    lane = MelodyLane(None, lambda: (drums, 120.0, GM_NOTE_MAP))
    panel = MelodyPanel(lane)
    qtbot.addWidget(panel)
    clip = tmp_path / "tune.mid"
    melody_b().write_midi(clip)
    lane.load_clip(clip)
    return lane, panel
