"""Presets: the sound of a moment (knobs, latent point, note map, tempo) as a JSON file.

Pure data and file I/O, no Qt: the controller turns the window's state into a
:class:`Preset` and back. Files are written atomically and never hold code.

Format (``format`` = "groovefader-preset", ``version`` = 1)::

    {"format": "groovefader-preset", "version": 1,
     "knobs": {"density": 1.2, ...}, "temperature": 0.0,
     "z": [..Z floats..] | null, "pad": [x, y], "pad_mode": "plane",
     "note_map": {"name": "General MIDI", "notes": [36, 38, ...]},
     "tempo_bpm": 120.0, "swing": 0.0, "groove": 1.0, "velocity_scale": 1.0,
     "melody": {..the melody lane's settings and tune..} | null,
     "held": ["density", ...], "turning": "density" | null, "anchor": {"density": 0.4, ...} | null}

``held``, ``turning`` and ``anchor`` are the knobs' state (see
:class:`~engine.generation.knobs.KnobState`): the decode of ``z`` meets the same targets as
when the preset was saved, so it plays the same groove. A preset without them holds the
knobs it moves off their defaults.

A preset edited by hand or cut short still loads: every valid field is used, the rest is
named in :attr:`Preset.ignored` for the window to show.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.tolerant_json import finite_number, loads_object
from engine.errors import GrooveFaderError
from engine.music.drums import GM_NOTE_MAP, NoteMap
from models.atomic import atomic_write
from models.pathnames import one_line, shown

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
    # the melody lane (app.melody_lane.MelodyLane.settings(): its settings and tune), checked
    # field by field where it is restored; None: the preset leaves the lane as it is
    melody: dict[str, Any] | None = None
    # the knobs' state (KnobState.held, .turning, .anchor); held None: the preset does not say
    held: tuple[str, ...] | None = None
    turning: str | None = None
    anchor: dict[str, float] | None = None
    # what the file held that could not be used (wrong type, out of range, unknown); not saved
    ignored: tuple[str, ...] = field(default=(), compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "knobs": dict(self.knobs),
                "temperature": self.temperature, "z": list(self.z) if self.z is not None else None,
                "pad": list(self.pad), "pad_mode": self.pad_mode,
                "note_map": json.loads(self.note_map.to_json()), "tempo_bpm": self.tempo_bpm,
                "swing": self.swing, "groove": self.groove, "velocity_scale": self.velocity_scale,
                "melody": self.melody, "held": None if self.held is None else list(self.held),
                "turning": self.turning, "anchor": None if self.anchor is None else dict(self.anchor)}


FIELDS = ("format", "version", "knobs", "temperature", "z", "pad", "pad_mode", "note_map", "tempo_bpm",
          "swing", "groove", "velocity_scale", "melody", "held", "turning", "anchor")
RANGES = {"temperature": (0.0, 5.0), "tempo_bpm": (30.0, 300.0), "swing": (0.0, 0.75), "groove": (0.0, 1.0),
          "velocity_scale": (0.0, 2.0)}
PAD_MODES = ("plane", "corners")


def preset_from_json(data: Any) -> Preset:
    """A preset from parsed JSON: every valid field is taken; a field of the wrong type or out
    of range, and an unknown field, is left out and named in :attr:`Preset.ignored` (a left-out
    field keeps its default).

    Raises:
        ValueError: not a groovefader preset at all (no format marker) or another version.
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"not a groovefader preset (format must be {FORMAT!r})")
    if data.get("version") != VERSION:
        raise ValueError(f"preset version {data.get('version')!r} not supported (expected {VERSION})")
    ignored: list[str] = [f"{shown(str(k))} (unknown)" for k in data if k not in FIELDS]
    fields: dict[str, Any] = {}

    def skip(key: str, why: str) -> None:
        ignored.append(f"{key} ({one_line(why)[:80]})")

    def numbers(key: str, default: Any = None) -> None:
        """``fields[key]``: the file's object of finite numbers (each bad one skipped); null
        stands for "none" only for a field whose ``default`` is None."""
        values = data.get(key, default)
        if isinstance(values, dict):
            fields[key] = {}
            for name, value in values.items():
                try:
                    fields[key][str(name)] = finite_number(value, -math.inf, math.inf)
                except ValueError as err:
                    skip(f"{key}.{shown(str(name))}", str(err))
        elif values is not None or default is not None:
            skip(key, "not an object")

    numbers("knobs", {})
    for key, (low, high) in RANGES.items():
        if key in data:
            try:
                fields[key] = finite_number(data[key], low, high)
            except ValueError as err:
                skip(key, str(err))
    z = data.get("z")
    if z is not None:
        try:
            if not isinstance(z, list) or not z:
                raise ValueError("not a list of numbers")
            fields["z"] = tuple(finite_number(v, -math.inf, math.inf) for v in z)
        except ValueError as err:
            skip("z", str(err))
    if "pad" in data:
        pad = data["pad"]
        try:
            if not isinstance(pad, list) or len(pad) != 2:
                raise ValueError("not [x, y]")
            x, y = (finite_number(v, -math.inf, math.inf) for v in pad)
            fields["pad"] = (max(-1.0, min(1.0, x)), max(-1.0, min(1.0, y)))
        except ValueError as err:
            skip("pad", str(err))
    if "pad_mode" in data:
        if data["pad_mode"] in PAD_MODES:
            fields["pad_mode"] = data["pad_mode"]
        else:
            skip("pad_mode", f"{data['pad_mode']!r} is not 'plane' or 'corners'")
    if "note_map" in data:
        try:
            fields["note_map"] = NoteMap.from_json(json.dumps(data["note_map"]))
        except (ValueError, TypeError, KeyError) as err:
            skip("note_map", f"not a note map: {err}")

    def typed(name: str, fits: Callable[[Any], bool], why: str,
              make: Callable[[Any], Any] = lambda v: v) -> None:
        """``fields[name]`` from the file when it is there and ``fits``; else skipped, ``why``."""
        value = data.get(name)
        if value is not None and fits(value):
            fields[name] = make(value)
        elif value is not None:
            skip(name, why)

    typed("held", lambda v: isinstance(v, list) and all(isinstance(n, str) for n in v),
          "not a list of knob names", tuple)
    typed("turning", lambda v: isinstance(v, str), "not a knob name")
    numbers("anchor")
    typed("melody", lambda v: isinstance(v, dict), "not an object")
    return Preset(**fields, ignored=tuple(ignored))


