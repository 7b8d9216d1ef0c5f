"""Pure sequencer logic: which notes a step plays, when, and the MIDI bytes that carry them.

Nothing here reads a clock, sleeps or touches a port, so every rule (velocity scale, groove
amount, swing, note map, quantised pattern changes, tempo grid) is tested with plain numbers.
The clock loop (:mod:`engine.realtime.clock_process`) and the scheduler (:mod:`engine.realtime.scheduler`)
only keep time and send what these functions return.

Units: times are integer nanoseconds (``*_ns``) on ``time.perf_counter_ns``'s clock; shifts
and lengths on the grid are in steps (one step = one 16th note in 4/4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from engine.music.drums import GM_DRUM_CHANNEL, GM_NOTE_MAP, NoteMap
from engine.music.pattern import Pattern
from engine.music.voice_mutes import check_voices

PPQN = 24  # MIDI clock pulses per quarter note
STEPS_PER_QUARTER = 4  # 16th-note steps per quarter note
TICKS_PER_STEP = PPQN // STEPS_PER_QUARTER  # 6 clock pulses per 16th step
MIN_BPM, MAX_BPM = 30.0, 300.0
MAX_SWING = 0.75  # steps an odd 16th may be delayed
MAX_VELOCITY_SCALE = 2.0
NS_PER_MINUTE = 60_000_000_000

Quantize = Literal["step", "beat", "bar", "phrase"]
QUANTIZE_CHOICES: tuple[str, ...] = ("step", "beat", "bar", "phrase")


@dataclass(frozen=True)
class Controls:
    """One immutable snapshot of everything a musician turns while a pattern plays.

    Args:
        tempo_bpm: quarter notes per minute, 30–300.
        swing: delay of every odd 16th in steps, 0 (straight) to 0.75; 1/3 ≈ triplet feel,
            0.5 = dotted (hard shuffle).
        groove: 0–1, scales the pattern's micro-timing offsets (0 = everything on the grid).
        velocity_scale: 0–2, multiplies MIDI velocities (clipped to 1–127).
        note_map: output MIDI note per voice.
        channel: zero-based MIDI channel (9 = GM drums, "channel 10").
        gate_steps: note length in steps before the note-off (drums ignore it; DAWs draw it).
        muted_voices: voices that play no note, on MIDI and on the built-in kit alike (mute and
            solo resolved by :meth:`engine.music.voice_mutes.VoiceMutes.silenced`).
    """

    tempo_bpm: float = 120.0
    swing: float = 0.0
    groove: float = 1.0
    velocity_scale: float = 1.0
    note_map: NoteMap = field(default=GM_NOTE_MAP)
    channel: int = GM_DRUM_CHANNEL
    gate_steps: float = 0.5
    muted_voices: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "muted_voices", check_voices(self.muted_voices))
        _check_range("tempo_bpm", self.tempo_bpm, MIN_BPM, MAX_BPM)
        _check_range("swing", self.swing, 0.0, MAX_SWING)
        _check_range("groove", self.groove, 0.0, 1.0)
        _check_range("velocity_scale", self.velocity_scale, 0.0, MAX_VELOCITY_SCALE)
        _check_range("gate_steps", self.gate_steps, 0.01, 4.0)
        if not isinstance(self.channel, int) or not 0 <= self.channel <= 15:
            raise ValueError(f"channel must be an int in 0..15, got {self.channel!r}")
        if not isinstance(self.note_map, NoteMap):
            raise TypeError(f"note_map must be a NoteMap, got {type(self.note_map).__name__}")


def _check_range(name: str, value: Any, low: float, high: float) -> None:
    if not isinstance(value, int | float) or not low <= float(value) <= high:
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")


@dataclass(frozen=True, order=True)
class NoteEvent:
    """One drum hit of a step.

    Attributes:
        shift_steps: time after the step's grid point, in steps (negative = early);
            groove-scaled micro-timing plus swing.
        voice: :class:`engine.music.drums.Voice` index 0–8.
        note: output MIDI note (from the note map).
        velocity: MIDI velocity 1–127 after the velocity scale.
    """

    shift_steps: float
    voice: int
    note: int
    velocity: int


def swing_shift(step: int, swing: float) -> float:
    """Delay in steps that swing gives ``step``: odd 16ths move late, even ones stay."""
    return float(swing) if step % 2 else 0.0


@dataclass(frozen=True)
class StepTable:
    """A pattern flattened for the clock loop: per step, the ``(voice, velocity, offset)`` hits.

    Built once per pattern (in the clock process, when a pattern arrives) so rendering a step
    costs a tuple lookup instead of numpy work on the hot path.
    """

    steps: int
    steps_per_bar: int
    cells: tuple[tuple[tuple[int, int, float], ...], ...]
    voices_used: frozenset[int]

    @classmethod
    def from_pattern(cls, pattern: Pattern) -> StepTable:
        velocities = pattern.midi_velocities()
        cells = tuple(
            tuple((voice, int(velocities[s, voice]), float(pattern.offsets[s, voice]))
                  for voice in range(pattern.hits.shape[1]) if pattern.hits[s, voice])
            for s in range(pattern.steps))
        used = frozenset(v for row in cells for v, _, _ in row)
        return cls(pattern.steps, pattern.steps_per_bar, cells, used)


def notes_for_step(pattern: Pattern | StepTable, step: int, controls: Controls) -> tuple[NoteEvent, ...]:
    """The hits ``pattern`` plays at song position ``step`` under ``controls``.

    Args:
        pattern: the playing pattern (or its :class:`StepTable`); it loops, so ``step`` is
            taken modulo its length.
        step: song position in steps from the start (any non-negative int).
        controls: velocity scale, groove amount, swing and note map to apply.

    Returns:
        Events sorted by time then voice. A velocity that scales to 0 is dropped (a silent
        note-on would be a note-off to the receiver).
    """
    table = pattern if isinstance(pattern, StepTable) else StepTable.from_pattern(pattern)
    cells = table.cells[step % table.steps]
    if not cells:
        return ()
    swing = swing_shift(step, controls.swing)
    events = []
    muted = controls.muted_voices
    for voice, midi_velocity, offset in cells:
        if voice in muted:
            continue
        velocity = min(127, round(midi_velocity * controls.velocity_scale))
        if velocity <= 0:
            continue
        shift = controls.groove * offset + swing
        events.append(NoteEvent(shift, voice, controls.note_map.note(voice), velocity))
    return tuple(sorted(events))


def earliest_shift(pattern: Pattern | StepTable, step: int, controls: Controls) -> float:
    """The most negative shift (steps, ≤ 0) of any hit at ``step``: how early it must be decided."""
    return min([0.0, *(e.shift_steps for e in notes_for_step(pattern, step, controls))])


# -- the tempo grid ------------------------------------------------------------------------

def step_ns(tempo_bpm: float) -> float:
    """Length of one 16th step in ns (float; deadlines round once, so nothing accumulates)."""
    return NS_PER_MINUTE / (float(tempo_bpm) * STEPS_PER_QUARTER)


def tick_ns(tempo_bpm: float) -> float:
    """Length of one MIDI clock pulse (24 ppqn) in ns."""
    return NS_PER_MINUTE / (float(tempo_bpm) * PPQN)


def deadline_ns(t0_ns: int, position_steps: float, step_length_ns: float) -> int:
    """Absolute deadline of a grid position: ``t0 + position × step``, rounded once.

    Computed from the anchor each time, never by adding step lengths, so rounding and
    oversleeping never accumulate into drift.
    """
    return t0_ns + round(position_steps * step_length_ns)


def boundary_step(first_free_step: int, quantize: str, steps_per_bar: int,
                  phrase_steps: int | None = None) -> int:
    """The first step ≥ ``first_free_step`` where a pattern change may land.

    ``step`` = the next step, ``beat`` = the next quarter note, ``bar`` = the next bar
    (bar length taken from the incoming pattern), ``phrase`` = the next top of the loop
    (``phrase_steps``: where the playing and the incoming pattern both start; one bar when
    not given).
    """
    if quantize == "step":
        return first_free_step
    if quantize == "beat":
        unit = STEPS_PER_QUARTER
    elif quantize == "bar":
        unit = steps_per_bar
    elif quantize == "phrase":
        unit = phrase_steps or steps_per_bar
    else:
        raise ValueError(f"quantize must be one of {QUANTIZE_CHOICES}, got {quantize!r}")
    return -(-first_free_step // unit) * unit
