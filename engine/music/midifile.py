"""Drum MIDI files ⇄ patterns: read any file's drum notes onto the 16th grid, write clips.

Reading (:func:`read_drum_file`) uses mido and works in MIDI *ticks*: a tick position is
already a position in beats (``tick / ticks_per_beat``), so tempo changes cannot bend the
grid — this is the seconds → beats mapping through the tempo map done exactly, without a
round trip through seconds. The tempo map is still read (and checked for absurd values)
to give every bar its tempo in BPM, which the micro-timing in milliseconds depends on.

Quantisation follows GrooVAE: an onset at ``x`` steps lands on step ``floor(x + 0.5)``
with offset ``x - step`` in [-0.5, 0.5); when two onsets of one voice fall on one step the
louder is kept. Only 4/4 passages are read (a file without a time signature is 4/4 by the
MIDI standard); other passages are skipped with a reason. A passage's length is rounded to
whole bars, so a final bar that is at least half played is kept (as TFDS's ``groove`` does).

Writing (:func:`write_clip`) makes a type-1 file: a tempo track and one drum track on
channel 10, micro-timing applied, notes a 32nd long or until the same note strikes again,
written atomically (tmp file + ``os.replace``) and never over an existing file unless
``force=True``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from engine.errors import MidiFileError
from engine.music.drums import GM_DRUM_CHANNEL, GM_NOTE_MAP, NUM_VOICES, PITCH_TO_VOICE, NoteMap
from engine.music.pattern import MAX_OFFSET, STEPS_PER_BAR, Pattern
from models.atomic import atomic_write
from models.pathnames import one_line, shown

BEATS_PER_BAR = 4  # only 4/4 is read: 4 quarter-note beats per bar
MIN_TEMPO_BPM = 20.0  # outside [20, 500] BPM a tempo is taken for a broken file
MAX_TEMPO_BPM = 500.0
DEFAULT_TICKS_PER_BEAT = 480  # ticks per quarter note in written clips
MAX_FILE_BYTES = 64 * 1024 * 1024  # no drum clip is this large; refuse before parsing
# A take longer than this (68 minutes at 120 BPM) is a broken delta time, not a performance:
# its grid would take gigabytes
MAX_BARS = 2048
MAX_METRE = 64  # beats per bar or beat unit of a time signature that still makes sense


class MidiReadError(MidiFileError):
    """A file that yields no drum pattern; ``reason`` is a short category for summaries.

    The message (``str(err)``) is one line naming the file and the reason.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str, detail: str = "") -> None:
        self.path = str(path)
        self.reason = reason
        self.detail = detail
        super().__init__(one_line(f"{shown(path)}: {reason}" + (f" ({detail})" if detail else "")))


@dataclass(frozen=True)
class DrumTake:
    """One 4/4 passage of a file as a full-length pattern.

    Attributes:
        pattern: the quantised passage, whole bars, ``steps_per_bar`` steps per bar.
        bar_tempos_bpm: ``(bars,)`` float, the tempo in force at the start of each bar.
        start_bar: index of the passage's first bar among the file's bars (0 for most files).
        source: the file it came from.
    """

    pattern: Pattern
    bar_tempos_bpm: np.ndarray
    start_bar: int
    source: str

    @property
    def tempo_bpm(self) -> float:
        """Tempo at the start of the take."""
        return float(self.bar_tempos_bpm[0])


@dataclass(frozen=True)
class DrumFile:
    """What one file gave: its 4/4 takes and the passages skipped (with reasons)."""

    path: str
    takes: tuple[DrumTake, ...]
    skipped_passages: tuple[str, ...] = ()
    unmapped_notes: int = 0  # drum-channel onsets whose pitch is in no voice's table
    merged_onsets: int = 0  # onsets dropped because a louder one of the voice shared the step
    ticks_per_beat: int = DEFAULT_TICKS_PER_BEAT


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------