def save_preset(path: str | os.PathLike[str], preset: Preset) -> Path:
    """Write ``preset`` atomically (tmp file + os.replace)."""
    path = Path(path)
    try:
        atomic_write(path, lambda f: json.dump(preset.to_json(), f, indent=2), text=True)
    except OSError as err:
        raise PresetError(f"{shown(path)}: cannot write preset: {err.strerror or err}") from err
    return path


MAX_PRESET_BYTES = 1_000_000  # a preset with a melody of 16 bars is under 10 KB


def load_preset(path: str | os.PathLike[str]) -> Preset:
    """Read a preset file: what is valid is loaded, what is not is named in ``ignored``
    (a file cut short is read up to its last complete entry).

    Raises:
        PresetError: unreadable, not a groovefader preset, or another version (names the
            file and the reason, one line).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_PRESET_BYTES:  # a preset is a few KB; repairing a huge file would hold the window
            raise PresetError(f"{shown(path)}: not a preset ({size / 1e6:.1f} MB; a preset is a few KB)")
        data, note = loads_object(path.read_bytes().decode("utf-8", errors="replace"))
        preset = preset_from_json(data)
    except OSError as err:
        raise PresetError(f"{shown(path)}: cannot read preset: {err.strerror or err}") from err
    except ValueError as err:  # JSONDecodeError is a ValueError
        raise PresetError(f"{shown(path)}: not a valid preset: {one_line(str(err))}") from err
    if note:
        return dataclasses.replace(preset, ignored=(note, *preset.ignored))
    return preset
