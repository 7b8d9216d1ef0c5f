"""The training set: 2-bar windows of drum MIDI files with their attributes, cached in one .npz.

``build_dataset(src_dir)`` reads every ``.mid``/``.midi`` file under ``src_dir``
(recursively) with :mod:`engine.music.midifile`, cuts each 4/4 take into ``bars``-bar windows
every ``hop_bars`` bars, drops windows with fewer than ``min_onsets`` onsets and exact
duplicates within a split, computes the attributes and saves everything in ONE ``.npz``
(no pickle) named by a fingerprint of the sources and settings, so the next call with the
same files and settings only loads that file.

Splits: when ``src_dir/info.csv`` has ``midi_filename`` and ``split`` columns (the Groove
MIDI Dataset), each file goes to its row's split and files without a row are skipped;
otherwise every window is ``'train'``. Beats and fills are both kept (Magenta/TFDS's
``groove/2bar`` keeps both); non-4/4 files are skipped (TFDS keeps them, cut into bars of
``numerator`` beats, which does not fit a 16-step 4/4 grid).

The cache lives in ``cache_dir``, by default ``$GROOVEFADER_CACHE`` or
``./.cache/groovefader``. The fingerprint hashes every source file's relative path and
content, ``info.csv``, the settings, :data:`FORMAT_VERSION` and :data:`READER_VERSION` (from
version 2 on); it does not depend on where the folder lies or on file times, so it also names
the data a checkpoint was trained on.
"""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import DatasetError
from engine.music import attributes as attr
from engine.music.drums import NUM_VOICES
from engine.music.midifile import MidiReadError, read_drum_file
from engine.music.pattern import FEATURES, STEPS_PER_BAR
from models.atomic import atomic_write
from models.pathnames import name_bytes, shown

FORMAT_VERSION = 1  # bump when the .npz layout changes: old caches then miss
# Bump when some file's windows or attributes come out otherwise: the MIDI reader
# (engine.music.midifile), the pattern codec (engine.music.pattern) or the attributes
# (engine.music.attributes). The reader lives outside this module, so a change there would
# otherwise leave the fingerprint as it was and the cache serving windows read the old way;
# tests/training/test_dataset.py pins the reader's output to this number.
READER_VERSION = 1
# The reader's version that is left out of the fingerprint: version 1 reads as the reader did
# before it had a number, so data read by it keeps the fingerprint that checkpoints and resume
# states recorded then (train --resume compares them).
UNHASHED_READER_VERSION = 1
DEFAULT_ATTRIBUTES: tuple[str, ...] = tuple(attr.ATTRIBUTES)  # every attribute engine knows
SPLITS = ("train", "validation", "test")
MIDI_SUFFIXES = (".mid", ".midi")
MIN_ONSETS = 2  # a window with fewer onsets teaches nothing about grooves
POOL_MIN_FILES = 48  # below this, starting worker processes costs more than it saves
_FILES_PER_TASK = 16
_SHORT = "shorter than a window"


def default_cache_dir() -> Path:
    """``$GROOVEFADER_CACHE`` if set, else ``.cache/groovefader`` under the current directory."""
    env = os.environ.get("GROOVEFADER_CACHE")
    return Path(env) if env else Path.cwd() / ".cache" / "groovefader"


