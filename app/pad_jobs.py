"""What the pad asks of the model: a groove's latent for a corner, the corners' latents for a
blend, and one attribute's heat-map over the pad.

The controller decodes what the pad points at; the pad's other model work lives here. None
of it belongs to the gesture in hand — a corner the user filled, or the heat-map of the knobs
as they rest, is wanted whatever happened meanwhile — so its results always apply (the
controller's epochs are not needed). Jobs run on the model's worker
(:class:`~app.model_worker.ModelWorker`); results come back on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from PySide6.QtCore import QObject, Signal

from app import model_jobs
from app.model_worker import MISSING_MODEL_HELP, ModelWorker
from app.pad_state import PadState
from engine.music.pattern import Pattern


class PadJobs(QObject):
    """The pad's corners and heat-map, asked of the model.

    Args:
        pad: the pad's state (position, mode, corners, the heat-map shown).
        model: the worker serving the loaded model.
        knob_inputs: the knobs' decoder inputs as they stand (read when a heat-map is asked).

    Signals:
        heatmapReady(str, object): the attribute and its (res, res) values; ("", None) hides it.
        message(str, str): level ('info' | 'warning'), text.
    """

    heatmapReady = Signal(str, object)
    message = Signal(str, str)

    def __init__(self, pad: PadState, model: ModelWorker, knob_inputs: Callable[[], Mapping[str, float]],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pad = pad
        self._model = model
        self._knob_inputs = knob_inputs
        pad.heatmapDue.connect(self.refresh_heatmap)

    def set_mode(self, mode: str) -> None:
        """The pad as the model's plane or as a blend of the four corners."""
        self.pad.set_mode(mode)
        if self.pad.blending and not any(c is not None for c in self.pad.corners):
            self.message.emit("info", "Corners mode: put patterns into corners A–D with the corner "
                                      "buttons; empty corners use the groove pad's corners.")
        self.pad.schedule_heatmap()
        self.prepare_corners()

    def put_corner(self, index: int, pattern: Pattern, label: str | None = None) -> None:
        """Encode ``pattern`` into corner ``index`` (0 = A bottom-left, 1 = B bottom-right,
        2 = C top-left, 3 = D top-right)."""
        if self._model.agen is None:
            self.message.emit("warning", "Corners need a model: " + MISSING_MODEL_HELP)
            return
        name = label or f"{pattern.num_hits} hits"
        def placed(z: np.ndarray) -> None:
            self.pad.put_corner(index, z, name)
            self.prepare_corners()

        self._model.call(f"corner{index}", lambda g: g.encode(pattern), placed)

    def prepare_corners(self) -> None:
        """In corners mode, let the worker search the corners' graph now (the blend's first
        point would otherwise wait for it)."""
        if not self.pad.blending or self._model.agen is None:
            return
        corners = np.stack(self.corner_latents())
        self._model.call("corner_field", lambda g: model_jobs.prepare_corners(g, corners), lambda _: None)

    def corner_latents(self) -> list[np.ndarray]:
        """The four corners' latents for a blend (an empty corner: the plane's corner)."""
        assert self._model.agen is not None
        return model_jobs.corner_latents(self._model.agen.generator, self.pad.corners)

    def show_heatmap(self, name: str) -> None:
        """Show attribute ``name`` over the pad ("" hides the heat-map)."""
        self.pad.heatmap = name
        if not name:
            self.heatmapReady.emit("", None)
            return
        self.refresh_heatmap()

    def refresh_heatmap(self) -> None:
        """Recompute the heat-map shown (one batch on the worker); the answer is dropped if
        another attribute was chosen meanwhile."""
        name, knobs = self.pad.heatmap, self._knob_inputs()
        if not name or self._model.agen is None:
            return
        corners = np.stack(self.corner_latents()) if self.pad.blending else None

        def done(values: np.ndarray) -> None:
            if name == self.pad.heatmap:
                self.heatmapReady.emit(name, values)

        self._model.call("heatmap", lambda g: model_jobs.heatmap(g, name, knobs, corners), done)