def _load_midi(path: Path) -> mido.MidiFile:
    try:
        size = path.stat().st_size
    except OSError as err:
        raise MidiReadError(path, "cannot open file", err.strerror or str(err)) from err
    if size == 0:
        raise MidiReadError(path, "empty file")
    if size > MAX_FILE_BYTES:
        raise MidiReadError(path, "file too large", f"{size} bytes")
    try:
        midi = mido.MidiFile(str(path))
    except Exception as err:  # mido raises OSError, EOFError, KeyError, ValueError, ...
        if isinstance(err, OSError) and err.strerror:  # "Is a directory": the name is said once
            raise MidiReadError(path, "cannot open file", err.strerror) from err
        detail = f"{type(err).__name__}: {err}".strip().rstrip(":")
        raise MidiReadError(path, "not a readable MIDI file", detail) from err
    if midi.type == 2:
        raise MidiReadError(path, "type-2 MIDI file (independent sequences) is not supported")
    if not 0 < midi.ticks_per_beat < 0x8000:
        raise MidiReadError(path, "unsupported time division",
                            f"ticks_per_beat={midi.ticks_per_beat} (SMPTE or zero)")
    return midi


def open_midi(path: str | os.PathLike[str]) -> mido.MidiFile:
    """A MIDI file parsed with the checks every reader here shares: not empty, not over
    :data:`MAX_FILE_BYTES`, parsable, not type 2, a time division in ticks per beat.

    Raises:
        MidiReadError: naming the file and the reason, one line.
    """
    return _load_midi(Path(path))


def _scan(midi: mido.MidiFile) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]],
                                         list[tuple[int, int, int]], int]:
    """Absolute-tick tempo events, time signatures, drum onsets and the last drum event."""
    tempos: list[tuple[int, int]] = []  # (tick, microseconds per beat)
    sigs: list[tuple[int, int, int]] = []  # (tick, numerator, denominator)
    onsets: list[tuple[int, int, int]] = []  # (tick, pitch, velocity)
    end = 0
    for track in midi.tracks:
        tick = 0
        drum_track = False
        for msg in track:
            tick += msg.time
            kind = msg.type
            if kind == "note_on" or kind == "note_off":
                if msg.channel != GM_DRUM_CHANNEL:
                    continue
                end = max(end, tick)
                drum_track = True
                if kind == "note_on" and msg.velocity > 0:
                    onsets.append((tick, msg.note, msg.velocity))
            elif kind == "set_tempo":
                tempos.append((tick, msg.tempo))
            elif kind == "time_signature":
                sigs.append((tick, msg.numerator, msg.denominator))
            elif kind == "control_change" and msg.channel == GM_DRUM_CHANNEL:
                end = max(end, tick)  # hi-hat pedal (CC4) and friends belong to the take
        if drum_track:  # a drum track's end (end_of_track) marks the end of the clip
            end = max(end, tick)
    tempos.sort(key=lambda t: t[0])
    sigs.sort(key=lambda s: s[0])
    onsets.sort(key=lambda o: o[0])
    return tempos, sigs, onsets, end


def _check_tempos(path: Path, tempos: list[tuple[int, int]], end: int, tpq: int) -> None:
    for tick, usec in tempos:
        if tick > end:
            break
        if usec <= 0:
            raise MidiReadError(path, "absurd tempo", f"zero tempo (0 µs per beat) at beat {tick / tpq:g}")
        bpm = 60e6 / usec
        if not MIN_TEMPO_BPM <= bpm <= MAX_TEMPO_BPM:
            raise MidiReadError(
                path, "absurd tempo",
                f"{bpm:.6g} BPM at beat {tick / tpq:g}, outside {MIN_TEMPO_BPM:g}-{MAX_TEMPO_BPM:g} BPM")


def _passages(sigs: list[tuple[int, int, int]], end: int) -> list[tuple[int, int, int, int]]:
    """``(start_tick, stop_tick, numerator, denominator)`` per time-signature passage."""
    by_tick: dict[int, tuple[int, int]] = {0: (4, 4)}  # the MIDI default until told otherwise
    for tick, num, den in sigs:
        by_tick[tick] = (num, den)  # the last of several at one tick wins
    starts = sorted(t for t in by_tick if t <= end)
    out = []
    for i, start in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else end
        if stop > start or (i + 1 == len(starts) and start == stop == 0):
            out.append((start, stop, *by_tick[start]))
    return out


