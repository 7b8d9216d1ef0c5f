"""What the transport says about the built-in kit: on or off, where, how loud."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.audio.kit import KitMix

AUDIO_OUTPUTS: tuple[str, ...] = ("auto", "jack", "device")


@dataclass(frozen=True)
class AudioSettings:
    """One immutable snapshot, sent to the clock process (:class:`engine.realtime.messages.SetAudio`).

    Args:
        enabled: play the kit.
        mix: per-voice levels, pans and the master volume.
        output: ``jack`` = the kit's own JACK client, its MIDI input fed by the JACK MIDI
            output (each hit on its note's frame); ``device`` = the system's audio device
            through PortAudio; ``auto`` = JACK where the MIDI output is a JACK port the kit
            can follow (the sample-accurate output), else the device.
        soundfont: an SF2 file whose drum kit plays instead of the built-in one (None: the
            built-in kit); one that cannot be used is reported in one line, and the built-in
            kit plays.
    """

    enabled: bool = False
    mix: KitMix = field(default_factory=KitMix)
    output: str = "auto"
    soundfont: str | None = None

    def __post_init__(self) -> None:
        if self.output not in AUDIO_OUTPUTS:
            raise ValueError(f"audio output must be one of {', '.join(AUDIO_OUTPUTS)}, got {self.output!r}")
        if not isinstance(self.mix, KitMix):
            raise TypeError(f"mix must be a KitMix, got {type(self.mix).__name__}")
        if self.soundfont is not None and not isinstance(self.soundfont, str):
            raise TypeError(f"soundfont must be a file name or None, got {type(self.soundfont).__name__}")
