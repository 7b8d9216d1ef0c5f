"""Binds the grid's mute/solo buttons (and their MIDI-learned controls) to the sequencer.

The voices a mute or a solo silences go to the clock process as one control
(:attr:`engine.realtime.steps.Controls.muted_voices`), so MIDI and the built-in kit drop
the same notes. A learned control sets its button: a value of 64 or more is on, below is
off (a toggling pad latches; a momentary one mutes while held).
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from app.transport_state import TransportState
from app.widgets.voice_strip import VoiceStrip, target_name
from engine.music.drums import NUM_VOICES
from engine.music.voice_mutes import VoiceMutes

_TARGETS = {target_name(kind, v): (kind, v) for kind in ("mute", "solo") for v in range(NUM_VOICES)}


class VoiceMuteBinding(QObject):
    """Owns the mute/solo state; wires ``strip`` and the transport's MIDI learn to the sequencer."""

    def __init__(self, strip: VoiceStrip, transport: TransportState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.strip, self.transport = strip, transport
        self.mutes = VoiceMutes()
        strip.muteClicked.connect(lambda v: self.apply(self.mutes.toggle_mute(v)))
        strip.soloClicked.connect(lambda v: self.apply(self.mutes.toggle_solo(v)))
        strip.learnRequested.connect(transport.learn)
        strip.forgetRequested.connect(transport.forget)
        transport.ccMoved.connect(self._on_cc)
        transport.bindingsChanged.connect(lambda _labels: self._show_bindings())
        self._show_bindings()

    def silenced(self) -> frozenset[int]:
        """The voices that play no note now (for the audio export too)."""
        return self.mutes.silenced()

    def apply(self, mutes: VoiceMutes) -> None:
        if mutes == self.mutes:
            return
        self.mutes = mutes
        self.strip.set_mutes(mutes)
        link = self.transport.link
        if link is not None:
            link.update_controls(muted_voices=mutes.silenced())

    def _on_cc(self, target: str, fraction: float) -> None:
        hit = _TARGETS.get(target)
        if hit is None:
            return  # a knob's
        kind, voice = hit
        on = fraction >= 64 / 127
        current = self.mutes.muted if kind == "mute" else self.mutes.soloed
        if (voice in current) != on:
            self.apply(self.mutes.toggle_mute(voice) if kind == "mute" else self.mutes.toggle_solo(voice))
        self._show_bindings()  # a control just learned shows in the tooltip

    def _show_bindings(self) -> None:
        self.strip.set_bindings({t: self.transport.bindings.label_of(t) for t in _TARGETS})
