"""The app's state and its one door to the engine.

:class:`Controller` holds what the instrument is doing — latent point ``z``, pad position,
knob values, temperature, the pattern, the undo stack — and owns an ``AsyncGenerator``
(the model on a worker thread). Transport, ports and MIDI learn live in
:class:`~app.transport_state.TransportState` (``controller.transport``), which hands each
new pattern to the sequencer. Widgets call slots and listen to signals; nothing here
touches a widget.

Threads: every model call goes through :class:`~app.model_worker.ModelWorker` to the
generator's worker thread (latest wins per kind) and its result comes back on the GUI
thread, where state changes. Each result carries the *epoch* it was requested in: loading
a clip, undo, a preset or randomize starts a new epoch, so a decode still in flight
cannot overwrite what the user just chose.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from app.model_worker import ModelWorker
from app.presets import Preset
from app.transport_state import TransportState
from app.undo import PatternCommand, PatternState
from engine.errors import GrooveFaderError
from engine.music import attributes as attr_lib
from engine.music.pattern import Pattern

log = logging.getLogger(__name__)

TEMPERATURE = "temperature"  # the knob that is not an attribute
TEMPERATURE_RANGE = (0.0, 1.5)
MODEL_STEPS_FALLBACK = 32  # 2 bars of 16ths before a model says otherwise
GESTURE_GAP_S = 0.6  # generated patterns closer than this merge into one undo step
HEATMAP_DELAY_MS = 350  # recompute the heat-map once the knobs rest this long
HEATMAP_RESOLUTION = 32

MISSING_MODEL_HELP = (
    "Train one with `groovefader train` (see README) or start with "
    "`groovefader app --checkpoint PATH`. Meanwhile the grid, clip loading and export work; "
    "the pad and knobs need a model.")


def default_checkpoint() -> Path:
    """``checkpoints/default.pt`` next to the packages (the shipped model)."""
    return Path(__file__).resolve().parents[1] / "checkpoints" / "default.pt"


@dataclass(frozen=True)
class ModelInfo:
    """What the window needs to build its knobs and pad."""

    path: str
    kind: str
    attribute_names: tuple[str, ...]
    ranges: dict[str, tuple[float, float]]
    defaults: dict[str, float]
    z_dim: int
    steps: int
    steps_per_bar: int


def loop_to_bars(pattern: Pattern, bars: int) -> Pattern:
    """``pattern`` repeated and cut to exactly ``bars`` bars (export length)."""
    if bars <= 0:
        raise ValueError(f"bars must be positive, got {bars}")
    reps = -(-bars // pattern.bars)
    return Pattern.concatenate([pattern] * reps).bar_slice(0, bars)


class Controller(QObject):
    """State + engine owner; see the module docstring. All slots run on the GUI thread."""

    modelLoading = Signal(str)
    modelReady = Signal(object)  # ModelInfo
    modelFailed = Signal(str)
    patternChanged = Signal(object)  # Pattern
    measuredChanged = Signal(object)  # dict attribute → value measured on the current pattern (ordered)
    padMoved = Signal(float, float)
    padModeChanged = Signal(str)
    knobChanged = Signal(str, float)
    holdKnobsChanged = Signal(bool)
    heldChanged = Signal(object)  # set of the attribute knobs the user set (held when holding is on)
    heatmapReady = Signal(str, object)  # name, (res, res) ndarray or None
    cornersChanged = Signal(list)  # four labels ("" = empty)
    transitionReady = Signal(object)  # Pattern
    message = Signal(str, str)  # level ('info' | 'warning' | 'error'), text

    def __init__(self, transport: TransportState | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = ModelWorker(self)
        self.model.loaded.connect(self._on_model_loaded)
        self.model.failed.connect(lambda text: self.modelFailed.emit(f"{text} {MISSING_MODEL_HELP}"))
        self.model.error.connect(lambda text: self.message.emit("error", f"Model: {text}"))
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(200)
        self.info: ModelInfo | None = None
        self._pattern = Pattern.empty()
        self._z: np.ndarray | None = None
        self._pad = (0.0, 0.0)
        self._pad_mode = "plane"
        self._knobs: dict[str, float] = {}
        # What the generator holds (engine.generation.knob_feedback), all part of what a pattern is
        # decoded from, so saved with the settings: the knobs the user set since the last
        # reset (the others are the model's: a fresh latent plays its own groove); the knob
        # turned last, met first (a sweep of it stays monotone); and while it is turned, the
        # other attributes where the groove had them when the turn began.
        self._hold_knobs = True  # False: the model's own response to the knobs, one decode
        self._engaged: set[str] = set()
        self._turning: str | None = None
        self._anchor: dict[str, float] | None = None
        self._temperature = 0.0
        self._seed = 1
        self._epoch = 0
        self._measured: dict[str, float] = {}
        self._corners: list[np.ndarray | None] = [None] * 4
        self._corner_labels = ["", "", "", ""]
        self._heatmap_name = ""
        self._heatmap_timer = QTimer(self)
        self._heatmap_timer.setSingleShot(True)
        self._heatmap_timer.setInterval(HEATMAP_DELAY_MS)
        self._heatmap_timer.timeout.connect(self._request_heatmap)
        self._last_generated = 0.0
        self._gesture = 0
        self._velocity_key: tuple[str, int, int] | None = None
        self._last_nudge = 0.0
        self._tmpdir = tempfile.TemporaryDirectory(prefix="groovefader-")
        self.transport = transport or TransportState(parent=self)
        self.transport.ccMoved.connect(self._on_cc_moved)

    # ------------------------------------------------------------------------------------
    # read-only state
    # ------------------------------------------------------------------------------------
    @property
    def pattern(self) -> Pattern:
        return self._pattern

    @property
    def z(self) -> np.ndarray | None:
        return None if self._z is None else self._z.copy()

    @property
    def pad(self) -> tuple[float, float]:
        return self._pad

    @property
    def knobs(self) -> dict[str, float]:
        return dict(self._knobs)

    @property
    def temperature(self) -> float:
        return self._temperature

    @property
    def measured(self) -> dict[str, float]:
        return dict(self._measured)

    @property
    def model_steps(self) -> int:
        return self.info.steps if self.info else MODEL_STEPS_FALLBACK

    # ------------------------------------------------------------------------------------
    # the model
    # ------------------------------------------------------------------------------------
    def load_model(self, path: str | Path | None = None) -> None:
        """Load a checkpoint on a background thread (torch is imported there, not here)."""
        path = Path(path) if path else default_checkpoint()
        self.modelLoading.emit(str(path))
        if not path.is_file():
            self.modelFailed.emit(f"No model checkpoint at {path}. {MISSING_MODEL_HELP}")
            return
        self.model.load(path)

    @property
    def generator(self) -> Any:
        """The ``AsyncGenerator`` serving the loaded model, or None."""
        return self.model.agen

    def _on_model_loaded(self, path: str, agen: Any) -> None:
        if self.info is not None:  # another model: the old latents mean nothing to it
            self._anchor = None
            self._corners = [None] * 4
            self._corner_labels = ["", "", "", ""]
            self.cornersChanged.emit(list(self._corner_labels))
        g = agen.generator
        self.info = ModelInfo(path, g.model_kind, tuple(g.attribute_names), g.attribute_ranges,
                              g.attribute_defaults, g.z_dim, g.steps, g.steps_per_bar)
        # keep knob values a preset or settings restored, if they fit this model
        self._knobs = {n: float(np.clip(self._knobs.get(n, d), *self.info.ranges[n]))
                       for n, d in self.info.defaults.items()}
        if self._turning not in self._knobs:
            self._turning = None
        self._engaged &= set(self._knobs)
        self.heldChanged.emit(set(self._engaged))
        if self._anchor is not None:
            self._anchor = {n: v for n, v in self._anchor.items() if n in self._knobs}
        self.modelReady.emit(self.info)
        self.transport.set_targets([*self.info.attribute_names, TEMPERATURE])
        for name, value in self._knobs.items():
            self.knobChanged.emit(name, value)
        self._epoch += 1
        if self._z is not None and self._z.shape != (g.z_dim,):
            self._z = None
        if self._pattern.num_hits:  # something the user made before the model came: keep it
            self._request_encode(self._pattern, set_knobs=True)
        elif self._z is not None and self._z.shape == (g.z_dim,):
            self._request_decode(z=self._z)
        else:
            self._request_decode(pad=self._pad)
        if self._heatmap_name:
            self._heatmap_timer.start()

    def _call(self, kind: str, fn: Callable[..., Any], handler: Callable[[Any], None],
              *args: Any) -> None:
        """Run ``fn(generator, *args)`` on the worker; ``handler((epoch, result))`` on the GUI
        thread, ``epoch`` being the one the request was made in."""
        epoch = self._epoch
        self.model.call(kind, fn, lambda result: handler((epoch, result)), *args)

    # -- decode ------------------------------------------------------------------------------
    def _request_decode(self, *, z: np.ndarray | None = None, pad: tuple[float, float] | None = None,
                        corners: list[np.ndarray] | None = None, step: str | None = None) -> None:
        """Decode off the GUI thread, holding the knobs, the last one turned first
        (``Generator.decode``). ``step`` names an undo step of its own ("Randomize");
        None = part of the current knob/pad gesture (merged into one undo step)."""
        knobs, temp, seed, turning = dict(self._knobs), self._temperature, self._seed, self._turning
        hold, hold_on = self.held(), self._hold_knobs

        def work(g: Any) -> tuple[np.ndarray, Pattern, dict[str, float], tuple[float, float]]:
            if corners is not None and pad is not None:
                zz = g.blend_corners(np.stack(corners), *pad)
                where = pad
            elif z is not None:
                zz = np.asarray(z, np.float64)
                where = pad if pad is not None else g.z_to_pad(zz)
            else:
                assert pad is not None
                zz, where = g.pad_to_z(*pad), pad
            pat = g.decode(zz, knobs, temperature=temp, seed=seed if temp > 0 else None,
                           hold_knobs=hold_on, turning=turning, hold=hold)
            return zz, pat, g.attributes_of(pat), where

        self._call("decode", work, lambda payload: self._on_decoded(payload, step))

    def _on_decoded(self, payload: tuple[int, Any], step: str | None) -> None:
        epoch, (z, pattern, measured, pad) = payload
        if epoch != self._epoch:
            return
        now = time.monotonic()
        if step is not None or now - self._last_generated > GESTURE_GAP_S:
            self._gesture += 1
        self._last_generated = 0.0 if step is not None else now  # nothing merges into a named step
        self._push(PatternState(pattern, z, pad), step or "Generate", merge_key=self._gesture,
                   measured=measured)

    # -- encode ------------------------------------------------------------------------------
    def _request_encode(self, pattern: Pattern, *, set_knobs: bool) -> None:
        def work(g: Any) -> tuple[Pattern, np.ndarray, dict[str, float], tuple[float, float]]:
            z = g.encode(pattern)
            return pattern, z, g.knobs_for_pattern(g.fit_length(pattern)), g.z_to_pad(z)

        self._call("encode", work, lambda r: self._on_encoded(r, set_knobs))

    def _on_encoded(self, payload: tuple[int, Any], set_knobs: bool) -> None:
        epoch, (pattern, z, knobs, pad) = payload
        if pattern is not self._pattern:  # edited again meanwhile: a newer encode is coming
            return
        del epoch  # an encode of the current pattern is valid whatever happened since
        self._z, self._pad = z, pad
        self.padMoved.emit(*pad)
        if set_knobs:
            self._anchor = None  # the knobs now measure this pattern
        if set_knobs and self.info is not None:
            for name, value in knobs.items():
                lo, hi = self.info.ranges[name]
                self._knobs[name] = float(np.clip(value, lo, hi))
                self.knobChanged.emit(name, self._knobs[name])
            self._schedule_heatmap()

    # ------------------------------------------------------------------------------------
    # state changes (undoable)
    # ------------------------------------------------------------------------------------
    def _current_state(self) -> PatternState:
        return PatternState(self._pattern, None if self._z is None else self._z.copy(), self._pad)

    def _push(self, after: PatternState, text: str, merge_key: int | None = None,
              measured: dict[str, float] | None = None) -> None:
        before = self._current_state()
        self._show(after, measured)
        self.undo_stack.push(PatternCommand(self._restore, before, after, text, merge_key))

    def _restore(self, state: PatternState) -> None:
        """Undo/redo: show ``state`` as it was; decodes in flight no longer apply."""
        self._epoch += 1
        if state.z is not None and self.info is not None and state.z.shape != (self.info.z_dim,):
            state = PatternState(state.pattern, None, state.pad)  # from a model loaded before this one
        self._show(state, None)
        if state.z is None and self.generator is not None and state.pattern.steps == self.model_steps:
            self._request_encode(state.pattern, set_knobs=True)

    def _show(self, state: PatternState, measured: dict[str, float] | None) -> None:
        self._pattern = state.pattern
        if state.z is not None:
            self._z = state.z
        if state.pad != self._pad:
            self._pad = state.pad
            self.padMoved.emit(*state.pad)
        self.patternChanged.emit(state.pattern)
        self.transport.send_pattern(state.pattern)
        self._measured = measured if measured is not None else self._measure(state.pattern)
        self.measuredChanged.emit(dict(self._measured))

    def held(self) -> dict[str, float]:
        """What the next decode holds: the knobs the user set, and while one is turned the
        other attributes where the groove had them when the turn began."""
        hold = dict(self._anchor or {})
        hold.update({n: self._knobs[n] for n in self._engaged if n in self._knobs})
        return hold

    def _measure(self, pattern: Pattern) -> dict[str, float]:
        names = self.info.attribute_names if self.info else attr_lib.DEFAULT_ATTRIBUTES
        values = attr_lib.compute(pattern.to_array()[None], names)[0]
        return {n: float(v) for n, v in zip(names, values, strict=True)}

    # ------------------------------------------------------------------------------------
    # slots for widgets and actions
    # ------------------------------------------------------------------------------------
    def set_knob(self, name: str, value: float) -> None:
        """A knob moved: decode the current z under the new knob values."""
        if name == TEMPERATURE:
            self._temperature = float(np.clip(value, *TEMPERATURE_RANGE))
            self.knobChanged.emit(TEMPERATURE, self._temperature)
        else:
            if self.info is None or name not in self.info.ranges:
                return
            lo, hi = self.info.ranges[name]
            self._knobs[name] = float(np.clip(value, lo, hi))
            self.knobChanged.emit(name, self._knobs[name])
            if self._anchor is None or name != self._turning:
                # a new turn: the other attributes stay where the playing groove has them
                self._anchor = self._measure(self._pattern) if self._pattern.num_hits else {}
            self._turning = name
            if name not in self._engaged:
                self._engaged.add(name)
                self.heldChanged.emit(set(self._engaged))
            self._schedule_heatmap()
        self._regenerate()

    @property
    def engaged(self) -> set[str]:
        """The attribute knobs the user set since the last reset (held when holding is on)."""
        return set(self._engaged)

    @property
    def hold_knobs(self) -> bool:
        """Whether the generator holds the knobs set (engine.generation.knob_feedback) or the model
        answers them alone (one decode: closer to the data's drums, knobs reach less far)."""
        return self._hold_knobs

    def set_hold_knobs(self, on: bool) -> None:
        if bool(on) != self._hold_knobs:
            self._hold_knobs = bool(on)
            self.holdKnobsChanged.emit(self._hold_knobs)
            self._regenerate()

    def release_knob(self, name: str) -> None:
        """Back to its default, and no longer held: the groove decides this attribute."""
        if self.info is None or name not in self.info.ranges:
            return
        self._knobs[name] = float(self.info.defaults[name])
        self.knobChanged.emit(name, self._knobs[name])
        self._engaged.discard(name)
        self.heldChanged.emit(set(self._engaged))
        self._anchor = None
        if self._turning == name:
            self._turning = None
        self._schedule_heatmap()
        self._regenerate()

    def reset_knobs(self) -> None:
        if self.info is None:
            return
        self._knobs = dict(self.info.defaults)
        self._engaged, self._turning, self._anchor = set(), None, None
        self.heldChanged.emit(set())
        for name, value in self._knobs.items():
            self.knobChanged.emit(name, value)
        self._schedule_heatmap()
        self._regenerate()

    def _regenerate(self) -> None:
        if self.generator is None:
            return
        if self._pad_mode == "corners":
            self._request_decode(pad=self._pad, corners=self._corner_latents())
        elif self._z is not None:
            self._request_decode(z=self._z, pad=self._pad)
        else:
            self._request_decode(pad=self._pad)

    def move_pad(self, x: float, y: float) -> None:
        """The pad moved: decode the latent point under it (plane or corner blend)."""
        self._pad = (float(np.clip(x, -1, 1)), float(np.clip(y, -1, 1)))
        self._anchor = None  # another groove: the knobs nobody set are its own
        if self.generator is None:
            self.message.emit("warning", "The pad needs a model: " + MISSING_MODEL_HELP)
            return
        if self._pad_mode == "corners":
            self._request_decode(pad=self._pad, corners=self._corner_latents())
        else:
            self._request_decode(pad=self._pad)

    def set_pad_mode(self, mode: str) -> None:
        if mode not in ("plane", "corners"):
            raise ValueError(f"pad mode must be 'plane' or 'corners', got {mode!r}")
        self._pad_mode = mode
        self.padModeChanged.emit(mode)
        if mode == "corners" and not any(c is not None for c in self._corners):
            self.message.emit("info", "Corners mode: put patterns into corners A–D with the corner "
                                      "buttons; empty corners use the latent plane's corners.")
        self._schedule_heatmap()

    def set_corner(self, index: int, pattern: Pattern | None = None, label: str | None = None) -> None:
        """Put ``pattern`` (default: the current one) into corner ``index``
        (0 = A bottom-left, 1 = B bottom-right, 2 = C top-left, 3 = D top-right)."""
        if self.generator is None:
            self.message.emit("warning", "Corners need a model: " + MISSING_MODEL_HELP)
            return
        pattern = pattern if pattern is not None else self._pattern
        name = label or f"{pattern.num_hits} hits"

        def work(g: Any) -> np.ndarray:
            return g.encode(pattern)

        def done(payload: tuple[int, np.ndarray]) -> None:
            self._corners[index] = payload[1]
            self._corner_labels[index] = name
            self.cornersChanged.emit(list(self._corner_labels))

        self._call(f"corner{index}", work, done)

    def corner_labels(self) -> list[str]:
        return list(self._corner_labels)

    def _corner_latents(self) -> list[np.ndarray]:
        g = self.generator.generator
        plane = [(-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0), (1.0, 1.0)]
        return [c if c is not None else g.pad_to_z(*plane[i]) for i, c in enumerate(self._corners)]

    def toggle_cell(self, step: int, voice: int) -> None:
        """Grid click: toggle one hit (undoable); the edited pattern is re-encoded."""
        pat = self._pattern
        on = not bool(pat.hits[step, voice])
        edited = pat.with_hit(step, voice, on)
        self._push(PatternState(edited, None, self._pad), f"{'Add' if on else 'Remove'} hit")
        if self.generator is not None and edited.steps == self.model_steps:
            self._request_encode(edited, set_knobs=True)

    def nudge_velocity(self, step: int, voice: int, delta: float) -> None:
        """Change one hit's velocity by ``delta`` (velocity units, 1/127 per MIDI step);
        a run of nudges on one cell is one undo step. Re-encoded like any edit."""
        pat = self._pattern
        if not pat.hits[step, voice]:
            return
        old = float(pat.velocities[step, voice])
        new = float(np.clip(old + delta, 1 / 127, 1.0))
        if new == old:
            return
        edited = pat.with_hit(step, voice, True, velocity=new)
        key = ("velocity", step, voice)
        if self._velocity_key != key or time.monotonic() - self._last_nudge > GESTURE_GAP_S:
            self._gesture += 1
        self._velocity_key, self._last_nudge = key, time.monotonic()
        self._last_generated = 0.0  # a generated pattern after this is a step of its own
        self._push(PatternState(edited, None, self._pad), "Velocity", merge_key=self._gesture)
        if self.generator is not None and edited.steps == self.model_steps:
            self._request_encode(edited, set_knobs=True)

    def randomize(self) -> None:
        """A fresh latent point near a groove of the training data (the prior where the
        checkpoint stores no training codes)."""
        if self.generator is None:
            self.message.emit("warning", "Randomize needs a model: " + MISSING_MODEL_HELP)
            return
        self._epoch += 1
        self._anchor = None
        self._seed = int(np.random.default_rng().integers(1, 2**31 - 1))
        z = self.generator.generator.sample_like_data(1, seed=self._seed)[0]
        self._request_decode(z=z, step="Randomize")

    def variation(self, amount: float = 0.35) -> None:
        """A latent point near the current one."""
        if self.generator is None or self._z is None:
            self.message.emit("warning", "Variation needs a model and a pattern from it.")
            return
        self._epoch += 1
        self._anchor = None
        self._seed = int(np.random.default_rng().integers(1, 2**31 - 1))
        z = self.generator.generator.variation(self._z, amount, self._seed)
        self._request_decode(z=z, step="Variation")

    def set_heatmap(self, name: str) -> None:
        self._heatmap_name = name
        if not name:
            self.heatmapReady.emit("", None)
            return
        self._request_heatmap()

    def _schedule_heatmap(self) -> None:
        if self._heatmap_name and self.generator is not None:
            self._heatmap_timer.start()

    def _request_heatmap(self) -> None:
        name, knobs = self._heatmap_name, dict(self._knobs)
        if not name or self.generator is None:
            return
        if self._pad_mode == "corners":
            corners = np.stack(self._corner_latents())

            def work(g: Any) -> tuple[str, np.ndarray]:
                # the corner blend is not a plane: decode the blend grid in one batch
                grid = np.linspace(-1.0, 1.0, HEATMAP_RESOLUTION)
                zs = np.stack([g.blend_corners(corners, x, y) for y in grid for x in grid])
                batch = g.decode_batch(zs, knobs).to_array()
                values = attr_lib.ATTRIBUTES[name](batch)
                return name, values.reshape(HEATMAP_RESOLUTION, HEATMAP_RESOLUTION)
        else:
            def work(g: Any) -> tuple[str, np.ndarray]:
                return name, g.heatmap(name, HEATMAP_RESOLUTION, knobs)

        self._call("heatmap", work, self._on_heatmap)

    def _on_heatmap(self, payload: tuple[int, tuple[str, np.ndarray]]) -> None:
        _epoch, (name, values) = payload
        if name == self._heatmap_name:
            self.heatmapReady.emit(name, values)

    # -- clips ---------------------------------------------------------------------------------
    def load_clip(self, path: str | Path) -> None:
        """Read a drum clip, show its first model-length window, encode it (pad + knobs follow).

        Errors become a message naming the file and the reason.
        """
        from engine.music.midifile import read_clip

        try:
            clip = read_clip(path)
        except GrooveFaderError as err:
            self.message.emit("error", str(err))
            return
        steps = self.model_steps
        if clip.steps >= steps:
            pattern = clip.bar_slice(0, steps // clip.steps_per_bar)
        else:
            pattern = loop_to_bars(clip, steps // clip.steps_per_bar)
        self._epoch += 1
        self._push(PatternState(pattern, None, self._pad), f"Load {Path(path).name}")
        self.message.emit("info", f"Loaded {Path(path).name} ({clip.bars} bars, first "
                                  f"{pattern.bars} shown)")
        if self.generator is not None:
            self._request_encode(pattern, set_knobs=True)

    def export_clip(self, path: str | Path, bars: int) -> Path:
        """Write the current pattern looped to ``bars`` bars (tempo and note map applied).

        Raises:
            MidiFileError: the file cannot be written (names it and the reason).
        """
        from engine.music.midifile import write_clip

        clip = loop_to_bars(self._pattern, bars)
        return write_clip(path, clip, tempo_bpm=self.transport["tempo_bpm"],
                          note_map=self.transport["note_map"], force=True)

    def export_temp_clip(self, bars: int) -> Path:
        """A clip in this session's temp folder, for dragging into a DAW or file manager."""
        bpm = self.transport["tempo_bpm"]
        path = Path(self._tmpdir.name) / f"groovefader-{bpm:g}bpm-{bars}bars-{int(time.time())}.mid"
        return self.export_clip(path, bars)

    def make_transition(self, target: Pattern | int, bars: int, strategy: int) -> None:
        """A→B over ``bars`` bars from the current pattern to ``target`` (a Pattern or a corner)."""
        if self.generator is None:
            self.message.emit("warning", "Transitions need a model: " + MISSING_MODEL_HELP)
            return
        a, seed = self._pattern, self._seed
        if isinstance(target, int):
            if self._corners[target] is None:
                self.message.emit("warning", f"Corner {'ABCD'[target]} is empty.")
                return
            zb = self._corners[target]
            knobs = dict(self._knobs)
            hold = {n: knobs[n] for n in self._engaged if n in knobs}  # the corner's own groove

            def b_of(g: Any) -> Pattern:
                return g.decode(zb, knobs, hold=hold)
        else:
            def b_of(g: Any) -> Pattern:
                return target

        def work(g: Any) -> Pattern:
            from engine.generation.transitions import transition

            return transition(g, a, b_of(g), bars, strategy, seed=seed)

        def done(payload: tuple[int, Pattern]) -> None:
            pattern = payload[1]
            self._epoch += 1
            self._push(PatternState(pattern, None, self._pad), f"Transition ({bars} bars)")
            self.transitionReady.emit(pattern)
            self.message.emit("info", f"Transition A→B, strategy {strategy}, {bars} bars: playing; "
                                      "export it with Export clip")

        self._call("transition", work, done)

    # -- presets -------------------------------------------------------------------------------
    def current_preset(self) -> Preset:
        t = self.transport
        return Preset(knobs=dict(self._knobs), temperature=self._temperature,
                      z=None if self._z is None else tuple(float(v) for v in self._z),
                      pad=self._pad, pad_mode=self._pad_mode, note_map=t["note_map"],
                      tempo_bpm=t["tempo_bpm"], swing=t["swing"], groove=t["groove"],
                      velocity_scale=t["velocity_scale"])

    def apply_preset(self, preset: Preset) -> None:
        self._epoch += 1
        self._anchor, self._turning = None, None
        # the knobs a preset moves off their defaults are set; the others are the groove's
        defaults = self.info.defaults if self.info is not None else {}
        self._engaged = {n for n, v in preset.knobs.items() if abs(v - defaults.get(n, np.inf)) > 1e-9}
        self.heldChanged.emit(set(self._engaged))
        if self.info is not None:
            unknown = sorted(set(preset.knobs) - set(self.info.attribute_names))
            if unknown:
                self.message.emit("warning", f"Preset knobs {unknown} are not in this model; ignored.")
            for name in self.info.attribute_names:
                if name in preset.knobs:
                    lo, hi = self.info.ranges[name]
                    self._knobs[name] = float(np.clip(preset.knobs[name], lo, hi))
                    self.knobChanged.emit(name, self._knobs[name])
        else:
            self._knobs.update(preset.knobs)
        self._temperature = preset.temperature
        self.knobChanged.emit(TEMPERATURE, self._temperature)
        self.transport.set(tempo_bpm=preset.tempo_bpm, swing=preset.swing, groove=preset.groove,
                           velocity_scale=preset.velocity_scale, note_map=preset.note_map)
        self._pad = preset.pad
        self.padMoved.emit(*preset.pad)
        if preset.pad_mode != self._pad_mode:
            self.set_pad_mode(preset.pad_mode)
        z = np.asarray(preset.z, np.float64) if preset.z is not None else None
        if z is not None and self.info is not None and z.shape != (self.info.z_dim,):
            self.message.emit("warning", f"Preset z has {z.size} dimensions, this model {self.info.z_dim};"
                                         " using the pad position.")
            z = None
        self._z = z
        if self.generator is not None:
            if z is not None:
                self._request_decode(z=z, pad=self._pad, step="Preset")
            else:
                self._request_decode(pad=self._pad, step="Preset")

    def _on_cc_moved(self, target: str, fraction: float) -> None:
        """A MIDI-learned control moved: ``fraction`` (0..1) of the knob's range."""
        if target == TEMPERATURE:
            lo, hi = TEMPERATURE_RANGE
        elif self.info is not None and target in self.info.ranges:
            lo, hi = self.info.ranges[target]
        else:
            return
        self.set_knob(target, lo + fraction * (hi - lo))

    # -- settings ------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """Plain values for QSettings (the transport's included)."""
        return {**self.transport.settings(), "knobs": dict(self._knobs), "temperature": self._temperature,
                "pad": list(self._pad), "heatmap": self._heatmap_name, "turning": self._turning,
                "engaged": sorted(self._engaged), "anchor": self._anchor, "hold_knobs": self._hold_knobs,
                "z": None if self._z is None else [float(v) for v in self._z]}

    def restore_settings(self, values: Mapping[str, Any]) -> None:
        """Inverse of :meth:`settings`; anything malformed is skipped (settings outlive versions)."""
        self.transport.restore_settings(values)
        with contextlib.suppress(KeyError, TypeError, ValueError):
            t = float(values["temperature"])
            if TEMPERATURE_RANGE[0] <= t <= TEMPERATURE_RANGE[1]:
                self._temperature = t
                self.knobChanged.emit(TEMPERATURE, t)
        knobs = values.get("knobs")
        if isinstance(knobs, Mapping):
            self._knobs.update({str(k): float(v) for k, v in knobs.items() if isinstance(v, int | float)})
        pad = values.get("pad")
        with contextlib.suppress(TypeError, ValueError):
            if isinstance(pad, list | tuple) and len(pad) == 2:
                self._pad = (float(np.clip(float(pad[0]), -1, 1)), float(np.clip(float(pad[1]), -1, 1)))
                self.padMoved.emit(*self._pad)
        if isinstance(values.get("heatmap"), str):
            self._heatmap_name = values["heatmap"]
        if isinstance(values.get("turning"), str):
            self._turning = values["turning"]  # checked against the model's knobs when it loads
        if isinstance(values.get("hold_knobs"), bool):
            self._hold_knobs = values["hold_knobs"]
            self.holdKnobsChanged.emit(self._hold_knobs)
        engaged = values.get("engaged")
        if isinstance(engaged, list | tuple):
            self._engaged = {str(n) for n in engaged}
        anchor = values.get("anchor")
        if isinstance(anchor, Mapping):
            self._anchor = {str(k): float(v) for k, v in anchor.items() if isinstance(v, int | float)}
        z = values.get("z")
        if isinstance(z, list) and z and all(isinstance(v, int | float) for v in z):
            self._z = np.asarray(z, np.float64)  # checked against the model when it loads

    # -- shutdown ------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop workers; the sequencer sends all note-offs as it closes."""
        self._heatmap_timer.stop()
        self.model.close()
        self.transport.close()
        self._tmpdir.cleanup()
