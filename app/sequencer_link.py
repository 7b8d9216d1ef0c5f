"""The app's link to the engine's sequencer and MIDI ports, on a thread of its own.

Opening a port, starting the clock process or listing ports can block (a MIDI server that
does not answer, a process that starts slowly), so the GUI thread never calls the
sequencer: its typed methods here queue frozen commands (the engine's
:mod:`~engine.realtime.messages` where one fits, the link's own below otherwise), a worker
thread runs them in order through one ``match``, polls the sequencer's non-blocking
``status()`` about 30 times a second, and reports back through Qt signals (queued to the
GUI thread). Incoming MIDI (control changes for MIDI learn) is read in a process of its own
(:class:`~engine.ports.input_process.InputProcess`), arrives on its reader thread here and
is forwarded the same way.

Without a MIDI backend (no ALSA device, JACK not running) the sequencer cannot open its
port; the link reports that in words and everything else keeps working.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

from PySide6.QtCore import QObject, Signal

from engine.audio.live import describe as describe_audio
from engine.music.pattern import Pattern
from engine.realtime.messages import (
    SetAudio,
    SetClockSource,
    SetMelody,
    SetMelodyControls,
    SetMelodyPort,
    SetPattern,
)
from engine.realtime.steps import Controls

log = logging.getLogger(__name__)

POLL_S = 0.033  # status poll period: playhead at ~30 Hz


@dataclass(frozen=True)
class LinkStatus:
    """What the transport shows: a copy, safe to hand across threads."""

    state: str  # 'starting' | 'ok' | 'error' | 'closed' | 'unavailable'
    playing: bool = False
    step: int | None = None
    bpm: float = 120.0
    message: str = ""
    detail: str = ""  # the backend's own words (tooltip)
    link_peers: int | None = None  # other apps in the Ableton Link session (None: Link is off)
    audio: str = ""  # the built-in kit: where it plays, or why it cannot ("" = off)
    melody_port: str = ""  # the melody lane's own output: its state in words ("" = none)


NO_BACKEND_HELP = "editing, clip loading and export still work"
CONTROL_FIELDS = frozenset(f.name for f in fields(Controls))


# -- what the GUI thread queues for the link's thread (besides SetPattern, SetClockSource) --

@dataclass(frozen=True)
class UpdateControls:
    """New values for some of the sequencer's :class:`~engine.realtime.steps.Controls`;
    the others keep theirs. ``changes`` holds ``(field, value)`` pairs."""

    changes: tuple[tuple[str, Any], ...]

    def __post_init__(self) -> None:
        unknown = sorted({name for name, _ in self.changes} - CONTROL_FIELDS)
        if unknown:
            raise KeyError(f"not a sequencer control: {', '.join(unknown)}")


@dataclass(frozen=True)
class SetPlaying:
    """Play (from the top the first time, on from where it stopped after) or stop."""

    playing: bool


@dataclass(frozen=True)
class OpenOutput:
    """Move the sequencer to output ``name`` (a virtual port of that name when ``virtual``)."""

    name: str
    api: str | None
    virtual: bool


@dataclass(frozen=True)
class OpenInput:
    """Listen for control changes (MIDI learn) on ``name``; "" closes the input."""

    name: str
    api: str | None
    virtual: bool


@dataclass(frozen=True)
class ListPorts:
    """List the outputs and inputs of ``api`` (None: the platform's)."""

    api: str | None


LinkCommand = (SetPattern | SetClockSource | UpdateControls | SetPlaying | OpenOutput | OpenInput | ListPorts
               | SetMelody | SetMelodyControls | SetAudio)


def kit_frames(api: str | None, kit_on: bool) -> bool:
    """Whether the MIDI output opens sample-accurate: with the kit on, on JACK, so the kit
    (a JACK client fed by the MIDI port) sounds each hit on its note's frame (through rtmidi
    the kit would sound on the audio device about a buffer after the MIDI)."""
    if not kit_on:
        return False
    from engine.ports.base import default_api

    return (api or default_api()) == "jack"


def _melody_port_text(st: Any) -> str:
    """The melody lane's own port in words for the melody panel ("" = it shares the drums')."""
    name = getattr(st, "melody_port", None)
    if not name:
        return ""
    state = getattr(st, "melody_port_state", "closed")
    if state == "ok":
        return f"Melody out '{name}' ok"
    return f"Melody out '{name}': {getattr(st, 'melody_port_error', None) or state}"


def _describe(command: object) -> str:
    """What a failed command was doing, for its error line ("open output", "set pattern")."""
    name = type(command).__name__
    return "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()


def _hint(err: BaseException) -> str:
    """One line a musician can act on (the backend's own words are kept for the tooltip)."""
    text = str(err) or type(err).__name__
    low = text.lower()
    if "alsa" in low and ("/dev/snd" in low or "sequencer" in low):
        return ("no ALSA sequencer on this machine (/dev/snd/seq). Start JACK (QjackCtl, or "
                f"`jackd -d dummy`) and choose API 'jack' — {NO_BACKEND_HELP}")
    if "jack" in low and ("server" in low or "running" in low or "connect" in low):
        return f"JACK is not running: start it (QjackCtl, or `jackd -d dummy`) — {NO_BACKEND_HELP}"
    return text


class SequencerLink(QObject):
    """Owns the engine ``Sequencer`` and the MIDI input on one worker thread.

    Signals:
        statusChanged(LinkStatus)
        portsListed(list, list): output names, input names.
        ccReceived(int, int, int): channel 0–15, controller 0–127, value 0–127.
        error(str): a failed command, one line.
    """

    statusChanged = Signal(object)
    portsListed = Signal(list, list)
    ccReceived = Signal(int, int, int)
    error = Signal(str)

    def __init__(self, port_name: str = "groovefader", api: str | None = None,
                 factory: Callable[..., Any] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._port_name, self._api = port_name, api or None
        self._virtual = True
        # the kit: on as last posted (read once, at the sequencer's start), and whether the
        # output open now is the sample-accurate one (kept when the kit turns off: reopening
        # the port would cut the connections made to it)
        self._kit_on = False
        self._frames = False
        self._factory = factory
        self._commands: queue.Queue[LinkCommand | None] = queue.Queue()
        self._seq: Any = None
        self._input: Any = None
        self._last: LinkStatus | None = None
        self._unavailable = ""
        self.last_pattern: Pattern | None = None  # what was last handed to the sequencer
        # what the app set while there was no sequencer (its start failed): the latest of each
        # kind, handed to the next one that starts, so it plays what the window shows
        self._owed: dict[type, LinkCommand] = {}
        # the last commands run and engine play-state changes seen, for diagnosing a session
        self.history: deque[tuple[float, str]] = deque(maxlen=64)
        self._thread = threading.Thread(target=self._run, name="groovefader-sequencer-link",
                                        daemon=True)
        self._started = False

    def start(self) -> None:
        """Start the worker (and the clock process). Commands posted before are kept.

        The app starts it once the model has loaded: spawning the clock process while torch
        is being imported would slow both on a 2-core machine.
        """
        if not self._started:
            self._started = True
            self._thread.start()

    @property
    def started(self) -> bool:
        return self._started

    # -- commands (GUI thread; never block; failures come back through ``error``) ------------
    def set_pattern(self, pattern: Pattern, quantize: str) -> None:
        """Play ``pattern`` from the next step, beat or bar.

        Raises:
            TypeError, ValueError: not a Pattern, an unknown ``quantize``.
        """
        self._commands.put(SetPattern(pattern, quantize))
        self.last_pattern = pattern

    def post_melody(self, command: SetMelody | SetMelodyControls | SetMelodyPort) -> None:
        """The melody lane's melody or settings (built and checked by the caller)."""
        self._commands.put(command)

    def post_audio(self, command: SetAudio) -> None:
        """The built-in kit's settings (built and checked by the caller)."""
        self._kit_on = command.settings.enabled
        self._commands.put(command)

    def update_controls(self, **changes: Any) -> None:
        """Set some of the sequencer's controls (``tempo_bpm=``, ``swing=``, ``groove=``,
        ``velocity_scale=``, ``note_map=``); out-of-range values come back as ``error``.

        Raises:
            KeyError: a name that is not a control.
        """
        self._commands.put(UpdateControls(tuple(changes.items())))

    def set_clock_source(self, source: str, input_name: str | None = None,
                         input_api: str | None = None, virtual: bool = False) -> None:
        """``internal``, ``external``: follow MIDI clock arriving on ``input_name``, or
        ``link``: the Ableton Link session.

        Raises:
            ValueError: any other source.
        """
        self._commands.put(SetClockSource(source, input_name, input_api, virtual))

    def set_playing(self, playing: bool) -> None:
        self._commands.put(SetPlaying(bool(playing)))

    def set_port(self, name: str, api: str | None, virtual: bool) -> None:
        self._commands.put(OpenOutput(name, api or None, virtual))

    def open_input(self, name: str, api: str | None, virtual: bool) -> None:
        """Listen for control changes (MIDI learn) on ``name``; "" closes the input."""
        self._commands.put(OpenInput(name, api or None, virtual))

    def list_ports(self, api: str | None = None) -> None:
        self._commands.put(ListPorts(api or None))

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker; the sequencer sends all note-offs as it closes."""
        self._commands.put(None)
        if self._started:
            self._thread.join(timeout)

    # -- worker thread -------------------------------------------------------------------------
    def _run(self) -> None:
        self._emit_status(LinkStatus("starting", message="MIDI: starting the sequencer…"))
        self._start_sequencer()
        while True:
            try:
                cmd = self._commands.get(timeout=POLL_S)
            except queue.Empty:
                self._poll()
                continue
            if cmd is None:
                break
            self.history.append((time.monotonic(), type(cmd).__name__ if not isinstance(
                cmd, SetPlaying) else f"SetPlaying({cmd.playing})"))
            try:
                self._execute(cmd)
            except Exception as err:  # reported, never kills the link
                log.warning("sequencer command %s failed: %s", cmd, err)
                self.error.emit(f"MIDI: {_describe(cmd)}: {_hint(err)}")
            self._poll()
        self._shutdown()

    def _start_sequencer(self) -> None:
        try:
            if self._factory is None:
                from engine.realtime.sequencer import Sequencer  # the facade (its clock runs in a process)

                self._factory = Sequencer
            # the facade spawns its clock process and waits for it (seconds on a busy machine)
            self._frames = kit_frames(self._api, self._kit_on)
            self._seq = self._factory(port_name=self._port_name, api=self._api, virtual=self._virtual,
                                      sample_accurate=self._frames)
        except ImportError as err:
            self._seq = None
            self._unavailable = f"Sequencer unavailable ({err}); editing and export still work."
            self._emit_status(LinkStatus("unavailable", message=self._unavailable))
        except Exception as err:
            # The facade normally reports port failures through status(); an exception here
            # means it could not even start. Keep the object if there is one: set_port retries.
            log.warning("sequencer start failed: %s", err)
            self._unavailable = "" if self._seq is not None else f"MIDI: {_hint(err)}"
            self._emit_status(LinkStatus("error", message=f"MIDI: {_hint(err)}", detail=str(err)))

    def _owe(self, command: LinkCommand) -> None:
        """Keep the latest command of each kind (control changes merged) for the next sequencer."""
        kind = type(command)
        before = self._owed.pop(kind, None)
        if isinstance(command, UpdateControls) and isinstance(before, UpdateControls):
            command = UpdateControls(tuple({**dict(before.changes), **dict(command.changes)}.items()))
        if isinstance(command, SetMelody) and isinstance(before, SetMelody) and command.controls is None:
            command = SetMelody(command.melody, command.quantize, before.controls)  # a clip's key stays
        owed_melody = self._owed.get(SetMelody)
        if isinstance(command, SetMelodyControls) and isinstance(owed_melody, SetMelody) \
                and owed_melody.controls is not None:  # the latest setting comes with it
            self._owed[SetMelody] = SetMelody(owed_melody.melody, owed_melody.quantize, command.controls)
        self._owed[kind] = command

    def _pay_owed(self) -> None:
        """Hand a sequencer that just started what the app set while there was none."""
        if self._seq is None:
            return
        owed, self._owed = list(self._owed.values()), {}
        for command in owed:
            try:
                self._execute(command)
            except Exception as err:  # as in the worker loop: one line, the rest still go
                log.warning("sequencer command %s failed: %s", command, err)
                self.error.emit(f"MIDI: {_describe(command)}: {_hint(err)}")

    def _execute(self, command: LinkCommand) -> None:
        seq = self._seq
        match command:
            case ListPorts(api):
                self._do_list_ports(api)
            case OpenInput(name, api, virtual):
                self._do_open_input(name, api, virtual)
            case OpenOutput(name, api, virtual) if seq is None:
                # maybe the backend is there now: try again
                self._port_name, self._api, self._virtual = name, api, virtual
                self._start_sequencer()
                self._pay_owed()
            case _ if seq is None:
                self._owe(command)  # no sequencer now (the status line says why): kept for the next
            case OpenOutput(name, api, virtual):
                self._open_output(seq, name, api, virtual)
            case SetPattern(pattern, quantize):
                seq.set_pattern(pattern, quantize)
            case SetMelody(melody, quantize, controls):
                seq.set_melody(melody, quantize, controls)
            case SetMelodyControls(melody_controls):
                seq.set_melody_controls(melody_controls)
            case SetMelodyPort(name, virtual):
                seq.set_melody_port(name, virtual)
            case SetAudio(settings):
                if settings.enabled and not self._frames and kit_frames(self._api, True):
                    self._frames = True  # the kit's ports are on the sample-accurate output
                    seq.set_port(self._port_name, self._api, self._virtual, sample_accurate=True)
                seq.set_audio(settings)
            case UpdateControls(changes):
                seq.set_controls(replace(seq.controls, **dict(changes)))
            case SetClockSource(source, input_name, input_api, virtual):
                seq.set_clock_source(source, input_name, input_api, virtual)
            case SetPlaying(playing=True):
                seq.play()
            case SetPlaying(playing=False):
                seq.stop()

    def _open_output(self, seq: Any, name: str, api: str | None, virtual: bool) -> None:
        self._port_name, self._api, self._virtual = name, api, virtual
        self._frames = kit_frames(api, self._kit_on)
        seq.set_port(name, api, virtual, sample_accurate=self._frames)

    def _do_list_ports(self, api: str | None) -> None:
        from engine.ports import list_ports

        try:
            result = list_ports(api)
        except Exception as err:  # no backend: the status line already says so
            log.info("listing MIDI ports failed: %s", err)
            self.portsListed.emit([], [])
            return
        self.portsListed.emit([str(o) for o in result["outputs"]], [str(i) for i in result["inputs"]])

    def _do_open_input(self, name: str, api: str | None, virtual: bool) -> None:
        if self._input is not None:
            self._input.close()
            self._input = None
        if not name:
            return
        # in a process of its own: its JACK callback never waits for this process's
        # interpreter lock, and opening it never holds that lock (engine.ports.input_process)
        from engine.ports.input_process import InputProcess

        self._input = InputProcess(name, api, self._on_midi, virtual=virtual)

    def _on_midi(self, message: Any, *_rest: Any) -> None:
        """Backend thread: forward control changes; everything else is the clock's business."""
        data = getattr(message, "bytes", None)  # a mido.Message, or the bytes themselves
        raw = list(data()) if callable(data) else list(message)
        if len(raw) == 3 and 0xB0 <= raw[0] <= 0xBF:
            self.ccReceived.emit(raw[0] & 0x0F, raw[1], raw[2])

    def _poll(self) -> None:
        if self._seq is None:
            return
        try:
            st = self._seq.status()
        except Exception as err:
            self._emit_status(LinkStatus("error", message=f"MIDI: {_hint(err)}"))
            return
        state = str(getattr(st, "port_state", "ok"))
        msg = str(getattr(st, "error", "") or getattr(st, "message", "") or "")
        playing = bool(getattr(st, "playing", False))
        step = getattr(st, "step", None)
        bpm = float(getattr(st, "bpm", 120.0) or 120.0)
        if state == "ok" and not msg:
            port = getattr(st, "port_name", None) or self._port_name
            msg = f"MIDI out '{port}' ok" + (f" ({self._api})" if self._api else "")
            p99 = (getattr(st, "stats", None) or {}).get("p99_ms")
            if p99 is not None:
                msg += f" · clock lateness p99 {float(p99):.2f} ms"
            if getattr(st, "link_peers", None) is not None:
                msg += f" · Ableton Link: {st.link_peers} other app(s), {bpm:.1f} BPM"
            if getattr(st, "clock_source", "internal") == "external":
                if getattr(st, "clock_silent", False):
                    msg += " · the external MIDI clock stopped coming (no Stop): waiting for it"
                else:
                    msg += f" · following external MIDI clock ({bpm:.1f} BPM)" if playing else \
                        " · waiting for external MIDI clock"
        detail = ""
        if msg and state != "ok":
            detail, msg = msg, f"MIDI: {_hint(RuntimeError(msg))}"
        self._emit_status(LinkStatus(state, playing, int(step) if step is not None else None, bpm, msg,
                                     detail, getattr(st, "link_peers", None),
                                     audio=describe_audio((getattr(st, "stats", None) or {}).get("audio")),
                                     melody_port=_melody_port_text(st)))

    def _emit_status(self, status: LinkStatus) -> None:
        if self._last is not None and status.playing != self._last.playing:
            self.history.append((time.monotonic(), f"engine playing {status.playing}"))
        if status != self._last:
            self._last = status
            self.statusChanged.emit(status)

    def _shutdown(self) -> None:
        for obj in (self._input, self._seq):
            if obj is None:
                continue
            try:
                obj.close()
            except Exception as err:
                log.warning("closing %s failed: %s", type(obj).__name__, err)
        self._input = self._seq = None
