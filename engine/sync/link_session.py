"""Ableton Link: the tempo, beat phase and start/stop shared with every Link app on the network.

:class:`LinkSession` is one Link peer (the ``LinkPython-extern`` binding, imported as
``link``, wraps Ableton's own C++ library; chosen over ``aalink`` because it exposes Link's
session state itself — ``beatAtTime`` / ``timeAtBeat`` / ``timeForIsPlaying`` — which a
loop that schedules against absolute deadlines needs, where ``aalink`` offers asyncio waits
for beats). The clock loop never asks Link anything near a deadline: it takes a
:class:`LinkSnapshot` now and then (a few µs: Link's session state is captured under its
lock and turned into a straight line), and between snapshots "when is beat b" and "which
beat is it at t" are arithmetic on that line.

Times: Link's clock is ``CLOCK_MONOTONIC_RAW`` in µs on Linux, the loop's is
``perf_counter_ns`` (``CLOCK_MONOTONIC``, which NTP may slew by up to 500 ppm); each snapshot
reads the two together (the tightest of a few brackets), so a snapshot's times are
``perf_counter_ns`` values.

Beats are quarter notes; Link peers share the phase within :data:`QUANTUM_BEATS` (one bar of
4/4): a bar line here is a bar line in Live. The beat count itself is each peer's own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.errors import GrooveFaderError

QUANTUM_BEATS = 4.0  # the phase Link peers agree on: one bar of 4/4, in beats (quarter notes)
LINE_SPAN_US = 60_000_000  # the snapshot's slope is read over this span (Link's beats are µ-beats)
ANCHOR_TRIES = 5  # wall/Link clock readings per snapshot: the tightest bracket wins
NS_PER_US = 1_000


class LinkUnavailable(GrooveFaderError):
    """Link cannot run here (the ``link`` module is missing)."""


@dataclass(frozen=True)
class LinkSnapshot:
    """Link's timeline as it stood at one moment, in ``perf_counter_ns`` time.

    Beat ``b`` lies at ``anchor_ns + (b − anchor_beat) × ns_per_beat`` until the session
    changes (a tempo change, a peer's correction): take a new snapshot to see that.

    Attributes:
        anchor_ns: when the snapshot was taken (perf_counter ns).
        anchor_beat: Link's beat then (this peer's count; its phase within
            :data:`QUANTUM_BEATS` is the session's).
        ns_per_beat: the timeline's slope, as Link's beat/time mapping runs (it can differ
            from ``60e9 / tempo_bpm`` by Link's clock-drift compensation).
        tempo_bpm: the session tempo (the stable value for display).
        playing: the session's transport (start/stop sync).
        play_ns: when ``playing`` took (or takes) effect, perf_counter ns.
        peers: other Link apps in the session.
    """

    anchor_ns: int
    anchor_beat: float
    ns_per_beat: float
    tempo_bpm: float
    playing: bool
    play_ns: int
    peers: int

    def beat_at(self, ns: int) -> float:
        """This peer's Link beat at ``ns`` (perf_counter)."""
        return self.anchor_beat + (ns - self.anchor_ns) / self.ns_per_beat

    def time_at_beat(self, beat: float) -> int:
        """When (perf_counter ns) beat ``beat`` comes."""
        return self.anchor_ns + round((beat - self.anchor_beat) * self.ns_per_beat)

    def phase_at(self, ns: int, quantum: float = QUANTUM_BEATS) -> float:
        """The session's phase at ``ns``, in beats within ``[0, quantum)``."""
        return self.beat_at(ns) % quantum

    def bar_start(self, beat: float, quantum: float = QUANTUM_BEATS) -> float:
        """The latest bar line (multiple of ``quantum``) at or before ``beat``."""
        return math.floor(beat / quantum + 1e-9) * quantum


def _import_link() -> Any:
    try:
        import link
    except ImportError as err:
        raise LinkUnavailable("Ableton Link needs the LinkPython-extern package "
                              "(pip install LinkPython-extern)") from err
    return link


class LinkSession:
    """One Link peer: joins the session when enabled, shares tempo, phase and start/stop.

    Args:
        tempo_bpm: the tempo this peer proposes when it finds nobody else.
        enabled: join the session now (network discovery starts: UDP multicast on every
            interface).
        link_module: the ``link`` module (tests may pass another with the same API).
        wall: the loop's clock (``perf_counter_ns``).

    Raises:
        LinkUnavailable: the binding is not installed.
    """

    def __init__(self, tempo_bpm: float = 120.0, *, enabled: bool = True, link_module: Any = None,
                 wall: Callable[[], int] = time.perf_counter_ns) -> None:
        module = link_module if link_module is not None else _import_link()
        self._link = module.Link(float(tempo_bpm))
        self._link.startStopSyncEnabled = True
        self._clock = self._link.clock()
        self._wall = wall
        if enabled:
            self._link.enabled = True

    @property
    def enabled(self) -> bool:
        return bool(self._link.enabled)

    @enabled.setter
    def enabled(self, on: bool) -> None:
        self._link.enabled = bool(on)

    @property
    def peers(self) -> int:
        return int(self._link.numPeers())

    def _pair(self) -> tuple[int, int]:
        """``(perf_counter_ns, link_us)`` read back to back: middle of the tightest bracket."""
        best: tuple[int, int, int] | None = None
        for _ in range(ANCHOR_TRIES):
            a = self._wall()
            us = self._clock.micros()
            b = self._wall()
            if best is None or b - a < best[0]:
                best = (b - a, (a + b) // 2, us)
        assert best is not None
        return best[1], best[2]

    def link_us(self, wall_ns: int) -> int:
        """Link's clock (µs) at ``wall_ns`` (perf_counter)."""
        wall, us = self._pair()
        return us + round((wall_ns - wall) / NS_PER_US)

    def snapshot(self) -> LinkSnapshot:
        """Link's timeline now, as a straight line in perf_counter time (a few µs)."""
        wall, us = self._pair()
        state = self._link.captureAppSessionState()
        beat = state.beatAtTime(us, QUANTUM_BEATS)
        # the slope from two beats a minute apart: Link keeps beats in millionths, so a
        # slope from one beat (or from timeAtBeat's whole µs) would be off by parts per 10⁴
        ns_per_beat = LINE_SPAN_US * NS_PER_US / (state.beatAtTime(us + LINE_SPAN_US, QUANTUM_BEATS) - beat)
        play_us = state.timeForIsPlaying()
        return LinkSnapshot(anchor_ns=wall, anchor_beat=beat, ns_per_beat=ns_per_beat,
                            tempo_bpm=float(state.tempo()), playing=bool(state.isPlaying()),
                            play_ns=wall + (play_us - us) * NS_PER_US, peers=self.peers)

    def set_tempo(self, tempo_bpm: float) -> None:
        """Propose a tempo to the session (every peer follows), from now."""
        state = self._link.captureAppSessionState()
        state.setTempo(float(tempo_bpm), self._clock.micros())
        self._link.commitAppSessionState(state)

    def set_playing(self, playing: bool, at_ns: int | None = None) -> None:
        """Start or stop the session's transport at ``at_ns`` (perf_counter; default now).

        A start asks for a bar line (beat 0 of the quantum) at the start: alone, the
        timeline jumps so the bar begins then; with peers, the first beat waits for the
        session's next bar line, so everyone starts in phase (Link's quantized launch).
        """
        state = self._link.captureAppSessionState()
        when = self._clock.micros() if at_ns is None else self.link_us(at_ns)
        if playing:
            state.setIsPlayingAndRequestBeatAtTime(True, when, 0.0, QUANTUM_BEATS)
        else:
            state.setIsPlaying(False, when)
        self._link.commitAppSessionState(state)

    def request_bar_at_start(self) -> None:
        """Beat 0 where the session's transport started, quantized to its bar (what every
        peer does when it sees a start); nothing while stopped."""
        state = self._link.captureAppSessionState()
        state.requestBeatAtStartPlayingTime(0.0, QUANTUM_BEATS)
        self._link.commitAppSessionState(state)

    def close(self) -> None:
        """Leave the session (peers see this one go)."""
        self._link.enabled = False