@dataclass(frozen=True)
class GrooveDataset:
    """Windows and their attributes, as numpy arrays (saved as one .npz, never pickled).

    Attributes:
        patterns: ``(N, T, 27)`` float32 in the pattern codec layout (engine.music.pattern).
        attributes: ``(N, A)`` float64, raw units (engine.music.attributes), columns in
            ``attribute_names`` order.
        attribute_names: the A attribute names.
        split: ``(N,)`` str, 'train' | 'validation' | 'test'.
        tempo_bpm: ``(N,)`` float32, the file's tempo at the window's first bar.
        source: ``(N,)`` str, the file's path relative to the source folder (posix).
        fingerprint: sha256 hex of sources + settings.
        start_bar: ``(N,)`` int32, the window's first bar in its file (an extra beyond the
            brief's contract, for tracing a window back to its file).
        summary: what the build did (files read, skips with reasons, windows per split).
    """

    patterns: np.ndarray
    attributes: np.ndarray
    attribute_names: tuple[str, ...]
    split: np.ndarray
    tempo_bpm: np.ndarray
    source: np.ndarray
    fingerprint: str
    start_bar: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    summary: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.patterns)
        if self.patterns.ndim != 3 or self.patterns.shape[2] != FEATURES:
            raise ValueError(f"patterns must be (N, T, {FEATURES}), got {self.patterns.shape}")
        if len(self.start_bar) == 0 and n:
            object.__setattr__(self, "start_bar", np.zeros(n, np.int32))
        for name in ("attributes", "split", "tempo_bpm", "source", "start_bar"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows, patterns {n}")
        if self.attributes.shape[1:] != (len(self.attribute_names),):
            raise ValueError("attributes columns do not match attribute_names")

    def __len__(self) -> int:
        return len(self.patterns)

    @property
    def steps(self) -> int:
        return int(self.patterns.shape[1])

    def subset(self, split: str) -> GrooveDataset:
        """The windows of one split ('train' | 'validation' | 'test'), same fingerprint."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; known: {SPLITS}")
        keep = self.split == split
        return GrooveDataset(self.patterns[keep], self.attributes[keep], self.attribute_names,
                             self.split[keep], self.tempo_bpm[keep], self.source[keep],
                             self.fingerprint, self.start_bar[keep], self.summary)

    def counts(self) -> dict[str, int]:
        """Windows per split, every split named."""
        return {s: int((self.split == s).sum()) for s in SPLITS}

    # -- storage ----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write one compressed .npz atomically (tmp file + os.replace)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = dict(
            format_version=np.array(FORMAT_VERSION), reader_version=np.array(READER_VERSION),
            patterns=self.patterns,
            attributes=self.attributes, attribute_names=np.array(self.attribute_names, dtype=str),
            split=self.split.astype(str), tempo_bpm=self.tempo_bpm, source=self.source.astype(str),
            start_bar=self.start_bar, fingerprint=np.array(self.fingerprint),
            summary_json=np.array(json.dumps(self.summary)))
        return atomic_write(path, lambda f: np.savez_compressed(f, **arrays))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> GrooveDataset:
        """Read a dataset .npz (pickle refused).

        Raises:
            DatasetError: missing, truncated or foreign file, another format version, or
                windows another reader version read.
        """
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                version = int(z["format_version"])
                if version != FORMAT_VERSION:
                    raise DatasetError(
                        f"{shown(path)}: dataset format {version}, this program reads {FORMAT_VERSION}")
                reader = int(z["reader_version"]) if "reader_version" in z.files else None
                if reader != READER_VERSION:
                    raise DatasetError(f"{shown(path)}: windows read by reader version "
                                       f"{reader or 'unknown'}, this program's reader is version "
                                       f"{READER_VERSION}")
                return cls(z["patterns"], z["attributes"], tuple(str(n) for n in z["attribute_names"]),
                           z["split"], z["tempo_bpm"], z["source"], str(z["fingerprint"]),
                           z["start_bar"], json.loads(str(z["summary_json"])))
        except DatasetError:
            raise
        except Exception as err:  # noqa: BLE001 - damaged bytes raise zlib, zip, numpy errors alike
            detail = err.strerror if isinstance(err, OSError) and err.strerror else err
            raise DatasetError(f"{shown(path)}: not a readable groovefader dataset ({detail})") from err


# --------------------------------------------------------------------------------------
# sources, splits, fingerprint
# --------------------------------------------------------------------------------------

def find_midi_files(src_dir: Path) -> list[Path]:
    """Every MIDI file under ``src_dir``, sorted by relative path (deterministic order)."""
    return _scan_sources(src_dir)[0]


def _scan_sources(src_dir: Path) -> tuple[list[Path], list[Path], list[OSError]]:
    """``(MIDI files, MIDI names that lead nowhere, folders that could not be read)``, the
    first two sorted by relative path.

    A folder named ``x.mid`` is no file and is passed over; a ``.mid`` link that is broken
    or loops is returned second, and a folder the walk cannot open third (its error), so the
    build can name them. Linked folders are not followed, so a link loop cannot make the
    walk endless.
    """
    files: list[Path] = []
    dead: list[Path] = []
    closed: list[OSError] = []
    for folder, _, names in os.walk(src_dir, onerror=closed.append, followlinks=False):
        for name in names:
            p = Path(folder, name)
            if p.suffix.lower() not in MIDI_SUFFIXES:
                continue
            if p.is_file():
                files.append(p)
            elif p.is_symlink() and not p.exists():
                dead.append(p)
    key = lambda p: name_bytes(p.relative_to(src_dir).as_posix())  # noqa: E731
    return sorted(files, key=key), sorted(dead, key=key), closed


def read_splits(src_dir: Path) -> dict[str, str] | None:
    """``info.csv``'s ``midi_filename → split`` map, or None when there is no usable info.csv."""
    info = src_dir / "info.csv"
    if not info.is_file():
        return None
    try:
        # bytes that are not UTF-8 decode as the file system decodes names, so a Latin-1
        # info.csv from an old archive still names its Latin-1 files
        with info.open(newline="", encoding="utf-8", errors="surrogateescape") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {"midi_filename", "split"} <= set(reader.fieldnames):
                return None
            return {row["midi_filename"].strip(): row["split"].strip() for row in reader}
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        detail = err.strerror if isinstance(err, OSError) and err.strerror else err
        raise DatasetError(f"{shown(info)}: cannot read ({detail})") from err


def fingerprint(src_dir: Path, files: Sequence[Path], settings: dict[str, Any]) -> str:
    """sha256 over format and reader versions (the reader's but for
    :data:`UNHASHED_READER_VERSION`), settings, info.csv and each file's relative path + content.

    A path is hashed as the bytes the file system holds, so a name that is not UTF-8
    (Latin-1 from an old archive) hashes like any other.
    """
    h = hashlib.sha256()
    reader = {} if READER_VERSION == UNHASHED_READER_VERSION else {"reader": READER_VERSION}
    h.update(json.dumps({"format": FORMAT_VERSION, **reader, **settings}, sort_keys=True).encode())
    info = src_dir / "info.csv"
    if info.is_file():
        try:
            h.update(b"info.csv\0" + hashlib.sha256(info.read_bytes()).digest())
        except OSError as err:  # read_splits reports it
            h.update(f"info.csv unreadable:{err.errno}".encode())
    for path in files:
        h.update(name_bytes(path.relative_to(src_dir).as_posix()) + b"\0")
        try:
            h.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError as err:  # unreadable now: its error decides the fingerprint, read later
            h.update(f"unreadable:{err.errno}".encode())
    return h.hexdigest()


# --------------------------------------------------------------------------------------
# per-file work (runs in worker processes)
# --------------------------------------------------------------------------------------

@dataclass
class _FileResult:
    rel: str
    windows: np.ndarray  # (n, T, 27) float32
    tempo_bpm: np.ndarray  # (n,) float32
    start_bar: np.ndarray  # (n,) int32
    skipped_passages: tuple[str, ...] = ()
    error_reason: str | None = None
    error: str | None = None


def _read_one(path: Path, rel: str, bars: int, hop_bars: int, steps_per_bar: int) -> _FileResult:
    t = bars * steps_per_bar
    empty = _FileResult(rel, np.zeros((0, t, FEATURES), np.float32), np.zeros(0, np.float32),
                        np.zeros(0, np.int32))
    try:
        result = read_drum_file(path, steps_per_bar)
    except MidiReadError as err:
        empty.error_reason, empty.error = err.reason, str(err)
        return empty
    except Exception as err:  # a reader bug must not end a 1,000-file build: record it
        empty.error_reason, empty.error = "unexpected error", f"{shown(path)}: {type(err).__name__}: {err}"
        return empty
    arrays, tempos, starts = [], [], []
    for take in result.takes:
        full = take.pattern.to_array()
        for b in range(0, take.pattern.bars - bars + 1, hop_bars):
            arrays.append(full[b * steps_per_bar:b * steps_per_bar + t])
            tempos.append(take.bar_tempos_bpm[b])
            starts.append(take.start_bar + b)
    if not arrays:
        empty.error_reason = _SHORT
        longest = max(tk.pattern.bars for tk in result.takes)
        empty.error = f"{shown(path)}: shorter than a window ({longest} bars of 4/4, a window is {bars})"
        empty.skipped_passages = result.skipped_passages
        return empty
    return _FileResult(rel, np.stack(arrays).astype(np.float32), np.asarray(tempos, np.float32),
                       np.asarray(starts, np.int32), result.skipped_passages)


def _read_batch(jobs: list[tuple[str, str, int, int, int]]) -> list[_FileResult]:
    return [_read_one(Path(p), rel, b, h, s) for p, rel, b, h, s in jobs]


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _read_all(jobs: list[tuple[str, str, int, int, int]], workers: int) -> tuple[list[_FileResult], int]:
    """Read every job, in a process pool when it pays; returns (results, processes used)."""
    if workers <= 1 or len(jobs) < POOL_MIN_FILES:
        return _read_batch(jobs), 1
    # fork: the children only parse MIDI (no torch ops), and unlike spawn/forkserver it does
    # not re-run the caller's main module, so scripts without a __main__ guard work too.
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            results = [r for batch in pool.map(_read_batch, _chunks(jobs, _FILES_PER_TASK)) for r in batch]
        return results, workers
    except (BrokenProcessPool, OSError, RuntimeError):
        # no pool here (e.g. spawn from an unguarded script): read in this process instead
        return _read_batch(jobs), 1


# --------------------------------------------------------------------------------------
# the build
# --------------------------------------------------------------------------------------

def _settings(bars: int, hop_bars: int, steps_per_bar: int, names: Sequence[str], min_onsets: int) -> dict:
    return {"bars": bars, "hop_bars": hop_bars, "steps_per_bar": steps_per_bar,
            "attributes": list(names), "min_onsets": min_onsets}


def _cache_file(cache_dir: str | os.PathLike[str] | None, fp: str) -> Path:
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return root / f"dataset-{fp[:24]}.npz"


def _validate(src_dir: Path, bars: int, hop_bars: int, steps_per_bar: int, names: Sequence[str],
              min_onsets: int) -> None:
    if not src_dir.is_dir():
        raise DatasetError(f"{shown(src_dir)}: no such directory")
    if bars <= 0 or hop_bars <= 0 or steps_per_bar <= 0 or min_onsets < 0:
        raise DatasetError(f"bars ({bars}), hop_bars ({hop_bars}) and steps_per_bar ({steps_per_bar}) "
                           f"must be positive, min_onsets ({min_onsets}) not negative")
    unknown = [n for n in names if n not in attr.ATTRIBUTES]
    if unknown:
        raise DatasetError(f"unknown attribute(s) {unknown}; known: {sorted(attr.ATTRIBUTES)}")


def load_cached(src_dir: str | os.PathLike[str], *, bars: int = 2, hop_bars: int = 1,
                steps_per_bar: int = STEPS_PER_BAR, attributes: Sequence[str] = DEFAULT_ATTRIBUTES,
                min_onsets: int = MIN_ONSETS,
                cache_dir: str | os.PathLike[str] | None = None) -> GrooveDataset | None:
    """The cached dataset for these sources and settings, or None when there is none yet."""
    src = Path(src_dir)
    _validate(src, bars, hop_bars, steps_per_bar, attributes, min_onsets)
    fp = fingerprint(src, find_midi_files(src),
                     _settings(bars, hop_bars, steps_per_bar, attributes, min_onsets))
    path = _cache_file(cache_dir, fp)
    if not path.is_file():
        return None
    try:
        ds = GrooveDataset.load(path)
    except DatasetError:
        return None  # a broken cache is rebuilt, not fatal
    return ds if ds.fingerprint == fp else None


def build(src_dir: str | os.PathLike[str], *, bars: int = 2, hop_bars: int = 1,
          steps_per_bar: int = STEPS_PER_BAR, attributes: Sequence[str] = DEFAULT_ATTRIBUTES,
          cache_dir: str | os.PathLike[str] | None = None, workers: int | None = None,
          use_cache: bool = True, min_onsets: int = MIN_ONSETS) -> tuple[GrooveDataset | None, dict]:
    """Like :func:`build_dataset` but never raises for an empty result: ``(dataset or None, summary)``.

    The CLI uses this to print the summary even when nothing usable was found.
    """
    t0 = time.perf_counter()
    src = Path(src_dir)
    names = tuple(attributes)
    _validate(src, bars, hop_bars, steps_per_bar, names, min_onsets)
    files, dead_links, closed = _scan_sources(src)
    settings = _settings(bars, hop_bars, steps_per_bar, names, min_onsets)
    fp = fingerprint(src, files, settings)
    cache_file = _cache_file(cache_dir, fp)
    if use_cache and cache_file.is_file():
        try:
            ds = GrooveDataset.load(cache_file)
        except DatasetError:
            ds = None
        if ds is not None and ds.fingerprint == fp:
            summary = dict(ds.summary, cache="hit", cache_file=shown(cache_file), src_dir=shown(src),
                           seconds=round(time.perf_counter() - t0, 3))
            object.__setattr__(ds, "summary", summary)
            return ds, summary

    splits = read_splits(src)
    skipped: list[dict[str, str]] = [
        {"file": shown(p.relative_to(src).as_posix()), "reason": "broken or looping link",
         "message": f"{shown(p)}: a symbolic link that leads to no file"} for p in dead_links]
    skipped += [{"file": shown(os.path.relpath(err.filename or src, src)), "reason": "unreadable folder",
                 "message": f"{shown(err.filename or src)}: cannot read the folder "
                            f"({err.strerror or err}); its files are not used"} for err in closed]
    jobs = []
    for path in files:
        rel = path.relative_to(src).as_posix()
        split = "train" if splits is None else splits.get(rel)
        if split is None:
            skipped.append({"file": shown(rel), "reason": "not listed in info.csv",
                            "message": f"{shown(path)}: not listed in {shown(src / 'info.csv')}"})
            continue
        if split not in SPLITS:
            skipped.append({"file": shown(rel), "reason": "unknown split",
                            "message": f"{shown(path)}: split {split!r} in info.csv is none of {SPLITS}"})
            continue
        jobs.append((str(path), rel, bars, hop_bars, steps_per_bar))
    n_workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
    results, n_workers = _read_all(jobs, n_workers)

    passages: list[str] = []
    per_split: dict[str, list[_FileResult]] = {s: [] for s in SPLITS}
    for r in results:
        passages.extend(f"{shown(src / r.rel)}: {p}" for p in r.skipped_passages)
        if r.error is not None:
            skipped.append({"file": shown(r.rel), "reason": str(r.error_reason), "message": r.error})
            continue
        per_split["train" if splits is None else splits[r.rel]].append(r)

    t = bars * steps_per_bar
    raw = {s: 0 for s in SPLITS}
    near_empty = {s: 0 for s in SPLITS}
    duplicates = {s: 0 for s in SPLITS}
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for split_name, rs in per_split.items():
        if not rs:
            continue
        pats = np.concatenate([r.windows for r in rs])
        tempos = np.concatenate([r.tempo_bpm for r in rs])
        starts = np.concatenate([r.start_bar for r in rs])
        sources = np.concatenate([np.full(len(r.windows), r.rel) for r in rs]).astype(str)
        raw[split_name] = len(pats)
        onsets = (pats[:, :, :NUM_VOICES] > 0.5).sum(axis=(1, 2))
        keep = onsets >= min_onsets
        near_empty[split_name] = int((~keep).sum())
        seen: set[bytes] = set()
        for i in np.flatnonzero(keep):  # exact duplicates within the split: keep the first
            key = pats[i].tobytes()
            if key in seen:
                keep[i] = False
                duplicates[split_name] += 1
            else:
                seen.add(key)
        parts.append((pats[keep], tempos[keep], starts[keep], sources[keep],
                      np.full(int(keep.sum()), split_name)))

    windows_per_split = {s: raw[s] - near_empty[s] - duplicates[s] for s in SPLITS}
    reasons = Counter(s["reason"] for s in skipped)
    summary: dict[str, Any] = {
        "src_dir": shown(src), "fingerprint": fp, "cache": "miss" if use_cache else "disabled",
        "cache_file": shown(cache_file) if use_cache else None,
        "settings": settings, "splits_from": "info.csv" if splits is not None else "none (all train)",
        # read = parsed into 4/4 drum takes; used = gave at least one window
        "files_found": len(files),
        "files_read": sum(1 for r in results if r.error is None or r.error_reason == _SHORT),
        "files_used": sum(1 for r in results if r.error is None), "files_skipped": len(skipped),
        "skipped_by_reason": dict(sorted(reasons.items())),
        "skipped_files": skipped, "passages_skipped": passages,
        "windows_before_filtering": raw, "dropped_near_empty": near_empty,
        "dropped_duplicates": duplicates, "windows": windows_per_split,
        "total_windows": sum(windows_per_split.values()), "workers": n_workers,
    }
    if summary["total_windows"] == 0:
        summary["cache"], summary["cache_file"] = "not written (no windows)", None
        summary["seconds"] = round(time.perf_counter() - t0, 3)
        return None, summary

    pats = np.concatenate([p[0] for p in parts]).reshape(-1, t, FEATURES)
    values = attr.compute(pats, names) if names else np.zeros((len(pats), 0))
    ds = GrooveDataset(pats, values.astype(np.float64), names, np.concatenate([p[4] for p in parts]),
                       np.concatenate([p[1] for p in parts]).astype(np.float32),
                       np.concatenate([p[3] for p in parts]), fp,
                       np.concatenate([p[2] for p in parts]).astype(np.int32), {})
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    object.__setattr__(ds, "summary", summary)
    if use_cache:
        try:
            ds.save(cache_file)
        except OSError as err:
            summary["cache"] = f"not written: {err.strerror or err}"
    return ds, summary


def build_dataset(src_dir: str | os.PathLike[str], *, bars: int = 2, hop_bars: int = 1,
                  steps_per_bar: int = STEPS_PER_BAR, attributes: Sequence[str] = DEFAULT_ATTRIBUTES,
                  cache_dir: str | os.PathLike[str] | None = None, workers: int | None = None,
                  use_cache: bool = True, min_onsets: int = MIN_ONSETS) -> GrooveDataset:
    """Build (or load from the cache) the windows of every drum MIDI file under ``src_dir``.

    Args:
        src_dir: folder searched recursively for ``.mid``/``.midi``; ``info.csv`` optional.
        bars, hop_bars: window length and hop in bars (2 and 1: GrooVAE's 2-bar set).
        steps_per_bar: grid resolution (16 = 16th notes).
        attributes: names from :data:`engine.music.attributes.ATTRIBUTES` (default: all).
        cache_dir: folder of the cache file (default :func:`default_cache_dir`).
        workers: reader processes (default: CPU count; small corpora are read in-process).
        use_cache: False rebuilds and writes nothing.
        min_onsets: windows with fewer onsets are dropped.

    Returns:
        The dataset; ``dataset.summary`` says what was read, skipped (and why) and dropped.

    Raises:
        DatasetError: missing folder, bad settings, or no usable window at all.
    """
    ds, summary = build(src_dir, bars=bars, hop_bars=hop_bars, steps_per_bar=steps_per_bar,
                        attributes=attributes, cache_dir=cache_dir, workers=workers,
                        use_cache=use_cache, min_onsets=min_onsets)
    if ds is None:
        raise DatasetError(no_windows_message(summary))
    return ds


def no_windows_message(summary: dict) -> str:
    """One line: why a build found nothing usable."""
    reasons = ", ".join(f"{n} {r}" for r, n in summary["skipped_by_reason"].items()) or "none skipped"
    return (f"{summary['src_dir']}: no usable drum windows in {summary['files_found']} MIDI file(s) "
            f"({reasons})")