def _voice_table(note_map: NoteMap | None) -> dict[int, int]:
    table = {p: int(v) for p, v in PITCH_TO_VOICE.items()}
    if note_map is not None:  # a custom output map is read back through its own inverse
        for voice, note in enumerate(note_map.notes):
            table[note] = voice
    return table


def read_drum_file(path: str | os.PathLike[str], steps_per_bar: int = STEPS_PER_BAR,
                   note_map: NoteMap | None = None) -> DrumFile:
    """Read every 4/4 drum passage of a MIDI file (type 0 or 1) as full-length patterns.

    Args:
        path: the ``.mid`` file.
        steps_per_bar: grid resolution (16 = 16th notes).
        note_map: read pitches through this map's inverse first (for clips written with a
            custom map); every other General-MIDI drum pitch maps through the GM table.

    Returns:
        A :class:`DrumFile`; its takes hold at least one pattern.

    Raises:
        MidiReadError: (a :class:`MidiFileError`) empty, unreadable or type-2 file, absurd
            tempo, drums spanning more than :data:`MAX_BARS` bars (a broken delta time),
            no drum notes on channel 10, or no 4/4 passage with drum notes.
    """
    path = Path(path)
    midi = _load_midi(path)
    tpq = midi.ticks_per_beat
    tempos, sigs, onsets, end = _scan(midi)
    if not onsets:
        raise MidiReadError(path, "no drum notes", "no note-on on MIDI channel 10")
    if end > MAX_BARS * tpq * BEATS_PER_BAR:
        raise MidiReadError(path, "implausibly long",
                            f"the drums span {end / (tpq * BEATS_PER_BAR):.0f} bars, at most {MAX_BARS}")
    _check_tempos(path, tempos, end, tpq)
    table = _voice_table(note_map)
    step_ticks = tpq * BEATS_PER_BAR / steps_per_bar
    bar_ticks = tpq * BEATS_PER_BAR
    tempo_ticks = np.array([t for t, _ in tempos] or [0], dtype=np.int64)
    tempo_bpm = np.array([60e6 / u for _, u in tempos] or [120.0], dtype=np.float64)
    on_ticks = np.array([o[0] for o in onsets], dtype=np.int64)
    on_pitch = np.array([o[1] for o in onsets], dtype=np.int64)
    on_vel = np.array([o[2] for o in onsets], dtype=np.int64)
    lut = np.full(128, -1, dtype=np.int64)
    for pitch, voice in table.items():
        if 0 <= pitch < 128:
            lut[pitch] = voice
    takes: list[DrumTake] = []
    skipped: list[str] = []
    unmapped = merged = 0
    bar_index = 0  # bars of the file so far (any metre), to name skipped passages
    for start, stop, num, den in _passages(sigs, end):
        # an onset up to half a step early still belongs to the passage's first step
        lo, hi = np.searchsorted(on_ticks, [start - step_ticks / 2, stop - step_ticks / 2])
        if stop >= end:  # the last passage owns the final onsets
            hi = len(onsets)
        if (num, den) != (4, 4):
            # a broken signature (0/4, 4/2^255) has no bar length: count it in 4/4 bars
            metre_ticks = tpq * num * 4 / den if 1 <= num <= MAX_METRE and den <= MAX_METRE else bar_ticks
            bars = max(1, math.floor((stop - start) / metre_ticks + 0.5))
            if hi > lo:
                skipped.append(f"bars {bar_index + 1}-{bar_index + bars} in {num}/{den} skipped "
                               f"({hi - lo} onsets; only 4/4 is read)")
            bar_index += bars
            continue
        bars = math.floor((stop - start) / bar_ticks + 0.5)  # a final bar at least half played counts
        if bars == 0 or hi == lo:
            bar_index += bars
            continue
        steps = bars * steps_per_bar
        voice = lut[on_pitch[lo:hi]]
        pos = (on_ticks[lo:hi] - start) / step_ticks
        step = np.floor(pos + 0.5).astype(np.int64)
        unmapped += int((voice < 0).sum())
        keep = (voice >= 0) & (step < steps)  # drop what lies in a final bar less than half played
        voice, pos, step, velocity = voice[keep], pos[keep], step[keep], on_vel[lo:hi][keep]
        # loudest first within each (step, voice); ties keep the earlier onset
        order = np.lexsort((pos, -velocity, voice, step))
        voice, pos, step, velocity = voice[order], pos[order], step[order], velocity[order]
        first = np.ones(len(step), bool)
        first[1:] = (step[1:] != step[:-1]) | (voice[1:] != voice[:-1])
        merged += int(len(first) - first.sum())
        voice, pos, step, velocity = voice[first], pos[first], step[first], velocity[first]
        hits = np.zeros((steps, NUM_VOICES), bool)
        vel = np.zeros((steps, NUM_VOICES), np.float32)
        off = np.zeros((steps, NUM_VOICES), np.float32)
        hits[step, voice] = True
        vel[step, voice] = velocity / 127.0
        off[step, voice] = np.clip(pos - step, -MAX_OFFSET, MAX_OFFSET)
        if not hits.any():
            bar_index += bars
            continue
        bar_starts = start + np.arange(bars, dtype=np.int64) * bar_ticks
        idx = np.searchsorted(tempo_ticks, bar_starts, side="right") - 1
        bar_bpm = np.where(idx >= 0, tempo_bpm[np.clip(idx, 0, None)], 120.0)
        takes.append(DrumTake(Pattern(hits, vel, off, steps_per_bar), bar_bpm.astype(np.float64),
                              bar_index, str(path)))
        bar_index += bars
    if not takes:
        if skipped:
            raise MidiReadError(path, "no 4/4 passage", "; ".join(skipped))
        if unmapped:
            raise MidiReadError(path, "no drum notes", f"{unmapped} channel-10 notes outside the drum table")
        raise MidiReadError(path, "too short", "the drum notes span less than half a 4/4 bar")
    return DrumFile(str(path), tuple(takes), tuple(skipped), unmapped, merged, tpq)


