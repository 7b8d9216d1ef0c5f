"""The nine drum voices, the General-MIDI pitch table and the editable output note map.

The voice classes and pitch table follow Magenta's 9-class drum mapping used by MusicVAE
and GrooVAE (``drums_encoder_decoder.DEFAULT_DRUM_TYPE_PITCHES``), so patterns read from
the Groove MIDI Dataset (Roland TD-11 pitches) and from General-MIDI files land on the
same voices. Every GM drum pitch 35–81 maps to exactly one voice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from models.vocabulary import NUM_VOICES, Voice

GM_DRUM_CHANNEL = 9  # zero-based MIDI channel 10, the General-MIDI percussion channel


__all__ = ["GM_DRUM_CHANNEL", "GM_NOTE_MAP", "NUM_VOICES", "NoteMap", "Voice", "VOICE_LABELS"]

VOICE_LABELS: tuple[str, ...] = ("Kick", "Snare", "Closed HH", "Open HH", "Low tom",
                                 "Mid tom", "High tom", "Crash", "Ride")

# Pitches per voice; the first pitch of each row is the GM default output note.
_VOICE_PITCHES: dict[Voice, tuple[int, ...]] = {
    # bass drum
    Voice.KICK: (36, 35),
    # snare drum, rimshots, claps, sticks, cabasa-like snaps
    Voice.SNARE: (38, 27, 28, 31, 32, 33, 34, 37, 39, 40, 56, 65, 66, 75, 85),
    # closed hi-hat, pedal hat, shakers and other short metallic/wooden ticks
    Voice.CLOSED_HAT: (42, 44, 54, 68, 69, 70, 71, 73, 78, 80, 22),
    # open hi-hat and sustained shakers
    Voice.OPEN_HAT: (46, 67, 72, 74, 79, 81, 26),
    # low tom, low conga/timbale
    Voice.LOW_TOM: (45, 29, 41, 43, 61, 64, 84),
    # mid tom
    Voice.MID_TOM: (48, 47, 60, 63, 77, 86, 87),
    # high tom
    Voice.HIGH_TOM: (50, 30, 62, 76, 83),
    # crash, china, splash
    Voice.CRASH: (49, 52, 55, 57, 58),
    # ride, ride bell
    Voice.RIDE: (51, 53, 59, 82),
}

PITCH_TO_VOICE: Mapping[int, Voice] = MappingProxyType(
    {pitch: voice for voice, pitches in _VOICE_PITCHES.items() for pitch in pitches}
)


def voice_for_pitch(pitch: int) -> Voice | None:
    """The voice a MIDI drum pitch plays, or None for pitches outside the drum table."""
    return PITCH_TO_VOICE.get(int(pitch))


@dataclass(frozen=True)
class NoteMap:
    """Output MIDI note per voice; users edit it to match their DAW's drum rack.

    Args:
        notes: nine MIDI note numbers (0–127) in :class:`Voice` order.
        name: a label shown in the GUI and stored in presets.
    """

    notes: tuple[int, ...]
    name: str = "General MIDI"

    def __post_init__(self) -> None:
        if len(self.notes) != NUM_VOICES:
            raise ValueError(f"a note map needs {NUM_VOICES} notes, got {len(self.notes)}")
        for note in self.notes:
            if not isinstance(note, int) or not 0 <= note <= 127:
                raise ValueError(f"MIDI note must be an int in 0..127, got {note!r}")

    def note(self, voice: int) -> int:
        return self.notes[int(voice)]

    def with_note(self, voice: int, note: int) -> NoteMap:
        """A copy with one voice remapped (the map itself is immutable)."""
        notes = list(self.notes)
        notes[int(voice)] = note
        return NoteMap(tuple(notes), name="Custom")

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "notes": list(self.notes)})

    @classmethod
    def from_json(cls, text: str) -> NoteMap:
        try:
            data = json.loads(text)
            notes = data["notes"]
            if not all(type(n) is int for n in notes):  # 36.0, true or 1e999 are no MIDI notes
                raise TypeError(f"notes must be whole numbers, got {notes!r}"[:120])
            return cls(tuple(notes), name=str(data.get("name", "Custom")))
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(f"not a note map: {err}") from err


GM_NOTE_MAP = NoteMap(tuple(_VOICE_PITCHES[v][0] for v in Voice), "General MIDI")

NOTE_MAP_PRESETS: Mapping[str, NoteMap] = MappingProxyType({
    "General MIDI": GM_NOTE_MAP,
    # Ableton Drum Rack's default 16-pad layout starting at C1 = 36.
    "Ableton Drum Rack": NoteMap((36, 38, 42, 46, 41, 43, 45, 49, 51), "Ableton Drum Rack"),
    # Roland TD-style kits (the Groove MIDI Dataset's recording kit): edge hats and bell ride.
    "Roland TD": NoteMap((36, 38, 42, 46, 43, 47, 48, 49, 51), "Roland TD"),
    # Native Instruments Battery / Maschine-style pads laid out chromatically from C1.
    "Chromatic C1": NoteMap(tuple(range(36, 36 + NUM_VOICES)), "Chromatic C1"),
})
