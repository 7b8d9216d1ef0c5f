"""A tiny SF2 soundfont written from scratch, for tests (no soundfont is shipped).

SoundFont 2.01 layout: ``RIFF sfbk`` with ``LIST INFO`` (version, engine, name), ``LIST
sdta`` (``smpl``: 16-bit mono samples, each followed by 46 zero frames) and ``LIST pdta``
(presets → bags → generators → instruments → bags → generators → sample headers, each list
closed by a terminal record). Each drum key gets its own sample: a decaying sine at a
frequency of its own, so a test can tell from the audio which sound played.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

RATE = 48_000
GEN_KEY_RANGE, GEN_INSTRUMENT, GEN_SAMPLE_ID, GEN_ROOT_KEY = 43, 41, 53, 58


def _chunk(tag: bytes, data: bytes) -> bytes:
    pad = b"\0" if len(data) % 2 else b""
    return tag + struct.pack("<I", len(data)) + data + pad


def _list(kind: bytes, *chunks: bytes) -> bytes:
    return _chunk(b"LIST", kind + b"".join(chunks))


def _name(text: str) -> bytes:
    return text.encode("ascii")[:19].ljust(20, b"\0")


def tone(freq_hz: float, seconds: float = 0.2, decay_s: float = 0.05) -> np.ndarray:
    """A decaying sine starting at its peak (the hit is frame 0)."""
    t = np.arange(round(RATE * seconds)) / RATE
    return np.cos(2 * np.pi * freq_hz * t) * np.exp(-t / decay_s)


def write_sf2(path: Path, sounds: dict[int, np.ndarray], *, bank: int = 128, preset: int = 0,
              name: str = "Test kit") -> Path:
    """Write a soundfont whose one preset (``bank``/``preset``) plays ``sounds[key]`` at key ``key``.

    Args:
        sounds: MIDI key → mono float samples in [-1, 1] at :data:`RATE`.
    """
    pcm, headers, igen, ibag = b"", b"", b"", b""
    at = 0
    for i, (key, sound) in enumerate(sorted(sounds.items())):
        ints = np.rint(np.clip(sound, -1, 1) * 32767).astype("<i2")
        pcm += ints.tobytes() + b"\0\0" * 46
        start, end = at, at + len(ints)
        at = end + 46
        headers += _name(f"s{key}") + struct.pack("<IIIIIBbHH", start, end, start, end, RATE, key, 0, 0, 1)
        ibag += struct.pack("<HH", len(igen) // 4, 0)
        igen += struct.pack("<HBB", GEN_KEY_RANGE, key, key)
        igen += struct.pack("<Hh", GEN_ROOT_KEY, key)
        igen += struct.pack("<HH", GEN_SAMPLE_ID, i)
    headers += _name("EOS") + bytes(26)
    ibag += struct.pack("<HH", len(igen) // 4, 0)
    igen += bytes(4)
    inst = _name("Drums") + struct.pack("<H", 0) + _name("EOI") + struct.pack("<H", len(ibag) // 4 - 1)
    pgen = struct.pack("<HH", GEN_INSTRUMENT, 0) + bytes(4)
    pbag = struct.pack("<HH", 0, 0) + struct.pack("<HH", 1, 0)
    phdr = (_name(name) + struct.pack("<HHHIII", preset, bank, 0, 0, 0, 0)
            + _name("EOP") + struct.pack("<HHHIII", 0, 0, 1, 0, 0, 0))
    mod = bytes(10)
    body = b"sfbk" + _list(b"INFO", _chunk(b"ifil", struct.pack("<HH", 2, 1)), _chunk(b"isng", b"EMU8000\0"),
                           _chunk(b"INAM", _name(name)[:-1] + b"\0")) \
        + _list(b"sdta", _chunk(b"smpl", pcm)) \
        + _list(b"pdta", _chunk(b"phdr", phdr), _chunk(b"pbag", pbag), _chunk(b"pmod", mod),
                _chunk(b"pgen", pgen), _chunk(b"inst", inst), _chunk(b"ibag", ibag), _chunk(b"imod", mod),
                _chunk(b"igen", igen), _chunk(b"shdr", headers))
    path = Path(path)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path
