"""The clock loop, run in a process of its own (multiprocessing ``spawn``).

Why a process: a clock thread sharing an interpreter with torch was measured 5–14 ms late
at p99 on this machine (the GIL); alone it is under 0.4 ms, and with SCHED_FIFO under
0.15 ms. So this module imports neither torch nor Qt (a test checks the child's
``sys.modules``). Commands (:mod:`engine.realtime.messages`: frozen dataclasses carrying
immutable :class:`~engine.music.pattern.Pattern` values and
:class:`~engine.realtime.steps.Controls` snapshots) arrive through a multiprocessing queue and
are handled by one ``match``; :class:`~engine.realtime.messages.StatusReport` values go back.

The loop: ask the :class:`~engine.realtime.scheduler.Scheduler` for the next deadline, block on the
command queue until :data:`QUEUE_MARGIN_NS` before it, then ``time.sleep`` in slices of at
most :data:`SLICE_NS` (polling commands between them) until :data:`SPIN_NS` before it, spin
the rest, send, and record the lateness of each send. Why not wait on the queue until just
before the deadline: its timed wait rounds up to whole milliseconds and overshoots far
more than ``time.sleep`` (measured in a SCHED_FIFO process on this machine, both cores busy:
queue wait p99 1.18 ms over its timeout, one of 3,414 at 32 ms; ``time.sleep`` p99 0.14 ms).
An output that places events itself (JACK sample-accurate) pulls them in its own thread.

The timeline the deadlines are on (:mod:`engine.realtime.timebase`): on JACK, JACK's frame clock —
what a DAW there records by — unless the port's ``time_base`` is ``wall``; rtmidi sends
"now", so the loop wakes by the wall time a deadline's frame comes (``wall_ns``) and sends
when JACK's own cycle counter says (``send_slot`` / ``hold``: a third of a period into the
period before the one the frame lands in, one period's messages at a time). Off
JACK, or when no JACK client can read the frames, ``perf_counter_ns``. The frame clock's
wall pairing is renewed in housekeeping; a server that dies leaves it running on its last
mapping, and the loop moves to the wall clock without a gap (and back, with the port).

With the ``link`` clock source the deadlines stay absolute on that timeline, but the grid's
anchor and step length come from the Ableton Link session (:mod:`engine.sync.link_follow`):
a snapshot of Link's beat/time line every few ms, never within :data:`LINK_QUIET_NS` of a
send; transport commands start and stop the session, whose start/stop starts and stops
the loop.

Every sounding note gets its note-off (plus CC 123 on channel 10) on stop, pattern change
(voices that stop playing), port change, exit, SIGINT and SIGTERM, on the port that started
it: the melody lane may have an output of its own (:mod:`engine.realtime.lane_ports`). A port
that dies puts the loop in the ``error`` state; the clock keeps running and the port is reopened every
:data:`RETRY_INTERVAL_NS` until it comes back.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.audio.live import LiveAudio
from engine.audio.settings import AudioSettings
from engine.errors import PortError
from engine.ports import JackMidiInput, MidiInput, MidiOutput, PortSpec, open_input, open_output
from engine.realtime.lane_ports import open_melody_output
from engine.realtime.melody_lane import MELODY_VOICE, MelodyControls
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
from engine.realtime.scheduler import Scheduler, Timed, lane_of
from engine.realtime.steps import Controls
from engine.realtime.timebase import FrameClock, TimeBase, WallClock
from engine.realtime.timing_stats import LatenessStats
from engine.sync.link_follow import LinkFollower

QUEUE_MARGIN_NS = 10_000_000  # blocking queue waits (ms-rounded, overshoot) end this long before a deadline
SLICE_NS = 2_000_000  # closer than that: time.sleep slices this long at most, commands polled between
SPIN_NS = 500_000  # the last stretch before a deadline is spun (bounded: sleeps end this early)
MAX_WAIT_NS = 20_000_000  # longest single wait, so signals and commands are seen promptly
EXTERNAL_WAIT_NS = 5_000_000  # following a clock: commands are polled at least this often
STATUS_INTERVAL_NS = 100_000_000
SUMMARY_INTERVAL_NS = 1_000_000_000  # lateness percentiles recomputed this often (and on request)
HEALTH_INTERVAL_NS = 250_000_000
RETRY_INTERVAL_NS = 500_000_000
# Below every JACK real-time thread, above everything else. JACK2 (jackd -R, default -P 10)
# runs its clients' process threads at SCHED_FIFO 5 (seen here with chrt): a clock at 5 too
# would not preempt them nor they it (FIFO, equal priority), so JACK callbacks, ours
# included on the sample-accurate path, could wait behind the clock thread's turn.
FIFO_PRIORITY = 3
HOUSEKEEPING_GAP_NS = 5_000_000  # housekeeping only runs when the next send is further away
# ... or when it has not run for this long: sends held for a JACK server running behind the
# wall clock's reckoning leave no such gap until a resync of the frame clock catches up
HOUSEKEEPING_STARVED_NS = 200_000_000
GC_INTERVAL_NS = 100_000_000  # the youngest generation collected by hand this often (housekeeping)
GC_FULL_INTERVAL_NS = 10_000_000_000  # and everything made since start-up this often
LINK_QUIET_NS = 1_000_000  # no Link snapshot closer than this to a send (it costs a few µs)
SWITCH_INTERVAL_S = 0.0005  # longest a thread waits for the GIL (Python's default: 5 ms)
TIMED_KINDS = ("on", "off", "clock")  # sends that have a musical deadline
IMMEDIATE_WAKE_NS = -(2**61)  # the scheduler's next wake below this: something to send at once
IRREGULAR_REPORTED = 200  # irregular JACK cycles listed in a report (the latest)


@dataclass(frozen=True)
class ClockConfig:
    """What the clock process starts with (sent once, pickled)."""

    port: PortSpec | None = field(default_factory=PortSpec)
    controls: Controls = field(default_factory=Controls)
    melody_controls: MelodyControls = field(default_factory=MelodyControls)
    clock_out: bool = True
    realtime: bool = True  # ask for SCHED_FIFO
    melody_port: SetMelodyPort | None = None  # the melody lane's own output (None: the drums')


def clock_main(config: ClockConfig, commands: Any, status: Any) -> None:
    """Process entry point: run the loop until :class:`Close`, SIGTERM/SIGINT or parent death."""
    ClockLoop(config, commands, status).run()


def _close_quietly(out: MidiOutput) -> None:
    """Close an output that failed (on a helper thread: closing waits for JACK cycles)."""
    with contextlib.suppress(Exception):
        out.close()


def _end_and_close(out: MidiOutput, channel: int) -> None:
    """CC 123 on ``channel`` (if the port still answers), then close (closing waits for JACK
    cycles: where the clock must not wait, on a helper thread)."""
    with contextlib.suppress(PortError):
        if out.alive():
            out.panic((channel,))
    _close_quietly(out)


def _open_into(result: dict[str, Any], *args: Any) -> None:
    """:func:`open_melody_output` on a helper thread: the port, or why not, into ``result``."""
    try:
        result["out"] = open_melody_output(*args)
    except PortError as err:
        result["error"] = str(err)


def set_realtime(priority: int = FIFO_PRIORITY) -> bool:
    """SCHED_FIFO for this thread where the OS grants it; False (silently) otherwise."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        return True
    except (AttributeError, OSError, PermissionError):
        return False


