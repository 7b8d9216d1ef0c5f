"""Mutation fuzzing of the MIDI reader: real files damaged the ways disks and tools damage them.

Each mutant is a real file with one mutation: bytes or bits flipped, the file cut short, a
range cut out, duplicated or filled with zeros, random bytes inserted, a chunk length, the
track count or the time division lied about, a delta time or a meta/sysex length made huge,
or two files spliced. :func:`run_one` reads it as the app and the dataset builder do
(``read_drum_file``, then the clip concatenated), or as the melody lane reads a clip
(``read_melody_file``), and names the outcome: ``read``, ``refused`` (the domain error,
:class:`MidiFileError`), ``unexpected`` (any other exception: a bug) or ``hang`` (over
:data:`HANG_S`). Shared by the test suite (a few hundred mutants) and
``bench/midi_fuzz.py`` (tens of thousands).
"""

from __future__ import annotations

import os
import signal
import struct
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import MidiFileError
from engine.music.melody import read_melody_file
from engine.music.midifile import MidiReadError, read_drum_file
from engine.music.pattern import Pattern

HANG_S = 10.0  # a read this long is a hang (the target is ≤ 1 s per file)


class _Hang(Exception):
    pass


def _chunks(data: bytes) -> list[tuple[int, bytes, int]]:
    """``(offset, type, declared length)`` of the chunks a well-formed prefix declares."""
    out, pos = [], 0
    while pos + 8 <= len(data):
        kind, length = data[pos:pos + 4], struct.unpack(">I", data[pos + 4:pos + 8])[0]
        out.append((pos, kind, length))
        pos += 8 + length
    return out


def _events(data: bytes, rng: np.random.Generator) -> int:
    """An offset inside some track's events (after its 8-byte header), or 14."""
    tracks = [(o, n) for o, k, n in _chunks(data) if k == b"MTrk" and n > 0]
    if not tracks:
        return min(14, len(data))
    off, n = tracks[rng.integers(len(tracks))]
    return int(off + 8 + rng.integers(min(n, max(1, len(data) - off - 8))))


def _put(data: bytes, pos: int, chunk: bytes) -> bytes:
    return data[:pos] + chunk + data[pos + len(chunk):]


def _insert(d: bytes, pos: int, chunk: bytes, rng: np.random.Generator) -> bytes:
    """``chunk`` inserted at ``pos``; half the time the track's length is fixed up to match,
    so the parser reads on into the events instead of stopping at the broken length."""
    out = d[:pos] + chunk + d[pos:]
    if rng.random() < 0.5:
        for off, kind, n in _chunks(d):
            if kind == b"MTrk" and off + 8 <= pos <= off + 8 + n:
                out = _put(out, off + 4, struct.pack(">I", (n + len(chunk)) & 0xFFFFFFFF))
                break
    return out


def _find_all(d: bytes, marker: bytes) -> list[int]:
    out, pos = [], d.find(marker)
    while pos >= 0:
        out.append(pos)
        pos = d.find(marker, pos + 1)
    return out


