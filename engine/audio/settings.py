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
        output: ``jack`` = audio ports on the sample-accurate JACK MIDI client (the hits on
            the MIDI notes' frames); ``device`` = the system's audio device through
            PortAudio; ``auto`` = JACK where the MIDI output is the sample-accurate JACK
            client, else the device.
    """

    enabled: bool = False
    mix: KitMix = field(default_factory=KitMix)
    output: str = "auto"

    def __post_init__(self) -> None:
        if self.output not in AUDIO_OUTPUTS:
            raise ValueError(f"audio output must be one of {', '.join(AUDIO_OUTPUTS)}, got {self.output!r}")
        if not isinstance(self.mix, KitMix):
            raise TypeError(f"mix must be a KitMix, got {type(self.mix).__name__}")
