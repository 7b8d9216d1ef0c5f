"""Transport and MIDI state: tempo, swing, groove, ports, play/stop, MIDI learn.

:class:`TransportState` owns the :class:`~app.sequencer_link.SequencerLink` (sequencer and
ports on their own thread) and the settings the sequencer plays with. It knows nothing of
the model: MIDI learn turns a bound control change into ``ccMoved(target, fraction)`` and
the pattern controller maps that onto the knob's range.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.midi_learn import CCBindings
from app.sequencer_link import LinkStatus, SequencerLink
from engine.music.drums import GM_NOTE_MAP, NoteMap
from engine.music.pattern import Pattern

QUANTIZE = ("step", "beat", "bar")
CLOCK_SOURCES = ("internal", "external", "link")
# settings that are the sequencer's controls (same names); quantize applies per pattern,
# clock_source has its own command
_CONTROLS = ("tempo_bpm", "swing", "groove", "velocity_scale", "note_map")
PLAYHEAD_MS = 33  # the grid's playhead is redrawn at ~30 Hz between clock reports
_RANGES = {"tempo_bpm": (30.0, 300.0), "swing": (0.0, 0.75), "groove": (0.0, 1.0),
           "velocity_scale": (0.0, 2.0)}


def estimate_step(step: int, reported_at_s: float, now_s: float, tempo_bpm: float) -> int:
    """Song position now, from the last reported ``step`` and the tempo (16th steps).

    The clock process reports about every 100 ms; at 300 BPM a step lasts 50 ms, so the
    playhead moves on between reports. Extrapolation never looks further than one report
    period plus a step ahead, so a stopped or slowed clock cannot run away with it.
    """
    steps_per_s = tempo_bpm * 4 / 60.0
    ahead = max(0.0, min(now_s - reported_at_s, 0.15)) * steps_per_s
    return int(step + math.floor(ahead))


class TransportState(QObject):
    """Signals:
        settingsChanged(dict): the settings that changed (for the transport widget).
        status(LinkStatus): port state, playing, playhead step.
        portsListed(list, list): outputs, inputs.
        learnChanged(str): the knob waiting for a CC, or "".
        bindingsChanged(dict): knob → label such as "CC 74 ch 1".
        ccMoved(str, float): a bound control moved its knob to this fraction (0..1) of its range.
        playhead(object): the song position (int) while playing, None when stopped.
        message(str, str): level, text.
    """

    settingsChanged = Signal(object)
    status = Signal(object)
    portsListed = Signal(list, list)
    learnChanged = Signal(str)
    bindingsChanged = Signal(object)
    ccMoved = Signal(str, float)
    playhead = Signal(object)
    message = Signal(str, str)

    def __init__(self, link: SequencerLink | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.values: dict[str, Any] = {
            "tempo_bpm": 120.0, "swing": 0.0, "groove": 1.0, "velocity_scale": 1.0,
            "quantize": "bar", "clock_source": "internal", "note_map": GM_NOTE_MAP,
            "output": ("groovefader", "", True), "input": ("", "", False)}
        self.playing = False
        self.bindings = CCBindings()
        self._targets: list[str] = []
        self._last_status: LinkStatus | None = None
        self._reported_at = 0.0
        self._playhead_timer = QTimer(self)
        self._playhead_timer.setInterval(PLAYHEAD_MS)
        self._playhead_timer.timeout.connect(self._tick_playhead)
        self.link = link
        if link is not None:
            link.statusChanged.connect(self._on_status)
            link.portsListed.connect(self.portsListed)
            link.ccReceived.connect(self.handle_cc)
            link.error.connect(lambda text: self.message.emit("error", text))

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    # -- settings --------------------------------------------------------------------------
    def set(self, **values: Any) -> None:
        """Apply settings (tempo_bpm, swing, groove, velocity_scale, quantize, clock_source,
        note_map) to the sequencer and announce the ones that changed.

        Raises:
            KeyError: an unknown setting; ValueError: a value out of range.
        """
        changed = {}
        for key, value in values.items():
            if key not in self.values or key in ("output", "input"):
                raise KeyError(f"unknown transport setting {key!r}")
            if key in _RANGES:
                lo, hi = _RANGES[key]
                if not lo <= float(value) <= hi:
                    raise ValueError(f"{key} must lie in [{lo}, {hi}], got {value!r}")
                value = float(value)
            elif key == "quantize" and value not in QUANTIZE:
                raise ValueError(f"quantize must be one of {QUANTIZE}, got {value!r}")
            elif key == "clock_source" and value not in CLOCK_SOURCES:
                raise ValueError(f"clock source must be one of {CLOCK_SOURCES}, got {value!r}")
            elif key == "note_map" and not isinstance(value, NoteMap):
                raise ValueError(f"note_map must be a NoteMap, got {type(value).__name__}")
            if self.values[key] == value:
                continue
            self.values[key] = value
            changed[key] = value
            if key == "clock_source":
                self._post_clock_source()
        controls = {key: value for key, value in changed.items() if key in _CONTROLS}
        if controls and self.link is not None:
            self.link.update_controls(**controls)
        if changed:
            self.settingsChanged.emit(changed)
        if "note_map" in changed:
            nm = changed["note_map"]
            self.message.emit("info", f"Note map: {nm.name} ({', '.join(str(n) for n in nm.notes)})")

    def send_pattern(self, pattern: Pattern) -> None:
        """Hand ``pattern`` to the sequencer; it takes over at the next step/beat/bar."""
        if self.link is not None:
            self.link.set_pattern(pattern, self.values["quantize"])

    def _post_clock_source(self) -> None:
        """External clock follows the chosen MIDI input (its own virtual port when virtual)."""
        source = self.values["clock_source"]
        name, api, virtual = self.values["input"]
        if source == "external" and not name:
            self.message.emit("warning", "External clock: choose a MIDI input in the transport.")
        if self.link is not None:
            self.link.set_clock_source(source, (f"{name}-clock" if virtual else name) or None,
                                       api or None, virtual)

    # -- play and ports --------------------------------------------------------------------
    def set_playing(self, playing: bool) -> None:
        self.playing = bool(playing)
        if self.link is not None:
            self.link.set_playing(self.playing)

    def toggle_playing(self) -> None:
        self.set_playing(not self.playing)

    def set_output(self, name: str, api: str, virtual: bool) -> None:
        self.values["output"] = (name, api, virtual)
        if self.link is not None:
            self.link.set_port(name, api, virtual)

    def set_input(self, name: str, api: str, virtual: bool) -> None:
        """Listen on ``name`` for MIDI learn (and clock, when external); "" closes it."""
        self.values["input"] = (name, api, virtual)
        if self.link is not None:
            self.link.open_input(name, api, virtual)
        if self.values["clock_source"] == "external":
            self._post_clock_source()

    def refresh_ports(self) -> None:
        if self.link is not None:
            self.link.list_ports(self.values["output"][1])

    def _on_status(self, status: LinkStatus) -> None:
        last = self._last_status
        if last is not None and status.playing != last.playing:
            self.playing = status.playing  # the engine changed (external clock, port loss)
        self._last_status, self._reported_at = status, time.monotonic()
        if status.playing and not self._playhead_timer.isActive():
            self._playhead_timer.start()
        elif not status.playing and self._playhead_timer.isActive():
            self._playhead_timer.stop()
            self.playhead.emit(None)
        self.status.emit(status)

    def _tick_playhead(self) -> None:
        st = self._last_status
        if st is None or not st.playing or st.step is None:
            return
        self.playhead.emit(estimate_step(st.step, self._reported_at, time.monotonic(),
                                         st.bpm or self.values["tempo_bpm"]))

    # -- MIDI learn ------------------------------------------------------------------------
    def set_targets(self, names: list[str]) -> None:
        """The knobs that can be learned (the model's attributes + temperature)."""
        self._targets = list(names)
        self._emit_bindings()

    def learn(self, target: str) -> None:
        """Arm ``target``: the next control change on the MIDI input binds to it."""
        self.bindings.arm(target)
        self.learnChanged.emit(target)
        if not self.values["input"][0]:
            self.message.emit("info", "MIDI learn: choose a MIDI input in the transport, then move a "
                                      "control.")
        else:
            self.message.emit("info", f"MIDI learn: move a control to bind it to {target}.")

    def forget(self, target: str) -> None:
        self.bindings.forget(target)
        self._emit_bindings()

    def handle_cc(self, channel: int, cc: int, value: int) -> None:
        """An incoming control change (MIDI input thread → queued to the GUI thread)."""
        action = self.bindings.handle(channel, cc, value)
        if action is None:
            return
        if action.learned:
            self.learnChanged.emit("")
            self._emit_bindings()
            self.message.emit("info", f"{action.target} ← CC {cc} (channel {channel + 1})")
        self.ccMoved.emit(action.target, action.fraction)

    def _emit_bindings(self) -> None:
        self.bindingsChanged.emit({n: self.bindings.label_of(n) for n in self._targets})

    # -- persistence -----------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """Plain values for QSettings."""
        v = self.values
        return {"tempo_bpm": v["tempo_bpm"], "swing": v["swing"], "groove": v["groove"],
                "velocity_scale": v["velocity_scale"], "quantize": v["quantize"],
                "clock_source": v["clock_source"], "note_map": v["note_map"].to_json(),
                "output": list(v["output"]), "input": list(v["input"]),
                "bindings": self.bindings.to_json()}

    def restore_settings(self, values: Mapping[str, Any]) -> None:
        """Inverse of :meth:`settings`; anything malformed is skipped (settings outlive versions)."""
        update: dict[str, Any] = {}
        for key, (lo, hi) in _RANGES.items():
            with contextlib.suppress(KeyError, TypeError, ValueError):
                value = float(values[key])
                if lo <= value <= hi:
                    update[key] = value
        if values.get("quantize") in QUANTIZE:
            update["quantize"] = values["quantize"]
        if values.get("clock_source") in CLOCK_SOURCES:
            update["clock_source"] = values["clock_source"]
        with contextlib.suppress(KeyError, ValueError):
            update["note_map"] = NoteMap.from_json(str(values["note_map"]))
        for key in ("output", "input"):
            v = values.get(key)
            if isinstance(v, list | tuple) and len(v) == 3:
                self.values[key] = (str(v[0]), str(v[1]), v[2] in (True, "true", 1))
        self.set(**update)
        if isinstance(values.get("bindings"), str):
            self.bindings = CCBindings.from_json(values["bindings"])
            self._emit_bindings()

    def close(self) -> None:
        """Stop the link; the sequencer sends all note-offs as it closes."""
        self._playhead_timer.stop()
        if self.link is not None:
            self.link.close()
