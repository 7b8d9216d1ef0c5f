"""Presets: the sound of a moment (knobs, latent point, note map, tempo) as a JSON file.

Pure data and file I/O, no Qt: the controller turns the window's state into a
:class:`Preset` and back. Files are written atomically and never hold code.

Format (``format`` = "groovefader-preset", ``version`` = 1)::

    {"format": "groovefader-preset", "version": 1,
     "knobs": {"density": 1.2, ...}, "temperature": 0.0,
     "z": [..Z floats..] | null, "pad": [x, y], "pad_mode": "plane",
     "note_map": {"name": "General MIDI", "notes": [36, 38, ...]},
     "tempo_bpm": 120.0, "swing": 0.0, "groove": 1.0, "velocity_scale": 1.0}
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import GrooveFaderError
from engine.music.drums import GM_NOTE_MAP, NoteMap
from models.atomic import atomic_write

FORMAT = "groovefader-preset"
VERSION = 1


class PresetError(GrooveFaderError):
    """A preset file that cannot be read or written (names the file and the reason)."""


@dataclass(frozen=True)
class Preset:
    knobs: dict[str, float] = field(default_factory=dict)
    temperature: float = 0.0
    z: tuple[float, ...] | None = None
    pad: tuple[float, float] = (0.0, 0.0)
    pad_mode: str = "plane"
    note_map: NoteMap = GM_NOTE_MAP
    tempo_bpm: float = 120.0
    swing: float = 0.0
    groove: float = 1.0
    velocity_scale: float = 1.0

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "knobs": dict(self.knobs),
                "temperature": self.temperature, "z": list(self.z) if self.z is not None else None,
                "pad": list(self.pad), "pad_mode": self.pad_mode,
                "note_map": json.loads(self.note_map.to_json()), "tempo_bpm": self.tempo_bpm,
                "swing": self.swing, "groove": self.groove, "velocity_scale": self.velocity_scale}


def _number(data: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = data.get(key, default)
    if not isinstance(value, int | float) or not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{key} must be a number in [{low}, {high}], got {value!r}")
    return float(value)


def preset_from_json(data: Any) -> Preset:
    """Validate a parsed preset. Raises ValueError with the reason."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"not a groovefader preset (format must be {FORMAT!r})")
    if data.get("version") != VERSION:
        raise ValueError(f"preset version {data.get('version')!r} not supported (expected {VERSION})")
    knobs = data.get("knobs", {})
    if not isinstance(knobs, dict) or not all(
            isinstance(k, str) and isinstance(v, int | float) and math.isfinite(v) for k, v in knobs.items()):
        raise ValueError("knobs must map names to numbers")
    z = data.get("z")
    if z is not None and (not isinstance(z, list)
                          or not all(isinstance(v, int | float) and math.isfinite(v) for v in z)):
        raise ValueError("z must be a list of numbers or null")
    pad = data.get("pad", [0.0, 0.0])
    if not (isinstance(pad, list) and len(pad) == 2 and all(isinstance(v, int | float) for v in pad)):
        raise ValueError("pad must be [x, y]")
    mode = data.get("pad_mode", "plane")
    if mode not in ("plane", "corners"):
        raise ValueError(f"pad_mode must be 'plane' or 'corners', got {mode!r}")
    note_map = GM_NOTE_MAP
    if "note_map" in data:
        note_map = NoteMap.from_json(json.dumps(data["note_map"]))
    return Preset(knobs={k: float(v) for k, v in knobs.items()},
                  temperature=_number(data, "temperature", 0.0, 0.0, 5.0),
                  z=tuple(float(v) for v in z) if z is not None else None,
                  pad=(max(-1.0, min(1.0, float(pad[0]))), max(-1.0, min(1.0, float(pad[1])))),
                  pad_mode=mode, note_map=note_map,
                  tempo_bpm=_number(data, "tempo_bpm", 120.0, 30.0, 300.0),
                  swing=_number(data, "swing", 0.0, 0.0, 0.75),
                  groove=_number(data, "groove", 1.0, 0.0, 1.0),
                  velocity_scale=_number(data, "velocity_scale", 1.0, 0.0, 2.0))


def save_preset(path: str | os.PathLike[str], preset: Preset) -> Path:
    """Write ``preset`` atomically (tmp file + os.replace)."""
    path = Path(path)
    try:
        atomic_write(path, lambda f: json.dump(preset.to_json(), f, indent=2), text=True)
    except OSError as err:
        raise PresetError(f"{path}: cannot write preset: {err.strerror or err}") from err
    return path


def load_preset(path: str | os.PathLike[str]) -> Preset:
    """Read and validate a preset file. Raises PresetError naming the file and the reason."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return preset_from_json(data)
    except OSError as err:
        raise PresetError(f"{path}: cannot read preset: {err.strerror or err}") from err
    except (ValueError, UnicodeDecodeError) as err:  # JSONDecodeError is a ValueError
        raise PresetError(f"{path}: not a valid preset: {err}") from err
