"""Binds the transport's sync controls (Link toggle, tap tempo) to the transport state.

Link is the ``link`` clock source (the clock combo shows it too): the toggle sets it, and
turning it off goes back to the internal clock. While Link is on the session's tempo is the
tempo — a peer's change shows in the tempo box, and a tempo set here (typed or tapped) is
proposed to the session by the clock process.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject

from app.sequencer_link import LinkStatus
from app.transport_state import TransportState
from app.widgets.sync_controls import SyncControls
from engine.sync.tap_tempo import TapTempo

TEMPO_SHOWN_EPS = 0.05  # BPM: a session tempo this close to the box's is not re-shown
# after a tempo set here, the session's tempo is not shown back for this long: reports made
# before the clock process had it would otherwise undo it
ECHO_S = 0.6


class SyncBinding(QObject):
    """Owns the tap-tempo counter; wires ``controls`` to ``transport`` both ways."""

    def __init__(self, controls: SyncControls, transport: TransportState,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controls, self.transport = controls, transport
        self.taps = TapTempo()
        self._set_here_at = -1e9  # monotonic s of the last tempo set here
        self._following = False  # this binding is showing the session's tempo
        controls.linkToggled.connect(self.set_link)
        controls.tapped.connect(lambda: self.tap(time.perf_counter_ns()))
        transport.settingsChanged.connect(self._on_settings)
        transport.status.connect(self._on_status)
        self._on_settings({"clock_source": transport["clock_source"]})

    def set_link(self, on: bool) -> None:
        self.transport.set(clock_source="link" if on else "internal")

    def tap(self, now_ns: int) -> float | None:
        """A tap at ``now_ns``; once two taps give a tempo it is set (and shared, on Link)."""
        bpm = self.taps.tap(now_ns)
        if bpm is not None:
            self.transport.set(tempo_bpm=round(bpm, 1))
        return bpm

    def _on_settings(self, changed: dict) -> None:
        if "tempo_bpm" in changed and not self._following:
            self._set_here_at = time.monotonic()
        if "clock_source" in changed:
            self.controls.set_link(changed["clock_source"] == "link")

    def _on_status(self, status: LinkStatus) -> None:
        on = self.transport["clock_source"] == "link"
        self.controls.set_link(on, status.link_peers if on else None)
        if on and status.link_peers is not None and status.bpm > 0 and \
                abs(status.bpm - self.transport["tempo_bpm"]) >= TEMPO_SHOWN_EPS and \
                time.monotonic() - self._set_here_at > ECHO_S:
            # the session's tempo (a peer's): shown, and the tempo further control changes carry
            self._following = True
            try:
                self.transport.set(tempo_bpm=round(status.bpm, 1))
            finally:
                self._following = False
