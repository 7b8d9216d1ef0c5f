"""What crosses into the clock process and what comes back: frozen dataclasses.

The facade (:class:`engine.realtime.sequencer.Sequencer`) posts commands through a
multiprocessing queue; the clock loop (:mod:`engine.realtime.clock_process`) handles each
with one ``match`` on its type and answers with :class:`StatusReport` values. Commands check
their arguments at construction, so a bad value raises in the caller's process, where it
can be reported, and never reaches the clock. Everything here pickles (``spawn``) and is
immutable, so nothing is shared between the two sides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.audio.settings import AudioSettings
from engine.music.melody import Melody
from engine.music.pattern import Pattern
from engine.ports.base import PortSpec
from engine.realtime.melody_lane import MelodyControls, MelodyTable
from engine.realtime.steps import QUANTIZE_CHOICES, Controls

CLOCK_SOURCES: tuple[str, ...] = ("internal", "external", "link")

# -- commands (caller → clock process) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetPattern:
    """Play ``pattern`` from the next step, beat or bar (``quantize``)."""

    pattern: Pattern
    quantize: str = "step"

    def __post_init__(self) -> None:
        if not isinstance(self.pattern, Pattern):
            raise TypeError(f"a pattern change needs a Pattern, got {type(self.pattern).__name__}")
        if self.quantize not in QUANTIZE_CHOICES:
            raise ValueError(f"quantize must be one of {QUANTIZE_CHOICES}, got {self.quantize!r}")


@dataclass(frozen=True, slots=True)
class SetControls:
    """A new snapshot of tempo, swing, groove, velocity scale, note map, channel, gate."""

    controls: Controls

    def __post_init__(self) -> None:
        if not isinstance(self.controls, Controls):
            raise TypeError(f"controls must be Controls, got {type(self.controls).__name__}")


@dataclass(frozen=True, slots=True)
class SetMelody:
    """Play ``melody`` on the melody lane (None: the lane falls silent) from the next step,
    beat, bar or phrase (``quantize``: the top of both the old and the new melody's loop).

    ``controls``: the lane's channel, key, octave and mute that come with this melody (a clip
    in its own key), taking over with it, so the melody that plays keeps its own until then;
    None: the lane's controls stay as they are.

    ``table`` is the melody flattened for the clock loop, made here, in the caller's process:
    building it costs the clock 1-2 ms on a loaded machine, enough to make the next send late
    when the change arrives just before it."""

    melody: Melody | None
    quantize: str = "bar"
    controls: MelodyControls | None = None
    table: MelodyTable | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.controls is not None and not isinstance(self.controls, MelodyControls):
            raise TypeError(f"melody controls must be MelodyControls, got {type(self.controls).__name__}")
        if self.melody is not None and not isinstance(self.melody, Melody):
            raise TypeError(f"a melody change needs a Melody or None, got {type(self.melody).__name__}")
        if self.melody is not None and (self.melody.steps == 0
                                        or self.melody.steps % self.melody.steps_per_bar):
            raise ValueError(f"a melody lane plays whole bars, got {self.melody.steps} steps")
        if self.quantize not in QUANTIZE_CHOICES:
            raise ValueError(f"quantize must be one of {QUANTIZE_CHOICES}, got {self.quantize!r}")
        if self.melody is not None:
            object.__setattr__(self, "table", MelodyTable.from_melody(self.melody))


@dataclass(frozen=True, slots=True)
class SetMelodyControls:
    """The melody lane's channel, transpose, octave, velocity and mute."""

    controls: MelodyControls

    def __post_init__(self) -> None:
        if not isinstance(self.controls, MelodyControls):
            raise TypeError(f"melody controls must be MelodyControls, got {type(self.controls).__name__}")


@dataclass(frozen=True, slots=True)
class SetMelodyPort:
    """The melody lane on an output of its own: a virtual port ``name`` (``virtual=False``: an
    existing input of that name, or a unique part of it, to connect to), on the drums' MIDI API,
    path and time base; None: back on the drums' port. Its sounding note ends where it started."""

    name: str | None
    virtual: bool = True

    def __post_init__(self) -> None:
        if self.name is not None and (not isinstance(self.name, str) or not self.name.strip()):
            raise ValueError(f"a melody port needs a name, got {self.name!r}")