def read_drum_pattern(path: str | os.PathLike[str], steps_per_bar: int = STEPS_PER_BAR,
                      note_map: NoteMap | None = None) -> list[DrumTake]:
    """The 4/4 takes of a file (see :func:`read_drum_file`, which also reports skips)."""
    return list(read_drum_file(path, steps_per_bar, note_map).takes)


def read_clip(path: str | os.PathLike[str], note_map: NoteMap | None = None) -> Pattern:
    """A clip as one pattern: the file's 4/4 takes played one after the other."""
    return Pattern.concatenate([t.pattern for t in read_drum_pattern(path, note_map=note_map)])


def windows(pattern: Pattern, bars: int = 2, hop_bars: int = 1) -> list[Pattern]:
    """Every ``bars``-bar slice starting each ``hop_bars`` bars (none if the pattern is shorter)."""
    if bars <= 0 or hop_bars <= 0:
        raise ValueError(f"bars and hop_bars must be positive, got {bars}, {hop_bars}")
    return [pattern.bar_slice(i, bars) for i in range(0, pattern.bars - bars + 1, hop_bars)]


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------

def _as_pattern(patterns: Pattern | Sequence[Pattern]) -> Pattern:
    if isinstance(patterns, Pattern):
        return patterns
    return Pattern.concatenate(list(patterns))