def _flip_bytes(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    b = bytearray(d)
    for p in rng.integers(0, len(b), rng.integers(1, 9)):
        b[p] = rng.integers(256)
    return bytes(b)


def _flip_bits(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    b = bytearray(d)
    for p in rng.integers(0, len(b), rng.integers(1, 17)):
        b[p] ^= 1 << int(rng.integers(8))
    return bytes(b)


def _truncate(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    return d[:rng.integers(0, len(d))]


def _cut_range(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    a = int(rng.integers(0, len(d)))
    return d[:a] + d[a + int(rng.integers(1, 200)):]


def _duplicate_range(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    a = int(rng.integers(0, len(d)))
    return d[:a] + d[a:a + int(rng.integers(1, 200))] + d[a:]


def _zero_fill(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    a, n = int(rng.integers(0, len(d))), int(rng.integers(1, 64))
    return d[:a] + bytes(min(n, len(d) - a)) + d[a + n:]


def _insert_random(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    return _insert(d, _events(d, rng), rng.bytes(int(rng.integers(1, 32))), rng)


def _header_length(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    lie = [0, 1, 5, 7, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, int(rng.integers(2**32))][rng.integers(8)]
    return _put(d, 4, struct.pack(">I", lie))


def _track_length(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    tracks = [o for o, k, _ in _chunks(d) if k == b"MTrk"]
    if not tracks:
        return _header_length(d, rng, other)
    off = tracks[rng.integers(len(tracks))]
    true = struct.unpack(">I", d[off + 4:off + 8])[0]
    lie = [0, 1, 3, true - 1, true + 1, true * 2, 0x7FFFFFFF, 0xFFFFFFFF][rng.integers(8)]
    return _put(d, off + 4, struct.pack(">I", max(0, lie) & 0xFFFFFFFF))


def _track_count(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    return _put(d, 10, struct.pack(">H", [0, 1, 2, 100, 0xFFFF][rng.integers(5)]))


def _division(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    return _put(d, 12, struct.pack(">H", [0, 1, 2, 3, 0x7FFF, 0x8000, 0xE728, 0xFFFF][rng.integers(8)]))


def _format(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    return _put(d, 8, struct.pack(">H", [0, 1, 2, 3, 0xFFFF][rng.integers(5)]))


def _huge_delta(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    """A maximal 4-byte delta time (0x0FFFFFFF ticks) where an event's delta sits."""
    event = (b"\x99\x24\x64", b"\xff\x2f\x00")[rng.integers(2)]  # a kick, or the end of the track
    return _insert(d, _events(d, rng), b"\xff\xff\xff\x7f" + event, rng)


def _long_vlq(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    """A variable-length quantity that never ends (continuation bits on every byte)."""
    return _insert(d, _events(d, rng), b"\x80" * int(rng.integers(4, 64)), rng)


def _meta_length(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    """A meta event (tempo, time signature, end of track, text) whose length lies."""
    kind = [0x51, 0x58, 0x2F, 0x01, 0x03, 0x59, 0x7F][rng.integers(7)]
    length = [0, 1, 2, 3, 0x7F, 0xFF][rng.integers(6)]
    vlq = bytes([length]) if length < 0x80 else b"\x81\x7f"
    event = b"\x00\xff" + bytes([kind]) + vlq + rng.bytes(int(rng.integers(0, 5)))
    return _insert(d, _events(d, rng), event, rng)


def _sysex_length(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    return _insert(d, _events(d, rng), b"\x00\xf0\x8f\xff\xff\x7f" + rng.bytes(4), rng)


def _tempo_value(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    """A set_tempo of 0, 1 or 16.7 s per beat, or random: where one is, else a new one."""
    value = [b"\x00\x00\x00", b"\x00\x00\x01", b"\xff\xff\xff", rng.bytes(3)][rng.integers(4)]
    found = _find_all(d, b"\xff\x51\x03")
    if found:
        return _put(d, found[rng.integers(len(found))] + 3, value)
    return _insert(d, _events(d, rng), b"\x00\xff\x51\x03" + value, rng)


def _time_signature(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    """A time signature of 0/x, x/2^255, 255/1 or random numbers."""
    value = bytes([[0, 1, 3, 4, 255][rng.integers(5)], [0, 2, 31, 64, 255][rng.integers(5)]])
    found = _find_all(d, b"\xff\x58\x04")
    if found and rng.random() < 0.5:
        return _put(d, found[rng.integers(len(found))] + 3, value)
    return _insert(d, _events(d, rng), b"\x00\xff\x58\x04" + value + b"\x18\x08", rng)


def _note_values(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    """Drum notes with odd pitches, velocities or channels (data bytes ≥ 0x80 included)."""
    found = _find_all(d, b"\x99") or [_events(d, rng)]
    b = bytearray(d)
    for pos in rng.choice(found, size=min(len(found), 8), replace=False):
        for j in (1, 2):
            if pos + j < len(b) and rng.random() < 0.5:
                b[pos + j] = int(rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.integers(256)]))
    return bytes(b)


def _splice(d: bytes, rng: np.random.Generator, other: bytes) -> bytes:
    return d[:rng.integers(0, len(d))] + other[rng.integers(0, len(other)):]


MUTATIONS: dict[str, Callable[[bytes, np.random.Generator, bytes], bytes]] = {
    "flip_bytes": _flip_bytes, "flip_bits": _flip_bits, "truncate": _truncate, "cut_range": _cut_range,
    "duplicate_range": _duplicate_range, "zero_fill": _zero_fill, "insert_random": _insert_random,
    "header_length": _header_length, "track_length": _track_length, "track_count": _track_count,
    "division": _division, "format": _format, "huge_delta": _huge_delta, "long_vlq": _long_vlq,
    "meta_length": _meta_length, "sysex_length": _sysex_length, "splice": _splice,
    "tempo_value": _tempo_value, "time_signature": _time_signature, "note_values": _note_values,
}


def mutate(data: bytes, other: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """One mutant of ``data`` (``other``: a second real file, for splicing) and its kind."""
    kind = list(MUTATIONS)[rng.integers(len(MUTATIONS))]
    return MUTATIONS[kind](data, rng, other), kind


def _alarm(signum: int, frame: object) -> None:
    raise _Hang


def read_drums(path: Path) -> object:
    """What the app and the dataset builder do with a drum file."""
    return Pattern.concatenate([t.pattern for t in read_drum_file(path).takes])


def read_melody(path: Path) -> object:
    """What the melody panel and ``--melody`` commands do with a clip."""
    return read_melody_file(path)


def run_one(path: Path, read: Callable[[Path], object] = read_drums) -> tuple[str, str, float]:
    """Read ``path`` with ``read``: ``(outcome, detail, seconds)``.

    outcome: ``read`` | ``refused`` (the domain error, a :class:`MidiFileError`; detail = its
    reason) | ``unexpected`` (detail = the exception and where it was raised) | ``hang``.
    """
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG_S)
    t0 = time.perf_counter()
    try:
        read(path)
        outcome, detail = "read", ""
    except MidiReadError as err:
        outcome, detail = "refused", err.reason
    except MidiFileError as err:  # the melody reader's: the reason follows the file name
        outcome, detail = "refused", str(err).rsplit(": ", 1)[-1].split(" (")[0][:60]
    except _Hang:
        outcome, detail = "hang", f"over {HANG_S:g} s"
    except Exception as err:  # noqa: BLE001 - exactly what the fuzz looks for
        frame = traceback.extract_tb(err.__traceback__)[-1]
        outcome = "unexpected"
        detail = f"{type(err).__name__}: {str(err)[:120]} at {Path(frame.filename).name}:{frame.lineno}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return outcome, detail, time.perf_counter() - t0


@dataclass
class FuzzReport:
    """Counts per outcome, per refusal reason and per mutation, the slowest file, failures."""

    mutants: int = 0
    outcomes: Counter = field(default_factory=Counter)
    refusals: Counter = field(default_factory=Counter)
    by_mutation: dict[str, Counter] = field(default_factory=dict)
    max_seconds: float = 0.0
    slowest: str = ""
    failures: list[dict[str, str]] = field(default_factory=list)  # unexpected and hangs

    def as_json(self) -> dict:
        return {"mutants": self.mutants, "outcomes": dict(self.outcomes),
                "refusal_reasons": dict(self.refusals.most_common()),
                "by_mutation": {k: dict(v) for k, v in sorted(self.by_mutation.items())},
                "max_seconds_per_file": round(self.max_seconds, 4), "slowest": self.slowest,
                "failures": self.failures[:50]}


def fuzz(sources: Sequence[Path], mutants: int, seed: int, workdir: Path,
         read: Callable[[Path], object] = read_drums) -> FuzzReport:
    """Read ``mutants`` mutants of ``sources`` (chosen in turn) with ``read``; the same seed,
    the same mutants."""
    rng = np.random.default_rng(seed)
    originals = [p.read_bytes() for p in sources]
    report = FuzzReport()
    target = workdir / "mutant.mid"
    for i in range(mutants):
        k = i % len(originals)
        data, kind = mutate(originals[k], originals[(k + 1) % len(originals)], rng)
        target.write_bytes(data)
        outcome, detail, seconds = run_one(target, read)
        report.mutants += 1
        report.outcomes[outcome] += 1
        report.by_mutation.setdefault(kind, Counter())[outcome] += 1
        if outcome == "refused":
            report.refusals[detail] += 1
        if seconds > report.max_seconds:
            report.max_seconds, report.slowest = seconds, f"mutant {i} ({kind} of {sources[k].name})"
        if outcome in ("unexpected", "hang"):
            keep = workdir / f"failure-{i}-{kind}.mid"
            os.replace(target, keep)
            report.failures.append({"mutant": str(i), "mutation": kind, "source": sources[k].name,
                                    "outcome": outcome, "detail": detail, "kept_as": keep.name})
    return report
