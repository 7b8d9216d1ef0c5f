"""JACK through the ``JACK-Client`` package: the sample-accurate output, a watch on the
server, and waiting for JACK cycles before a port closes.

rtmidi sends "now", so on JACK every event lands at the start of the next period. Here the
clock process hands each event over :attr:`JackOutput.lookahead_ns` before its deadline; the
JACK process callback writes it into the period that contains its frame, at the exact frame
offset, so a DAW recording the port sees the grid to the sample.

Deadline → frame: the clock process's timeline is JACK's frame clock here
(:class:`engine.realtime.timebase.FrameClock`, whose ``timeline`` :class:`~engine.realtime.timebase.FrameMap`
is anchored at open: ``frame = anchor_frame + round((deadline - anchor_ns) × rate / 1e9)``,
linear, so the grid has no rounding drift). Frames are 32-bit and wrap; offsets use modular
arithmetic, and the anchor moves forward by whole seconds long before a wrap could make a
difference ambiguous (2³¹ frames: 12.4 h at 48 kHz).

Each period the JACK thread pulls exactly the messages whose frame falls before the next
period (:meth:`FrameMap.last_ns_before`), so nothing due in a period waits for a later one.
What a receiver records can still be off when the *server* is irregular: on JACK2's
asynchronous server a client that runs more than a period late reads the next cycle's frame
counter, or is run twice in a row (measured here: docs/benchmarks.md, "Sequencer timing").
:attr:`JackOutput.cycle_irregularities` counts the cycles this client saw start anywhere but
one period after the previous one.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from engine.errors import PortError
from engine.ports.base import BaseOutput, PortSpec
from engine.realtime.timebase import (
    FRAME_MOD,
    FrameClock,
    FrameMap,
    cycle_frame_reader,
    cycle_reader,
    frame_diff,
)

LOOKAHEAD_NS = 4_000_000  # events reach the JACK thread this long before their deadline
DRAIN_CYCLES = 3  # JACK cycles to let pass before a port closes (see wait_jack_cycles)
DRAIN_TIMEOUT_S = 0.5  # ... but never wait longer than this (a stalled or dying server)


class JackServerWatch:
    """Notices when the JACK server dies (rtmidi does not tell; its sends just vanish).

    A tiny inactive-process JACK client whose shutdown callback raises a flag. A client of a
    dead server must not be closed (libjack crashes), so it is dropped without closing.
    """

    def __init__(self, name: str = "groovefader-watch") -> None:
        import jack

        self._jack = jack
        self._dead = threading.Event()
        try:
            self._client = jack.Client(name, no_start_server=True)
        except jack.JackError as err:
            raise PortError(f"cannot reach the JACK server: {err}") from err
        self._client.set_shutdown_callback(lambda status, reason: self._dead.set())
        self._client.activate()

    def alive(self) -> bool:
        return not self._dead.is_set()

    def frame_clock(self) -> FrameClock | None:
        """JACK's frame clock read through this client (see :mod:`engine.realtime.timebase`); None
        (the caller stays on the wall clock) when it cannot be read."""
        try:
            return FrameClock(cycle_frame_reader(self._client), self._client.samplerate,
                              dead=self._dead, cycle=cycle_reader(self._client))
        except Exception:
            return None

    def wait_cycles(self, cycles: int = DRAIN_CYCLES, timeout_s: float = DRAIN_TIMEOUT_S) -> bool:
        """Wait (bounded) until the server has started ``cycles`` more process cycles."""
        return wait_jack_cycles(self._client, cycles, timeout_s, self._dead)

    def close(self) -> None:
        release_jack_client(self._client, self._dead.is_set())


def wait_jack_cycles(client: Any, cycles: int = DRAIN_CYCLES, timeout_s: float = DRAIN_TIMEOUT_S,
                     dead: threading.Event | None = None) -> bool:
    """Block until JACK has begun ``cycles`` process cycles after this call; False on timeout.

    Why: a JACK MIDI output only reaches its readers in the next process cycle (rtmidi
    queues ``send_message`` in a ringbuffer its process callback empties; the sample-accurate
    output writes in its own callback). Closing the port before that cycle ran loses what was
    just sent — the final note-offs at Ctrl-C on a loaded machine. The cycle that is running
    now may have passed its drain already, the next one drains, and the one after starts
    only once it is complete (``-S``); one more covers an asynchronous server.
    ``last_frame_time`` is the server's frame count at the latest cycle start (readable from
    any thread); it moves by one period per cycle.
    """
    try:
        start = client.last_frame_time
        need = cycles * max(1, client.blocksize)
    except Exception:  # closed client or dead server: nothing to wait for
        return False
    end = time.monotonic() + timeout_s
    while dead is None or not dead.is_set():
        try:
            if (client.last_frame_time - start) % 2**32 >= need:
                return True
        except Exception:
            return False
        if time.monotonic() >= end:
            return False
        time.sleep(0.0005)
    return False


def release_jack_client(client: Any, server_dead: bool) -> None:
    """Close a JACK-Client client, or abandon it if its server died (closing then segfaults)."""
    import jack

    if server_dead:
        client._ptr = jack._ffi.NULL  # noqa: SLF001 - the only way to skip jack_client_close
        return
    with contextlib.suppress(jack.JackError):
        client.deactivate()
    client.close()


class JackOutput(BaseOutput):
    """A JACK client ``<name>`` with one MIDI out port ``<name>:<name>``."""

    lookahead_ns = LOOKAHEAD_NS

    def __init__(self, spec: PortSpec) -> None:
        import jack

        super().__init__(spec.name)
        self.spec = spec
        self._dead = threading.Event()
        # virtual: client and port named after spec.name; else our port connects to spec.name
        client_name, port_name = (spec.name, spec.name) if spec.virtual else ("groovefader", "out")
        try:
            self._client = jack.Client(client_name, no_start_server=True)
        except jack.JackError as err:
            raise PortError(f"cannot reach the JACK server for sample-accurate output: {err}") from err
        self._jack_client = self._client  # the process callback's own reference (close clears _client)
        self._port = self._client.midi_outports.register(port_name)
        self.rate = self._client.samplerate
        self._inbox: deque[tuple[int, bytes]] = deque()  # (frame, data) from the clock thread
        self._pending: deque[tuple[int, bytes]] = deque()  # owned by the JACK thread
        self.late_frames: deque[int] = deque(maxlen=100_000)  # per written event, ≥ 0
        # the same with the voice of each event (the clock splits its lateness by lane)
        self.late_events: deque[tuple[int, int]] = deque(maxlen=100_000)
        self._last_frame: int | None = None  # frames stay non-decreasing (keeps order)
        self._last_start: int | None = None
        self.cycle_irregularities = 0  # cycles not starting one period after the previous one
        # the latest of them: (start frame, frames since the previous start), for reports
        self.irregular_starts: deque[tuple[int, int]] = deque(maxlen=10_000)
        self._pull: Callable[[int], list[Any]] | None = None
        self._carry: list[Any] = []  # pulled messages whose frame is in a later period
        self._flushing = False  # closing: whatever is queued goes out now, whatever its frame
        self.frame_clock: FrameClock | None = None  # set once active (the callback waits for it)
        self._client.set_process_callback(self._process)
        self._client.set_shutdown_callback(self._on_shutdown)
        self._client.activate()
        self.frame_clock = FrameClock(cycle_frame_reader(self._client), self.rate, dead=self._dead)
        if not spec.virtual:
            inputs = self._midi_inputs()
            targets = [n for n in inputs if spec.name == n or spec.name.lower() in n.lower()]
            if len(targets) != 1:
                self.close()
                why = "is ambiguous" if targets else "does not exist"
                listing = ", ".join(inputs) or "none"
                raise PortError(f"JACK MIDI input {spec.name!r} {why}; available: {listing}")
            self._target = targets[0]
            self._client.connect(self._port, self._target)
            # the server applies a new connection at a cycle start: what the first cycle
            # after connect() carried (a Start) could miss the reader
            wait_jack_cycles(self._client, DRAIN_CYCLES, DRAIN_TIMEOUT_S, self._dead)

    @property
    def map(self) -> FrameMap:
        """The timeline ↔ frame map of the moment (one immutable value: read it once)."""
        assert self.frame_clock is not None
        return self.frame_clock.timeline

    def frame_for(self, deadline_ns: int) -> int:
        """The JACK frame (mod 2³²) of a deadline on the clock process's timeline."""
        return self.map.frame_for(deadline_ns)

    def now_ns(self) -> int:
        """JACK's frame clock in ns: the clock process's time base on this output.

        The sample clock is the master here (as in a DAW): if the server falls behind the
        wall clock (dropped cycles), the music follows it and frames stay exact. Once the
        server is gone, the last wall ↔ frame mapping runs on (no jump).
        """
        assert self.frame_clock is not None
        return self.frame_clock.now_ns()

    def _send(self, data: Sequence[int], deadline_ns: int | None) -> None:
        if self._dead.is_set():
            raise PortError("the JACK server stopped (sample-accurate output lost)")
        if deadline_ns is None:
            deadline_ns = self.now_ns()
        frame = self.frame_for(deadline_ns)
        if self._last_frame is not None and frame_diff(frame, self._last_frame) < 0:
            frame = self._last_frame  # never reorder: a flush goes after what is queued
        self._last_frame = frame
        self._inbox.append((frame, bytes(data)))

    def _on_shutdown(self, status: object, reason: str) -> None:
        self._dead.set()  # the frame clock stops reading JACK and runs on its last mapping

    def set_pull(self, pull: Callable[[int], list[Any]] | None) -> None:
        """Let the JACK thread ask the sequencer directly for what is due in each period.

        ``pull(limit_ns)`` returns timed messages (``.deadline_ns``, ``.data``) due by
        ``limit_ns``. Pulling per period makes every event land on its exact frame whatever
        the wall clock does (a stalled or catching-up server included) and adds no hand-over
        latency. None returns to push mode (``send``); it returns once no process callback
        can still call the old ``pull`` (two cycles, bounded), so the caller's flush that
        follows sees every note the JACK thread took. The caller must not hold the lock
        ``pull`` takes.
        """
        old, self._pull = self._pull, pull
        if pull is None and old is not None and getattr(self, "_client", None) is not None \
                and not self._dead.is_set():
            wait_jack_cycles(self._client, 2, DRAIN_TIMEOUT_S, self._dead)

    def ns_for_frame(self, frame: int) -> int:
        return self.map.ns_for_frame(frame)

    @property
    def jack_client(self) -> Any:
        """The JACK client."""
        return self._jack_client

    @property
    def jack_port_name(self) -> str:
        """The MIDI port's full name (``client:port``): the built-in kit's process plays what
        reaches it (engine.audio.kit_process)."""
        return self._port.name

    def _process(self, frames: int) -> None:
        port = self._port
        port.clear_buffer()
        clock = self.frame_clock
        if clock is None:  # the first cycles, before the frame clock was read
            return
        start = self._jack_client.last_frame_time
        if self._last_start is not None and frame_diff(start, self._last_start) != frames:
            self.cycle_irregularities += 1  # a skipped cycle, or this callback ran a period late
            self.irregular_starts.append((start, frame_diff(start, self._last_start)))
        self._last_start = start
        fmap = clock.timeline
        last = 0
        full = False

        def write(frame: int, data: bytes, timed: bool = False, voice: int = -1) -> bool:
            nonlocal last, full
            offset = frame_diff(frame, start)
            late = 0
            if offset < 0:
                late, offset = -offset, 0
            offset = min(max(offset, last), frames - 1)  # in time order within the period
            try:
                port.write_midi_event(offset, data)
            except Exception:  # buffer full: the rest goes out next period
                full = True
                return False
            last = offset
            if timed:  # only events with a musical deadline count in the lateness record
                self.late_frames.append(late)
                self.late_events.append((late, voice))
            return True

        pull = self._pull
        inbox, pending = self._inbox, self._pending
        while inbox:
            pending.append(inbox.popleft())
        # While the loop pulls, what still waits here was sent before it began (the CC 123 of
        # a port that just opened): it goes out now, whatever its frame, so that the notes
        # pulled below — overdue ones, when the loop or this callback runs behind — never get
        # ahead of it (a note-on before the CC 123 is a note that CC 123 ends).
        at_once = self._flushing or pull is not None
        while pending and not full:
            frame, data = pending[0]
            if (frame_diff(frame, start) >= frames and not at_once) or not write(frame, data):
                break
            pending.popleft()
        if pull is None:
            if self._carry:  # pulled before the loop detached: they still go out, in order
                carry, self._carry = self._carry, []
                owed = [(fmap.frame_for(i.deadline_ns), bytes(i.data)) for i in carry]
                self._pending.extendleft(reversed(owed))
            return
        # everything whose frame lies in this period (what is due in a later one, carried
        # for a full buffer, goes out next period)
        items = self._carry + pull(fmap.last_ns_before((start + frames) % FRAME_MOD))
        self._carry = []
        for i, item in enumerate(items):
            frame = fmap.frame_for(item.deadline_ns)
            timed = not getattr(item, "immediate", False)
            if full or frame_diff(frame, start) >= frames \
                    or not write(frame, bytes(item.data), timed, getattr(item, "voice", -1)):
                self._carry = items[i:]
                break

    def _alive(self) -> bool:
        if self._dead.is_set():
            return False
        target = getattr(self, "_target", None)
        return target is None or target in self._midi_inputs()

    def _midi_inputs(self) -> list[str]:
        return [p.name for p in self._client.get_ports(is_midi=True, is_input=True)]

    def drain(self, timeout_s: float = DRAIN_TIMEOUT_S) -> bool:
        """Write everything queued in the next cycle, whatever its frame, and wait (bounded)
        until that cycle is complete, so the readers have it before the port closes.

        Closing is no time to wait for the frames: a loaded server runs its cycles up to a
        few hundred ms behind its own frame clock (seen here), which would hold the last
        note-offs back past any sensible bound.
        """
        self._flushing = True
        end = time.monotonic() + timeout_s
        while (self._inbox or self._pending or self._carry) and not self._dead.is_set() \
                and time.monotonic() < end:
            time.sleep(0.0005)
        if self._dead.is_set() or self._client is None or self._inbox or self._pending or self._carry:
            return False
        return wait_jack_cycles(self._client, timeout_s=max(0.0, end - time.monotonic()) + 0.05,
                                dead=self._dead)

    def _close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            if not self._dead.is_set():
                self.drain()  # while the client is still ours: the readers get the last events
            self._client = None
            if self.frame_clock is not None:
                self.frame_clock.stop()  # no more reads of a closed client
            release_jack_client(client, self._dead.is_set())
