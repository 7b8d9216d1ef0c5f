"""build_dataset: windows, splits, filtering, bad files, the cache and the .npz format."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import mido
import numpy as np
import pytest

from engine.errors import DatasetError
from engine.music import attributes
from engine.music.drums import NUM_VOICES, Voice
from engine.music.midifile import write_clip
from engine.music.pattern import Pattern
from training import dataset as dataset_module
from training.dataset import (
    DEFAULT_ATTRIBUTES,
    GrooveDataset,
    build,
    build_dataset,
    default_cache_dir,
    find_midi_files,
    load_cached,
)

GROOVE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "groove"
GROOVE_FILES = {  # a handful of real files: a beat per split and a 1-bar fill
    "drummer1/eval_session/1_funk-groove1_138_beat_4-4.mid": "test",
    "drummer1/session1/1_funk_80_beat_4-4.mid": "train",
    "drummer1/session1/103_funk_95_fill_4-4.mid": "train",
    "drummer1/session1/2_funk_80_beat_4-4.mid": "validation",
}


def groove_bar(seed: int, bars: int = 4) -> Pattern:
    """A busy random groove: every bar has kicks, snares and hats."""
    rng = np.random.default_rng(seed)
    steps = bars * 16
    h = rng.random((steps, NUM_VOICES)) < 0.15
    h[::4, Voice.KICK] = True
    h[::2, Voice.CLOSED_HAT] = True
    offsets = rng.uniform(-0.4, 0.4, h.shape)
    offsets[0] = 0
    return Pattern(h, rng.integers(20, 128, h.shape) / 127, offsets)


def write_info(folder: Path, rows: dict[str, str]) -> None:
    with (folder / "info.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["drummer", "midi_filename", "split", "time_signature"])
        for name, split in rows.items():
            w.writerow(["d", name, split, "4-4"])


@pytest.fixture
def corpus(tmp_path):
    """A small folder with splits, a duplicate, a near-empty bar and bad files."""
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    pats = {"a/one.mid": groove_bar(1), "a/two.mid": groove_bar(2, bars=3), "three.mid": groove_bar(3)}
    for name, p in pats.items():
        write_clip(src / name, p, tempo_bpm=100)
    shutil.copy(src / "a/one.mid", src / "a/one_copy.mid")  # same windows, same split: dropped
    shutil.copy(src / "a/one.mid", src / "one_in_test.mid")  # same windows, other split: kept
    # sparse.mid: 3 kicks in bar 1, one in bar 2, none after: only its window of bars 1-2 stays
    h = np.zeros((64, NUM_VOICES), bool)
    h[0, 0] = h[4, 0] = h[8, 0] = h[16, 0] = True
    write_clip(src / "sparse.mid", Pattern(h), tempo_bpm=100)
    (src / "empty.mid").write_bytes(b"")
    (src / "noise.mid").write_bytes(np.random.default_rng(0).integers(0, 256, 500, np.uint8).tobytes())
    write_info(src, {"a/one.mid": "train", "a/two.mid": "train", "three.mid": "validation",
                     "a/one_copy.mid": "train", "one_in_test.mid": "test", "sparse.mid": "train",
                     "empty.mid": "train", "noise.mid": "test"})
    write_clip(src / "unlisted.mid", groove_bar(9))
    return src, pats


def test_windows_splits_attributes_and_skips(corpus, tmp_path):
    src, pats = corpus
    ds = build_dataset(src, cache_dir=tmp_path / "cache", workers=1)
    s = ds.summary
    assert ds.attribute_names == DEFAULT_ATTRIBUTES == tuple(attributes.ATTRIBUTES)
    assert ds.patterns.shape[1:] == (32, 27) and ds.patterns.dtype == np.float32
    # train: one.mid 3 windows + copy 3 + two.mid 2 + sparse.mid 3; validation 3; test 3
    assert s["windows_before_filtering"] == {"train": 3 + 2 + 3 + 3, "validation": 3, "test": 3}
    assert s["dropped_duplicates"] == {"train": 3, "validation": 0, "test": 0}
    assert s["dropped_near_empty"] == {"train": 2, "validation": 0, "test": 0}
    assert ds.counts() == {"train": 6, "validation": 3, "test": 3}
    assert s["skipped_by_reason"] == {"empty file": 1, "not a readable MIDI file": 1,
                                      "not listed in info.csv": 1}
    messages = " | ".join(x["message"] for x in s["skipped_files"])
    assert "empty.mid: empty file" in messages and "noise.mid: not a readable MIDI file" in messages
    # window content is the clip's bars, exactly as the reader gives them
    one = ds.subset("train")
    rows = np.flatnonzero(one.source == "a/one.mid")
    assert list(one.start_bar[rows]) == [0, 1, 2]
    from engine.music.midifile import read_clip
    full = read_clip(src / "a/one.mid")
    for row, start in zip(rows, one.start_bar[rows], strict=True):
        assert Pattern.from_array(one.patterns[row]) == full.bar_slice(int(start), 2)
    np.testing.assert_allclose(ds.attributes, attributes.compute(ds.patterns, ds.attribute_names))
    np.testing.assert_allclose(ds.tempo_bpm, 100.0, rtol=1e-4)
    assert set(ds.subset("test").source) == {"one_in_test.mid"}


def test_without_info_csv_every_window_is_train(tmp_path):
    src = tmp_path / "plain"
    (src / "deep" / "er").mkdir(parents=True)
    write_clip(src / "deep" / "er" / "x.MID", groove_bar(4, bars=2))
    write_clip(src / "y.midi", groove_bar(5, bars=3))
    (src / "notes.txt").write_text("not midi")
    ds = build_dataset(src, use_cache=False)
    assert ds.counts() == {"train": 3, "validation": 0, "test": 0}
    assert ds.summary["splits_from"].startswith("none")
    assert ds.subset("validation").patterns.shape == (0, 32, 27)
    with pytest.raises(ValueError, match="unknown split"):
        ds.subset("dev")


def test_second_build_is_a_cache_hit_and_changes_miss(corpus, tmp_path):
    src, _ = corpus
    cache = tmp_path / "cache"
    first = build_dataset(src, cache_dir=cache, workers=1)
    assert first.summary["cache"] == "miss"
    assert len(list(cache.glob("*.npz"))) == 1
    second = build_dataset(src, cache_dir=cache, workers=1)
    assert second.summary["cache"] == "hit" and second.fingerprint == first.fingerprint
    for name in ("patterns", "attributes", "split", "tempo_bpm", "source", "start_bar"):
        np.testing.assert_array_equal(getattr(second, name), getattr(first, name))
    assert load_cached(src, cache_dir=cache).fingerprint == first.fingerprint
    # other settings: another fingerprint, nothing cached for them yet
    assert load_cached(src, cache_dir=cache, hop_bars=2) is None
    assert build_dataset(src, cache_dir=cache, hop_bars=2, workers=1).summary["cache"] == "miss"
    # a changed source file: another fingerprint
    write_clip(src / "three.mid", groove_bar(7), force=True)
    third = build_dataset(src, cache_dir=cache, workers=1)
    assert third.summary["cache"] == "miss" and third.fingerprint != first.fingerprint


def test_reader_version_enters_the_cache_key_and_is_checked_on_load(corpus, tmp_path, monkeypatch):
    """Windows a reader of another version made are never served from the cache."""
    src, _ = corpus
    cache = tmp_path / "cache"
    first = build_dataset(src, cache_dir=cache, workers=1)
    (old_file,) = cache.glob("*.npz")
    old = dataset_module.READER_VERSION
    monkeypatch.setattr(dataset_module, "READER_VERSION", old + 1)
    assert load_cached(src, cache_dir=cache) is None
    second = build_dataset(src, cache_dir=cache, workers=1)
    assert second.summary["cache"] == "miss" and second.fingerprint != first.fingerprint
    assert old_file.is_file() and len(list(cache.glob("*.npz"))) == 2  # the old cache is left alone
    # stored in the file too: one copied under the new name is refused, in one line
    with pytest.raises(DatasetError, match=f"read by reader version {old}, this program's reader is "
                                           f"version {old + 1}$"):
        GrooveDataset.load(old_file)


# The windows of the corpus fixture under READER_VERSION 1 (patterns, tempi, first bars,
# splits, sources and attributes to 4 decimals).
READER_OUTPUT = (1, "23135bb7d9ad8728be232b3e042b128f37bdfb6bece6472443400ed2bb2c885f")


def test_reader_output_is_pinned_to_the_reader_version(corpus):
    """A change in how files are read, cut or measured must come with a READER_VERSION bump:
    caches made before it would keep serving the windows read the old way."""
    import hashlib

    src, _ = corpus
    ds = build_dataset(src, use_cache=False, workers=1)
    h = hashlib.sha256()
    for a in (ds.patterns, ds.tempo_bpm, ds.start_bar, np.round(ds.attributes, 4) + 0.0):  # + 0.0: no -0.0
        h.update(np.ascontiguousarray(a).tobytes())
    h.update("\0".join(ds.split.tolist() + ds.source.tolist()).encode())
    assert (dataset_module.READER_VERSION, h.hexdigest()) == READER_OUTPUT, (
        "the windows changed: bump READER_VERSION in training/dataset.py and record the new pair here")


def test_the_first_reader_version_keeps_the_fingerprint_runs_recorded(corpus, monkeypatch):
    """Checkpoints and resume states made before the reader had a version hold a fingerprint
    without one; reader 1 reads as that reader did, so the same data keeps that fingerprint (a
    resume compares them, and a checkpoint's fingerprint names the data) and reader 2 changes it."""
    import hashlib
    import json

    src, _ = corpus
    files = find_midi_files(src)
    h = hashlib.sha256()  # the fingerprint as builds before the reader version computed it
    h.update(json.dumps({"format": dataset_module.FORMAT_VERSION, "bars": 2}, sort_keys=True).encode())
    h.update(b"info.csv\0" + hashlib.sha256((src / "info.csv").read_bytes()).digest())
    for path in files:
        h.update(path.relative_to(src).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    monkeypatch.setattr(dataset_module, "READER_VERSION", 1)
    assert dataset_module.fingerprint(src, files, {"bars": 2}) == h.hexdigest()
    monkeypatch.setattr(dataset_module, "READER_VERSION", 2)
    assert dataset_module.fingerprint(src, files, {"bars": 2}) != h.hexdigest()


def test_fingerprint_ignores_location_and_mtime(corpus, tmp_path):
    src, _ = corpus
    a = build_dataset(src, use_cache=False)
    moved = shutil.copytree(src, tmp_path / "elsewhere")  # new mtimes, new place
    b = build_dataset(moved, use_cache=False)
    assert a.fingerprint == b.fingerprint


def test_no_cache_writes_nothing_and_default_dir_follows_env(corpus, tmp_path, monkeypatch):
    src, _ = corpus
    monkeypatch.setenv("GROOVEFADER_CACHE", str(tmp_path / "envcache"))
    assert default_cache_dir() == tmp_path / "envcache"
    build_dataset(src, use_cache=False)
    assert not (tmp_path / "envcache").exists()
    build_dataset(src, workers=1)
    assert len(list((tmp_path / "envcache").glob("dataset-*.npz"))) == 1
    monkeypatch.delenv("GROOVEFADER_CACHE")
    monkeypatch.chdir(tmp_path)
    assert default_cache_dir() == tmp_path / ".cache" / "groovefader"


def test_process_pool_gives_the_same_dataset(corpus, monkeypatch):
    src, _ = corpus
    serial = build_dataset(src, use_cache=False, workers=1)
    monkeypatch.setattr(dataset_module, "POOL_MIN_FILES", 1)
    pooled = build_dataset(src, use_cache=False, workers=2)
    assert pooled.summary["workers"] == 2
    np.testing.assert_array_equal(pooled.patterns, serial.patterns)
    np.testing.assert_array_equal(pooled.source, serial.source)
    assert pooled.summary["skipped_files"] == serial.summary["skipped_files"]


def test_bad_files_only_raise_dataset_error(tmp_path):
    src = tmp_path / "bad"
    src.mkdir()
    (src / "empty.mid").write_bytes(b"")
    midi = mido.MidiFile(type=2)
    midi.tracks.append(mido.MidiTrack([mido.Message("note_on", channel=9, note=36, velocity=90)]))
    midi.save(str(src / "type2.mid"))
    piano = mido.MidiFile()
    piano.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, velocity=90),
                                        mido.Message("note_off", note=60, time=1920)]))
    piano.save(str(src / "piano.mid"))
    ds, summary = build(src, use_cache=False)
    assert ds is None and summary["total_windows"] == 0
    assert summary["skipped_by_reason"] == {
        "empty file": 1, "no drum notes": 1, "type-2 MIDI file (independent sequences) is not supported": 1}
    with pytest.raises(DatasetError, match=r"bad: no usable drum windows in 3 MIDI file"):
        build_dataset(src, use_cache=False)