@dataclass(frozen=True, slots=True)
class Start:
    """Play from the top (MIDI Start)."""


@dataclass(frozen=True, slots=True)
class Stop:
    """Stop; every sounding note gets its note-off (MIDI Stop)."""


@dataclass(frozen=True, slots=True)
class Continue:
    """Play on from where it stopped (MIDI Continue)."""


@dataclass(frozen=True, slots=True)
class SetPort:
    """Move to another output (None: no port); sounding notes end on the old one first."""

    spec: PortSpec | None

    def __post_init__(self) -> None:
        if self.spec is not None and not isinstance(self.spec, PortSpec):
            raise TypeError(f"a port change needs a PortSpec or None, got {type(self.spec).__name__}")


@dataclass(frozen=True, slots=True)
class SetClockSource:
    """``internal`` clock, ``external``: follow MIDI clock arriving on ``input_name``, or
    ``link``: join the Ableton Link session (tempo, beat phase and start/stop shared)."""

    source: str
    input_name: str | None = None
    input_api: str | None = None
    virtual: bool = False

    def __post_init__(self) -> None:
        if self.source not in CLOCK_SOURCES:
            raise ValueError(f"clock source must be 'internal', 'external' or 'link', got {self.source!r}")


@dataclass(frozen=True, slots=True)
class SetAudio:
    """The built-in kit on or off, its mix and where it plays (see :mod:`engine.audio.live`)."""

    settings: AudioSettings

    def __post_init__(self) -> None:
        if not isinstance(self.settings, AudioSettings):
            raise TypeError(f"audio settings must be AudioSettings, got {type(self.settings).__name__}")


@dataclass(frozen=True, slots=True)
class ResetStats:
    """Forget the lateness measured so far."""


@dataclass(frozen=True, slots=True)
class Ping:
    """Ask for a fresh report (one made after every command posted before this one); it
    carries ``ping`` back, so the caller knows it without comparing two processes' clocks."""

    ping: int = 0


@dataclass(frozen=True, slots=True)
class Close:
    """End the loop: every note-off is sent, the port closes, a final report follows."""


ClockCommand = (SetPattern | SetControls | SetMelody | SetMelodyControls | SetMelodyPort | Start
                | Stop | Continue | SetPort | SetClockSource | SetAudio | ResetStats | Ping | Close)

# -- reports (clock process → caller) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusReport:
    """The clock process's state, posted about every 100 ms and after transport commands.

    Attributes:
        playing: the transport runs.
        step: song position in steps (16ths) on the clock's timeline at ``time_ns``.
        bpm: the tempo played (the followed tempo on an external clock).
        port_state: ``ok`` | ``error`` | ``closed``; ``error`` holds the one-line reason.
        port_name: the output's name (None: no port).
        clock_source: ``internal`` | ``external``.
        sounding: notes started and not yet ended.
        stats: lateness summary in ms (count, median_ms, p99_ms, max_ms, ...), send counts,
            time base in use and, on JACK, frame-clock and cycle figures.
        forbidden_modules: torch or Qt, if anything loaded them into the clock process.
        final: the last report, made as the loop ended.
        time_ns: when it was made, on the clock's timeline (JACK's frames on that time base:
            not comparable with another process's clock).
        ping: the last :class:`Ping` answered.
        link_peers: other apps in the Link session (None: Link is off).
        melody_port: the melody lane's own output (None: it plays on the drums' port), with
            ``melody_port_state`` (``ok`` | ``opening`` | ``error`` | ``closed``) and ``melody_port_error``.
    """

    playing: bool
    step: int
    bpm: float
    port_state: str
    error: str | None
    port_name: str | None
    clock_source: str
    sounding: int
    stats: dict[str, Any] = field(default_factory=dict)
    forbidden_modules: tuple[str, ...] = ()
    final: bool = False
    time_ns: int = 0
    link_peers: int | None = None
    melody_port: str | None = None
    melody_port_state: str = "closed"
    melody_port_error: str | None = None
    ping: int = 0
    clock_silent: bool = False  # following a MIDI clock that stopped coming (no Stop received)
