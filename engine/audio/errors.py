"""The audio side's errors, one line each, in words a musician can act on."""

from __future__ import annotations

from engine.errors import GrooveFaderError


class AudioError(GrooveFaderError):
    """No audio output could be opened (no device, no PortAudio, no JACK): MIDI plays on."""


class AudioFileError(GrooveFaderError):
    """An audio file could not be written or read (names the file and the reason)."""
