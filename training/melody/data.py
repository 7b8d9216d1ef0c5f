"""Melody training data: folk tunes from music21's bundled corpora on the 16th grid.

Sources (shipped inside the installed ``music21`` package, nothing downloaded):
``essenFolksong`` (Essen folk-song collection), ``oneills1850`` (O'Neill's Music of
Ireland) and ``ryansMammoth`` (Ryan's Mammoth Collection), all ABC files; a tune is one
``X:`` record, its id is ``collection/file#X``.

Per tune (:func:`process_tune`, run in at most :data:`MAX_WORKERS` processes):

1. Parse the ABC with music21, pick the melody part (the one with most distinct onsets —
   folk ABC has one voice; chord symbols are not notes), merge ties. Repeats are not
   expanded (the tune as written): music21's ``expandRepeats`` deep-copies every note and
   tripled the parse time; a repeat adds no new window of 2 bars, only longer 16-bar ones.
2. Meter: kept are the duple meters whose measure is a whole number of 16-step 4/4 bars or
   divides one (2/4, 4/4, C, 2/2, C|, 4/2). 3/4, 6/8, 3/8, 9/8 and free meter are skipped
   with their reason: their measures do not align with a 4/4 loop of 16 steps, the grid the
   app loops melodies on beside the drums; folding them into 4/4 would put bar lines mid-
   measure. A tune whose meter changes is skipped too.
3. A pickup measure is padded so the first full measure starts a bar; chords are
   arpeggiated into one line (:func:`engine.music.melody.notes_to_events`); grace notes
   (no duration) are dropped; onsets are rounded to the nearest 16th.
4. Transposed by its key signature to C major / A minor (the relative-major tonic moves to
   C by the smallest shift), then moved by octaves into 48..84. Why not augment by
   transposition: 11k tunes are enough for a 39-class model to learn the tonal idiom in
   one key; key-normalised data makes "in key" measurable (C major's pitch classes) and the
   app/CLI transposes to any key afterwards (``--key``); a 12× augmented set would cost
   12× the training time we do not have on one CPU thread.
5. Leading and trailing silence is trimmed by whole measures.

Windows (:func:`windows`) are cut later from the cached lines, so one parse serves 2-bar and
16-bar models: every whole-measure start at least one 4/4 bar apart, skipping windows with
a silent bar (MusicVAE splits melodies at 1-bar gaps) or fewer than 2 notes; exact
duplicates are dropped within a split, and validation/test windows that also occur in
train are dropped (the same tune is printed in several collections).

Split: by tune, ``sha256(tune_id)`` mod 10: 0–7 train, 8 validation, 9 test — stable across
machines and builds; the split of every tune is stored in the cache.

Cache: one ``.npz`` (no pickle) named by a fingerprint of the corpus files, music21's
version, the settings, :data:`FORMAT_VERSION` and :data:`READER_VERSION` (from version 2 on),
written atomically, in the same folder as the drum cache (``$GROOVEFADER_CACHE`` or ``./.cache/groovefader``).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import DatasetError
from engine.music.melody import (
    MAX_PITCH,
    MIN_PITCH,
    NO_EVENT,
    NOTE_OFF,
    STEPS_PER_BAR,
    Melody,
    events_to_classes,
    notes_to_events,
)
from models.atomic import atomic_write
from training.dataset import default_cache_dir

FORMAT_VERSION = 1  # bump when the .npz layout changes
# Bump when some tune's line comes out otherwise: process_tune here, or the event encoding
# it calls in engine.music.melody (notes_to_events, events_to_classes). Part of the
# fingerprint, so caches of lines read the old way miss instead of being trained on;
# tests/training/melody/test_data.py pins the reader's output to this number.
READER_VERSION = 1
# The reader's version that is left out of the fingerprint: version 1 reads as the reader did
# before it had a number, so tunes read by it keep the fingerprint that checkpoints and resume
# states recorded then (melody train --resume compares them).
UNHASHED_READER_VERSION = 1
COLLECTIONS = ("essenFolksong", "oneills1850", "ryansMammoth")
SPLITS = ("train", "validation", "test")
MAX_WORKERS = 2  # music21 parsing is CPU-bound; the machine is shared
KEPT_METERS = {"2/4": 8, "4/4": 16, "2/2": 16, "4/2": 32}  # meter -> 16th steps per measure
MIN_NOTES = 2
_TUNES_PER_TASK = 64


def corpus_root() -> Path:
    """The folder of music21's bundled corpus (inside the installed package)."""
    import music21

    return Path(music21.__file__).parent / "corpus"


