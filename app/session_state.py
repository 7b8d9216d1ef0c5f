"""What a preset and the saved session hold of the instrument: the knobs, the pad, the
transport and the latent point.

A :class:`~app.presets.Preset` is what the user saves by name; the session settings are what
QSettings keeps between runs. Both are read from and written to the parts the controller
coordinates — :class:`~app.knob_binding.KnobBinding`, :class:`~app.pad_state.PadState` (its
mode through :class:`~app.pad_jobs.PadJobs`) and :class:`~app.transport_state.TransportState`
— here, in one place, so a new saved setting is added once. Decoding a preset's latent is
the controller's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from app.knob_binding import KnobBinding
from app.pad_jobs import PadJobs
from app.presets import Preset
from app.tolerant_json import finite_number
from app.transport_state import TransportState


class SessionState:
    """The parts a preset and the session settings hold (``z``, the latent point, is passed in:
    the controller owns it)."""

    def __init__(self, knobs: KnobBinding, pad_jobs: PadJobs, transport: TransportState) -> None:
        self.knobs, self.pad_jobs, self.transport = knobs, pad_jobs, transport

    def preset(self, z: np.ndarray | None) -> Preset:
        t, pad, state = self.transport, self.pad_jobs.pad, self.knobs.state
        return Preset(knobs=self.knobs.values, temperature=self.knobs.temperature,
                      held=tuple(sorted(state.held)), turning=state.turning,
                      anchor=None if state.anchor is None else dict(state.anchor),
                      z=None if z is None else tuple(float(v) for v in z),
                      pad=pad.position, pad_mode=pad.mode, note_map=t["note_map"],
                      tempo_bpm=t["tempo_bpm"], swing=t["swing"], groove=t["groove"],
                      velocity_scale=t["velocity_scale"])

    def apply(self, preset: Preset) -> list[str]:
        """A preset's knobs, transport and pad; returns the knobs it names that the model lacks."""
        unknown = self.knobs.apply_preset(preset.knobs, preset.temperature, preset.held, preset.turning,
                                          preset.anchor)
        self.transport.set(tempo_bpm=preset.tempo_bpm, swing=preset.swing, groove=preset.groove,
                           velocity_scale=preset.velocity_scale, note_map=preset.note_map)
        self.pad_jobs.pad.move(*preset.pad)
        if preset.pad_mode != self.pad_jobs.pad.mode:
            self.pad_jobs.set_mode(preset.pad_mode)
        return unknown

    def settings(self, z: np.ndarray | None) -> dict[str, Any]:
        """Plain values for QSettings."""
        return {**self.transport.settings(), **self.knobs.settings(), **self.pad_jobs.pad.settings(),
                "z": None if z is None else [float(v) for v in z]}

    def restore(self, values: Mapping[str, Any]) -> np.ndarray | None:
        """Inverse of :meth:`settings`; anything malformed is skipped (settings outlive
        versions). Returns the saved latent point, if any (checked against the model when it
        loads)."""
        self.transport.restore_settings(values)
        self.knobs.restore_settings(values)
        self.pad_jobs.pad.restore_settings(values)
        z = values.get("z")
        if not isinstance(z, list) or not z:
            return None
        try:  # NaN, inf or true in a file edited by hand: no latent (the pad point decodes)
            return np.array([finite_number(v, -math.inf, math.inf) for v in z], np.float64)
        except ValueError:
            return None