def test_bad_settings_and_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="no such directory"):
        build_dataset(tmp_path / "missing")
    with pytest.raises(DatasetError, match="bars"):
        build_dataset(tmp_path, bars=0)
    with pytest.raises(DatasetError, match="unknown attribute"):
        build_dataset(tmp_path, attributes=("groove_factor",))


def test_npz_round_trip_and_broken_files(corpus, tmp_path):
    src, _ = corpus
    ds = build_dataset(src, use_cache=False, attributes=("density", "syncopation"))
    path = ds.save(tmp_path / "d.npz")
    back = GrooveDataset.load(path)
    assert back.attribute_names == ("density", "syncopation") and back.attributes.shape == (len(ds), 2)
    np.testing.assert_array_equal(back.patterns, ds.patterns)
    assert back.split.dtype.kind == "U" and back.fingerprint == ds.fingerprint
    truncated = tmp_path / "t.npz"
    truncated.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DatasetError, match="t.npz: not a readable groovefader dataset"):
        GrooveDataset.load(truncated)
    pickled = tmp_path / "p.npz"
    np.savez(pickled, format_version=np.array(1), patterns=np.array([{"x": 1}], dtype=object))
    with pytest.raises(DatasetError, match="p.npz"):
        GrooveDataset.load(pickled)