def split_of(tune_id: str) -> str:
    """'train' | 'validation' | 'test' from a hash of the tune id (stable everywhere)."""
    bucket = int(hashlib.sha256(tune_id.encode()).hexdigest(), 16) % 10
    return "train" if bucket < 8 else ("validation" if bucket == 8 else "test")


# --------------------------------------------------------------------------------------
# tunes in ABC files
# --------------------------------------------------------------------------------------

def split_abc(text: str) -> list[tuple[str, str]]:
    """``[(X number, tune text)]``: an ABC file's tunes, each with the file header before it."""
    lines = text.splitlines()
    header: list[str] = []
    tunes: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.startswith("X:"):
            tunes.append((line[2:].strip() or str(len(tunes) + 1), [line]))
        elif tunes:
            tunes[-1][1].append(line)
        else:
            header.append(line)
    head = [h for h in header if h.strip() and not h.startswith("%")]
    return [(x, "\n".join([body[0], *head, *body[1:]]) + "\n") for x, body in tunes]


def find_tunes(root: Path, collections: Sequence[str] = COLLECTIONS,
               limit_files: int | None = None) -> list[tuple[str, str]]:
    """``[(tune_id, abc_text)]`` of the collections' ``.abc`` files, in a fixed order.

    ``limit_files`` takes the first N files of each collection (for tests)."""
    out: list[tuple[str, str]] = []
    for coll in collections:
        folder = root / coll
        if not folder.is_dir():
            raise DatasetError(f"{folder}: music21 corpus collection not found")
        files = sorted(folder.glob("*.abc"))[:limit_files]
        for path in files:
            text = path.read_text(encoding="latin-1")
            seen: Counter[str] = Counter()
            for x, tune in split_abc(text):
                seen[x] += 1
                suffix = "" if seen[x] == 1 else f".{seen[x]}"
                out.append((f"{coll}/{path.name}#{x}{suffix}", tune))
    return out


# --------------------------------------------------------------------------------------
# one tune (runs in worker processes)
# --------------------------------------------------------------------------------------

@dataclass
class TuneResult:
    tune_id: str
    events: np.ndarray | None = None  # (T,) int16 MusicVAE events, C major / A minor, 48..84
    measure_steps: int = 0
    meter: str = ""
    shift: int = 0  # semitones applied to reach C major / A minor
    reason: str | None = None  # skip category
    message: str | None = None  # one line for the user


def _parse(text: str):
    from music21 import stream
    from music21.abcFormat import ABCHandler, translate

    handler = ABCHandler()
    handler.process(text)
    score = stream.Score()
    # Beams are notation only; music21 computes them for every part, a third of the parse.
    make_beams = stream.Part.makeBeams
    stream.Part.makeBeams = lambda self, *a, **k: self  # type: ignore[method-assign]
    try:
        translate.abcToStreamScore(handler, score)
    finally:
        stream.Part.makeBeams = make_beams  # type: ignore[method-assign]
    return score


def _key_shift(part) -> int:
    from music21 import key

    sigs = list(part.recurse().getElementsByClass(key.KeySignature))
    sharps = int(sigs[0].sharps) if sigs else 0
    tonic_pc = (7 * sharps) % 12  # the relative major's tonic
    shift = (-tonic_pc) % 12
    return shift - 12 if shift > 6 else shift


