"""Per-voice mute and solo, as a mixing desk has them.

A voice is silent when it is muted, or when any voice is soloed and it is not. The
sequencer only needs the result (:attr:`engine.realtime.steps.Controls.muted_voices`), so
MIDI and the built-in kit drop the same notes; the two sets themselves are what the grid's
row headers show and what MIDI learn toggles.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from models.vocabulary import NUM_VOICES


def check_voices(voices: Iterable[int]) -> frozenset[int]:
    """``voices`` as a frozenset of voice indices 0–8.

    Raises:
        ValueError: an index outside 0–8 or not an int; TypeError: not iterable.
    """
    out = frozenset(voices)
    for v in out:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < NUM_VOICES:
            raise ValueError(f"voices are ints in 0..{NUM_VOICES - 1}, got {v!r}")
    return out


@dataclass(frozen=True)
class VoiceMutes:
    """Which voices are muted and which soloed (indices in :class:`~models.vocabulary.Voice` order)."""

    muted: frozenset[int] = frozenset()
    soloed: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "muted", check_voices(self.muted))
        object.__setattr__(self, "soloed", check_voices(self.soloed))

    def silenced(self) -> frozenset[int]:
        """The voices that play no note: the muted ones, and with any solo every voice not soloed."""
        if self.soloed:
            return frozenset(range(NUM_VOICES)) - self.soloed | self.muted
        return self.muted

    def toggle_mute(self, voice: int) -> VoiceMutes:
        return VoiceMutes(self.muted ^ {voice}, self.soloed)

    def toggle_solo(self, voice: int) -> VoiceMutes:
        return VoiceMutes(self.muted, self.soloed ^ {voice})

    def to_json(self) -> dict[str, list[int]]:
        return {"muted": sorted(self.muted), "soloed": sorted(self.soloed)}

    @classmethod
    def from_json(cls, data: object) -> VoiceMutes:
        """Inverse of :meth:`to_json`; anything malformed gives no mutes (settings may be old)."""
        try:
            return cls(frozenset(data["muted"]), frozenset(data["soloed"]))  # type: ignore[index]
        except (KeyError, TypeError, ValueError):
            return cls()
