"""The app's coordinator: the one door from the widgets to the model and the sequencer.

:class:`Controller` holds what the instrument is doing — latent point ``z``, pad position,
the pattern — and coordinates three parts that hold the rest: the knobs
(:class:`~app.knob_binding.KnobBinding` over the engine's
:class:`~engine.generation.knobs.KnobState`), the model on its worker thread
(:class:`~app.model_worker.ModelWorker`, whose jobs are :mod:`app.model_jobs`) and the
transport (:class:`~app.transport_state.TransportState`, ``controller.transport``), which
hands each new pattern to the sequencer. The pad's corners and heat-map are
:class:`~app.pad_jobs.PadJobs` (``controller.pad_jobs``), what presets and the saved session
hold is :class:`~app.session_state.SessionState`, the undo history
:class:`~app.pattern_history.PatternHistory`. Widgets call slots and listen to signals;
nothing here touches a widget or decides anything musical.

Threads: every model call goes through the worker (latest wins per kind) and its result
comes back on the GUI thread, where state changes. Each result carries the *epoch* it was
requested in: loading a clip, undo, a preset or randomize starts a new epoch, so a decode
still in flight cannot overwrite what the user just chose.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from PySide6.QtCore import QObject, Signal

from app import clips, grid_edits, model_jobs
from app.file_reads import FileReads
from app.file_writes import FileWrites
from app.knob_binding import TEMPERATURE, KnobBinding, measure
from app.model_jobs import KnobSettings
from app.model_worker import MISSING_MODEL_HELP, ModelInfo, ModelWorker, default_checkpoint
from app.pad_jobs import PadJobs
from app.pad_state import PadState
from app.pattern_history import PatternHistory
from app.presets import Preset
from app.session_state import SessionState
from app.transport_state import TransportState
from app.undo import PatternState
from engine.generation.expression_edit import kept_knobs
from engine.generation.knobs import TEMPERATURE_DEFAULT, KnobState
from engine.generation.voice_lock import VoiceLock
from engine.music import attributes as attr_lib
from engine.music.pattern import Pattern
from models.pathnames import shown

if TYPE_CHECKING:
    from engine.errors import GrooveFaderError
    from engine.generation.generator import AsyncGenerator, Generator

T = TypeVar("T")
MODEL_STEPS_FALLBACK = 32  # 2 bars of 16ths before a model says otherwise


class Controller(QObject):
    """State + coordination; see the module docstring. All slots run on the GUI thread."""

    modelLoading = Signal(str)
    modelReady = Signal(object)  # ModelInfo
    modelFailed = Signal(str)
    patternChanged = Signal(object)  # Pattern
    measuredChanged = Signal(object)  # dict attribute → value measured on the current pattern (ordered)
    detentsChanged = Signal(object)  # dict attribute → its knob's detents (raw values; empty: none)
    transitionReady = Signal(object)  # Pattern
    lockChanged = Signal(object)  # frozenset of the locked voices
    message = Signal(str, str)  # level ('info' | 'warning' | 'error'), text

    def __init__(self, transport: TransportState | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = ModelWorker(self)
        self.model.loaded.connect(self._on_model_loaded)
        self.model.failed.connect(lambda text: self.modelFailed.emit(f"{text} {MISSING_MODEL_HELP}"))
        self.model.error.connect(lambda text: self.message.emit("error", f"Model: {text}"))
        self.knob_binding = KnobBinding(self)  # knobChanged, heldChanged, holdingChanged
        self.pad_state = PadState(self)  # padMoved, padModeChanged, cornersChanged
        self.pad_jobs = PadJobs(self.pad_state, self.model, lambda: self.knob_binding.state.inputs, self)
        self.pad_jobs.message.connect(self.message)  # heatmapReady is the pad jobs' own
        self.history = PatternHistory(self._restore, self)
        self.info: ModelInfo | None = None
        self._pattern = Pattern.empty()
        self._measured: dict[str, float] = {}  # the attributes of the pattern shown
        self._detent_centres: dict[str, float] | None = None  # where the walk's detents lie
        self._shown_knobs: KnobState | None = None  # the knobs that made the pattern shown
        self._z: np.ndarray | None = None
        self._seed = 1
        self._epoch = 0
        self._drag_clips = clips.TempClips()
        self.files = FileReads(self)  # a whole song's file is read off the GUI thread
        self.writes = FileWrites(self)  # and a long clip written off it
        self.files.started.connect(lambda text: self.message.emit("info", text))
        self.lock = VoiceLock()  # voices kept as they are while the rest changes
        self.transport = transport or TransportState(parent=self)
        self.transport.ccMoved.connect(self._on_cc_moved)
        self.session = SessionState(self.knob_binding, self.pad_jobs, self.transport)

    # -- read-only state -----------------------------------------------------------------------
    @property
    def pattern(self) -> Pattern:
        return self._pattern

    @property
    def z(self) -> np.ndarray | None:
        return None if self._z is None else self._z.copy()

    @property
    def pad(self) -> tuple[float, float]:
        return self.pad_state.position

    @property
    def knobs(self) -> dict[str, float]:
        return self.knob_binding.values

    @property
    def model_steps(self) -> int:
        return self.info.steps if self.info else MODEL_STEPS_FALLBACK

    @property
    def generator(self) -> AsyncGenerator | None:
        """The ``AsyncGenerator`` serving the loaded model, or None."""
        return self.model.agen

    # -- the model -----------------------------------------------------------------------------
    def load_model(self, path: str | Path | None = None) -> None:
        """Load a checkpoint on a background thread (torch is imported there, not here)."""
        path = Path(path) if path else default_checkpoint()
        self.modelLoading.emit(str(path))
        if not path.is_file():
            if self.model.agen is not None:  # the model that plays keeps playing
                self.model.refuse(f"No model checkpoint at {shown(path)}.")
            else:
                self.modelFailed.emit(f"No model checkpoint at {path}. {MISSING_MODEL_HELP}")
            return
        self.model.load(path)

    def _on_model_loaded(self, path: str, agen: AsyncGenerator) -> None:
        another = self.info is not None  # the old latents mean nothing to this model
        if another:
            self.pad_state.clear_corners()
        g = agen.generator
        self.info = ModelInfo.of(path, g)
        self.knob_binding.adopt_model(self.info.ranges, self.info.defaults, another)
        self.modelReady.emit(self.info)
        self.transport.set_targets([*self.info.attribute_names, TEMPERATURE])
        self.knob_binding.announce()
        self._epoch += 1
        if self._z is not None and self._z.shape != (g.z_dim,):
            self._z = None
        if self._pattern.num_hits:  # something the user made before the model came: keep it
            self._request_encode(self._pattern, set_knobs=True)
        elif self._z is not None:
            self._request_decode(z=self._z)
        else:
            self._request_decode(pad=self.pad)
        self.pad_state.schedule_heatmap()

    def _call(self, kind: str, job: Callable[[Generator], T], handler: Callable[[T], None],
              always: bool = False) -> None:
        """Run ``job(generator)`` on the worker; ``handler(result)`` on the GUI thread if
        no new epoch began meanwhile (``always``: whatever happened since)."""
        epoch = self._epoch

        def done(result: T) -> None:
            if always or epoch == self._epoch:
                handler(result)

        self.model.call(kind, job, done)

    def _request_decode(self, *, z: np.ndarray | None = None, pad: tuple[float, float] | None = None,
                        corners: list[np.ndarray] | None = None, step: str | None = None,
                        draw: Callable[[Generator], np.ndarray] | None = None) -> None:
        """Decode off the GUI thread with the knobs as they stand now (``draw``: picks the
        latent there too). ``step`` names an undo step of its own ("Randomize"); None = part
        of the current gesture."""
        b = self.knob_binding
        knobs = KnobSettings(b.state, b.holding, b.temperature, self._seed, self.lock, b.following, b.keeping,
                             b.keeping_hits)
        self._call("decode", lambda g: model_jobs.decode(g, knobs, z=z, pad=pad, corners=corners, draw=draw),
                   lambda d: self._on_decoded(d, step))

    def _on_decoded(self, d: model_jobs.Decoded, step: str | None) -> None:
        self._detent_centres = d.detent_centres
        self._push(PatternState(d.pattern, d.z, d.pad), step or "Generate",
                   self.history.generated_key(step is not None), d.measured)

    def _request_encode(self, pattern: Pattern, *, set_knobs: bool) -> None:
        self._call("encode", lambda g: model_jobs.encode(g, pattern),
                   lambda e: self._on_encoded(e, set_knobs), always=True)

    def _on_encoded(self, e: model_jobs.Encoded, set_knobs: bool) -> None:
        if e.pattern is not self._pattern:  # edited again meanwhile: a newer encode is coming
            return
        self._z = e.z
        self.pad_state.move(*e.pad)
        if set_knobs:  # the knobs now measure this pattern
            self.knob_binding.take_groove(e.knobs)
            self.pad_state.schedule_heatmap()

    def _regenerate(self) -> None:
        if self.generator is None:
            return
        pad = self.pad_state.position
        if self.pad_state.blending:
            self._request_decode(pad=pad, corners=self.pad_jobs.corner_latents())
        else:
            self._request_decode(z=self._z, pad=pad)

    # -- what is shown, and undo -----------------------------------------------------------------
    def _push(self, after: PatternState, text: str, merge_key: int | None = None,
              measured: dict[str, float] | None = None) -> None:
        before = PatternState(self._pattern, None if self._z is None else self._z.copy(), self.pad,
                              self._shown_knobs)
        if after.knobs is None:  # the knobs that made it: as they stand when it lands
            after = dataclasses.replace(after, knobs=self.knob_binding.state)
        self._show(after, measured)
        self.history.push(before, after, text, merge_key)

    def _restore(self, state: PatternState) -> None:
        """Undo/redo: show ``state`` as it was; decodes in flight no longer apply."""
        self._epoch += 1
        if state.z is not None and self.info is not None and state.z.shape != (self.info.z_dim,):
            state = PatternState(state.pattern, None, state.pad)  # from a model loaded before this one
        if state.knobs is not None and self.knob_binding.restore(state.knobs):
            self._shown_knobs = state.knobs
        self._show(state, None)
        if state.z is None:
            self._encode_edit(state.pattern)

    def _encode_edit(self, pattern: Pattern) -> None:
        """A pattern without a latent (an edit, a clip): the model places it, the knobs follow."""
        if self.generator is not None and pattern.steps == self.model_steps:
            self._request_encode(pattern, set_knobs=True)

    def _show(self, state: PatternState, measured: dict[str, float] | None) -> None:
        self._pattern = state.pattern
        if state.knobs is not None:
            self._shown_knobs = state.knobs
        if state.z is not None:
            self._z = state.z
        if state.pad != self.pad:
            self.pad_state.move(*state.pad)
        self.patternChanged.emit(state.pattern)
        self.transport.send_pattern(state.pattern)
        names = self.info.attribute_names if self.info else attr_lib.DEFAULT_ATTRIBUTES
        if measured is None:  # not a fresh decode (an edit, a clip, undo): no word on its detents
            self._detent_centres = None
        self._measured = measured if measured is not None else measure(state.pattern, names)
        self.measuredChanged.emit(self._measured)
        self._announce_detents()

    def _announce_detents(self) -> None:
        """Each knob's detents around where a turn of it starts (none while the knobs are
        not held: the model's own knob has none)."""
        anchors = self.info.detents if self.info is not None and self.knob_binding.holding else 0
        b = self.knob_binding
        kept = () if self.info is None else kept_knobs(self.info.kept, self.info.attribute_names, b.keeping,
                                                        b.keeping_hits)
        state = self.knob_binding.state
        if state.names:
            self.detentsChanged.emit(state.detents(self._measured, anchors, self._detent_centres, kept))

    # -- slots: knobs ------------------------------------------------------------------------------
    def set_knob(self, name: str, value: float) -> None:
        """A knob moved: decode the current z under the new knob values."""
        if name == TEMPERATURE:
            self.knob_binding.set_temperature(value)
        elif self.knob_binding.turn(name, value, self._pattern):
            self.pad_state.schedule_heatmap()
        else:
            return
        self._regenerate()

    def release_knob(self, name: str) -> None:
        """Double-click: an attribute knob back to its default and no longer held (the groove
        decides it); temperature back to its default."""
        if name == TEMPERATURE:
            self.set_knob(TEMPERATURE, TEMPERATURE_DEFAULT)
        elif self.knob_binding.release(name):
            self.pad_state.schedule_heatmap()
            self._regenerate()

    def reset_knobs(self) -> None:
        if self.info is not None:
            self.knob_binding.reset()
            self.pad_state.schedule_heatmap()
            self._regenerate()

    def set_holding(self, on: bool) -> None:
        if self.knob_binding.set_holding(on):
            self._announce_detents()
            self._regenerate()

    def set_following(self, on: bool) -> None:
        if self.knob_binding.set_following(on):
            self._regenerate()

    def set_keeping(self, on: bool) -> None:
        """*Feel knobs keep the groove*: intensity and laid back edit the playing groove."""
        if self.knob_binding.set_keeping(on):
            self._announce_detents()
            self._regenerate()

    def set_keeping_hits(self, on: bool) -> None:
        """*Density and hats keep the groove*: density and hat busyness add or remove the
        playing groove's hits."""
        if self.knob_binding.set_keeping_hits(on):
            self._announce_detents()
            self._regenerate()

    def _on_cc_moved(self, target: str, fraction: float) -> None:
        """A MIDI-learned control moved: ``fraction`` (0..1) of the knob's range."""
        span = self.knob_binding.range_of(target)
        if span is not None:
            self.set_knob(target, span[0] + fraction * (span[1] - span[0]))

    # -- slots: pad, corners, new grooves ----------------------------------------------------------
    def move_pad(self, x: float, y: float) -> None:
        """The pad moved: decode the latent point under it (plane or corner blend)."""
        self.pad_state.move(x, y, announce=False)
        self.knob_binding.new_groove()
        if self.generator is None:
            self.message.emit("warning", "The pad needs a model: " + MISSING_MODEL_HELP)
            return
        corners = self.pad_jobs.corner_latents() if self.pad_state.blending else None
        self._request_decode(pad=self.pad, corners=corners)

    def set_corner(self, index: int, pattern: Pattern | None = None, label: str | None = None) -> None:
        """Put ``pattern`` (default: the current one) into corner ``index`` (see :class:`PadJobs`)."""
        self.pad_jobs.put_corner(index, self._pattern if pattern is None else pattern, label)

    def randomize(self) -> None:
        """A fresh latent point near a groove of the training data (the prior where the
        checkpoint stores no training codes)."""
        if self.generator is None:
            self.message.emit("warning", "Randomize needs a model: " + MISSING_MODEL_HELP)
            return
        self._new_groove()
        seed, lock = self._seed, self.lock
        # with voices locked, a training groove that plays them alike (Generator.lock_candidates):
        # a search of the training grooves, so it runs on the model's worker
        self._request_decode(draw=lambda g: g.sample_like_data(1, seed=seed, lock=lock)[0], step="Randomize")

    def variation(self, amount: float = 0.35) -> None:
        """A latent point near the current one."""
        if self.generator is None or self._z is None:
            self.message.emit("warning", "Variation needs a model and a pattern from it.")
            return
        self._new_groove()
        z, seed = self._z, self._seed
        self._request_decode(draw=lambda g: g.variation(z, amount, seed), step="Variation")

    def _new_groove(self) -> None:
        self._epoch += 1
        self.knob_binding.new_groove()
        self._seed = int(np.random.default_rng().integers(1, 2**31 - 1))

    def toggle_lock(self, voice: int) -> None:
        """Keep ``voice`` as it plays now while Randomize, Variation, the pad and the knobs
        change the others (decoded around it), or release it."""
        self.lock = self.lock.toggled(voice, self._pattern)
        self.lockChanged.emit(self.lock.voices)

    # -- slots: the grid ---------------------------------------------------------------------------
    def toggle_cell(self, step: int, voice: int) -> None:
        """Grid click: toggle one hit (undoable); the edited pattern is re-encoded."""
        edited, text = grid_edits.toggled(self._pattern, step, voice)
        self._epoch += 1  # a decode asked for before the click must not replace the edit
        self._push(PatternState(edited, None, self.pad), text)
        self._relock(edited, voice)
        self._encode_edit(edited)

    def nudge_velocity(self, step: int, voice: int, delta: float) -> None:
        """One hit's velocity moved by ``delta``; a run of nudges on one cell is one undo step."""
        edited = grid_edits.nudged(self._pattern, step, voice, delta)
        if edited is not None:
            self._epoch += 1  # as toggle_cell: decodes in flight no longer apply
            self._push(PatternState(edited, None, self.pad), "Velocity", self.history.nudge_key(step, voice))
            self._relock(edited, voice)
            self._encode_edit(edited)

    def _relock(self, edited: Pattern, voice: int) -> None:
        """An edit of a locked voice is what the lock keeps from now on."""
        if voice in self.lock.voices:
            self.lock = VoiceLock.of(edited, self.lock.voices)

    # -- clips and transitions ---------------------------------------------------------------------
    def load_clip(self, path: str | Path) -> None:
        """Read a drum clip, show its first model-length window, encode it (pad + knobs follow).

        A clip is read at once; a large file off the GUI thread, shown when read unless the
        user did something else meanwhile. Errors become a message naming the file and the
        reason.
        """
        epoch = self._epoch

        def loaded(read: tuple[Pattern, Pattern]) -> None:
            if epoch != self._epoch:  # a Randomize, an undo, a preset since: that wins
                return
            self._epoch += 1  # decodes asked for before the clip no longer apply
            clip, pattern = read
            self._push(PatternState(pattern, None, self.pad), f"Load {clips.display_name(path)}")
            self.message.emit("info", f"Loaded {clips.display_name(path)} ({clip.bars} bars, first "
                                      f"{pattern.bars} shown)")
            if self.generator is not None:
                self._request_encode(pattern, set_knobs=True)

        self.files.read("clip", path, lambda p: clips.read_window(p, self.model_steps), loaded,
                        lambda err: self.message.emit("error", str(err)))

    def read_clip(self, path: str | Path, then: Callable[[Pattern], None]) -> None:
        """A whole drum clip for a corner or a transition's B: ``then(pattern)`` once read
        (off the GUI thread when large); errors become a message."""
        from engine.music.midifile import read_clip

        self.files.read("target", path, read_clip, then, lambda err: self.message.emit("error", str(err)))

    def export_clip(self, path: str | Path, bars: int) -> Path:
        """Write the current pattern looped to ``bars`` bars (tempo and note map applied).

        Raises:
            MidiFileError: the file cannot be written (names it and the reason).
        """
        return clips.export(path, self._pattern, bars, self.transport["tempo_bpm"],
                            self.transport["note_map"])

    def export_clip_later(self, path: str | Path, bars: int, done: Callable[[Path], None],
                          failed: Callable[[GrooveFaderError], None]) -> None:
        """:meth:`export_clip` of the pattern as it is now, written on a thread; ``done(path)``
        or ``failed(error)`` on the GUI thread."""
        pattern, tempo, note_map = self._pattern, self.transport["tempo_bpm"], self.transport["note_map"]
        self.writes.write(lambda: clips.export(path, pattern, bars, tempo, note_map), done, failed)

    def export_temp_clip(self, bars: int) -> Path:
        """A clip in this session's temp folder, for dragging into a DAW or file manager."""
        return self.export_clip(self._drag_clips.path(self.transport["tempo_bpm"], bars), bars)

    def make_transition(self, target: Pattern | int, bars: int, strategy: int) -> None:
        """A→B over ``bars`` bars from the current pattern to ``target`` (a Pattern or a corner)."""
        if self.generator is None:
            self.message.emit("warning", "Transitions need a model: " + MISSING_MODEL_HELP)
            return
        a, seed, knobs = self._pattern, self._seed, self.knob_binding.state
        if isinstance(target, int):
            b = self.pad_state.corners[target]
            if b is None:
                self.message.emit("warning", f"Corner {'ABCD'[target]} is empty.")
                return
        else:
            b = target

        def done(pattern: Pattern) -> None:
            self._push(PatternState(pattern, None, self.pad), f"Transition ({bars} bars)")
            self.transitionReady.emit(pattern)
            self.message.emit("info", f"Transition A→B, strategy {strategy}, {bars} bars: playing; "
                                      "export it with Export clip")

        # a new epoch from the request on: decodes asked for before it no longer apply, and
        # whatever the user does while it computes (Randomize, a knob, an edit) wins over it
        self._epoch += 1
        self._call("transition", lambda g: model_jobs.transition(g, a, b, knobs, bars, strategy, seed),
                   done)

    # -- presets and settings (what they hold: SessionState) ---------------------------------------
    def current_preset(self) -> Preset:
        return self.session.preset(self._z)

    def apply_preset(self, preset: Preset) -> None:
        self._epoch += 1
        unknown = self.session.apply(preset)
        if unknown:
            self.message.emit("warning", f"Preset knobs {unknown} are not in this model; ignored.")
        z = np.asarray(preset.z, np.float64) if preset.z is not None else None
        if z is not None and self.info is not None and z.shape != (self.info.z_dim,):
            self.message.emit("warning", f"Preset z has {z.size} dimensions, this model {self.info.z_dim};"
                                         " using the pad position.")
            z = None
        self._z = z
        if self.generator is not None:
            self._request_decode(z=z, pad=self.pad, step="Preset")

    def settings(self) -> dict[str, Any]:
        """Plain values for QSettings (the transport's, the knobs' and the pad's included)."""
        return self.session.settings(self._z)

    def restore_settings(self, values: Mapping[str, Any]) -> None:
        """Inverse of :meth:`settings`; anything malformed is skipped (settings outlive versions)."""
        z = self.session.restore(values)
        if z is not None:
            self._z = z

    def close(self) -> None:
        """Stop workers; the sequencer sends all note-offs as it closes."""
        self.pad_state.stop()
        self.model.close()
        self.transport.close()
        self._drag_clips.cleanup()
