"""Binds the transport's kit controls to the sequencer, and remembers them.

The kit's settings (:class:`engine.audio.settings.AudioSettings`) go to the clock process
through the :class:`~app.sequencer_link.SequencerLink`; what comes back in the status
(where the kit plays, or one line saying why it cannot) is shown on the control, and an
error once in the status bar. MIDI is never affected.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QObject, QSettings

from app.sequencer_link import LinkStatus
from app.transport_state import TransportState
from app.widgets.audio_controls import AudioControls
from engine.audio.kit import KitMix
from engine.audio.settings import AudioSettings
from engine.realtime.messages import SetAudio


class AudioBinding(QObject):
    """Owns the kit's settings; ``settings`` (QSettings) keeps them between runs."""

    def __init__(self, controls: AudioControls, transport: TransportState, settings: QSettings,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controls, self.transport, self.store = controls, transport, settings
        enabled = str(settings.value("audio/enabled", "false")).lower() == "true"
        try:
            volume = min(1.0, max(0.0, float(settings.value("audio/volume", 0.8))))
        except (TypeError, ValueError):
            volume = 0.8
        self.settings = AudioSettings(enabled, KitMix(volume=volume))
        self.report = ""
        controls.set_state(enabled, volume)
        controls.enabledChanged.connect(self.set_enabled)
        controls.volumeChanged.connect(self.set_volume)
        transport.status.connect(self._on_status)
        if enabled:
            self._send()

    def set_enabled(self, on: bool) -> None:
        self._apply(replace(self.settings, enabled=bool(on)))

    def set_volume(self, volume: float) -> None:
        self._apply(replace(self.settings, mix=replace(self.settings.mix, volume=float(volume))))

    def _apply(self, settings: AudioSettings) -> None:
        self.settings = settings
        self.store.setValue("audio/enabled", "true" if settings.enabled else "false")
        self.store.setValue("audio/volume", settings.mix.volume)
        self.controls.set_state(settings.enabled, settings.mix.volume)
        self._send()

    def _send(self) -> None:
        link = self.transport.link
        if link is not None:
            link.post_audio(SetAudio(self.settings))

    def _on_status(self, status: LinkStatus) -> None:
        line = getattr(status, "audio", "")
        if line == self.report:
            return
        self.report = line
        self.controls.set_report(line)
        if "MIDI plays on" in line:
            self.transport.message.emit("warning", line)
