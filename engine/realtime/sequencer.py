"""The sequencer facade the app and ``groovefader play`` drive.

:class:`Sequencer` lives in the caller's process and owns the clock process
(:mod:`engine.realtime.clock_process`) and its two queues. Every setter builds a new immutable
:class:`~engine.realtime.steps.Controls` snapshot and posts it; nothing here waits on the clock,
and :meth:`Sequencer.status` never blocks (it drains the status queue and keeps the latest).
:meth:`Sequencer.close` always ends with every note-off sent: a polite
:class:`~engine.realtime.messages.Close` first, then SIGTERM (the child's handler flushes),
then SIGKILL as a last resort. What crosses to the clock process is a command of
:mod:`engine.realtime.messages`, checked as it is built.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing as mp
import queue
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from engine.audio.settings import AudioSettings
from engine.errors import PortError
from engine.music.drums import NoteMap
from engine.music.melody import Melody
from engine.music.pattern import Pattern
from engine.ports import PortSpec
from engine.realtime.clock_process import ClockConfig, clock_main
from engine.realtime.melody_lane import MelodyControls
from engine.realtime.messages import (
    ClockCommand,
    Close,
    Continue,
    Ping,
    ResetStats,
    SetAudio,
    SetClockSource,
    SetControls,
    SetMelody,
    SetMelodyControls,
    SetMelodyPort,
    SetPattern,
    SetPort,
    Start,
    StatusReport,
    Stop,
)
from engine.realtime.steps import Controls

START_TIMEOUT_S = 15.0  # spawn + imports + opening the port, on a loaded 2-core machine


@dataclass(frozen=True)
class SequencerStatus:
    """A snapshot of the clock process, as last reported (about every 100 ms).

    ``port_state`` is ``ok`` | ``error`` | ``closed``; ``error`` holds the one-line reason.
    ``stats`` holds the lateness summary in ms (count, median_ms, p99_ms, max_ms, ...).
    """

    playing: bool = False
    step: int = 0
    bpm: float = 0.0
    port_state: str = "closed"
    error: str | None = None
    port_name: str | None = None
    clock_source: str = "internal"
    sounding: int = 0
    stats: dict[str, Any] = field(default_factory=dict)
    alive: bool = False
    forbidden_modules: tuple[str, ...] = ()
    link_peers: int | None = None  # other apps in the Link session (None: Link is off)
    melody_port: str | None = None  # the melody lane's own output (None: the drums' port)
    melody_port_state: str = "closed"
    melody_port_error: str | None = None
    clock_silent: bool = False  # following a MIDI clock that stopped coming (no Stop received)


class Sequencer:
    """Controller of the clock process.

    Args:
        port_name: virtual port to create (or existing port with ``virtual=False``); None
            starts without a port (``set_port`` later).
        api: ``jack`` | ``alsa`` | ``coremidi`` | ``winmm`` | None (platform default).
        virtual: create the port instead of connecting to an existing one.
        sample_accurate: JACK only: place events at exact frames (see engine.ports.jack_backend).
        time_base: ``auto`` | ``wall`` | ``jack``: what rtmidi's sends are timed by (see
            engine.realtime.timebase; auto = JACK's frame clock on JACK when it can be read).
        controls: initial control snapshot.
        melody_controls: the melody lane's initial channel, transpose, octave, velocity, mute.
        melody_port: the melody lane on a port of its own with this name (None: on the drums'
            port), virtual or existing as ``virtual`` says; see :meth:`set_melody_port`.
        clock_out: send MIDI clock / transport when on the internal clock.
        realtime: ask for SCHED_FIFO in the clock process (silently skipped if refused).
    """

    def __init__(self, port_name: str | None = "groovefader", api: str | None = None, virtual: bool = True,
                 *, sample_accurate: bool = False, time_base: str = "auto",
                 controls: Controls | None = None, clock_out: bool = True, realtime: bool = True,
                 start_timeout_s: float = START_TIMEOUT_S,
                 melody_controls: MelodyControls | None = None,
                 melody_port: str | None = None) -> None:
        spec = None if port_name is None else PortSpec(port_name, api, virtual, sample_accurate, time_base)
        self._controls = controls or Controls()
        self._melody_controls = melody_controls or MelodyControls()
        self._paused_at_top = True
        ctx = mp.get_context("spawn")
        self._commands: Any = ctx.Queue()
        self._status_q: Any = ctx.Queue(maxsize=256)
        config = ClockConfig(port=spec, controls=self._controls, clock_out=clock_out, realtime=realtime,
                             melody_controls=self._melody_controls,
                             melody_port=None if melody_port is None else SetMelodyPort(melody_port, virtual))
        self._proc = ctx.Process(target=clock_main, args=(config, self._commands, self._status_q),
                                 name="groovefader-clock", daemon=True)
        self._status = SequencerStatus(port_name=port_name)
        self._last_report_ns = 0
        self._pings = self._answered = 0  # Pings posted, and the last one a report answered
        self._closed = False
        _start_without_main(self._proc)
        atexit.register(self.close)
        if not self.wait_status(lambda s: s.alive, start_timeout_s):
            self.close()
            raise PortError("the sequencer clock process did not start")

    # -- transport -------------------------------------------------------------------------
    def start(self) -> None:
        """Play from the top."""
        self._post(Start())
        self._paused_at_top = False

    def play(self) -> None:
        """Start from the top the first time, continue where it stopped afterwards."""
        self._post(Start() if self._paused_at_top else Continue())
        self._paused_at_top = False

    def stop(self) -> None:
        self._post(Stop())

    def continue_(self) -> None:
        self._post(Continue())
        self._paused_at_top = False

    # -- what plays ------------------------------------------------------------------------
    def set_pattern(self, pattern: Pattern, quantize: str = "step") -> None:
        """Play ``pattern`` from the next step, beat or bar.

        Raises:
            TypeError: not a Pattern; ValueError: an unknown ``quantize``.
        """
        self._post(SetPattern(pattern, quantize))

    def set_controls(self, controls: Controls) -> None:
        command = SetControls(controls)
        self._controls = controls
        self._post(command)

    def set_tempo(self, bpm: float) -> None:
        self.set_controls(replace(self._controls, tempo_bpm=float(bpm)))

    def set_swing(self, swing: float) -> None:
        self.set_controls(replace(self._controls, swing=float(swing)))

    def set_groove(self, amount: float) -> None:
        self.set_controls(replace(self._controls, groove=float(amount)))

    def set_velocity_scale(self, scale: float) -> None:
        self.set_controls(replace(self._controls, velocity_scale=float(scale)))

    def set_note_map(self, note_map: NoteMap) -> None:
        self.set_controls(replace(self._controls, note_map=note_map))

    @property
    def controls(self) -> Controls:
        return self._controls

    # -- the melody lane -------------------------------------------------------------------
    def set_melody(self, melody: Melody | None, quantize: str = "bar",
                   controls: MelodyControls | None = None) -> None:
        """Play ``melody`` on the melody lane (looping at its length) from the next step, beat,
        bar or phrase; None silences the lane. ``controls`` (None: as they are) take over with it.

        Raises:
            TypeError: not a Melody; ValueError: not whole bars, or an unknown ``quantize``.
        """
        self._post(SetMelody(melody, quantize, controls))
        if controls is not None:
            self._melody_controls = controls

    def set_melody_controls(self, controls: MelodyControls) -> None:
        command = SetMelodyControls(controls)
        self._melody_controls = controls
        self._post(command)

    @property
    def melody_controls(self) -> MelodyControls:
        return self._melody_controls

    def set_melody_port(self, name: str | None, virtual: bool = True) -> None:
        """The melody lane on an output of its own (None: back on the drums' port).

        A virtual port ``name`` (``virtual=False``: connect to the existing input ``name``) on
        the drums' MIDI API: through rtmidi a client and port ``name:name``; on the
        sample-accurate path a JACK client of its own as well, whose events are placed at
        their frames like the drums' (so the lanes stay together to the frame). MIDI clock and
        transport stay on the drums' port. The status reports its state apart
        (``melody_port_state``); it opens and closes with the drums' port.

        Raises:
            ValueError: an empty name.
        """
        self._post(SetMelodyPort(name, virtual))

    # -- clock and ports -------------------------------------------------------------------
    def set_clock_source(self, source: str, input_name: str | None = None, input_api: str | None = None,
                         virtual: bool = False) -> None:
        """``internal``, ``external`` (follow MIDI clock arriving on ``input_name``) or
        ``link`` (join the Ableton Link session: tempo, phase and start/stop shared).

        Raises:
            ValueError: any other source.
        """
        self._post(SetClockSource(source, input_name, input_api, virtual))

    def set_port(self, name: str | None, api: str | None = None, virtual: bool = True,
                 sample_accurate: bool = False, time_base: str = "auto") -> None:
        """Move to another output (pending note-offs go to the old one first)."""
        spec = None if name is None else PortSpec(name, api, virtual, sample_accurate, time_base)
        self._post(SetPort(spec))

    def set_audio(self, settings: AudioSettings) -> None:
        """The built-in kit on or off, its mix and output (:mod:`engine.audio.live`); the reports'
        ``stats["audio"]`` say where it plays, or in one line why it cannot."""
        self._post(SetAudio(settings))

    def reset_stats(self) -> None:
        self._post(ResetStats())

    # -- state -----------------------------------------------------------------------------
    def status(self) -> SequencerStatus:
        """The latest report from the clock process; never blocks."""
        while True:
            try:
                self._absorb(self._status_q.get_nowait())
            except (queue.Empty, EOFError, OSError, ValueError):
                break
        if self._status.alive and not self._proc.is_alive():
            self._status = replace(self._status, alive=False, playing=False, port_state="closed",
                                   error=self._status.error or "the clock process exited")
        return self._status

    def _absorb(self, report: StatusReport) -> None:
        self._last_report_ns = report.time_ns
        self._answered = max(self._answered, report.ping)
        self._status = SequencerStatus(
            playing=report.playing, step=report.step, bpm=report.bpm,
            port_state=report.port_state, error=report.error, port_name=report.port_name,
            clock_source=report.clock_source, sounding=report.sounding,
            stats=report.stats, alive=not report.final and self._proc.is_alive(),
            forbidden_modules=report.forbidden_modules, link_peers=report.link_peers,
            melody_port=report.melody_port, melody_port_state=report.melody_port_state,
            melody_port_error=report.melody_port_error, clock_silent=report.clock_silent)

    def stats(self) -> dict[str, Any]:
        """Lateness of the clock process's sends against their deadlines (ms) + counts."""
        return dict(self.status().stats)

    def wait_status(self, predicate: Callable[[SequencerStatus], bool], timeout_s: float = 5.0) -> bool:
        """Poll :meth:`status` until ``predicate`` holds (tests, CLI start-up)."""
        end = time.monotonic() + timeout_s
        while True:
            if predicate(self.status()):
                return True
            if time.monotonic() >= end or not self._proc.is_alive():
                return predicate(self.status())
            time.sleep(0.01)

    def sync(self, timeout_s: float = 5.0) -> SequencerStatus:
        """Post a ping and wait for a report made after it (every earlier command is done)."""
        self._pings += 1
        ping = self._pings
        self._post(Ping(ping))
        self.wait_status(lambda s: self._answered >= ping, timeout_s)
        return self._status

    @property
    def in_sync(self) -> bool:
        """Whether a report has answered the last :meth:`sync`'s ping."""
        return self._answered >= self._pings

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def close(self, timeout_s: float = 3.0) -> None:
        """Stop, send every note-off and end the clock process (idempotent)."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        if self._proc.is_alive():
            with contextlib.suppress(OSError, ValueError):
                self._commands.put(Close())
            self._proc.join(timeout_s)
        if self._proc.is_alive():
            self._proc.terminate()  # SIGTERM: the child's handler still flushes
            self._proc.join(timeout_s)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(1.0)
        self.status()
        self._status = replace(self._status, alive=False, playing=False, port_state="closed")
        for q in (self._commands, self._status_q):
            q.close()
            q.cancel_join_thread()

    def __enter__(self) -> Sequencer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, command: ClockCommand) -> None:
        if self._closed:
            raise PortError("the sequencer is closed")
        self._commands.put(command)


def _start_without_main(proc: Any) -> None:
    """Start a spawn-context process without re-importing the caller's ``__main__``.

    ``spawn`` normally re-runs the parent's main script in the child; when that script is
    the app (Qt) or a tool that imports torch, the clock process would carry them. With a
    blank ``__main__`` during ``start()`` the child imports only engine.realtime.clock_process.
    """
    real_main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        proc.start()
    finally:
        sys.modules["__main__"] = real_main