class ClockLoop:
    """The loop itself; separate from :func:`clock_main` so tests can run it in-process."""

    def __init__(self, config: ClockConfig, commands: Any, status: Any,
                 open_port: Callable[[PortSpec], MidiOutput] = open_output) -> None:
        self.config = config
        self._open_output = open_port
        self.commands = commands
        self.status_q = status
        self.sched = Scheduler(config.controls, clock_out=config.clock_out,
                               melody_controls=config.melody_controls)
        self.stats = LatenessStats()
        # the same lateness split by lane (note-ons and -offs; "stats" also holds the clock)
        self.lane_stats = {"drums": LatenessStats(), "melody": LatenessStats()}
        self.spec = config.port
        self.out: MidiOutput | None = None
        # the melody lane's own output: wanted (None: it shares the drums'), open, its state
        self.melody_port = config.melody_port if config.melody_port and config.melody_port.name else None
        self.melody_out: MidiOutput | None = None
        self.melody_state, self.melody_error = "closed", None
        self.sched.melody_apart = self.melody_port is not None
        self._next_melody_retry = 0
        self._melody_retries = 0  # failed reopenings in a row (the next waits longer)
        self._melody_opener: tuple[threading.Thread, dict[str, Any], SetMelodyPort, MidiOutput] | None = None
        self._melody_puller: MidiOutput | None = None  # the melody output's JACK thread pulls
        self.port_state = "closed"
        self.error: str | None = None
        self.realtime = False
        self.running = True
        self.inbox: queue.SimpleQueue[tuple[tuple[int, ...], int]] = queue.SimpleQueue()
        self.midi_in: MidiInput | JackMidiInput | None = None
        self.link: LinkFollower | None = None  # the Ableton Link session, when it is the clock source
        self.audio = LiveAudio()  # the built-in kit: off until a SetAudio turns it on
        self.audio.follow_controls(config.controls)  # the kit plays the pitches the MIDI sends
        self.sent = {"on": 0, "off": 0, "clock": 0, "other": 0}
        self._parent = os.getppid()
        self.time_base: TimeBase = WallClock()  # the loop's timeline, see _set_time_base
        # an external clock's wall-clock arrivals onto whichever timeline the loop runs on now
        self.sched.wall_to_timeline = lambda wall_ns: self.time_base.from_wall_ns(wall_ns)
        self._now: Callable[[], int] = self.time_base.now_ns
        self._time_base_used = "wall"  # what the latest port's sends were timed by (reported)
        self._time_base_fallbacks = 0  # times the frame clock was lost while a port was wanted
        self._frame_clock_seen: FrameClock | None = None  # the latest one, for its report
        self._next_status = 0
        self._ping = 0  # the last Ping answered (its report carries it back)
        self._next_health = 0
        self._last_housekeeping = 0
        self._next_retry = 0
        self._next_gc = self._next_full_gc = 0
        self._cycle_irregularities: int | None = None
        self._irregular_starts: list[tuple[int, int]] = []  # the output's, kept for the final report
        self._summary: dict[str, Any] | None = None
        self._next_summary = 0
        # The scheduler is shared with the JACK thread when the output pulls (see _pull).
        self.lock = threading.RLock()
        self._puller: MidiOutput | None = None  # the output whose JACK thread may pull now

    # -- life cycle ----------------------------------------------------------------------
    def run(self) -> None:
        own_process = threading.current_thread() is threading.main_thread()
        if own_process:
            for sig in (signal.SIGTERM, signal.SIGINT):
                # a signal the parent ignores (``nohup``, a script's ``cmd &``) arrives here
                # ignored too and stays so: the clock must not stop under a parent that plays on
                if signal.getsignal(sig) is not signal.SIG_IGN:
                    signal.signal(sig, self._on_signal)
        if self.config.realtime:
            self.realtime = set_realtime()
        # A JACK callback in Python (sample-accurate output) and the status queue's feeder
        # thread share this interpreter: with the default 5 ms switch interval either could
        # wait that long for the GIL, or hold up a send while it does.
        if own_process:  # process-wide settings: not when a test runs the loop in a thread
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        if self.spec is not None:
            self._open_port(self._now())
        self._publish(self._now())
        if own_process:
            self._quiet_gc()
        try:
            while self.running:
                self._step()
        finally:
            self._shutdown()

    def _quiet_gc(self) -> None:
        """No automatic garbage collection in the loop: collected by hand in housekeeping.

        An automatic collection starts at whatever allocation crosses the threshold — in the
        middle of a send — and a full one walks every object numpy and the imports left
        (about a millisecond here, more when preempted). Start-up objects are frozen out
        of later collections; what the loop makes is collected in :meth:`_housekeeping`,
        which only runs with the next send at least :data:`HOUSEKEEPING_GAP_NS` away.
        """
        warm = LatenessStats(window=64)  # first-call costs of the summary (numpy), paid now
        warm.add(0)
        warm.summary()
        gc.collect()
        gc.freeze()
        gc.disable()
        self._next_gc = self._next_full_gc = 0

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.running = False

    def _shutdown(self) -> None:
        if self.midi_in is not None:
            # First: rtmidi's JACK input calls into Python from JACK's thread while rtmidi's
            # port calls hold the GIL; on a synchronous (-S) server closing the output with
            # the input still live deadlocks until libjack's timeout.
            self.midi_in.close()
            self.midi_in = None
        self._detach_pull()
        with self.lock:
            now = self._now()
            if self.link is not None:
                self.link.close(now)
            self.sched.stop(now)
            self._send_batch(self.sched.due(now))
        self._close_port()
        self.audio.close()
        self.port_state = "closed"
        self._publish(self._now(), final=True)

    # -- one turn of the loop --------------------------------------------------------------
    def _step(self) -> None:
        now = self._now()
        self._poll_commands(now)
        self._poll_input()
        if self.link is not None and self.link.due(now):
            self._follow_link(now)
        if self._pulling():
            # the JACK thread takes what is due each period; this thread only serves commands
            self._housekeeping(now)
            if self.running and self._pulling():
                self._wait(EXTERNAL_WAIT_NS if self.sched.source == "external" else MAX_WAIT_NS,
                           self.sched.source == "external")
            return
        ahead = self.out.lookahead_ns if self.out is not None else 0
        wake = self.sched.next_wake_ns()
        if wake is None or wake - ahead - now > HOUSEKEEPING_GAP_NS \
                or now - self._last_housekeeping > HOUSEKEEPING_STARVED_NS:
            # status reports and port checks cost up to a millisecond: never near a deadline
            self._housekeeping(now)
            ahead = self.out.lookahead_ns if self.out is not None else 0
            wake = self.sched.next_wake_ns()
        if not self.running:
            return
        target = None if wake is None else wake - ahead
        upto = None  # the latest deadline sent with this one (rtmidi on JACK: its period's)
        if target is not None and ahead == 0 and wake > IMMEDIATE_WAKE_NS:
            # one period's messages at a time, even when late: a server behind takes each
            # in its own period (sent together, the later ones would land early)
            target, upto = self.time_base.send_slot(wake)
        # the deadline on the wall clock: on JACK's frame clock, when its frame comes
        send_at = None if target is None else self.time_base.wall_ns(target)
        remaining = MAX_WAIT_NS if send_at is None else send_at - time.perf_counter_ns()
        external = self.sched.source == "external"
        if remaining > QUEUE_MARGIN_NS:
            wait = min(remaining - QUEUE_MARGIN_NS, EXTERNAL_WAIT_NS if external else MAX_WAIT_NS)
            self._wait(wait, external)
            return
        if remaining > SPIN_NS:
            # short sleeps, then back round the loop: commands are still seen every slice
            time.sleep(min(remaining - SPIN_NS, SLICE_NS) / 1e9)
            return
        if ahead == 0:
            while time.perf_counter_ns() < send_at:  # type: ignore[operator]
                pass
        released = None
        if upto is not None:  # rtmidi on JACK: sent once the server is where it should go out
            self.time_base.hold(upto)
            released = self._now()
        now = self._now()
        self._send_batch(self.sched.due(now, ahead if upto is None else upto - now), released)

    def _wait(self, wait_ns: int, external: bool) -> None:
        try:
            if external:
                data, arrival = self.inbox.get(timeout=wait_ns / 1e9)
                self._on_input(data, arrival)
            else:
                self._handle(self.commands.get(timeout=wait_ns / 1e9))
        except queue.Empty:
            pass
        except (EOFError, OSError):  # the parent is gone
            self.running = False

    def _poll_commands(self, now: int) -> None:
        while True:
            try:
                command = self.commands.get_nowait()
            except queue.Empty:
                return
            except (EOFError, OSError):
                self.running = False
                return
            self._handle(command)

    def _poll_input(self) -> None:
        while True:
            try:
                data, arrival = self.inbox.get_nowait()
            except queue.Empty:
                return
            self._on_input(data, arrival)

    def _on_input(self, data: tuple[int, ...], arrival: int) -> None:
        with self.lock:
            self.sched.external_message(data, arrival)  # on the wall clock (perf_counter)
            self._send_due()

    def _send_due(self) -> None:
        """Send what became due at once (transport, flushed note-offs), unless the JACK thread pulls."""
        if not self._pulling():
            self._send_batch(self.sched.due(self._now(), self.out.lookahead_ns if self.out else 0))

    def _pulling(self) -> bool:
        return self.out is not None and getattr(self.out, "set_pull", None) is not None

    def _pull(self, out: MidiOutput, limit_ns: int) -> list[Timed]:
        """Called by ``out``'s JACK thread each period: everything due by ``limit_ns``.

        Nothing once ``out`` is detached: a callback that was late (an asynchronous server
        runs the next cycle without waiting for it) must not take notes after the flush that
        ends the port's notes, or their note-offs would go to the next port.
        """
        with self.lock:
            if out is self._melody_puller:
                batch = self.sched.due(limit_ns, lane="melody")
            elif self._puller is not out:
                return []
            elif self.melody_port is None:
                batch = self.sched.due(limit_ns)
            elif self._melody_puller is not None:
                batch = self.sched.due(limit_ns, lane="drums")
            else:  # the melody's own port is down: its notes are skipped, not sent here
                batch = []
                for item in self.sched.due(limit_ns):
                    if lane_of(item) == "melody":
                        self.sched.unsent(item)
                    else:
                        batch.append(item)
        for item in batch:
            self.sent[item.kind if item.kind in self.sent else "other"] += 1
        return batch

    def _detach_pull(self) -> None:
        """Back to push mode: what is still owed is sent through ``send`` (which drains)."""
        melody = self._melody_puller
        if self._pulling():
            with self.lock:
                self._puller = None
            self.out.set_pull(None)  # type: ignore[union-attr]
        if melody is not None:
            with self.lock:
                self._melody_puller = None
            melody.set_pull(None)  # type: ignore[attr-defined]

    def _attach_pull(self) -> None:
        """Outputs that place events themselves (JACK) pull what is due each period: the
        drums' port, and the melody's own port for the melody lane's messages."""
        if self._pulling() and self._puller is not self.out:
            self._puller = self.out
            self.out.set_pull(functools.partial(self._pull, self.out))  # type: ignore[union-attr]
        melody = self.melody_out
        if melody is not None and getattr(melody, "set_pull", None) is not None \
                and self._melody_puller is not melody:
            self._melody_puller = melody
            melody.set_pull(functools.partial(self._pull, melody))  # type: ignore[attr-defined]


    # -- commands --------------------------------------------------------------------------
    def _handle(self, command: ClockCommand) -> None:
        """Apply one command from the caller.

        It runs under the scheduler lock (the JACK thread may be pulling), with whatever
        became due at once (note-offs, transport) sent before the lock is let go. A port
        change is the exception: it is made after, outside the lock, since closing a JACK
        port waits for JACK cycles whose callbacks take the lock.
        """
        new_port: SetPort | None = None
        new_melody_port: SetMelodyPort | None = None
        new_input: SetClockSource | None = None
        new_audio: AudioSettings | None = None
        fresh = False  # transport changes are reported at once, with fresh lateness figures
        with self.lock:
            now = self._now()
            match command:
                case SetPort():
                    new_port = command
                case SetPattern(pattern, quantize):
                    self.sched.set_pattern(pattern, quantize, now)
                case SetControls(controls):
                    self.sched.set_controls(controls, now)
                    self.audio.follow_controls(controls)
                    if self.link is not None:  # a tempo set here is the session's
                        self.link.propose_tempo(controls.tempo_bpm, now)
                case SetMelody(melody, quantize):  # its table was built by the caller
                    self.sched.set_melody(command.table if melody is not None else None, quantize, now,
                                          command.controls)
                case SetMelodyControls(melody_controls):
                    self.sched.set_melody_controls(melody_controls, now)
                case SetMelodyPort():
                    new_melody_port = command
                case Start() | Continue() if self.link is not None:
                    self.link.play(True, now)  # the session starts (at its next bar with peers)
                    fresh = True
                case Stop() if self.link is not None:
                    self.link.play(False, now)
                    fresh = True
                case Start():
                    self.sched.start(now)
                    fresh = True
                case Stop():
                    self.sched.stop(now)
                    fresh = True
                case Continue():
                    self.sched.continue_(now)
                    fresh = True
                case SetClockSource(source):
                    self._change_source(source, now=now)
                    new_input = command  # (re)opened after the lock is let go
                    fresh = True
                case ResetStats():
                    self.stats.reset()
                    for lane in self.lane_stats.values():
                        lane.reset()
                    self._summary = None
                case Ping(ping):
                    self._ping = ping
                    self._next_status = 0
                    fresh = True
                case SetAudio(settings):
                    new_audio = settings
                case Close():
                    self.running = False
                case _:  # the facade posts only the commands above: anything else is dropped
                    return
            if new_port is None and new_melody_port is None:
                self._send_due()
        if new_input is not None:  # before the report: a sync() after it finds the input open
            self._switch_input(new_input)
        if fresh and new_port is None and new_melody_port is None:
            # after the lock: the report's percentiles take up to a millisecond under load, and
            # the sample-accurate output's JACK thread waits on the lock to pull each period
            self._publish(self._now(), fresh=True)
        if new_port is not None:
            self._change_port(new_port.spec)
            self._publish(self._now())
        if new_melody_port is not None:
            self._change_melody_port(new_melody_port)
            self._publish(self._now())
        if new_audio is not None:  # outside the lock: building the kit takes tens of ms
            self.audio.configure(new_audio, self.out)
            self._publish(self._now())

    def _change_port(self, spec: PortSpec | None) -> None:
        self._detach_pull()
        with self.lock:
            now = self._now()
            # What is already due (a stalled loop, the cycles waited out above) goes out on
            # this port first, so the flush that follows ends it here too: flushed first, those
            # note-ons went out after the note-offs and their own note-offs to the next port.
            self._send_batch(self.sched.due(now))
            self.sched.flush(now)  # every sounding note ends on the port that started it
            self._send_batch(self.sched.due(now))
        self._close_port()
        self.spec = spec
        self.error = None
        if spec is not None:
            self._open_port(self._now())

    def _change_melody_port(self, want: SetMelodyPort) -> None:
        """The melody lane to its own port (or back to the drums'): its sounding note ends on
        the port that started it, then the swap. The drums never wait for it: their port is
        pulled all along, the old melody port closes on a thread of its own and the new one
        opens on one (:meth:`_retry_melody_port` takes it in, state "opening" meanwhile),
        as when the melody's port fails alone."""
        melody = self._melody_puller
        if melody is not None:
            with self.lock:
                self._melody_puller = None
            melody.set_pull(None)  # its own JACK thread only: the drums' port plays on
        with self.lock:
            now = self._now()
            self._send_batch(self.sched.due(now, lane="melody"))
            self.sched.flush(now, lane="melody")
            self._send_batch(self.sched.due(now, lane="melody"))  # to the port that started them
            old, self.melody_out = self.melody_out, None
            self.melody_port = want if want.name is not None else None
            self.melody_error = None
            self.sched.melody_apart = self.melody_port is not None
        if old is not None:
            threading.Thread(target=_end_and_close, args=(old, self.sched.melody_controls.channel),
                             name="groovefader-melody-close", daemon=True).start()
        if self.melody_port is None or self.spec is None or self.out is None:
            self.melody_state = "closed"
            return
        self.melody_state = "opening"
        self._melody_retries = 0
        self._next_melody_retry = now = self._now()
        self._retry_melody_port(now)

    def _change_source(self, source: str, *, now: int) -> None:
        if self.port_state == "ok":  # what the old source failed with (an input, Link) is past
            self.error = None
        if self.link is not None and source != "link":
            self.link.close(now)
            self.link = None
        self.sched.set_source(source, now)
        if source == "link" and self.link is None:
            self._join_link(now)

    def _switch_input(self, command: SetClockSource) -> None:
        """Close the clock's MIDI input and, following an external clock, open the one named.

        Outside the scheduler lock, through :func:`engine.ports.open_input` (JACK-Client on
        JACK, whose calls let go of the interpreter lock): a JACK client opening or closing
        waits for the server's next cycle, which on a synchronous server waits for the
        sample-accurate output's callback, which needs the interpreter and the lock to pull.
        Held by rtmidi under the lock, the server stalled until a client was thrown out, and
        the notes its port owed were lost.
        """
        if self.midi_in is not None:
            self.midi_in.close()
            self.midi_in = None
        if command.source != "external":
            return
        try:
            self.midi_in = open_input(command.input_name or "groovefader-clock-in", command.input_api,
                                      lambda data, t: self.inbox.put((data, t)), virtual=command.virtual)
        except PortError as err:
            self.error = str(err)
            self._publish(self._now())

    def _join_link(self, now: int) -> None:
        """Join the Link session (:mod:`engine.sync.link_follow`); a one-line error, and the
        internal clock, where Link cannot run."""
        from engine.sync.link_session import LinkSession, LinkUnavailable

        try:
            session = LinkSession(self.sched.controls.tempo_bpm)
        except LinkUnavailable as err:
            self.error = str(err)
            self.sched.set_source("internal", now)
            return
        self.link = LinkFollower(session, self.sched, lambda wall: self.time_base.from_wall_ns(wall))
        self.link.poll(now)

    def _follow_link(self, now: int) -> None:
        """Take Link's timeline again (every few ms), never just before a send."""
        assert self.link is not None
        with self.lock:
            wake = self.sched.next_wake_ns()
            if wake is not None and wake - now < LINK_QUIET_NS and not self._pulling():
                return
            self.link.poll(now)
            self._send_due()  # a stop from a peer: its note-offs go now

    # -- ports -----------------------------------------------------------------------------
    def _open_port(self, now: int) -> None:
        assert self.spec is not None
        try:
            self.out = self._open_output(self.spec)
        except PortError as err:
            self._port_failed(str(err), now)
            return
        except Exception as err:  # a backend library's own error: never crash the clock
            self._port_failed(f"cannot open MIDI output {self.spec.name!r}: {err}", now)
            return
        with self.lock:
            self._set_time_base(self.out)
            self.port_state, self.error = "ok", None
        try:
            self.out.panic(self._lane_channels())  # whatever the receiver held from before is released
        except PortError as err:
            self._port_failed(str(err), now)
            return
        self.audio.port_opened(self.out)
        self._open_melody_port(now)
        self._attach_pull()

    def _open_melody_port(self, now: int) -> None:
        """The melody lane's own port, beside the drums' (only while that one is open)."""
        want = self.melody_port
        if want is None or self.spec is None or self.out is None:
            self.melody_state = "closed"
            return
        try:
            self.melody_out = open_melody_output(self._open_output, self.spec, self.out, want,
                                                 self.sched.melody_controls.channel)
        except PortError as err:
            self.melody_state, self.melody_error = "error", str(err)
            self._melody_retries = 0
            self._next_melody_retry = now + RETRY_INTERVAL_NS
            return
        self.melody_state, self.melody_error = "ok", None

    def _close_melody_port(self) -> None:
        """Close the melody's own port (CC 123 on its channel first, if it still answers)."""
        out, self.melody_out = self.melody_out, None
        if out is None:
            return
        _end_and_close(out, self.sched.melody_controls.channel)
        if self.melody_state == "ok":
            self.melody_state = "closed"

    def _melody_port_failed(self, message: str, now: int) -> None:
        """The melody's own port went away alone: its notes died with it and the drums play
        on, never waiting for it: it is closed on a thread of its own (closing waits for JACK
        cycles), and reopened on one (:meth:`_retry_melody_port`)."""
        with self.lock:
            out, self.melody_out = self.melody_out, None
            self._melody_puller = None  # a JACK callback of it still running pulls nothing now
            self.sched.forget_sounding(lane="melody")
        if out is not None:
            threading.Thread(target=_close_quietly, args=(out,), name="groovefader-melody-close",
                             daemon=True).start()
        self.melody_state, self.melody_error = "error", message
        self._melody_retries = 0
        self._next_melody_retry = now + RETRY_INTERVAL_NS
        self._next_status = 0

    def _retry_melody_port(self, now: int) -> None:
        """Reopen the melody's own port on a thread of its own, so the drums never wait for a
        MIDI client to open (tens of ms, more on a loaded machine); the loop takes the port in
        when it is open. Tried after 0.5, 1, 2, 4, 8 s, then every 8 s."""
        opener = self._melody_opener
        if opener is None:
            if now < self._next_melody_retry or self.melody_port is None or self.spec is None \
                    or self.out is None:
                return
            args = (self._open_output, self.spec, self.out, self.melody_port,
                    self.sched.melody_controls.channel)
            result: dict[str, Any] = {}
            thread = threading.Thread(target=_open_into, args=(result, *args),
                                      name="groovefader-melody-open", daemon=True)
            self._melody_opener = (thread, result, self.melody_port, self.out)
            thread.start()
            return
        thread, result, want, drums_out = opener
        if thread.is_alive():
            return
        self._melody_opener = None
        out = result.get("out")
        if want is not self.melody_port or drums_out is not self.out \
                or self.melody_state not in ("error", "opening"):
            if out is not None:  # the ports changed meanwhile: this one is not wanted any more
                threading.Thread(target=_close_quietly, args=(out,), daemon=True).start()
            return
        if out is None:
            self.melody_state = "error"
            self.melody_error = result.get("error") or self.melody_error
            self._next_status = 0
            self._melody_retries += 1
            self._next_melody_retry = now + RETRY_INTERVAL_NS * 2 ** min(self._melody_retries, 4)
            return
        self.melody_out = out
        self.melody_state, self.melody_error = "ok", None
        self._attach_pull()
        self._next_status = 0

    def _lane_channels(self) -> tuple[int, ...]:
        """The channels the lanes play on (the drums'; the melody's too once one is set)."""
        drums, melody = self.sched.controls.channel, self.sched.melody_controls.channel
        if melody == drums or self.sched.melody is None or self.melody_port is not None:
            return (drums,)  # (a melody on its own port: CC 123 there, on its own channel)
        return (drums, melody)

    def _set_time_base(self, out: MidiOutput | None) -> None:
        """Keep the scheduler's clock continuous when its source changes.

        An output with a live frame clock (JACK: the sample-accurate output always, rtmidi
        unless ``--time-base wall``; see :mod:`engine.realtime.timebase`) makes JACK's frames the
        timeline, shifted to agree with the current time; otherwise ``perf_counter_ns`` plus
        whatever offset keeps time continuous. A dead frame clock runs on its last mapping,
        so falling back from it leaves no gap.
        """
        now = self._now()
        clock: TimeBase | None = getattr(out, "frame_clock", None)
        if clock is not None and clock.alive():
            clock.rebase(now - clock.now_ns())
            self.time_base = clock
            if isinstance(clock, FrameClock):
                self._frame_clock_seen = clock
        else:
            self.time_base = WallClock(now - time.perf_counter_ns())
        self._now = self.time_base.now_ns
        if out is not None:
            self._time_base_used = self.time_base.name

    def _check_frame_clock(self) -> None:
        """Off a frame clock that died under a port that still claims to be alive."""
        if not self.time_base.alive():
            with self.lock:
                self._set_time_base(None)
                self._time_base_used = self.time_base.name
                self._time_base_fallbacks += 1

    def _close_port(self) -> None:
        self._detach_pull()
        self._close_melody_port()
        out, self.out = self.out, None
        self.audio.port_closing(out)
        if out is not None:
            self._cycle_irregularities = getattr(out, "cycle_irregularities", self._cycle_irregularities)
            self._irregular_starts = list(getattr(out, "irregular_starts", ()))
            try:
                if out.alive():
                    out.panic(self._lane_channels())
            except PortError:
                pass
            out.close()
            self._set_time_base(None)
        self.port_state = "closed"

    def _port_failed(self, message: str, now: int) -> None:
        self._detach_pull()
        with self.lock:
            if self.melody_out is not None:  # the melody's port may still answer: its notes end there
                self.sched.flush(now, lane="melody")
                self._send_batch(self.sched.due(now, lane="melody"))
            self._close_melody_port()
            out, self.out = self.out, None
            self.audio.port_closing(out)
            if out is not None:
                if not isinstance(self.time_base, WallClock):
                    self._time_base_fallbacks += 1  # on the wall clock until the server is back
                self._set_time_base(None)
            # the notes the dead port carried died with it; the next port gets CC 123 instead
            self.sched.forget_sounding()
        if out is not None:
            with contextlib.suppress(Exception):
                out.close()
        self.port_state, self.error = "error", message
        self._next_retry = now + RETRY_INTERVAL_NS
        self._next_status = 0

    def _housekeeping(self, now: int) -> None:
        self._last_housekeeping = now
        self.time_base.resync()  # the wall ↔ frame pairing, renewed every 100 ms (a few µs)
        if now >= self._next_health:
            self._next_health = now + HEALTH_INTERVAL_NS
            if os.getppid() != self._parent:
                self.running = False  # orphaned: end the notes and go
            if self.out is not None and not self.out.alive():
                self._port_failed(f"MIDI output {self.spec.name if self.spec else ''!r} went away "
                                  "(MIDI server stopped?); retrying", now)
            if self.melody_out is not None and not self.melody_out.alive():
                self._melody_port_failed(f"the melody's MIDI output {self.melody_port.name!r} went "  # type: ignore[union-attr]
                                         "away; retrying", now)
            elif self.melody_state in ("error", "opening"):
                self._retry_melody_port(now)
            self._check_frame_clock()
            self._drain_output_lateness()
        if self.port_state == "error" and self.spec is not None and now >= self._next_retry:
            self._open_port(now)
            if self.port_state == "error":
                self._next_retry = now + RETRY_INTERVAL_NS
            self._next_status = 0
        if now >= self._next_status:
            self._publish(now)
        elif not gc.isenabled() and now >= self._next_gc:  # never in the same turn as a report
            full = now >= self._next_full_gc
            gc.collect(2 if full else 0)
            self._next_gc = now + GC_INTERVAL_NS
            if full:
                self._next_full_gc = now + GC_FULL_INTERVAL_NS

    # -- sending ---------------------------------------------------------------------------
    def _send_batch(self, batch: list[Timed], released: int | None = None) -> None:
        """Send ``batch`` in order; ``released``: when the server let it go (JACK's periods),
        which the lateness record counts from when the server ran behind."""
        if not batch:
            return
        apart = self.melody_port is not None  # the melody lane has a port of its own
        timed: list[tuple[Timed, int]] = []  # (item, when it went out): lateness after the sends
        for item in batch:
            self.sent[item.kind if item.kind in self.sent else "other"] += 1
            melody = apart and item.voice == MELODY_VOICE
            out = self.melody_out if melody else self.out
            if out is None:
                self.sched.unsent(item)  # error state: the clock runs on, the notes are skipped
                continue
            try:
                out.send(item.data, item.deadline_ns)
            except PortError as err:
                self.sched.unsent(item)
                if melody:
                    self._melody_port_failed(str(err), self._now())
                else:
                    self._port_failed(str(err), self._now())
                continue
            if item.kind == "on" and self.audio.device is not None:  # the kit on the audio device
                self.audio.note(self.time_base.wall_ns(item.deadline_ns), item.voice, item.data[2])
            if out.lookahead_ns == 0 and item.kind in TIMED_KINDS and not item.immediate:
                timed.append((item, self._now()))
        planned = (0, 0)  # (deadline, its hand-over time): a batch's items mostly share one
        for item, sent_ns in timed:
            if planned[0] != item.deadline_ns:
                due = self.time_base.send_ns(item.deadline_ns)
                planned = (item.deadline_ns, due if released is None else max(due, released))
            # against when it was due to go out (on JACK's periods, its slot's hand-over)
            late = sent_ns - planned[1]
            self.stats.add(late)
            if item.kind != "clock":
                self.lane_stats["melody" if item.voice == MELODY_VOICE else "drums"].add(late)

    def _drain_output_lateness(self) -> None:
        """The lateness outputs that place events themselves recorded (JACK: frames late per
        written event, with its voice), into the totals and each lane's."""
        for out in (self.out, self.melody_out):
            late = getattr(out, "late_events", None)
            if late is None:
                continue
            rate = getattr(out, "rate", 48_000)
            while late:
                frames, voice = late.popleft()
                ns = round(frames * 1e9 / rate)
                self.stats.add(ns)
                if voice >= 0:  # a note (MIDI clock has no voice)
                    self.lane_stats["melody" if voice == MELODY_VOICE else "drums"].add(ns)

    def _publish(self, now: int, final: bool = False, fresh: bool = False) -> None:
        """Post a status report. The lateness percentiles (numpy, holding the GIL for up to
        ~0.3 ms over a full window, while the sample-accurate path's JACK callback needs it
        every 0.67 ms) are recomputed once a second, or at once when ``fresh`` / ``final``."""
        self._drain_output_lateness()
        if final or fresh or self._summary is None or now >= self._next_summary:
            self._summary = {**self.stats.summary(),
                             "lanes": {lane: s.summary() for lane, s in self.lane_stats.items()}}
            self._next_summary = now + SUMMARY_INTERVAL_NS
        stats = {**self._summary, "sent": dict(self.sent), "realtime": self.realtime,
                 "time_base": self._time_base_used,
                 "time_base_setting": self.spec.time_base if self.spec else None,
                 "time_base_fallbacks": self._time_base_fallbacks}
        clock = self._frame_clock_seen
        if clock is not None:  # how JACK's frames and the wall clock went (kept once closed)
            stats["frame_clock"] = {
                "resyncs": clock.resyncs, "max_correction_ms": clock.max_correction_ns / 1e6,
                "rate_ppm": round((1 / clock.sync.wall_per_timeline - 1) * 1e6, 1)}
        irregular = getattr(self.out, "cycle_irregularities", None)
        if irregular is not None:  # JACK cycles that did not follow one period after the last
            self._cycle_irregularities = irregular
        if self._cycle_irregularities is not None:  # kept for the final report, port closed
            stats["jack_cycle_irregularities"] = self._cycle_irregularities
        starts = getattr(self.out, "irregular_starts", None)  # where the latest were
        latest = self._irregular_starts if starts is None else list(starts)[-IRREGULAR_REPORTED:]
        if latest:  # (start frame, frames since the previous start)
            stats["jack_irregular_starts"] = latest[-IRREGULAR_REPORTED:]
        stats["audio"] = self.audio.report()
        with self.lock:  # held briefly: the JACK thread waits on it to pull each period
            report = self._report(now, final, stats)
        with contextlib.suppress(queue.Full, OSError, ValueError):
            self.status_q.put_nowait(report)

    def _report(self, now: int, final: bool, stats: dict[str, Any]) -> StatusReport:
        self._next_status = now + STATUS_INTERVAL_NS
        return StatusReport(
            playing=self.sched.playing,
            step=self.sched.current_step(now),
            bpm=self.sched.tempo_bpm,
            port_state=self.port_state,
            error=self.error,
            port_name=self.spec.name if self.spec else None,
            clock_source=self.sched.source,
            sounding=self.sched.sounding,
            link_peers=None if self.link is None else self.link.peers,
            melody_port=None if self.melody_port is None else self.melody_port.name,
            melody_port_state=self.melody_state,
            melody_port_error=self.melody_error,
            stats=stats,
            forbidden_modules=tuple(m for m in ("torch", "PySide6") if m in sys.modules),
            final=final,
            time_ns=now, ping=self._ping, clock_silent=self.sched.clock_silent(now),
        )
