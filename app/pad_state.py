"""The XY pad's state: where it points, plane or corners, the four corners, the heat-map.

The pad maps the latent space in one of two ways: the checkpoint's latent *plane*, or a
bilinear blend of four *corners* (Beat Blender), each a groove the user put there. The
heat-map shows one attribute over the pad, recomputed once the knobs rest
(``heatmapDue``). The controller asks the model; this only keeps the state and says what
changed.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app.tolerant_json import finite_number

PAD_MODES = ("plane", "corners")
HEATMAP_DELAY_MS = 350  # recompute the heat-map once the knobs rest this long


class PadState(QObject):
    """Signals:
        padMoved(float, float): the position changed other than by the pad itself.
        padModeChanged(str): 'plane' or 'corners'.
        cornersChanged(list): the four corner labels ("" = empty).
        heatmapDue(): the knobs rested; the heat-map should be recomputed.
    """

    padMoved = Signal(float, float)
    padModeChanged = Signal(str)
    cornersChanged = Signal(list)
    heatmapDue = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.position = (0.0, 0.0)
        self.mode = "plane"
        self.corners: list[np.ndarray | None] = [None] * 4  # latents: A, B, C, D
        self.labels = ["", "", "", ""]
        self.heatmap = ""  # the attribute shown, "" = none
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(HEATMAP_DELAY_MS)
        self._timer.timeout.connect(self.heatmapDue)

    def move(self, x: float, y: float, *, announce: bool = True) -> None:
        """Point at (x, y), clipped to [-1, 1]²; ``announce`` False when the pad itself moved."""
        self.position = (float(np.clip(x, -1, 1)), float(np.clip(y, -1, 1)))
        if announce:
            self.padMoved.emit(*self.position)

    def set_mode(self, mode: str) -> None:
        """Raises:
            ValueError: ``mode`` is neither 'plane' nor 'corners'.
        """
        if mode not in PAD_MODES:
            raise ValueError(f"pad mode must be 'plane' or 'corners', got {mode!r}")
        self.mode = mode
        self.padModeChanged.emit(mode)

    @property
    def blending(self) -> bool:
        return self.mode == "corners"

    def put_corner(self, index: int, z: np.ndarray, label: str) -> None:
        self.corners[index], self.labels[index] = z, label
        self.cornersChanged.emit(list(self.labels))

    def clear_corners(self) -> None:
        self.corners, self.labels = [None] * 4, ["", "", "", ""]
        self.cornersChanged.emit(list(self.labels))

    def schedule_heatmap(self) -> None:
        """Recompute the heat-map once the knobs rest (when one is shown)."""
        if self.heatmap:
            self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def settings(self) -> dict[str, Any]:
        return {"pad": list(self.position), "heatmap": self.heatmap}

    def restore_settings(self, values: Mapping[str, Any]) -> None:
        """Inverse of :meth:`settings`; anything malformed is skipped."""
        pad = values.get("pad")
        with contextlib.suppress(TypeError, ValueError):
            if isinstance(pad, list | tuple) and len(pad) == 2:  # NaN or true: skipped, not clipped
                x, y = (finite_number(v, -math.inf, math.inf) for v in pad)
                self.move(x, y)
        if isinstance(values.get("heatmap"), str):
            self.heatmap = values["heatmap"]
