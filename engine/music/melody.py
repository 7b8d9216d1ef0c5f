"""Monophonic melodies on the 16th grid: the value object, its codec and MIDI files.

The encoding is MusicVAE's melody encoding: one event per 16th step,

* ``NOTE_OFF`` (-1): the sounding note stops here (a rest begins),
* ``NO_EVENT`` (-2): nothing changes (the note is held, or the rest goes on),
* ``p`` in ``[MIN_PITCH, MAX_PITCH]``: a new note of MIDI pitch ``p`` starts here.

As model classes (:func:`events_to_classes`): ``0`` = note-off, ``1`` = no event,
``2 + (p - MIN_PITCH)`` = note-on; 48..84 (C3..C6, three octaves: every folk tune of the
training set, transposed to C, fits after an octave shift) gives ``NUM_CLASSES = 39``.
Training (``training.melody``) and generation (``engine.generation.melody``) both go
through these functions, so the two cannot encode differently.

Chords become one line by :func:`notes_to_events` (arpeggiated upwards inside the chord's
duration); a MIDI file's "most melodic" track is picked by :func:`read_melody_file`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from engine.errors import MidiFileError
from models.atomic import atomic_write
from models.pathnames import shown

NOTE_OFF = -1
NO_EVENT = -2
MIN_PITCH = 48  # C3
MAX_PITCH = 84  # C6
NUM_SPECIAL = 2  # classes 0 (note-off) and 1 (no event)
NUM_CLASSES = NUM_SPECIAL + MAX_PITCH - MIN_PITCH + 1  # 39
STEPS_PER_BAR = 16  # 16th notes in a 4/4 bar
STEPS_PER_BEAT = 4
DEFAULT_TICKS_PER_BEAT = 480
MELODY_CHANNEL = 0
MELODY_VELOCITY = 90
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)  # pitch classes of C major (= A natural minor)
KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def codec_meta() -> dict[str, int]:
    """What the model classes mean, stored in a melody checkpoint and checked on load."""
    return {"min_pitch": MIN_PITCH, "max_pitch": MAX_PITCH, "num_classes": NUM_CLASSES,
            "steps_per_bar": STEPS_PER_BAR}


@dataclass(frozen=True)
class Melody:
    """One monophonic line: ``events`` is an ``(T,)`` int16 array of MusicVAE events.

    Values: a MIDI pitch 0..127 (note-on), ``NOTE_OFF`` (-1) or ``NO_EVENT`` (-2). The first
    step's ``NO_EVENT`` means silence (nothing sounds before the melody). Immutable: the
    array is copied and made read-only at construction.

    Raises:
        ValueError: a value outside those, a non-1-D array, or a bad ``steps_per_bar``.
    """

    events: np.ndarray
    steps_per_bar: int = STEPS_PER_BAR

    def __post_init__(self) -> None:
        raw = np.asarray(self.events)
        if raw.ndim != 1:
            raise ValueError(f"melody events must be 1-D, got shape {raw.shape}")
        # checked before the cast to int16, which would wrap 65596 round to 60
        if raw.size and (raw.min() < NO_EVENT or raw.max() > 127):
            raise ValueError(f"melody events must lie in -2..127, got {raw.min()}..{raw.max()}")
        ev = np.array(raw, dtype=np.int16, copy=True)
        if self.steps_per_bar < 1:
            raise ValueError(f"steps_per_bar must be >= 1, got {self.steps_per_bar}")
        ev.setflags(write=False)
        object.__setattr__(self, "events", ev)

    # -- size ------------------------------------------------------------------------------
    @property
    def steps(self) -> int:
        return int(self.events.size)

    @property
    def bars(self) -> int:
        """Whole bars (a partial last bar is not counted)."""
        return self.steps // self.steps_per_bar

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Melody) and self.steps_per_bar == other.steps_per_bar
                and np.array_equal(self.events, other.events))

    def __hash__(self) -> int:
        return hash((self.steps_per_bar, self.events.tobytes()))

    # -- views -----------------------------------------------------------------------------
    def notes(self) -> list[tuple[int, int, int]]:
        """``[(start_step, end_step, pitch)]`` (end exclusive), in time order."""
        out: list[tuple[int, int, int]] = []
        current: tuple[int, int] | None = None  # (start, pitch)
        for i, e in enumerate(self.events.tolist()):
            if e == NO_EVENT:
                continue
            if current is not None:
                out.append((current[0], i, current[1]))
                current = None
            if e >= 0:
                current = (i, e)
        if current is not None:
            out.append((current[0], self.steps, current[1]))
        return out

    @property
    def num_notes(self) -> int:
        return int((self.events >= 0).sum())

    def pitch_range(self) -> tuple[int, int] | None:
        on = self.events[self.events >= 0]
        return (int(on.min()), int(on.max())) if on.size else None

    def bar_slice(self, start_bar: int, end_bar: int) -> Melody:
        """Bars ``[start_bar, end_bar)``; a note cut at the start is re-struck on the first step
        so the slice plays on its own."""
        a, b = start_bar * self.steps_per_bar, end_bar * self.steps_per_bar
        if not 0 <= a < b <= self.steps:
            raise ValueError(f"bars {start_bar}..{end_bar} outside a {self.bars}-bar melody")
        ev = self.events[a:b].copy()
        if ev[0] == NO_EVENT:
            sounding = _sounding_pitch(self.events, a)
            if sounding is not None:
                ev[0] = sounding
        return Melody(ev, self.steps_per_bar)

    @staticmethod
    def concatenate(melodies: Sequence[Melody]) -> Melody:
        if not melodies:
            raise ValueError("concatenate needs at least one melody")
        spb = {m.steps_per_bar for m in melodies}
        if len(spb) != 1:
            raise ValueError(f"melodies with different steps_per_bar: {sorted(spb)}")
        return Melody(np.concatenate([m.events for m in melodies]), melodies[0].steps_per_bar)

    def transpose(self, semitones: int) -> Melody:
        """Every note moved by ``semitones``. Raises ValueError if one leaves 0..127."""
        ev = self.events.astype(np.int32)
        on = ev >= 0
        ev[on] += int(semitones)
        if on.any() and (ev[on].min() < 0 or ev[on].max() > 127):
            raise ValueError(f"transposing by {semitones} leaves the MIDI range")
        return Melody(ev, self.steps_per_bar)

    def fit_range(self, low: int = MIN_PITCH, high: int = MAX_PITCH) -> Melody:
        """Shift by whole octaves into ``[low, high]``; notes still outside fold in by octaves.

        The shift keeps the melody's shape when its span fits; folding only touches the notes
        of a span wider than the range.
        """
        rng = self.pitch_range()
        if rng is None:
            return self
        lo, hi = rng
        fits = [k for k in range(-10, 11) if lo + 12 * k >= low and hi + 12 * k <= high]
        centre = 12 * round(((low + high) / 2 - (lo + hi) / 2) / 12)  # too wide: centred, folded
        shift = 12 * min(fits, key=abs) if fits else centre
        ev = self.events.astype(np.int32)
        on = ev >= 0
        ev[on] += shift
        while on.any() and ev[on].min() < low:
            ev[on & (ev < low)] += 12
        while on.any() and ev[on].max() > high:
            ev[on & (ev > high)] -= 12
        return Melody(ev, self.steps_per_bar)

    # -- codec -----------------------------------------------------------------------------
    def to_classes(self) -> np.ndarray:
        """``(T,)`` int64 class indices (see the module docstring); pitches must lie in range."""
        return events_to_classes(self.events)

    @classmethod
    def from_classes(cls, classes: np.ndarray | Sequence[int],
                     steps_per_bar: int = STEPS_PER_BAR) -> Melody:
        return cls(classes_to_events(np.asarray(classes)), steps_per_bar)

    @classmethod
    def from_notes(cls, notes: Iterable[tuple[int, int, int | Sequence[int]]], steps: int,
                   steps_per_bar: int = STEPS_PER_BAR) -> Melody:
        """From ``(start_step, end_step, pitch or chord pitches)``; see :func:`notes_to_events`."""
        return cls(notes_to_events(notes, steps), steps_per_bar)

    # -- MIDI ------------------------------------------------------------------------------
    def to_midifile(self, tempo_bpm: float = 120.0, program: int = 0,
                    ticks_per_beat: int = DEFAULT_TICKS_PER_BEAT) -> mido.MidiFile:
        """A type-1 file: tempo/4-4 track and one melody track on channel 1."""
        if not 20.0 <= tempo_bpm <= 500.0:
            raise ValueError(f"tempo must lie in 20-500 BPM, got {tempo_bpm}")
        step_ticks = ticks_per_beat * 4 // self.steps_per_bar
        total = self.steps * step_ticks
        head = mido.MidiTrack([
            mido.MetaMessage("track_name", name="groovefader", time=0),
            mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
            mido.MetaMessage("set_tempo", tempo=round(60e6 / tempo_bpm), time=0),
            mido.MetaMessage("end_of_track", time=total)])
        track = mido.MidiTrack([mido.MetaMessage("track_name", name="Melody", time=0),
                                mido.Message("program_change", channel=MELODY_CHANNEL,
                                             program=program, time=0)])
        events: list[tuple[int, int, int]] = []  # (tick, on?, pitch): offs sort before ons
        for start, end, pitch in self.notes():
            events.append((start * step_ticks, 1, pitch))
            events.append((end * step_ticks, 0, pitch))
        events.sort()
        now = 0
        for tick, is_on, pitch in events:
            track.append(mido.Message("note_on" if is_on else "note_off", channel=MELODY_CHANNEL,
                                      note=pitch, velocity=MELODY_VELOCITY if is_on else 0,
                                      time=tick - now))
            now = tick
        track.append(mido.MetaMessage("end_of_track", time=max(0, total - now)))
        midi = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
        midi.tracks.extend([head, track])
        return midi

    def write_midi(self, path: str | os.PathLike[str], tempo_bpm: float = 120.0, *,
                   force: bool = False) -> Path:
        """Write a ``.mid`` clip atomically.

        Raises:
            MidiFileError: the file exists (without ``force``), bad tempo, or unwritable.
        """
        path = Path(path)
        if path.exists() and not force:
            raise MidiFileError(f"{path}: exists; refusing to overwrite it (use --force)")
        try:
            midi = self.to_midifile(tempo_bpm)
        except ValueError as err:
            raise MidiFileError(f"{path}: cannot write clip: {err}") from err
        try:
            atomic_write(path, lambda f: midi.save(file=f))
        except OSError as err:
            raise MidiFileError(f"{path}: cannot write clip: {err.strerror or err}") from err
        return path


def _sounding_pitch(events: np.ndarray, step: int) -> int | None:
    for e in events[:step][::-1].tolist():
        if e >= 0:
            return int(e)
        if e == NOTE_OFF:
            return None
    return None


def events_to_classes(events: np.ndarray) -> np.ndarray:
    """Events ``(..., T)`` → class indices ``(..., T)`` int64.

    Raises:
        ValueError: a note-on outside ``[MIN_PITCH, MAX_PITCH]``.
    """
    ev = np.asarray(events, np.int64)
    on = ev >= 0
    if on.any() and (ev[on].min() < MIN_PITCH or ev[on].max() > MAX_PITCH):
        raise ValueError(f"pitches {ev[on].min()}..{ev[on].max()} outside the codec's "
                         f"{MIN_PITCH}..{MAX_PITCH}; call fit_range() first")
    out = np.where(on, ev - MIN_PITCH + NUM_SPECIAL, 0)
    return np.where(ev == NO_EVENT, 1, out).astype(np.int64)


def classes_to_events(classes: np.ndarray) -> np.ndarray:
    """Class indices ``(..., T)`` → events ``(..., T)`` int16 (inverse of events_to_classes)."""
    c = np.asarray(classes, np.int64)
    if c.size and (c.min() < 0 or c.max() >= NUM_CLASSES):
        raise ValueError(f"classes must lie in 0..{NUM_CLASSES - 1}")
    ev = np.where(c >= NUM_SPECIAL, c - NUM_SPECIAL + MIN_PITCH, 0)
    ev = np.where(c == 0, NOTE_OFF, ev)
    return np.where(c == 1, NO_EVENT, ev).astype(np.int16)


def notes_to_events(notes: Iterable[tuple[int, int, int | Sequence[int]]], steps: int) -> np.ndarray:
    """Notes/chords on the step grid → one monophonic event line ``(steps,)`` int16.

    Each item is ``(start_step, end_step, pitch)`` or ``(start, end, (p1, p2, ...))``. A chord
    is arpeggiated upwards across its duration (each pitch ``len // k`` steps, the last gets
    the rest); a chord longer in pitches than in steps keeps its top ``len`` pitches. A note
    that starts while another sounds cuts it (the newer note wins); steps already taken by an
    earlier note-on are not overwritten (the first onset on a step wins). Notes past
    ``steps`` are cut. An empty gap after a note becomes ``NOTE_OFF`` then ``NO_EVENT``.
    """
    line: list[tuple[int, int, int]] = []
    for start, end, pitch in sorted(notes, key=lambda n: (n[0], n[1])):
        start, end = int(start), int(end)
        if end <= start or start >= steps or start < 0:
            continue
        end = min(end, steps)
        pitches = sorted({int(p) for p in pitch}) if isinstance(pitch, Sequence) else [int(pitch)]
        if not pitches:
            continue
        span = end - start
        if len(pitches) > span:
            pitches = pitches[-span:]
        k = len(pitches)
        each = span // k
        for i, p in enumerate(pitches):
            s = start + i * each
            e = end if i == k - 1 else s + each
            line.append((s, e, p))
    ev = np.full(steps, NO_EVENT, np.int16)
    taken = np.zeros(steps, bool)
    ends = np.zeros(steps + 1, bool)
    for s, e, p in line:
        if taken[s]:
            continue
        ev[s] = p
        taken[s] = True
        ends[e] = True
    # note-offs where a note ends and no other note starts
    for i in range(steps):
        if ends[i] and not taken[i]:
            # only if the last event before i was a note (not already off)
            prior = _sounding_pitch(ev, i)
            if prior is not None:
                ev[i] = NOTE_OFF
    return ev


def key_shift(key: str) -> int:
    """Semitones from C major to ``key`` (major tonic name, e.g. 'G', 'Eb'): the smallest
    shift, -6..+5.

    Raises:
        ValueError: a name that is not a key.
    """
    name = key.strip().capitalize()  # as typed: 'g', 'eb', 'F#', 'BB'
    aliases = {"Db": 1, "D#": 3, "Gb": 6, "G#": 8, "A#": 10}
    if name in KEY_NAMES:
        pc = KEY_NAMES.index(name)
    elif name in aliases:
        pc = aliases[name]
    else:
        raise ValueError(f"unknown key {key!r}; known: {', '.join(KEY_NAMES)}")
    return pc if pc <= 5 else pc - 12


def transpose_to_key(melody: Melody, key: str) -> Melody:
    """A C-major/A-minor melody moved to ``key`` (major tonic name, e.g. 'G', 'Eb'), by the
    smallest shift (-6..+5 semitones, :func:`key_shift`), then kept in MIDI range."""
    return melody.transpose(key_shift(key))


# Krumhansl-Kessler key profiles: listeners' ratings of how well each pitch class, from the
# tonic up, fits a major or a minor key (Krumhansl 1990, "Cognitive Foundations of Musical Pitch").
MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
RELATIVE_MINOR = 9  # semitones from a major tonic up to its relative minor's (C -> A)
# Extra weight of a melody's first and last notes, in bars of duration: tunes begin and end
# on or near the tonic, which durations alone miss (C D E G A B C with a long G: C, not G major).
EDGE_WEIGHT_BARS = 0.5


def estimate_key(melody: Melody) -> str:
    """The key ``melody`` is written in, as the major tonic of its key signature (a
    :data:`KEY_NAMES` name): the key whose profile correlates best with the melody's
    pitch classes weighted by duration (Krumhansl-Schmuckler), its first and last notes
    weighted :data:`EDGE_WEIGHT_BARS` more. A minor tune gives its relative major
    (A minor -> 'C'), as the model's training tunes were moved to C by their key
    signatures; without notes, 'C'.
    """
    weights = np.zeros(12)
    notes = melody.notes()
    for start, end, pitch in notes:
        weights[pitch % 12] += end - start
    if notes:
        for _, _, pitch in (notes[0], notes[-1]):
            weights[pitch % 12] += EDGE_WEIGHT_BARS * melody.steps_per_bar
    weights -= weights.mean()
    if not weights.any():
        return KEY_NAMES[0]
    best, best_r = 0, -np.inf
    for tonic in range(12):  # ties go to the lower pitch class, C first
        for profile, offset in ((MAJOR_PROFILE, 0), (MINOR_PROFILE, RELATIVE_MINOR)):
            rolled = np.roll(np.asarray(profile) - np.mean(profile), (tonic + offset) % 12)
            r = float(weights @ rolled) / float(np.linalg.norm(weights) * np.linalg.norm(rolled))
            if r > best_r + 1e-12:
                best, best_r = tonic, r
    return KEY_NAMES[best]


def moved_to_c(melody: Melody) -> tuple[Melody, str]:
    """``melody`` moved from its own key (:func:`estimate_key`) to C, where the model and the
    melody lane's key and scale controls work, and that key (to move it back).

    The melody keeps its octave (the smallest move, -5..+6 semitones); a note the move would
    take past MIDI's 0..127 folds back an octave, as the lane folds the notes it plays.
    """
    key = estimate_key(melody)
    ev = melody.events.astype(np.int32)
    on = ev >= 0
    ev[on] -= key_shift(key)
    ev[on & (ev > 127)] -= 12
    ev[on & (ev < 0)] += 12
    return Melody(ev, melody.steps_per_bar), key


# --------------------------------------------------------------------------------------
# reading MIDI files
# --------------------------------------------------------------------------------------

def _track_notes(track: mido.MidiTrack, tpq: int) -> list[tuple[float, float, int, int]]:
    """``[(start_beat, end_beat, pitch, channel)]`` of one track (drum channel 10 skipped)."""
    now = 0
    open_: dict[tuple[int, int], list[int]] = {}
    out: list[tuple[float, float, int, int]] = []
    for msg in track:
        now += msg.time
        if msg.type not in ("note_on", "note_off") or msg.channel == 9:
            continue
        key = (msg.channel, msg.note)
        if msg.type == "note_on" and msg.velocity > 0:
            open_.setdefault(key, []).append(now)
        elif open_.get(key):
            start = open_[key].pop(0)
            out.append((start / tpq, now / tpq, msg.note, msg.channel))
    for (ch, note), starts in open_.items():
        out.extend((s / tpq, now / tpq, note, ch) for s in starts)
    return out


def _melodic_score(notes: list[tuple[float, float, int, int]]) -> float:
    """Notes × share of onsets that do not coincide with another (a line, not chords) ×
    a small preference for higher tracks (the tune sits above the accompaniment)."""
    if not notes:
        return 0.0
    onsets = [round(n[0] * STEPS_PER_BEAT) for n in notes]
    distinct = len(set(onsets))
    mean_pitch = float(np.mean([n[2] for n in notes]))
    return distinct * (distinct / len(onsets)) * (1.0 + mean_pitch / 127.0)


def read_melody_file(path: str | os.PathLike[str]) -> Melody:
    """The most melodic track of a MIDI file on the 16th grid (chords arpeggiated).

    Onsets round to the nearest 16th; the melody starts at the first bar holding a note and
    is padded with silence to whole 4/4 bars. Pitches are kept as written (call
    :meth:`Melody.fit_range` before encoding).

    Raises:
        MidiFileError: unreadable, empty, type-2 or SMPTE-timed file, no non-drum notes in
            it, or notes spanning more than ``MAX_BARS`` bars (one line naming the file).
    """
    from engine.music.midifile import MAX_BARS, open_midi

    path = Path(path)
    midi = open_midi(path)  # empty, huge, unparsable, type-2 or SMPTE files: one line each
    tracks = [_track_notes(t, midi.ticks_per_beat) for t in midi.tracks]
    if midi.type == 0 and tracks:  # one track: split by channel instead
        by_ch: dict[int, list] = {}
        for n in tracks[0]:
            by_ch.setdefault(n[3], []).append(n)
        tracks = list(by_ch.values())
    best = max(tracks, key=_melodic_score, default=[])
    if not best:
        raise MidiFileError(f"{shown(path)}: no melodic (non-drum) notes in the file")
    span_bars = (max(n[1] for n in best) - min(n[0] for n in best)) / 4
    if span_bars > MAX_BARS:  # a broken delta time, not a tune: its grid would take gigabytes
        raise MidiFileError(f"{shown(path)}: implausibly long (the notes span {span_bars:.0f} bars, "
                            f"at most {MAX_BARS})")
    first_bar = int(min(n[0] for n in best) // 4)
    origin = first_bar * 4.0
    grid = [(round((s - origin) * STEPS_PER_BEAT), max(round((e - origin) * STEPS_PER_BEAT),
                                                       round((s - origin) * STEPS_PER_BEAT) + 1), p)
            for s, e, p, _ in best]
    by_onset: dict[int, tuple[int, list[int]]] = {}
    for s, e, p in grid:
        end, ps = by_onset.get(s, (e, []))
        by_onset[s] = (max(end, e), ps + [p])
    last = max(e for _, e, _ in grid)
    steps = max(STEPS_PER_BAR, -(-last // STEPS_PER_BAR) * STEPS_PER_BAR)
    items = [(s, e, tuple(ps) if len(ps) > 1 else ps[0]) for s, (e, ps) in by_onset.items()]
    return Melody(notes_to_events(items, steps))
