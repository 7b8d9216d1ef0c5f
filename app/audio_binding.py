"""Binds the transport's kit controls (and the kit mix dialog) to the sequencer, and
remembers them.

The kit's settings (:class:`engine.audio.settings.AudioSettings`) go to the clock process
through the :class:`~app.sequencer_link.SequencerLink`; what comes back in the status
(where the kit plays, or one line saying why it cannot) is shown on the control, and an
error once in the status bar. MIDI is never affected. The kit starts on until the user
turns it off (a new user hears Play); on JACK's sample-accurate output it plays in a JACK
client of its own fed by the MIDI port (see :func:`app.sequencer_link.kit_frames`). The
mix is kept in the settings file (:func:`stored_mix`), where the audio export reads it too,
and so is the soundfont whose drum kit plays instead of the built-in one
(:func:`stored_soundfont`; one that cannot be used is one line in the status bar, and the
built-in kit plays).
"""

from __future__ import annotations

import json
from dataclasses import replace

from PySide6.QtCore import QObject, QSettings

from app.sequencer_link import LinkStatus
from app.transport_state import TransportState
from app.widgets.audio_controls import AudioControls
from app.widgets.kit_mix import KitMixDialog
from engine.audio.kit import KitMix
from engine.audio.settings import AudioSettings
from engine.realtime.messages import SetAudio


def stored_mix(store: QSettings) -> KitMix:
    """The kit's mix as last saved; anything missing or malformed gives the defaults."""
    try:
        volume = min(1.0, max(0.0, float(store.value("audio/volume", 0.8))))
    except (TypeError, ValueError):
        volume = 0.8
    try:
        levels = tuple(float(v) for v in json.loads(str(store.value("audio/levels", "null"))))
        pans = tuple(float(v) for v in json.loads(str(store.value("audio/pans", "null"))))
        return KitMix(levels, pans, volume)
    except (TypeError, ValueError):
        return KitMix(volume=volume)


def stored_soundfont(store: QSettings) -> str | None:
    """The SF2 file the kit plays, or None for the built-in kit."""
    value = store.value("audio/soundfont", "")
    return str(value) if isinstance(value, str) and value else None


def store_mix(store: QSettings, mix: KitMix) -> None:
    store.setValue("audio/volume", mix.volume)
    store.setValue("audio/levels", json.dumps(list(mix.levels)))
    store.setValue("audio/pans", json.dumps(list(mix.pans)))


class AudioBinding(QObject):
    """Owns the kit's settings; ``settings`` (QSettings) keeps them between runs."""

    def __init__(self, controls: AudioControls, transport: TransportState, settings: QSettings,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controls, self.transport, self.store = controls, transport, settings
        # on for a new user (pressing Play makes a sound with no DAW listening); a saved
        # choice is kept
        enabled = str(settings.value("audio/enabled", "true")).lower() != "false"
        self.settings = AudioSettings(enabled, stored_mix(settings), soundfont=stored_soundfont(settings))
        self.report = ""
        self.dialog: KitMixDialog | None = None
        controls.set_state(enabled, self.settings.mix.volume)
        controls.set_soundfont(self.settings.soundfont)
        controls.soundfontChosen.connect(self.set_soundfont)
        controls.enabledChanged.connect(self.set_enabled)
        controls.volumeChanged.connect(self.set_volume)
        controls.mixRequested.connect(self.show_mix)
        transport.status.connect(self._on_status)
        if enabled:
            self._send()

    def set_enabled(self, on: bool) -> None:
        self._apply(replace(self.settings, enabled=bool(on)))

    def set_volume(self, volume: float) -> None:
        self._apply(replace(self.settings, mix=replace(self.settings.mix, volume=float(volume))))

    def set_soundfont(self, path: str | None) -> None:
        """The kit's sounds from this SF2 file ("" or None: the built-in kit)."""
        soundfont = str(path) if path else None
        self.store.setValue("audio/soundfont", soundfont or "")
        self.controls.set_soundfont(soundfont)
        self._apply(replace(self.settings, soundfont=soundfont))

    def set_mix(self, mix: KitMix) -> None:
        """New levels and pans (the volume stays the transport's)."""
        self._apply(replace(self.settings, mix=replace(mix, volume=self.settings.mix.volume)))

    def show_mix(self) -> KitMixDialog:
        """The kit mix dialog (one, non-modal; changes apply as the faders move)."""
        if self.dialog is None:
            self.dialog = KitMixDialog(self.settings.mix, self.controls.window())
            self.dialog.mixChanged.connect(self.set_mix)
        self.dialog.set_mix(self.settings.mix)
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def _apply(self, settings: AudioSettings) -> None:
        self.settings = settings
        self.store.setValue("audio/enabled", "true" if settings.enabled else "false")
        store_mix(self.store, settings.mix)
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
        if "MIDI plays on" in line or "playing the built-in kit" in line:
            self.transport.message.emit("warning", line)