def pattern_to_midifile(patterns: Pattern | Sequence[Pattern], tempo_bpm: float = 120.0,
                        note_map: NoteMap = GM_NOTE_MAP,
                        ticks_per_beat: int = DEFAULT_TICKS_PER_BEAT) -> mido.MidiFile:
    """A type-1 MIDI file of the patterns played one after the other.

    Track 0 holds the name, 4/4 and the tempo; track 1 the drums on channel 10. Each onset
    sits at ``(step + offset)`` steps (the first step's early notes are clamped to tick 0)
    and lasts a 32nd note, or until the same note strikes again.

    Raises:
        ValueError: tempo outside [20, 500] BPM, bad ticks_per_beat, or no patterns.
    """
    pattern = _as_pattern(patterns)
    if not (math.isfinite(tempo_bpm) and MIN_TEMPO_BPM <= tempo_bpm <= MAX_TEMPO_BPM):
        raise ValueError(f"tempo must lie in {MIN_TEMPO_BPM:g}-{MAX_TEMPO_BPM:g} BPM, got {tempo_bpm}")
    if not 0 < ticks_per_beat < 0x8000:
        raise ValueError(f"ticks_per_beat must lie in 1..32767, got {ticks_per_beat}")
    step_ticks = ticks_per_beat * BEATS_PER_BAR / pattern.steps_per_bar
    total_ticks = round(pattern.steps * step_ticks)
    vel = pattern.midi_velocities()
    steps, voices = np.nonzero(pattern.hits)
    # (tick, pitch) -> velocity; several voices mapped to one note keep the loudest
    onsets: dict[tuple[int, int], int] = {}
    for step, voice in zip(steps.tolist(), voices.tolist(), strict=True):
        exact = (step + float(pattern.offsets[step, voice])) * step_ticks
        tick = round(exact)
        if tick >= (step + MAX_OFFSET) * step_ticks:
            tick -= 1  # +0.5 exactly would read back as the next step's -0.5
        tick = max(tick, 0)
        key = (tick, note_map.note(voice))
        onsets[key] = max(onsets.get(key, 0), int(vel[step, voice]))
    by_pitch: dict[int, list[int]] = {}
    for tick, pitch in sorted(onsets):
        by_pitch.setdefault(pitch, []).append(tick)
    length = max(1, round(step_ticks / 2))  # a 32nd note at 16 steps per bar
    events: list[tuple[int, int, int, int]] = []  # (tick, order: off=0 on=1, pitch, velocity)
    for pitch, ticks in by_pitch.items():
        for i, tick in enumerate(ticks):
            nxt = ticks[i + 1] if i + 1 < len(ticks) else total_ticks + length
            off = max(tick + 1, min(tick + length, nxt))
            events.append((tick, 1, pitch, onsets[(tick, pitch)]))
            events.append((off, 0, pitch, 0))
    events.sort()
    meta = mido.MidiTrack([
        mido.MetaMessage("track_name", name="groovefader", time=0),
        mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
        mido.MetaMessage("set_tempo", tempo=round(60e6 / tempo_bpm), time=0),
        mido.MetaMessage("end_of_track", time=total_ticks),
    ])
    drums = mido.MidiTrack([mido.MetaMessage("track_name", name="Drums", time=0)])
    now = 0
    for tick, is_on, pitch, velocity in events:
        kind = "note_on" if is_on else "note_off"
        drums.append(mido.Message(kind, channel=GM_DRUM_CHANNEL, note=pitch,
                                  velocity=velocity if is_on else 0, time=tick - now))
        now = tick
    drums.append(mido.MetaMessage("end_of_track", time=max(0, total_ticks - now)))
    midi = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    midi.tracks.extend([meta, drums])
    return midi


def write_clip(path: str | os.PathLike[str], patterns: Pattern | Sequence[Pattern],
               tempo_bpm: float = 120.0, note_map: NoteMap = GM_NOTE_MAP, *,
               force: bool = False, ticks_per_beat: int = DEFAULT_TICKS_PER_BEAT) -> Path:
    """Write the patterns, one after the other, to a ``.mid`` clip atomically.

    Returns:
        The path written.

    Raises:
        MidiFileError: the file exists and ``force`` is False, the tempo is out of range,
            or the file cannot be written (names the file and the reason).
    """
    path = Path(path)
    if path.exists() and not force:
        raise MidiFileError(f"{shown(path)}: exists; refusing to overwrite it (use --force / force=True)")
    try:
        midi = pattern_to_midifile(patterns, tempo_bpm, note_map, ticks_per_beat)
    except ValueError as err:
        raise MidiFileError(f"{shown(path)}: cannot write clip: {err}") from err
    try:
        atomic_write(path, lambda f: midi.save(file=f))
    except OSError as err:
        raise MidiFileError(f"{shown(path)}: cannot write clip: {err.strerror or err}") from err
    return path
