"""Melody data: real music21 folk tunes on the 16th grid, bad tunes, the split, the cache."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

pytest.importorskip("music21")

from engine.errors import DatasetError  # noqa: E402
from engine.music.melody import MAJOR_SCALE, NOTE_OFF, Melody  # noqa: E402
from training.melody import data  # noqa: E402

REEL = "ryansMammoth/7thRegimentReel.abc"


@pytest.fixture(scope="module")
def reel_text() -> str:
    return (data.corpus_root() / REEL).read_text(encoding="latin-1")


def test_a_real_reel_becomes_a_c_major_line(reel_text) -> None:
    (x, text), = data.split_abc(reel_text)
    res = data.process_tune(f"{REEL}#{x}", text)
    assert res.reason is None, res.message
    assert res.meter == "2/4" and res.measure_steps == 8 and res.shift == 3  # K:A -> C: up 3
    m = Melody(res.events)
    assert m.steps % 8 == 0 and m.num_notes > 100
    pcs = np.array([p % 12 for _, _, p in m.notes()])
    assert np.isin(pcs, MAJOR_SCALE).mean() > 0.9  # transposed into C major
    assert Melody.from_classes(m.to_classes()) == m  # the codec round trip on real data
    assert m.events[0] >= 0  # leading silence trimmed


def test_meters_kept_and_skipped_with_their_reason() -> None:
    body = "L:1/8\nK:C\nCDEF GABc|cBAG FEDC|\n"
    kept = data.process_tune("t#1", f"X:1\nM:C\n{body}")
    assert kept.reason is None and kept.meter == "4/4"
    waltz = data.process_tune("t#2", f"X:2\nM:3/4\n{body}")
    assert waltz.reason == "meter 3/4" and "t#2" in waltz.message
    jig = data.process_tune("t#3", f"X:3\nM:6/8\n{body}")
    assert jig.reason == "meter 6/8"
    changing = data.process_tune("t#4", "X:4\nM:2/4\nL:1/8\nK:C\nCD EF|[M:3/4]GA Bc d2|\n")
    assert changing.reason == "meter changes"


def test_bad_tune_gets_one_line_and_the_build_goes_on(tmp_path) -> None:
    coll = tmp_path / "folk"
    coll.mkdir()
    good = "X:1\nT:ok\nM:4/4\nL:1/8\nK:G\nGABc dedB|dedB A2G2|GABc dedB|A2F2 G4|\n"
    bad = "X:2\nT:broken\nM:4/4\nL:1/8\nK:G\n(((\n"
    (coll / "a.abc").write_text(good + "\n" + bad, encoding="latin-1")
    corpus = data.build_corpus(collections=("folk",), root=tmp_path, cache_dir=tmp_path / "cache",
                               workers=1)
    assert len(corpus) == 1 and corpus.tune_id[0] == "folk/a.abc#1"
    (skip,) = corpus.summary["skipped"]
    assert skip["tune"] == "folk/a.abc#2" and "\n" not in skip["message"]
    again = data.build_corpus(collections=("folk",), root=tmp_path, cache_dir=tmp_path / "cache")
    assert again.summary["cache"] == "hit" and np.array_equal(again.events, corpus.events)
    # a cache damaged inside (bytes flipped in a compressed member: zlib's own error) is rebuilt
    (cache_file,) = (tmp_path / "cache").glob("*.npz")
    raw = cache_file.read_bytes()
    first = zipfile.ZipFile(cache_file).infolist()[0]
    at = first.header_offset + 30 + len(first.filename) + len(first.extra) + 15  # into its deflate data
    cache_file.write_bytes(raw[:at] + bytes(b ^ 0xFF for b in raw[at:at + 8]) + raw[at + 8:])
    rebuilt = data.build_corpus(collections=("folk",), root=tmp_path, cache_dir=tmp_path / "cache", workers=1)
    assert rebuilt.summary["cache"] == "miss" and np.array_equal(rebuilt.events, corpus.events)
    # a cache folder that cannot be made: the corpus is built all the same, and the summary says so
    (tmp_path / "a-file").write_text("")
    uncached = data.build_corpus(collections=("folk",), root=tmp_path, cache_dir=tmp_path / "a-file" / "c",
                                 workers=1)
    assert uncached.summary["cache"].startswith("not written") and len(uncached) == 1


def test_reader_version_enters_the_cache_key_and_is_checked_on_load(tmp_path, monkeypatch) -> None:
    """Lines a reader of another version made are never served from the cache."""
    (tmp_path / "folk").mkdir()
    (tmp_path / "folk" / "a.abc").write_text("X:1\nM:4/4\nL:1/8\nK:C\nCDEF GABc|cBAG FEDC|\n",
                                             encoding="latin-1")
    build = dict(collections=("folk",), root=tmp_path, cache_dir=tmp_path / "cache", workers=1)
    first = data.build_corpus(**build)
    (old_file,) = (tmp_path / "cache").glob("*.npz")
    old = data.READER_VERSION
    monkeypatch.setattr(data, "READER_VERSION", old + 1)
    second = data.build_corpus(**build)
    assert second.summary["cache"] == "miss" and second.fingerprint != first.fingerprint
    assert old_file.is_file() and len(list((tmp_path / "cache").glob("*.npz"))) == 2  # left alone
    # stored in the file too: one copied under the new name is refused, in one line
    with pytest.raises(DatasetError, match=f"read by reader version {old}, this program's reader is "
                                           f"version {old + 1}$"):
        data.MelodyCorpus.load(old_file)


# One tune through the reader under READER_VERSION 1: a pickup, a dotted pair, 16ths, a chord
# (arpeggiated), a grace note (dropped), a slur and a rest, in G (moved up 5 to C major).
PINNED_TUNE = "X:1\nT:pin\nM:4/4\nL:1/8\nK:G\nD|G>A B/c/d [GBd]2 {a}g2|(e2 e)d z2 B2|\n"
PINNED_LINE = (1, "4/4", 16, 5, [-2] * 14 + [67, -2, 72, -2, -2, 74, 76, 77, 79, -2, 72, 76, 79, -2,
                                             84, -2, -2, -2, 81, -2, -2, -2, 81, -2, 79, -2, -1, -2,
                                             -2, -2, 76, -2, -2, -2])


def test_reader_output_is_pinned_to_the_reader_version() -> None:
    """A change in how tunes are read or encoded must come with a READER_VERSION bump: caches
    made before it would keep serving the lines read the old way."""
    res = data.process_tune("t#1", PINNED_TUNE)
    line = (data.READER_VERSION, res.meter, res.measure_steps, res.shift, res.events.tolist())
    assert line == PINNED_LINE, (
        "the line changed: bump READER_VERSION in training/melody/data.py and record the new one here "
        "(a music21 upgrade alone is in the cache key already: then record the line only)")


def test_the_first_reader_version_keeps_the_fingerprint_runs_recorded(monkeypatch) -> None:
    """Checkpoints and resume states made before the reader had a version hold a fingerprint
    without one; reader 1 reads as that reader did, so the same tunes keep that fingerprint (a
    resume compares them: the shipped checkpoint's names today's corpus) and reader 2 changes it."""
    import hashlib
    import json

    import music21

    tunes, settings = [("folk/a.abc#1", PINNED_TUNE)], {"collections": ["folk"]}
    h = hashlib.sha256()  # the fingerprint as builds before the reader version computed it
    h.update(json.dumps({"format": data.FORMAT_VERSION, "music21": music21.__version__, **settings},
                        sort_keys=True).encode())
    h.update(b"folk/a.abc#1\0" + hashlib.sha256(PINNED_TUNE.encode()).digest())
    monkeypatch.setattr(data, "READER_VERSION", 1)
    assert data.fingerprint(tunes, settings) == h.hexdigest()
    monkeypatch.setattr(data, "READER_VERSION", 2)
    assert data.fingerprint(tunes, settings) != h.hexdigest()


def test_split_is_a_stable_hash_of_the_tune_id() -> None:
    assert data.split_of("ryansMammoth/7thRegimentReel.abc#1") == data.split_of(
        "ryansMammoth/7thRegimentReel.abc#1")
    splits = [data.split_of(f"c/f.abc#{i}") for i in range(3000)]
    shares = {s: splits.count(s) / len(splits) for s in data.SPLITS}
    assert 0.77 < shares["train"] < 0.83 and 0.08 < shares["test"] < 0.12
    # recorded values: a change of the rule (which would move tunes between splits) fails here
    assert [data.split_of(f"essenFolksong/altdeu10.abc#{i}") for i in range(1, 11)] == [
        "train", "train", "test", "validation", "train", "validation", "train", "train", "test", "train"]


def test_windows_are_whole_bars_and_restrike_held_notes() -> None:
    line = np.full(64, -2, np.int16)
    line[0], line[20], line[36], line[40], line[56] = 60, 62, 64, 65, NOTE_OFF
    corpus = data.MelodyCorpus(line, np.array([0, 64]), np.array(["t#1"]), np.array(["train"]),
                               np.array(["4/4"]), np.array([16], np.int32), np.array([0], np.int8), "fp")
    w = data.windows(corpus, 2, "train")
    assert w.classes.shape == (3, 32) and w.start.tolist() == [0, 16, 32]
    second = Melody.from_classes(w.classes[1])
    assert second.events[0] == 60  # the note held into the window is struck again


def test_data_melody_alias_refuses_a_drum_folder_in_one_line(tmp_path, capsys) -> None:
    from app.cli import main

    assert main(["data", "--melody", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "drop SRC_DIR" in err and err.count("\n") == 1
    assert main(["data"]) == 1
    assert "SRC_DIR is required" in capsys.readouterr().err
