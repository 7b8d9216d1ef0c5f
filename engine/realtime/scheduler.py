"""The sequencer's state machine: transport, tempo anchor, pattern swaps and note-off bookkeeping.

:class:`Scheduler` is pure: it is told the time (``now_ns``) and returns timed MIDI messages
(:class:`Timed`) with absolute deadlines; it never reads a clock, sleeps or sends. The clock
process asks it what is due, waits for the deadline and sends; tests drive it with a fake
clock.

Timing model: ``deadline(step) = t0 + step × step_ns`` (one rounding per deadline, no sums,
so no drift). A step is *rendered* (its notes computed and queued) shortly before its earliest
event, so a pattern or knob change reaches the very next step that has not been rendered.
Every note-on gets its note-off queued at render time; a note that is still sounding when the
transport stops, the pattern drops its voice, the note map changes or the port changes gets
its note-off at once (see :meth:`Scheduler.flush`).

Two lanes share the one grid: the drums (a :class:`~engine.music.pattern.Pattern`, looping at
its 2 bars) and the melody (a :class:`~engine.music.melody.Melody`, looping at its own length;
:mod:`engine.realtime.melody_lane`). Each lane has its own pattern, channel and pending change
with its own quantize; both are rendered in the same step, so their notes on a common step share
one grid deadline. Each lane's messages wait in a queue of their own, so a lane on an output of
its own can be asked for just its messages (``due(..., lane=)``); MIDI clock and transport
belong to the drums' lane. A melody note's note-off is queued at its end (the encoding's hold), cut short
when a new melody takes over or the lane is muted, transposed or moved to another channel.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import NamedTuple

from engine.music.melody import Melody
from engine.music.midi_messages import (
    CLOCK,
    CONTINUE,
    SONG_POSITION,
    START,
    STOP,
    all_notes_off,
    note_off,
    note_on,
    parse_song_position,
    song_position,
)
from engine.music.pattern import Pattern
from engine.realtime.melody_lane import (
    MELODY_VOICE,
    MelodyControls,
    MelodyTable,
    melody_note_for_step,
    phrase_steps,
)
from engine.realtime.steps import (
    STEPS_PER_QUARTER,
    TICKS_PER_STEP,
    Controls,
    StepTable,
    boundary_step,
    deadline_ns,
    earliest_shift,
    notes_for_step,
    step_ns,
    swing_shift,
)

RENDER_MARGIN_NS = 2_000_000  # a step is computed this long before its earliest event
JUMP_SHARE = 0.5  # of a pulse period: farther off the fitted line is a tempo change or a pause
JUMP_PULSES = 3  # pulses in a row that far off (one or two late pulses are a jittery cable)
CLOCK_SILENT_STEPS = 3  # steps without a pulse before a followed clock counts as silent
CLOCK_SILENT_MIN_NS = 250_000_000
START_LEAD_NS = 5_000_000  # first grid point after start/continue, so step 0 is not late
TEMPO_FIT_TICKS = 48  # incoming clock pulses (2 beats) in the external-tempo fit
MELODY_KEY = 1 << 11  # set in a melody note's key, so both lanes on one channel never share one
LANES = ("drums", "melody")


class Timed(NamedTuple):
    """A MIDI message due at ``deadline_ns``; ordered by deadline then by creation."""

    deadline_ns: int
    seq: int
    data: tuple[int, ...]
    kind: str  # 'on' | 'off' | 'clock' | 'transport' | 'cc'
    key: int = -1  # [MELODY_KEY |] channel << 7 | note, for notes
    pair: int = -1  # on a note-off: the seq of its note-on
    voice: int = -1  # drum voice 0-8, or MELODY_VOICE
    immediate: bool = False  # sent "now" in answer to a command: no musical deadline


def _same_ns(ns: int) -> int:
    return ns


def fitted_line(samples: Sequence[tuple[int, int]]) -> tuple[float, float, float] | None:
    """``(period_ns, mean_index, mean_arrival_ns)``: the least-squares line through
    ``(tick_index, arrival_ns)`` clock-pulse samples (pulse ``i`` due at
    ``mean_arrival + (i - mean_index) × period``). None with fewer than two samples.
    """
    n = len(samples)
    if n < 2:
        return None
    mean_i = sum(i for i, _ in samples) / n
    mean_t = sum(t for _, t in samples) / n
    var = sum((i - mean_i) ** 2 for i, _ in samples)
    if var == 0:
        return None
    slope = sum((i - mean_i) * (t - mean_t) for i, t in samples) / var
    return (slope, mean_i, mean_t) if slope > 0 else None


def estimate_tick_ns(samples: Sequence[tuple[int, int]]) -> float | None:
    """Least-squares clock-pulse period (ns) from ``(tick_index, arrival_ns)`` samples.

    A fit over many pulses follows tempo changes within a couple of beats while averaging
    out the sender's and the transport's jitter. None with fewer than two samples.
    """
    line = fitted_line(samples)
    return None if line is None else line[0]


class Scheduler:
    """Transport + pattern + tempo state, answering "what is due by ``now_ns``?".

    Args:
        controls: initial control snapshot.
        clock_out: send MIDI clock (24 ppqn), start/stop/continue and song position when
            following the internal clock.
        source: ``"internal"`` (own tempo), ``"external"`` (follow incoming MIDI clock,
            fed through :meth:`external_message`) or ``"link"`` (a shared timeline sets the
            grid through :meth:`follow_grid` and the transport through :meth:`join`).
        melody_controls: the melody lane's channel, transpose, octave, velocity and mute.
    """

    def __init__(self, controls: Controls | None = None, *, clock_out: bool = True,
                 source: str = "internal", melody_controls: MelodyControls | None = None) -> None:
        self.controls = controls or Controls()
        self.melody_controls = melody_controls or MelodyControls()
        self.melody: MelodyTable | None = None
        # the melody waiting for its boundary, and the lane's controls that come with it
        self._melody_pending: tuple[MelodyTable | None, str, MelodyControls | None] | None = None
        self._melody_off: Timed | None = None  # the latest melody note-off queued
        # melody note-ons queued, not sent: what rendered each (melody, step, entering), so a
        # change of the lane's controls can render them again
        self._melody_queued: dict[int, tuple[MelodyTable, int, bool]] = {}
        self.clock_out = clock_out
        self._check_source(source)
        self.source = source
        self.playing = False
        self.table: StepTable | None = None
        self._pending: tuple[StepTable, str] | None = None
        self._step_len = step_ns(self.controls.tempo_bpm)  # ns per step, float
        self._t0: int | None = None  # ns of step 0 on the grid
        self._next_step = 0  # next step to render
        self._next_tick = 0  # next clock pulse to send (internal) / expected (external)
        self._position = 0  # where continue resumes, in steps
        self._heaps: dict[str, list[Timed]] = {lane: [] for lane in LANES}  # per lane, by deadline
        self.melody_apart = False  # the melody has an output of its own (it gets its own CC 123)
        self._seq = 0
        self._cancelled: set[int] = set()
        self._now_out: list[Timed] = []  # immediate messages, returned by the next due()
        self._sounding: dict[int, Timed] = {}  # key -> note-on that went out, not yet off
        self._off_of: dict[int, Timed] = {}  # note-on seq -> its scheduled note-off
        self._last_on: dict[int, int] = {}  # key -> deadline of the latest scheduled note-on
        self._tick_samples: deque[tuple[int, int]] = deque(maxlen=TEMPO_FIT_TICKS)
        self._off_line = 0  # pulses in a row off the fitted line (a tempo change, a pause)
        self._last_tick: int | None = None  # index of the last external pulse received
        self.external_bpm: float | None = None
        # an external clock's pulses arrive stamped on the wall clock; the grid lives on the
        # loop's timeline (JACK's frames, which a loaded or dummy server lets drift from the
        # wall by several per cent and step after a stall): set by the clock process
        self.wall_to_timeline: Callable[[int], int] = _same_ns
        self.followed_bpm = self.controls.tempo_bpm  # the shared timeline's tempo (link source)

    # -- commands ------------------------------------------------------------------------
    def set_pattern(self, pattern: Pattern | StepTable, quantize: str = "step", now_ns: int = 0) -> None:
        """Queue ``pattern``; it takes over at the next step, beat or bar (``quantize``)."""
        table = pattern if isinstance(pattern, StepTable) else StepTable.from_pattern(pattern)
        boundary_step(0, quantize, table.steps_per_bar)  # validates quantize
        if not self.playing or self.table is None:
            self._apply_pattern(table, now_ns)
        else:
            self._pending = (table, quantize)

    def set_melody(self, melody: Melody | MelodyTable | None, quantize: str = "bar",
                   now_ns: int = 0, controls: MelodyControls | None = None) -> None:
        """Queue the melody lane's ``melody`` (None: the lane falls silent) for the next step,
        beat, bar or phrase (the top of both loops); ``controls`` (None: as they are) take over
        with it. Controls of a melody still waiting stay with the one that replaces it."""
        table = melody if melody is None or isinstance(melody, MelodyTable) \
            else MelodyTable.from_melody(melody)
        boundary_step(0, quantize, 16)  # validates quantize
        if controls is None and self._melody_pending is not None:
            controls = self._melody_pending[2]
        if not self.playing or self.melody is None or table is None:
            self._melody_pending = None
            if controls is not None:
                self.set_melody_controls(controls, now_ns)
            self._apply_melody(table, now_ns)
        else:
            self._melody_pending = (table, quantize, controls)

    def set_melody_controls(self, controls: MelodyControls, now_ns: int) -> None:
        """New melody settings; a sounding note sent under the old pitch/channel ends now.
        A melody waiting with controls of its own takes these (the latest setting) with it."""
        if self._melody_pending is not None and self._melody_pending[2] is not None:
            self._melody_pending = (*self._melody_pending[:2], controls)
        old, self.melody_controls = self.melody_controls, controls
        if (controls.shift, controls.channel, controls.mute) != (old.shift, old.channel, old.mute):
            self.flush(now_ns, lane="melody")
            self._replace_queued_melody()

    def set_controls(self, controls: Controls, now_ns: int) -> None:
        """Swap in a new control snapshot; tempo changes keep the current grid position."""
        old = self.controls
        self.controls = controls
        if controls.tempo_bpm != old.tempo_bpm and self.source == "internal":
            new_len = step_ns(controls.tempo_bpm)
            if self.playing and self._t0 is not None:
                position = (now_ns - self._t0) / self._step_len
                self._t0 = now_ns - round(position * new_len)
            self._step_len = new_len
        if controls.note_map != old.note_map or controls.channel != old.channel:
            # The sounding notes were sent under the old pitches: end them under those.
            self.flush(now_ns, lane="drums")

    def set_source(self, source: str, now_ns: int) -> None:
        """Switch between the internal clock and following an incoming MIDI clock."""
        self._check_source(source)
        if source != self.source:
            self.stop(now_ns)
            self.source = source
            self._tick_samples.clear()
            self._last_tick = None
            self.external_bpm = None

    def start(self, now_ns: int) -> None:
        """Play from the top (step 0); sends MIDI Start when clock master."""
        if self.playing:
            self.stop(now_ns)
        self._position = 0
        if self.clock_out and self.source == "internal":
            self._emit(now_ns, (START,), "transport")
        self._begin(0, now_ns)

    def continue_(self, now_ns: int) -> None:
        """Resume where :meth:`stop` left off; sends Song Position + MIDI Continue."""
        if self.playing:
            return
        if self.clock_out and self.source == "internal":
            self._emit(now_ns, song_position(self._position), "transport")
            self._emit(now_ns, (CONTINUE,), "transport")
        self._begin(self._position, now_ns)

    def stop(self, now_ns: int) -> None:
        """Stop at once: every sounding note gets its note-off, then CC 123, then MIDI Stop."""
        was_playing = self.playing
        if was_playing:
            self._position = self._next_step
        self.playing = False
        self._pending_apply_now(now_ns)
        self.flush(now_ns, drop_queued=True)
        self._emit(now_ns, all_notes_off(self.controls.channel), "cc")
        if self.melody is not None and (self.melody_apart
                                        or self.melody_controls.channel != self.controls.channel):
            self._emit(now_ns, all_notes_off(self.melody_controls.channel), "cc", voice=MELODY_VOICE)
        if was_playing and self.clock_out and self.source == "internal":
            self._emit(now_ns, (STOP,), "transport")

    def flush(self, now_ns: int, keep_voices: frozenset[int] | None = None,
              drop_queued: bool = False, lane: str | None = None) -> None:
        """Note-offs now for sounding notes (all, or those of drum voices not in ``keep_voices``).

        Their queued note-offs are dropped so no note is ended twice. ``lane`` (``drums`` |
        ``melody``) limits it to one lane's notes; ``keep_voices`` implies the drums.

        ``drop_queued`` also discards every queued message (stop / port change): notes not
        yet sent are then never sent, so they need no note-off.
        """
        if keep_voices is not None:
            lane = "drums"
        if lane is not None and lane not in LANES:
            raise ValueError(f"lane must be one of {LANES}, got {lane!r}")
        for key, on in list(self._sounding.items()):
            if lane is not None and lane != ("melody" if on.voice == MELODY_VOICE else "drums"):
                continue
            if keep_voices is not None and on.voice in keep_voices:
                continue
            self._emit(now_ns, note_off((key >> 7) & 0x0F, key & 0x7F), "off", key=key,
                       pair=on.seq, voice=on.voice)
            del self._sounding[key]
            off = self._off_of.pop(on.seq, None)
            if off is not None:
                self._cancelled.add(off.seq)
        if drop_queued:
            for heap in self._heaps.values():
                heap.clear()
            self._cancelled.clear()
            self._off_of.clear()
            self._last_on.clear()
            self._melody_queued.clear()

    def unsent(self, item: Timed) -> None:
        """``item`` (returned by :meth:`due`) could not be sent: a note-on then owes no note-off."""
        if item.kind == "on":
            if self._sounding.get(item.key) is item:
                del self._sounding[item.key]
            off = self._off_of.pop(item.seq, None)
            if off is not None:
                self._cancelled.add(off.seq)

    def forget_sounding(self, lane: str | None = None) -> None:
        """The port vanished: notes it had (all, or ``lane``'s) are gone with it; nothing is
        owed to the new one."""
        for key, on in list(self._sounding.items()):
            if lane is None or lane_of(on) == lane:
                del self._sounding[key]

    # -- external clock --------------------------------------------------------------------
    def external_message(self, data: Sequence[int], arrival_ns: int) -> None:
        """Follow an incoming realtime message (clock, start, stop, continue, song position)
        that arrived at ``arrival_ns`` on the wall clock."""
        if not data or self.source != "external":
            return
        status = data[0]
        if status == CLOCK:
            self._external_tick(arrival_ns)
        elif status == START:
            self._position = 0
            self._arm_external(0, self.wall_to_timeline(arrival_ns))
        elif status == CONTINUE:
            # a follower already playing plays on (a master's repeated Continue, or one after a
            # Song Position that has located it)
            if not self.playing:
                self._arm_external(self._position, self.wall_to_timeline(arrival_ns))
        elif status == STOP:
            self.stop(self.wall_to_timeline(arrival_ns))
        elif status == SONG_POSITION and len(data) >= 3:
            position = parse_song_position(data[1], data[2])
            if self.playing:
                self._locate_external(position, self.wall_to_timeline(arrival_ns))
            else:
                self._position = position

    def _arm_external(self, position: int, arrival_ns: int) -> None:
        self.flush(arrival_ns, drop_queued=True)
        self.playing = True
        self._t0 = None  # the grid is anchored by the first pulse that follows
        self._next_step = position
        self._next_tick = position * TICKS_PER_STEP
        self._last_tick = None
        self._tick_samples.clear()

    def _locate_external(self, position: int, now_ns: int) -> None:
        """A Song Position while playing (a DAW's loop jump or locate): the next pulse plays
        ``position``. The pulses received are renumbered as if they had led there, so the
        tempo fit and the grid's anchor carry on; the notes rendered ahead for the old place
        are dropped and the sounding ones end. A pointer to where the next pulse falls anyway
        (some masters repeat it as they play) changes nothing."""
        target = position * TICKS_PER_STEP
        if self._last_tick is None:  # no pulse since the start: the first one is ``position``
            self._next_step, self._next_tick = position, target
            return
        shift = target - 1 - self._last_tick
        if shift == 0:
            return
        self.flush(now_ns, drop_queued=True)
        self._renumber_pulses(shift)
        self._next_step, self._next_tick = position, target
        if self._t0 is not None:
            self._t0 -= round(shift / TICKS_PER_STEP * self._step_len)

    def _external_tick(self, arrival_ns: int) -> None:
        """One clock pulse at ``arrival_ns`` (wall clock). The tempo is fitted on the wall
        clock, as the master keeps it (and as reported); the grid is then laid on the loop's
        timeline, so a timeline drifting or stepping against the wall moves the grid's
        anchor, not the fitted tempo."""
        index = self._next_tick if self._last_tick is None else self._last_tick + 1
        self._last_tick = index
        self._refit_on_a_jump(index, arrival_ns)
        self._tick_samples.append((index, arrival_ns))
        timeline_per_wall = (self.wall_to_timeline(arrival_ns + 1_000_000_000)
                             - self.wall_to_timeline(arrival_ns)) / 1e9
        line = fitted_line(self._tick_samples)  # wall ns per pulse
        if line is None:  # one pulse (or none in order): the grid at the tempo it had, on them
            period = self._step_len / TICKS_PER_STEP / timeline_per_wall
            n = len(self._tick_samples)
            mean_i = sum(i for i, _ in self._tick_samples) / n
            mean_t = sum(t for _, t in self._tick_samples) / n
        else:
            period, mean_i, mean_t = line
            self.external_bpm = 60e9 / (period * TICKS_PER_STEP * STEPS_PER_QUARTER)
        if not self.playing:
            return
        # Anchor the grid on the fitted line through the recent pulses (smooths jitter).
        self._step_len = period * TICKS_PER_STEP * timeline_per_wall
        self._t0 = self.wall_to_timeline(round(mean_t - mean_i * period))

    def _renumber_pulses(self, shift: int) -> None:
        """The pulses received counted ``shift`` pulses on, arrivals kept: the tempo they
        measure carries over to the place the clock was moved to."""
        for k in range(len(self._tick_samples)):
            index, arrival = self._tick_samples[k]
            self._tick_samples[k] = (index + shift, arrival)
        if self._last_tick is not None:
            self._last_tick += shift

    def _refit_on_a_jump(self, index: int, arrival_ns: int) -> None:
        """The tempo fit spans 2 beats, which averages jitter away but, after a tempo change
        or a pause of the master, lays the grid off its pulses for as long (notes were up to
        238 ms early after 120 -> 60 BPM). :data:`JUMP_PULSES` pulses in a row off the fitted line
        by more than :data:`JUMP_SHARE` of a pulse start the fit again from those pulses."""
        line = fitted_line(self._tick_samples)
        if line is None:
            return
        period, mean_i, mean_t = line
        off = abs(arrival_ns - (mean_t + (index - mean_i) * period)) > JUMP_SHARE * period
        self._off_line = self._off_line + 1 if off else 0
        if self._off_line >= JUMP_PULSES:
            recent = list(self._tick_samples)[-(JUMP_PULSES - 1):]  # the jump's pulses; this one follows
            self._tick_samples.clear()
            self._tick_samples.extend(recent)
            self._off_line = 0

    # -- a shared timeline (Ableton Link: engine.sync.link_follow) ----------------------------
    def follow_grid(self, t0_ns: int, step_len_ns: float, tempo_bpm: float) -> None:
        """Put the grid where a timeline kept elsewhere says (``link`` source): step ``s`` at
        ``t0 + s × step_len`` from now on. Steps already rendered (a render margin ahead at
        most) keep their times; later ones follow a peer's tempo change or phase correction."""
        self._t0, self._step_len, self.followed_bpm = int(t0_ns), float(step_len_ns), float(tempo_bpm)

    def join(self, first_step: int, now_ns: int) -> None:
        """Play on the followed grid from ``first_step``: where the shared timeline is, so the
        pattern lands in phase with the other players (not from its own top)."""
        if self.playing:
            self.stop(now_ns)
        self.playing = True
        self._next_step = first_step
        self._next_tick = first_step * TICKS_PER_STEP

    # -- time ------------------------------------------------------------------------------
    def due(self, now_ns: int, ahead_ns: int = 0, lane: str | None = None) -> list[Timed]:
        """Messages whose deadline is ≤ ``now_ns + ahead_ns``, in send order (``lane``: that
        lane's only, the other's wait for their own call).

        Steps whose render time has come are rendered first; returned note-ons and note-offs
        are counted as sent (the caller must send everything it gets).
        """
        limit = now_ns + ahead_ns
        if lane is None:
            out, self._now_out = self._now_out, []
        else:
            out = [i for i in self._now_out if lane_of(i) == lane]
            self._now_out = [i for i in self._now_out if lane_of(i) != lane]
        if self.playing and self._t0 is not None:
            while self._may_render(self._next_step) and self._render_time(self._next_step) <= limit:
                self._render(self._next_step, now_ns)
                self._next_step += 1
            if self.clock_out and self.source == "internal":
                while self._tick_deadline(self._next_tick) <= limit:
                    self._push(self._tick_deadline(self._next_tick), (CLOCK,), "clock")
                    self._next_tick += 1
        heaps = [self._heaps[lane]] if lane is not None else list(self._heaps.values())
        while True:
            heap = min((h for h in heaps if h and h[0].deadline_ns <= limit), key=lambda h: h[0],
                       default=None)
            if heap is None:
                return out
            item = heapq.heappop(heap)
            if item.seq in self._cancelled:
                self._cancelled.discard(item.seq)
                self._melody_queued.pop(item.seq, None)
                continue
            self._mark_sent(item)
            out.append(item)

    def next_wake_ns(self) -> int | None:
        """When :meth:`due` will next return something (None = nothing scheduled)."""
        if self._now_out:
            return -(2**62)
        candidates = [heap[0].deadline_ns for heap in self._heaps.values() if heap]
        if self.playing and self._t0 is not None:
            if self._may_render(self._next_step):
                candidates.append(self._render_time(self._next_step))
            if self.clock_out and self.source == "internal":
                candidates.append(self._tick_deadline(self._next_tick))
        return min(candidates) if candidates else None

    def current_step(self, now_ns: int) -> int:
        """The grid step playing at ``now_ns`` (the resume position when stopped; following a
        clock, never past the step of the last pulse received: a silent master holds it)."""
        if not self.playing or self._t0 is None:
            return self._position
        step = max(0, math.floor((now_ns - self._t0) / self._step_len))
        if self.source == "external" and self._last_tick is not None:
            step = min(step, self._last_tick // TICKS_PER_STEP)
        return step

    def clock_silent(self, now_ns: int) -> bool:
        """Following a clock while playing, and no pulse for :data:`CLOCK_SILENT_STEPS` steps
        (at least :data:`CLOCK_SILENT_MIN_NS`): the master stopped sending without a Stop.
        Nothing new is rendered meanwhile (one step past the last pulse at most)."""
        if self.source != "external" or not self.playing or not self._tick_samples:
            return False
        last_wall = self._tick_samples[-1][1]
        quiet = max(CLOCK_SILENT_MIN_NS, CLOCK_SILENT_STEPS * self._step_len)
        return self.wall_to_timeline(last_wall) + quiet < now_ns

    def step_deadline(self, step: int) -> int | None:
        """Grid time of ``step`` under the current anchor (None before the grid exists)."""
        return None if self._t0 is None else deadline_ns(self._t0, step, self._step_len)

    @property
    def tempo_bpm(self) -> float:
        if self.source == "external":
            return self.external_bpm or 0.0
        if self.source == "link":
            return self.followed_bpm
        return self.controls.tempo_bpm

    @property
    def sounding(self) -> int:
        """Notes sent whose note-off is still owed."""
        return len(self._sounding)

    # -- internals -------------------------------------------------------------------------
    @staticmethod
    def _check_source(source: str) -> None:
        if source not in ("internal", "external", "link"):
            raise ValueError(f"clock source must be 'internal', 'external' or 'link', got {source!r}")

    def _begin(self, position: int, now_ns: int) -> None:
        self.playing = True
        self._next_step = position
        self._next_tick = position * TICKS_PER_STEP
        if self.source == "external":
            self._t0 = None  # anchored by the next pulse, which becomes this position's first
            if self._last_tick is not None:
                # pulses counted while stopped (a master sends clock when it does not play)
                # would put the grid's start back where the clock began and every step since
                # would be due at once: renumber them, keeping the tempo they measure
                self._renumber_pulses(self._next_tick - 1 - self._last_tick)
            return
        early = 0.0
        if self.table is not None:
            early = -earliest_shift(self.table, position, self.controls) * self._step_len
        lead = START_LEAD_NS + RENDER_MARGIN_NS + math.ceil(early)
        self._t0 = now_ns + lead - round(position * self._step_len)

    def _may_render(self, step: int) -> bool:
        if self.source != "external":
            return True
        # Following a clock: never run more than one step ahead of the pulses received.
        last = self._last_tick
        return last is not None and step * TICKS_PER_STEP <= last + TICKS_PER_STEP

    def _tick_deadline(self, tick: int) -> int:
        assert self._t0 is not None
        return deadline_ns(self._t0, tick / TICKS_PER_STEP, self._step_len)

    def _table_for(self, step: int, now_ns: int) -> StepTable | None:
        if self._pending is not None:
            table, quantize = self._pending
            phrase = phrase_steps(table.steps, self.table.steps) if self.table else table.steps
            if step >= boundary_step(step, quantize, table.steps_per_bar, phrase):
                self._pending = None
                self._apply_pattern(table, now_ns)
        return self.table

    def _melody_at(self, step: int) -> tuple[MelodyTable | None, bool]:
        """The melody playing ``step`` and whether it takes over there (a pending one due)."""
        if self._melody_pending is not None:
            table, quantize, controls = self._melody_pending
            assert table is not None and self.melody is not None
            phrase = phrase_steps(table.steps, self.melody.steps)
            if step >= boundary_step(step, quantize, table.steps_per_bar, phrase):
                self._melody_pending = None
                self.melody = table
                if controls is not None:  # the old melody's notes, sent under the old ones, are cut here
                    self.melody_controls = controls
                return table, True
        return self.melody, False

    def _render_melody(self, step: int, now_ns: int) -> None:
        table, entering = self._melody_at(step)
        if table is None:
            return
        if entering:  # the old melody's note ends where the new one begins
            self._cut_melody(self._swung_time(step))
        self._place_melody(table, step, entering)

    def _swung_time(self, step: int) -> int:
        """When the melody's step ``step`` sounds: its grid time, moved by the swing."""
        return deadline_ns(self._t0 or 0, step + swing_shift(step, self.controls.swing), self._step_len)

    def _place_melody(self, table: MelodyTable, step: int, entering: bool) -> None:
        """Queue the note ``table`` starts at ``step`` under the melody controls of now."""
        mc = self.melody_controls
        note = melody_note_for_step(table, step, mc, entering)
        if note is None:
            return
        when = self._swung_time(step)
        self._cut_melody(when)  # monophonic: never two melody notes at once
        off_at = self._swung_time(step + note.length_steps)
        key = MELODY_KEY | mc.channel << 7 | note.pitch
        on = self._push(when, note_on(mc.channel, note.pitch, note.velocity), "on", key=key,
                        voice=MELODY_VOICE)
        off = self._push(off_at, note_off(mc.channel, note.pitch), "off", key=key, pair=on.seq,
                         voice=MELODY_VOICE)
        self._off_of[on.seq] = off
        self._melody_off = off
        self._melody_queued[on.seq] = (table, step, entering)

    def _replace_queued_melody(self) -> None:
        """Melody notes rendered under the old controls but not sent yet (a swung note is
        rendered up to 3/4 of a step before it is due) are rendered again under the new ones:
        muted, they never sound; moved, they sound where the lane now plays."""
        queued, self._melody_queued = self._melody_queued, {}
        for seq, (table, step, entering) in sorted(queued.items(), key=lambda item: item[1][1]):
            off = self._off_of.pop(seq, None)
            self._cancelled.add(seq)
            if off is not None:
                self._cancelled.add(off.seq)
            self._place_melody(table, step, entering)

    def _cut_melody(self, when: int) -> None:
        """The melody note still queued to end after ``when`` ends at ``when`` instead."""
        off = self._melody_off
        if off is None or self._off_of.get(off.pair) is not off or off.deadline_ns <= when:
            return
        self._cancelled.add(off.seq)
        cut = self._push(when, off.data, "off", key=off.key, pair=off.pair, voice=MELODY_VOICE)
        self._off_of[off.pair] = cut
        self._melody_off = cut

    def _apply_melody(self, table: MelodyTable | None, now_ns: int) -> None:
        self.melody = table
        self.flush(now_ns, lane="melody")

    def _render_time(self, step: int) -> int:
        assert self._t0 is not None
        grid = deadline_ns(self._t0, step, self._step_len)
        # Early enough for the playing pattern and for one waiting to take over here.
        early = 0.0
        for table in (self.table, self._pending[0] if self._pending else None):
            if table is not None:
                early = min(early, earliest_shift(table, step, self.controls))
        return grid + math.floor(early * self._step_len) - RENDER_MARGIN_NS

    def _render(self, step: int, now_ns: int) -> None:
        self._render_drums(step, now_ns)
        self._render_melody(step, now_ns)

    def _render_drums(self, step: int, now_ns: int) -> None:
        table = self._table_for(step, now_ns)
        if table is None:
            return
        c = self.controls
        grid = deadline_ns(self._t0 or 0, step, self._step_len)
        gate = round(c.gate_steps * self._step_len)
        for event in notes_for_step(table, step, c):
            when = grid + round(event.shift_steps * self._step_len)
            key = c.channel << 7 | event.note
            last_on = self._last_on.get(key)
            if last_on is not None and when <= last_on:
                continue  # crosses an earlier-rendered hit of the same drum: keep that one
            sounding_off = self._latest_off(key)
            if sounding_off is not None and sounding_off.deadline_ns > when:
                # Same drum again before its previous note ended: end that one first.
                self._cancelled.add(sounding_off.seq)
                self._push(when, note_off(c.channel, event.note), "off", key=key,
                           pair=sounding_off.pair, voice=sounding_off.voice)
            on = self._push(when, note_on(c.channel, event.note, event.velocity), "on", key=key,
                            voice=event.voice)
            self._off_of[on.seq] = self._push(when + gate, note_off(c.channel, event.note), "off",
                                              key=key, pair=on.seq, voice=event.voice)
            self._last_on[key] = when

    def _latest_off(self, key: int) -> Timed | None:
        best = None
        for off in self._off_of.values():
            if off.key == key and off.seq not in self._cancelled and (
                    best is None or off.deadline_ns > best.deadline_ns):
                best = off
        return best

    def _apply_pattern(self, table: StepTable, now_ns: int) -> None:
        self.table = table
        # Voices the new pattern never plays would otherwise ring until their gate ends.
        self.flush(now_ns, keep_voices=table.voices_used)

    def _pending_apply_now(self, now_ns: int) -> None:
        if self._pending is not None:
            table, _ = self._pending
            self._pending = None
            self._apply_pattern(table, now_ns)
        if self._melody_pending is not None:
            melody, _, controls = self._melody_pending
            self._melody_pending = None
            if controls is not None:
                self.set_melody_controls(controls, now_ns)
            self._apply_melody(melody, now_ns)

    def _mark_sent(self, item: Timed) -> None:
        if item.kind == "on":
            self._sounding[item.key] = item
            self._melody_queued.pop(item.seq, None)
        elif item.kind == "off":
            on = self._sounding.get(item.key)
            if on is not None and on.seq == item.pair:
                del self._sounding[item.key]
            self._off_of.pop(item.pair, None)

    def _push(self, deadline: int, data: tuple[int, ...], kind: str, **meta: int) -> Timed:
        self._seq += 1
        item = Timed(int(deadline), self._seq, data, kind, **meta)
        heapq.heappush(self._heaps[lane_of(item)], item)
        return item

    def _emit(self, now_ns: int, data: tuple[int, ...], kind: str, **meta: int) -> None:
        self._seq += 1
        self._now_out.append(Timed(int(now_ns), self._seq, data, kind, **meta, immediate=True))


def lane_of(item: Timed) -> str:
    """``melody`` for the melody lane's messages, ``drums`` for everything else."""
    return "melody" if item.voice == MELODY_VOICE else "drums"


def with_tempo(controls: Controls, tempo_bpm: float) -> Controls:
    """``controls`` with another tempo (validated)."""
    return replace(controls, tempo_bpm=float(tempo_bpm))
