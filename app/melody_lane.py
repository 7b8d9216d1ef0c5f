"""The melody lane's state in the app: its melody, latent point, key and scale, and its model.

:class:`MelodyLane` is to the melody panel what :class:`~app.controller.Controller` is to the
drums, kept apart so neither grows: it holds the written melody (C major, as the model
writes), its latent point and pad position and the lane's :class:`LaneSettings`; asks the
melody model (its own :class:`~app.model_worker.ModelWorker`, one worker thread, latest
wins per kind; jobs in :mod:`app.melody_jobs`) and hands what plays to the sequencer as the
engine's :class:`~engine.realtime.messages.SetMelody` / ``SetMelodyControls``.

What plays: the written melody re-spelled in the lane's scale and shifted by scale degrees
(:func:`engine.music.scales.in_scale`, here), then moved to the key and octave at play time
by the clock (:class:`~engine.realtime.melody_lane.MelodyControls`), so a key change reaches
the very next note without a new melody.

Results carry the *epoch* they were asked in: Randomize, a loaded clip or a restored setting
starts a new one, so a decode still in flight cannot overwrite what the user just chose.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from app import clips, melody_jobs
from app.file_reads import FileReads
from app.file_writes import FileWrites
from app.melody_jobs import MelodyDecoded
from app.model_worker import ModelWorker
from app.tolerant_json import finite_number
from engine.errors import GrooveFaderError
from engine.generation.melody import loop_to
from engine.music.drums import GM_DRUM_CHANNEL, NoteMap
from engine.music.lanes_clip import lanes_midifile, melody_midifile, write_midifile
from engine.music.melody import KEY_NAMES, Melody, key_shift
from engine.music.pattern import Pattern
from engine.music.scales import MAX_DEGREES, SCALES, in_scale
from engine.realtime.melody_lane import MAX_OCTAVE, MelodyControls
from engine.realtime.messages import SetMelody, SetMelodyControls, SetMelodyPort
from engine.realtime.steps import QUANTIZE_CHOICES
from models.pathnames import shown

if TYPE_CHECKING:
    from engine.generation.melody import MelodyGenerator
    from engine.generation.melody_pad import MelodyPad

BARS_CHOICES = (2, 4, 8, 16)
STRATEGIES = (1, 2, 3)
MIX_SCALES = ("bar", "note")
TEMPERATURE_RANGE = (0.0, 1.5)
MAX_PORT_NAME = 63  # characters of the lane's own port name (JACK's port names allow 63)
DRUMS_CHANNEL_TAKEN = (f"channel {GM_DRUM_CHANNEL + 1} is the drums' channel: on the drums' port the "
                       "built-in kit and a DAW's drum track would play the melody as drums (choose "
                       "another channel, or a port of its own for the melody)")
MELODY_HELP = ("Train one with `groovefader melody train` (see docs/melody.md). Meanwhile a melody "
               "clip can be loaded, played and exported.")


def default_melody_checkpoint() -> Path:
    """``checkpoints/melody.pt`` next to the packages (the shipped melody model)."""
    return Path(__file__).resolve().parents[1] / "checkpoints" / "melody.pt"


def _whole(value: Any) -> bool:
    """An int proper: not a bool (True is 1 to Python, not a channel) nor a float (4.0 bars)."""
    return type(value) is int


def takes_drums_channel(channel: int, port: str) -> bool:
    """Whether the melody on zero-based ``channel`` and ``port`` ("": the drums') would reach
    the drums' listeners: everything on the drums' channel of their port is a drum hit to them."""
    return channel == GM_DRUM_CHANNEL and not port


def _codes(values: list[Any]) -> np.ndarray:
    """Saved window codes as ``(windows, Z)``: a list of equal-length lists of finite numbers
    (one per window, as :meth:`MelodyLane.settings` writes them), or one flat list (one window).

    Raises:
        ValueError: anything else.
    """
    rows = values if all(isinstance(row, list) for row in values) else [values]
    if not rows[0] or any(len(row) != len(rows[0]) for row in rows):
        raise ValueError("window codes of unequal lengths")
    return np.array([[finite_number(v, -math.inf, math.inf) for v in row] for row in rows], np.float64)


def _read_clip_in_c(path: str | Path) -> tuple[Melody, str]:
    """A MIDI clip's melody moved to C, and the key it was written in."""
    from engine.music.melody import moved_to_c, read_melody_file

    return moved_to_c(read_melody_file(path))


@dataclass(frozen=True)
class LaneSettings:
    """What the musician set on the melody lane (validated; plain values for settings)."""

    key: str = "C"
    scale: str = "major"
    degrees: int = 0  # shift by scale degrees (diatonic transposition)
    octave: int = 0
    channel: int = 0  # zero-based: 0 = MIDI channel 1
    mute: bool = False
    temperature: float = 0.0
    bars: int = 2
    quantize: str = "bar"
    port: str = ""  # the lane's own MIDI output port ("": the drums' port)

    def __post_init__(self) -> None:
        checks = ((self.key in KEY_NAMES, f"key must be one of {KEY_NAMES}"),
                  (self.scale in SCALES, f"scale must be one of {tuple(SCALES)}"),
                  (_whole(self.degrees) and abs(self.degrees) <= MAX_DEGREES,
                   f"degrees must be a whole number in -{MAX_DEGREES}..{MAX_DEGREES}"),
                  (_whole(self.octave) and abs(self.octave) <= MAX_OCTAVE,
                   f"octave must be a whole number in -{MAX_OCTAVE}..{MAX_OCTAVE}"),
                  (_whole(self.channel) and 0 <= self.channel <= 15,
                   "channel must be a whole number in 0..15"),
                  (isinstance(self.mute, bool), "mute must be a bool"),
                  (isinstance(self.temperature, int | float) and not isinstance(self.temperature, bool)
                   and TEMPERATURE_RANGE[0] <= self.temperature <= TEMPERATURE_RANGE[1],
                   f"temperature must lie in {TEMPERATURE_RANGE}"),
                  (_whole(self.bars) and self.bars in BARS_CHOICES, f"bars must be one of {BARS_CHOICES}"),
                  (self.quantize in QUANTIZE_CHOICES, f"quantize must be one of {QUANTIZE_CHOICES}"),
                  (isinstance(self.port, str) and len(self.port) <= MAX_PORT_NAME
                   and self.port == self.port.strip(), f"port must be a name of at most {MAX_PORT_NAME} "
                                                       "characters, without spaces around it"),
                  (not takes_drums_channel(self.channel, self.port), DRUMS_CHANNEL_TAKEN))
        for ok, text in checks:
            if not ok:
                raise ValueError(f"melody lane: {text}")

    def controls(self) -> MelodyControls:
        """What the clock applies at play time."""
        return MelodyControls(channel=self.channel, transpose=key_shift(self.key), octave=self.octave,
                              mute=self.mute)


def as_played(melody: Melody, settings: LaneSettings) -> Melody:
    """``melody`` as the clock sends it: scale, degrees, key and octave applied (for export)."""
    shaped = in_scale(melody, settings.scale, settings.degrees)
    controls = settings.controls()
    ev = shaped.events.astype(np.int32)
    ev[ev >= 0] = [controls.pitch(int(p)) for p in ev[ev >= 0]]
    return Melody(ev, shaped.steps_per_bar)


def _build_melody_generator(path: Path) -> MelodyGenerator:
    from engine.generation.melody import MelodyGenerator  # torch loads here, on the loader thread

    gen = MelodyGenerator.from_checkpoint(path)
    _ = gen.pad, gen.phrase_pad  # the pad's maps (windows, whole tunes), fitted here, not on the GUI thread
    gen.transition_graph()  # the stored codes' graph transitions lean toward, built here too
    return gen


class MelodyLane(QObject):
    """Signals:
        melodyChanged(object): the :class:`Melody` that plays now (scale and degrees applied).
        settingsChanged(object): the :class:`LaneSettings`.
        padMoved(float, float): the pad point of the melody (after Randomize, a clip...).
        modelReady(str): the melody model's path.
        modelFailed(str): why there is no melody model, and what to do.
        message(str, str): level, text.

    Args:
        post: where the engine's melody commands go (the sequencer link's ``post_melody``);
            None: nothing plays (tests of the lane alone).
        drums: the drum lane's pattern, tempo and note map now (for the two-track export).
    """

    melodyChanged = Signal(object)
    settingsChanged = Signal(object)
    padMoved = Signal(float, float)
    modelReady = Signal(str)
    heatReady = Signal(object)  # {name: (res, res)} over the pad (app.melody_jobs.pad_heat)
    modelFailed = Signal(str)
    message = Signal(str, str)

    def __init__(self, post: Callable[[SetMelody | SetMelodyControls | SetMelodyPort], None] | None,
                 drums: Callable[[], tuple[Pattern, float, NoteMap]],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._post_command = post
        self._drums = drums
        self.files = FileReads(self)  # a whole song's file is read off the GUI thread
        self.files.started.connect(lambda text: self.message.emit("info", text))
        self.writes = FileWrites(self)  # and a long export written off it
        self.model = ModelWorker(self)
        self.model.loaded.connect(self._on_loaded)
        self.model.failed.connect(lambda text: self._fail(text))
        self.model.refused.connect(lambda text: self.message.emit("error", f"Melody model: {text}"))
        self.model.error.connect(lambda text: self.message.emit("error", f"Melody model: {text}"))
        self.settings_ = LaneSettings()
        self.melody: Melody | None = None  # as written (C major)
        self.z: np.ndarray | None = None  # (windows, Z)
        self._clip: Melody | None = None  # a loaded clip as read (in C): other lengths loop it
        self.pad = (0.0, 0.0)
        self.pad_map: MelodyPad | None = None
        self.model_path: str | None = None
        self._epoch = 0
        self._seed = 1
        self._ahead: tuple[tuple[int, float, str | None], MelodyDecoded] | None = None  # next Randomize
        self._sent_controls: MelodyControls | None = None  # the clock's, as last posted

    # -- the model -------------------------------------------------------------------------
    def load_model(self, path: str | Path | None = None) -> None:
        """Load the melody checkpoint on a background thread (torch is imported there)."""
        path = Path(path) if path else default_melody_checkpoint()
        if not path.is_file():
            if self.model.agen is not None:  # the melody model that plays keeps playing
                self.model.refuse(f"No melody model at {shown(path)}.")
            else:
                self._fail(f"No melody model at {path}.")
            return
        self.model.load(path, build=_build_melody_generator)

    def _fail(self, text: str) -> None:
        self.modelFailed.emit(f"{text} {MELODY_HELP}")

    def _on_loaded(self, path: str, agen: Any) -> None:
        self.pad_map = agen.generator.pad
        self.model_path = path
        self._ahead = None  # drawn by the model before (a checkpoint retrained at the same path too)
        if self.z is not None and self.z.shape[-1] != agen.generator.z_dim:
            self.z = None  # a latent point of another model means nothing to this one
        self.modelReady.emit(path)
        self.refresh_heat()
        if self.melody is None:
            self.randomize()
        elif self.z is None:
            self._place(self.melody)

    def refresh_heat(self) -> None:
        """Ask the model for the pad's heat-maps at the lane's length (on the worker; the
        answer is dropped if another model was loaded meanwhile)."""
        if not self.ready:
            return
        pad_map, bars = self.pad_map, self.settings_.bars
        self.model.call("heat", lambda g: melody_jobs.pad_heat(g, pad_map, bars), self.heatReady.emit)

    @property
    def ready(self) -> bool:
        return self.model.agen is not None and self.pad_map is not None

    def _call(self, kind: str, job: Callable[[MelodyGenerator], Any], handler: Callable[[Any], None],
              always: bool = False) -> bool:
        if not self.ready:
            return False
        epoch = self._epoch

        def done(result: Any) -> None:
            if always or epoch == self._epoch:
                handler(result)

        return self.model.call(kind, job, done)

    def _needs_model(self, what: str) -> bool:
        if not self.ready:
            self.message.emit("warning", f"{what} needs a melody model. {MELODY_HELP}")
        return self.ready

    # -- new melodies ----------------------------------------------------------------------
    def _new_seed(self) -> None:
        self._epoch += 1
        self._seed = int(np.random.default_rng().integers(1, 2**31 - 1))

    def randomize(self) -> None:
        """A new melody near the training tunes (``bars`` long; a longer one follows a stored tune).

        The next draw is decoded ahead, while the last one plays, so a press is answered at
        once: a decode (several ms, more on a busy machine) would otherwise make the change
        miss the next step. A draw made under other bars or temperature is not used.
        """
        if not self._needs_model("Randomize"):
            return
        self._new_seed()
        s, pad_map, seed = self.settings_, self.pad_map, self._seed
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == (s.bars, s.temperature, self.model_path):
            self._take(ahead[1])
            self._draw_ahead()
            return
        self._call("decode", lambda g: melody_jobs.randomize(g, pad_map, s.bars, s.temperature, seed),
                   lambda d: (self._take(d), self._draw_ahead()))

    def _draw_ahead(self) -> None:
        """Decode the next Randomize's melody now, on the worker (its own kind: never replaces
        a decode the user asked for)."""
        s, pad_map, path = self.settings_, self.pad_map, self.model_path
        seed = int(np.random.default_rng().integers(1, 2**31 - 1))
        key = (s.bars, s.temperature, path)

        def keep(d: MelodyDecoded) -> None:
            self._ahead = (key, d)

        self._call("ahead", lambda g: melody_jobs.randomize(g, pad_map, s.bars, s.temperature, seed), keep,
                   always=True)

    def variation(self) -> None:
        """A neighbour of the melody that plays."""
        if not self._needs_model("Variation"):
            return
        if self.z is None:
            self.message.emit("warning", "Variation needs a melody from the model (Randomize first).")
            return
        self._new_seed()
        s, pad_map, seed, z = self.settings_, self.pad_map, self._seed, self.z
        self._call("decode", lambda g: melody_jobs.variation(g, pad_map, z, s.bars, s.temperature, seed),
                   self._take)

    def move_pad(self, x: float, y: float) -> None:
        """The melody pad moved: the melody at that latent point."""
        self.pad = (float(x), float(y))
        if not self.ready:
            return
        s, pad_map, seed = self.settings_, self.pad_map, self._seed
        self._call("decode", lambda g: melody_jobs.at_pad(g, pad_map, x, y, s.bars, s.temperature, seed),
                   self._take)

    def _take(self, d: MelodyDecoded) -> None:
        self._clip = None
        self.z, self.pad = d.z, d.pad
        self.padMoved.emit(*d.pad)
        self._set_melody(d.melody)

    def transition(self, target: Melody | None, bars: int, strategy: int, mix_scale: str = "bar") -> None:
        """From the melody that plays to ``target`` (None: a fresh Randomize) over ``bars`` bars."""
        if not self._needs_model("A melody transition"):
            return
        if self.melody is None:
            self.message.emit("warning", "A transition starts from a melody: Randomize or load one first.")
            return
        if strategy not in STRATEGIES or mix_scale not in MIX_SCALES or bars not in BARS_CHOICES:
            raise ValueError(f"transition: strategy {STRATEGIES}, mix {MIX_SCALES}, bars {BARS_CHOICES}")
        self._new_seed()
        a, seed, pad_map, temp = self.melody, self._seed, self.pad_map, self.settings_.temperature

        def job(g: MelodyGenerator) -> Melody:
            b = target if target is not None else melody_jobs.randomize(g, pad_map, 2, temp, seed + 1).melody
            return melody_jobs.transition(g, a, b, bars, strategy, mix_scale, seed)

        def done(m: Melody) -> None:
            # the transition plays as a clip does: Bars shows its length and loops or cuts it,
            # and its place in the model is where Variation and the pad start from
            self.z, self._clip = None, None
            self.update(bars=m.bars)
            self._clip = m
            self._set_melody(m)
            self._place(m)
            self.message.emit("info", f"Melody transition A→B, strategy {strategy} per {mix_scale}, "
                                      f"{bars} bars: playing")

        self._call("transition", job, done)

    # -- clips -----------------------------------------------------------------------------
    def load_clip(self, path: str | Path) -> None:
        """A melody from a MIDI clip: its most melodic track, chords arpeggiated to one line
        (a large file is read off the GUI thread, and dropped if the lane changed meanwhile).

        The lane keeps melodies in C and plays them in its key: the clip is moved to C from its
        own key and the lane's key set to that key, so it sounds as written, and the key, scale
        and degree controls (and the model, for the pad and transitions) treat it as the
        model's own melodies."""
        epoch = self._epoch

        def loaded(read: tuple[Melody, str]) -> None:
            melody, key = read
            if epoch != self._epoch:  # a Randomize or another clip since: that wins
                return
            bars = min((b for b in BARS_CHOICES if b >= melody.bars), default=BARS_CHOICES[-1])
            self._epoch += 1
            self.z, self._clip = None, None
            # the clip's key takes over with the clip: the tune that plays until then keeps its own
            self._change({"bars": bars, "key": key}, with_melody=True)
            self._clip = melody
            self._set_melody(loop_to(melody, bars))
            self.message.emit("info", f"Melody from {shown(Path(path).name)}: {melody.bars} bars, "
                                      f"{melody.num_notes} notes, in {key}")
            if self.ready:
                self._place(melody)

        self.files.read("clip", path, _read_clip_in_c, loaded,
                        lambda err: self.message.emit("error", str(err)))

    def read_clip(self, path: str | Path, then: Callable[[Melody], None]) -> None:
        """A melody from a MIDI clip for a transition's B: ``then(melody)`` once read, moved to
        C from its own key as the lane's melodies are (it plays in the lane's key)."""
        self.files.read("target", path, _read_clip_in_c, lambda read: then(read[0]),
                        lambda err: self.message.emit("error", str(err)))

    def _place(self, melody: Melody) -> None:
        pad_map = self.pad_map

        def done(result: tuple[np.ndarray, tuple[float, float]]) -> None:
            if melody is self.melody or melody is self._clip:  # a clip still plays at any length
                self.z, self.pad = result
                self.padMoved.emit(*self.pad)

        self._call("encode", lambda g: melody_jobs.encode(g, pad_map, melody), done, always=True)

    def export_bars(self, with_drums: bool) -> int:
        """Bars an export holds: the melody's loop (at least 2); with the drums, until both
        loops are at their top together, as they play (an 8-bar drum pattern under a 2-bar
        melody: 8)."""
        bars = max(2, self.melody.bars if self.melody is not None else 2)
        return math.lcm(bars, self._drums()[0].bars) if with_drums else bars

    def export(self, path: str | Path, bars: int, with_drums: bool) -> Path:
        """The melody as it plays (or drums + melody, two tracks) looped to ``bars`` bars.

        Raises:
            MidiFileError: nothing to export, or the file cannot be written.
        """
        return self._export_job(path, bars, with_drums)()

    def export_later(self, path: str | Path, bars: int, with_drums: bool, done: Callable[[Path], None],
                     failed: Callable[[GrooveFaderError], None]) -> None:
        """:meth:`export` of the lane as it plays now, written on a thread (a phrase of both
        loops can be a thousand bars); ``done(path)`` or ``failed(error)`` on the GUI thread.
        Quitting waits for the write."""
        try:
            job = self._export_job(path, bars, with_drums)
        except GrooveFaderError as err:
            failed(err)
            return
        self.writes.write(job, done, failed)

    def _export_job(self, path: str | Path, bars: int, with_drums: bool) -> Callable[[], Path]:
        """The write of :meth:`export`, its inputs taken now (the looping and writing are left
        to the call)."""
        from engine.errors import MidiFileError

        if self.melody is None:
            raise MidiFileError(f"{shown(Path(path).name)}: no melody to export yet")
        played = as_played(self.melody, self.settings_)
        pattern, tempo, note_map = self._drums()
        channel = self.settings_.channel

        def job() -> Path:
            melody = loop_to(played, bars)
            if with_drums:
                drums = clips.loop_to_bars(pattern, bars)
                return write_midifile(path, lambda: lanes_midifile(drums, melody, tempo, note_map, channel))
            return write_midifile(path, lambda: melody_midifile(melody, tempo, channel))

        return job

    # -- settings --------------------------------------------------------------------------
    def update(self, **changes: Any) -> None:
        """Change some settings (key, scale, degrees, octave, channel, mute, temperature,
        bars, quantize, port). Play-time ones go to the clock at once (``port``: the lane moves
        to a virtual port of that name beside the drums', "" back to theirs); scale and degrees
        re-spell the melody; bars give the playing tune the new length (:meth:`_resize`);
        temperature applies to the next melody asked of the model.

        Raises:
            ValueError: a value out of range (nothing is changed).
        """
        self._change(changes, with_melody=False)

    def _change(self, changes: Mapping[str, Any], with_melody: bool) -> None:
        """:meth:`update`; ``with_melody``: play-time settings go to the clock with the next
        melody sent (a clip in its own key, a preset's tune) and take over when it does."""
        old = self.settings_
        new = replace(old, **changes)
        if new == old:
            return
        new.controls()  # checked whole before anything changes
        self.settings_ = new
        if new.controls() != old.controls() and not with_melody:
            self._post_controls()
        if new.port != old.port:
            self._post(SetMelodyPort(new.port or None))
        if (new.scale, new.degrees) != (old.scale, old.degrees) and self.melody is not None \
                and not with_melody:
            self._send()
        if new.bars != old.bars:
            self.refresh_heat()  # a longer tune takes its point on another map
            self._resize(new)
        self.settingsChanged.emit(new)

    def _resize(self, s: LaneSettings) -> None:
        """The tune that plays takes the lane's new length: a clip loops (or is cut) to it; the
        model's tune keeps its opening and goes on as a stored tune goes on (or is cut)."""
        if self._clip is not None:
            self._epoch += 1
            self._set_melody(loop_to(self._clip, s.bars))
            return
        if self.z is None or not self.ready:
            return
        self._new_seed()
        pad_map, seed, z = self.pad_map, self._seed, self.z
        self._call("decode", lambda g: melody_jobs.resized(g, pad_map, z, s.bars, s.temperature, seed),
                   self._take)

    def played(self) -> Melody | None:
        """What the lane hands the clock (scale and degrees applied; key/octave at play time)."""
        return None if self.melody is None else in_scale(self.melody, self.settings_.scale,
                                                           self.settings_.degrees)

    def _set_melody(self, melody: Melody) -> None:
        self.melody = melody
        self._send()

    def _send(self) -> None:
        played, controls = self.played(), self.settings_.controls()
        changed = controls if controls != self._sent_controls else None  # they come with this melody
        self._post(SetMelody(played, self.settings_.quantize, changed))
        self._sent_controls = controls
        self.melodyChanged.emit(played)

    def _post_controls(self) -> None:
        self._sent_controls = self.settings_.controls()
        self._post(SetMelodyControls(self._sent_controls))

    def _post(self, command: SetMelody | SetMelodyControls | SetMelodyPort) -> None:
        if self._post_command is not None:
            self._post_command(command)

    def settings(self) -> dict[str, Any]:
        """Plain values for QSettings (the lane's settings, its melody and latent point)."""
        return {"lane": asdict(self.settings_),
                "events": None if self.melody is None else self.melody.events.tolist(),
                "z": None if self.z is None else self.z.tolist(), "pad": list(self.pad)}

    def restore_settings(self, values: Mapping[str, Any]) -> list[str]:
        """Inverse of :meth:`settings`: what is valid is restored, the names of what was not
        are returned (a hand-edited preset or settings file; nothing raises)."""
        skipped: list[str] = []
        melody: Melody | None = None
        events = values.get("events")
        if events is not None:
            try:
                if not isinstance(events, list) or not events or not all(_whole(e) for e in events):
                    raise ValueError("not a list of whole numbers")
                melody = Melody(np.asarray(events, np.int64))
                if not melody.bars or melody.steps % melody.steps_per_bar:
                    raise ValueError("not whole bars")
            except (TypeError, ValueError, OverflowError):
                melody = None
        if melody is not None:
            self._epoch += 1  # what the lane was making for the tune before is dropped
            # the tune before goes with its code: a length or scale restored with the new
            # tune starts no decode of the old code and sends no re-scaled old tune
            self._clip, self.z = None, None
        lane = values.get("lane")
        if isinstance(lane, dict):
            # the port first: a melody saved on channel 10 of its own port is refused on the drums'
            for key, value in sorted(lane.items(), key=lambda item: item[0] != "port"):
                try:
                    # with a tune, its key and channel take over with it (not under the tune before)
                    self._change({str(key): value}, with_melody=melody is not None)
                except (TypeError, ValueError):
                    skipped.append(f"melody {shown(str(key))}")
        if melody is None:
            self._post_controls()
            return skipped if events is None else [*skipped, "melody events"]
        self._set_melody(melody)
        z = values.get("z")
        self.z = None
        if isinstance(z, list) and z:
            try:
                self.z = _codes(z)
            except (TypeError, ValueError):
                skipped.append("melody z")
        pad = values.get("pad")
        if isinstance(pad, list) and len(pad) == 2:
            try:
                self.pad = (finite_number(pad[0], -1.0, 1.0), finite_number(pad[1], -1.0, 1.0))
                self.padMoved.emit(*self.pad)
            except (TypeError, ValueError):
                skipped.append("melody pad")
        if self.ready and (self.z is None or self.z.shape[-1] != self.model.agen.generator.z_dim):
            self.z = None  # no code, or another model's: Variation and Bars start from the tune's own
            self._place(melody)
        return skipped

    def close(self) -> None:
        self.model.close()