@pytest.mark.parametrize("damage", ["garbage", "flipped"])
def test_broken_cache_file_is_rebuilt(corpus, tmp_path, damage):
    src, _ = corpus
    cache = tmp_path / "cache"
    ds = build_dataset(src, cache_dir=cache, workers=1)
    (cache_file,) = cache.glob("*.npz")
    good = cache_file.read_bytes()
    if damage == "garbage":
        cache_file.write_bytes(b"garbage")
    else:  # bytes flipped inside a compressed member: zlib's own error, not a short file
        member = good.index(b"patterns.npy") + 200
        cache_file.write_bytes(good[:member] + bytes(b ^ 0xFF for b in good[member:member + 8])
                               + good[member + 8:])
    again = build_dataset(src, cache_dir=cache, workers=1)
    assert again.summary["cache"] == "miss" and len(again) == len(ds)
    assert GrooveDataset.load(cache_file).fingerprint == ds.fingerprint


@pytest.mark.skipif(not GROOVE.is_dir(), reason="Groove MIDI Dataset not found next to the repo")
def test_real_groove_files_follow_info_csv(tmp_path):
    src = tmp_path / "groove"
    for name in GROOVE_FILES:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(GROOVE / name, src / name)
    with (GROOVE / "info.csv").open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["midi_filename"] in GROOVE_FILES]
    with (src / "info.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    ds = build_dataset(src, use_cache=False, workers=1)
    assert {r["midi_filename"]: r["split"] for r in rows} == GROOVE_FILES
    for split in ("train", "validation", "test"):
        sub = ds.subset(split)
        assert len(sub) > 10
        assert {s for s in sub.source} <= {n for n, sp in GROOVE_FILES.items() if sp == split}
    assert ds.summary["skipped_by_reason"] == {"shorter than a window": 1}  # the 1-bar fill
    test = ds.subset("test")
    np.testing.assert_allclose(test.tempo_bpm, 138, atol=0.5)
    assert (attributes.density(test.patterns) > 0).all()