_METER_ALIASES = {"C": "4/4", "C|": "2/2"}
_INLINE_METER = re.compile(r"\[M:\s*([^\]]*)\]")


def abc_meters(text: str) -> list[str]:
    """The meters an ABC tune declares (``M:`` lines and inline ``[M:..]``), in order, as
    'n/d' ('none' for free meter). Read from the text so skipped meters cost no parse."""
    found = [line[2:] for line in text.splitlines() if line.startswith("M:")]
    found += _INLINE_METER.findall(text)
    out = []
    for m in found:
        m = m.split("%")[0].strip().replace(" ", "")
        out.append(_METER_ALIASES.get(m, m.lower() if m.lower() == "none" else m))
    return out


def process_tune(tune_id: str, text: str) -> TuneResult:
    """Parse one ABC tune into a monophonic event line; skips carry a reason and one line."""
    from music21 import chord, meter, note

    res = TuneResult(tune_id)
    declared = set(abc_meters(text))
    if not declared or declared == {"none"}:
        res.reason, res.message = "no meter", f"{tune_id}: no time signature (free meter)"
        return res
    if len(declared) > 1:
        res.reason, res.message = "meter changes", f"{tune_id}: meter changes ({', '.join(sorted(declared))})"
        return res
    (only,) = declared
    if only not in KEPT_METERS:
        res.reason = f"meter {only}"
        res.message = f"{tune_id}: meter {only} does not fit a 4/4 16-step bar"
        return res
    try:
        score = _parse(text)
    except Exception as err:  # noqa: BLE001 - music21 raises many types on bad ABC
        res.reason, res.message = "unparsable", f"{tune_id}: unparsable ABC ({type(err).__name__}: " \
                                                f"{str(err).splitlines()[0][:120] if str(err) else ''})"
        return res
    try:
        parts = list(score.parts) or [score]
        part = max(parts, key=lambda p: len({float(n.offset) for n in p.recurse().notes}))
        sigs = {ts.ratioString for ts in part.recurse().getElementsByClass(meter.TimeSignature)}
        if not sigs:
            res.reason, res.message = "no meter", f"{tune_id}: no time signature (free meter)"
            return res
        if len(sigs) > 1:
            res.reason, res.message = "meter changes", f"{tune_id}: meter changes ({', '.join(sorted(sigs))})"
            return res
        res.meter = sigs.pop()
        if res.meter not in KEPT_METERS:
            res.reason = f"meter {res.meter}"
            res.message = f"{tune_id}: meter {res.meter} does not fit a 4/4 16-step bar"
            return res
        res.measure_steps = KEPT_METERS[res.meter]
        res.shift = _key_shift(part)
        measures = list(part.getElementsByClass("Measure"))
        pad_q = 0.0
        if measures:
            bar_q = res.measure_steps / 4
            first_q = float(measures[0].duration.quarterLength)
            if 0 < first_q < bar_q:
                pad_q = bar_q - first_q  # pickup: its notes end where bar 2 begins
        items: list[tuple[int, int, int | tuple[int, ...]]] = []
        for el in part.flatten().notes:
            ql = float(el.duration.quarterLength)
            if ql <= 0 or getattr(el.duration, "isGrace", False):
                continue
            start = round((float(el.offset) + pad_q) * 4)
            end = max(start + 1, round((float(el.offset) + pad_q + ql) * 4))
            if isinstance(el, chord.Chord):
                pitches = tuple(int(p.midi) for p in el.pitches)
                if not pitches:
                    continue
                pitch: int | tuple[int, ...] = pitches if len(pitches) > 1 else pitches[0]
            elif isinstance(el, note.Note):
                pitch = int(el.pitch.midi)
            else:
                continue
            tie = getattr(el, "tie", None)
            if (tie is not None and tie.type in ("stop", "continue") and items
                    and items[-1][2] == pitch and items[-1][1] >= start - 1):
                items[-1] = (items[-1][0], end, pitch)  # a tied note lengthens the note before
                continue
            items.append((start, end, pitch))
        if len(items) < MIN_NOTES:
            res.reason, res.message = "too few notes", f"{tune_id}: fewer than {MIN_NOTES} notes"
            return res
        ms = res.measure_steps
        last = max(e for _, e, _ in items)
        total = -(-last // ms) * ms
        events = notes_to_events(items, total)
        line = Melody(events).transpose(res.shift).fit_range(MIN_PITCH, MAX_PITCH).events
        res.events = _trim(np.asarray(line, np.int16), ms)
    except Exception as err:  # noqa: BLE001 - one bad tune must not end an 11k-tune build
        res.reason = "unexpected error"
        res.message = f"{tune_id}: {type(err).__name__}: {str(err).splitlines()[0][:120] if str(err) else ''}"
        res.events = None
    return res


def _trim(events: np.ndarray, measure_steps: int) -> np.ndarray:
    """Drop whole silent measures at both ends (silence: nothing sounds)."""
    sounding = _sounding_mask(events)
    steps = np.flatnonzero(sounding)
    first = int(steps[0]) // measure_steps * measure_steps
    last = -(-(int(steps[-1]) + 1) // measure_steps) * measure_steps
    return events[first:last].copy()


def _sounding_mask(events: np.ndarray) -> np.ndarray:
    """``(T,)`` bool: a note sounds at this step (struck here or held)."""
    out = np.zeros(len(events), bool)
    on = False
    for i, e in enumerate(events.tolist()):
        if e >= 0:
            on = True
        elif e == NOTE_OFF:
            on = False
        out[i] = on
    return out


def _sounding_pitch(events: np.ndarray) -> np.ndarray:
    """``(T,)`` int16: the pitch sounding at each step, -1 when silent."""
    out = np.full(len(events), -1, np.int16)
    cur = -1
    for i, e in enumerate(events.tolist()):
        if e >= 0:
            cur = e
        elif e == NOTE_OFF:
            cur = -1
        out[i] = cur
    return out


def _process_batch(jobs: list[tuple[str, str]]) -> list[TuneResult]:
    return [process_tune(t, text) for t, text in jobs]


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# --------------------------------------------------------------------------------------
# the cached set of lines
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MelodyCorpus:
    """Every kept tune as one event line (concatenated), with its split and measure length.

    Attributes:
        events: ``(S,)`` int16, all lines one after the other (MusicVAE events, C major/A minor).
        offsets: ``(N + 1,)`` int64, line i is ``events[offsets[i]:offsets[i+1]]``.
        tune_id, split, meter: ``(N,)`` str. measure_steps: ``(N,)`` int32. shift: ``(N,)`` int8.
        fingerprint: sha256 hex of sources + settings. summary: what the build did.
    """

    events: np.ndarray
    offsets: np.ndarray
    tune_id: np.ndarray
    split: np.ndarray
    meter: np.ndarray
    measure_steps: np.ndarray
    shift: np.ndarray
    fingerprint: str
    summary: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.tune_id)

    def line(self, i: int) -> np.ndarray:
        return self.events[self.offsets[i]:self.offsets[i + 1]]

    def save(self, path: Path) -> Path:
        arrays = dict(format_version=np.array(FORMAT_VERSION), reader_version=np.array(READER_VERSION),
                      events=self.events, offsets=self.offsets,
                      tune_id=self.tune_id.astype(str), split=self.split.astype(str),
                      meter=self.meter.astype(str), measure_steps=self.measure_steps, shift=self.shift,
                      fingerprint=np.array(self.fingerprint), summary_json=np.array(json.dumps(self.summary)))
        return atomic_write(path, lambda f: np.savez_compressed(f, **arrays))

    @classmethod
    def load(cls, path: Path) -> MelodyCorpus:
        try:
            with np.load(path, allow_pickle=False) as z:
                if int(z["format_version"]) != FORMAT_VERSION:
                    raise DatasetError(f"{path}: melody data format {int(z['format_version'])}, "
                                       f"this program reads {FORMAT_VERSION}")
                reader = int(z["reader_version"]) if "reader_version" in z.files else None
                if reader != READER_VERSION:
                    raise DatasetError(f"{path}: lines read by reader version {reader or 'unknown'}, "
                                       f"this program's reader is version {READER_VERSION}")
                return cls(z["events"], z["offsets"], z["tune_id"], z["split"], z["meter"],
                           z["measure_steps"], z["shift"], str(z["fingerprint"]),
                           json.loads(str(z["summary_json"])))
        except DatasetError:
            raise
        except Exception as err:  # noqa: BLE001 - damaged bytes raise zlib, zip, numpy errors alike
            raise DatasetError(f"{path}: not a readable melody dataset ({err})") from err


def fingerprint(tunes: Sequence[tuple[str, str]], settings: dict[str, Any]) -> str:
    import music21

    h = hashlib.sha256()
    reader = {} if READER_VERSION == UNHASHED_READER_VERSION else {"reader": READER_VERSION}
    h.update(json.dumps({"format": FORMAT_VERSION, **reader, "music21": music21.__version__, **settings},
                        sort_keys=True).encode())
    for tune_id, text in tunes:
        h.update(tune_id.encode() + b"\0" + hashlib.sha256(text.encode()).digest())
    return h.hexdigest()


def build_corpus(*, collections: Sequence[str] = COLLECTIONS, limit_files: int | None = None,
                 cache_dir: str | os.PathLike[str] | None = None, workers: int = MAX_WORKERS,
                 use_cache: bool = True, root: Path | None = None) -> MelodyCorpus:
    """Parse (or load from the cache) every tune of the collections.

    Raises:
        DatasetError: a collection is missing or no tune was usable.
    """
    t0 = time.perf_counter()
    tunes = find_tunes(root or corpus_root(), collections, limit_files)
    settings = {"collections": list(collections), "limit_files": limit_files,
                "meters": KEPT_METERS, "pitch_range": [MIN_PITCH, MAX_PITCH]}
    fp = fingerprint(tunes, settings)
    cache = (Path(cache_dir) if cache_dir is not None else default_cache_dir()) / f"melody-{fp[:24]}.npz"
    if use_cache and cache.is_file():
        try:
            corpus = MelodyCorpus.load(cache)
            if corpus.fingerprint == fp:
                summary = dict(corpus.summary, cache="hit", cache_file=str(cache),
                               seconds=round(time.perf_counter() - t0, 3))
                object.__setattr__(corpus, "summary", summary)
                return corpus
        except DatasetError:
            pass  # a broken cache is rebuilt
    workers = max(1, min(int(workers), MAX_WORKERS))
    if workers > 1 and len(tunes) >= 2 * _TUNES_PER_TASK:
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods()
                                          else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            results = [r for batch in pool.map(_process_batch, _chunks(tunes, _TUNES_PER_TASK))
                       for r in batch]
    else:
        workers = 1
        results = _process_batch(tunes)
    kept = [r for r in results if r.events is not None and r.reason is None]
    skipped = [{"tune": r.tune_id, "reason": r.reason, "message": r.message}
               for r in results if r.reason is not None]
    if not kept:
        raise DatasetError(f"no usable tune among {len(tunes)} ({Counter(s['reason'] for s in skipped)})")
    lengths = np.array([len(r.events) for r in kept], np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    splits = np.array([split_of(r.tune_id) for r in kept])
    summary: dict[str, Any] = {
        "tunes_found": len(tunes), "tunes_kept": len(kept), "tunes_skipped": len(skipped),
        "skipped_by_reason": dict(Counter(s["reason"] for s in skipped).most_common()),
        "skipped": skipped, "meters_kept": dict(Counter(r.meter for r in kept)),
        "tunes_per_split": {s: int((splits == s).sum()) for s in SPLITS},
        "workers": workers, "fingerprint": fp, "cache_file": str(cache),
        "cache": "miss" if use_cache else "disabled",
        "split_rule": "sha256(tune_id) % 10: 0-7 train, 8 validation, 9 test",
    }
    corpus = MelodyCorpus(np.concatenate([r.events for r in kept]).astype(np.int16), offsets,
                          np.array([r.tune_id for r in kept]), splits, np.array([r.meter for r in kept]),
                          np.array([r.measure_steps for r in kept], np.int32),
                          np.array([r.shift for r in kept], np.int8), fp, summary)
    summary["build_seconds"] = round(time.perf_counter() - t0, 2)
    summary["seconds"] = summary["build_seconds"]
    if use_cache:  # a cache that cannot be written costs the next build time, not this one
        try:
            corpus.save(cache)
        except OSError as err:
            summary["cache"] = f"not written: {err.strerror or err}"
    return corpus


# --------------------------------------------------------------------------------------
# windows
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MelodyWindows:
    """Fixed-length windows as model classes.

    Attributes:
        classes: ``(N, T)`` int64 in ``0..NUM_CLASSES-1`` (engine.music.melody codec).
        tune: ``(N,)`` int64 index into the corpus' tunes. start: ``(N,)`` start step in the line.
    """

    classes: np.ndarray
    tune: np.ndarray
    start: np.ndarray

    def __len__(self) -> int:
        return len(self.classes)


def windows(corpus: MelodyCorpus, bars: int, split: str, *,
            dedupe_against_train: bool = True) -> MelodyWindows:
    """Every ``bars``-bar window of one split (see the module docstring for the rules)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known: {SPLITS}")
    t = bars * STEPS_PER_BAR
    rows, tunes, starts = _window_rows(corpus, t, split)
    if split != "train" and dedupe_against_train and rows:
        train_keys = {r.tobytes() for r in _window_rows(corpus, t, "train")[0]}
        keep = [j for j, r in enumerate(rows) if r.tobytes() not in train_keys]
        rows, tunes, starts = [rows[j] for j in keep], [tunes[j] for j in keep], [starts[j] for j in keep]
    if not rows:
        return MelodyWindows(np.zeros((0, t), np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    return MelodyWindows(events_to_classes(np.stack(rows)), np.array(tunes), np.array(starts))


def _window_rows(corpus: MelodyCorpus, t: int, split: str) -> tuple[list[np.ndarray], list[int], list[int]]:
    rows, tunes, starts = [], [], []
    seen: set[bytes] = set()
    for i in np.flatnonzero(corpus.split == split):
        rows_i, starts_i = _cut(corpus.line(int(i)), int(corpus.measure_steps[i]), t)
        for row, s in zip(rows_i, starts_i, strict=True):
            key = row.tobytes()
            if key in seen:
                continue
            seen.add(key)
            rows.append(row)
            tunes.append(int(i))
            starts.append(s)
    return rows, tunes, starts


def _cut(line: np.ndarray, measure_steps: int, t: int) -> tuple[list[np.ndarray], list[int]]:
    hop = max(STEPS_PER_BAR, measure_steps)
    if t % measure_steps:
        return [], []
    sounding = _sounding_pitch(line)
    rows, starts = [], []
    for s in range(0, len(line) - t + 1, hop):
        w = line[s:s + t].copy()
        if w[0] == NO_EVENT and sounding[s] >= 0:
            w[0] = sounding[s]  # a note held into the window is struck again
        snd = np.concatenate([[w[0] >= 0], (sounding[s + 1:s + t] >= 0)])
        if (w >= 0).sum() < MIN_NOTES:
            continue
        if not snd.reshape(-1, STEPS_PER_BAR).any(axis=1).all():
            continue  # a silent bar: MusicVAE splits melodies there
        rows.append(w)
        starts.append(s)
    return rows, starts
