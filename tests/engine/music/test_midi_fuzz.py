"""Mutation fuzz of the MIDI reader over real files: every mutant is read or refused with the
domain error (:class:`MidiReadError`), never another exception, never a hang.

A few hundred mutants here (seconds); ``bench/midi_fuzz.py`` runs tens of thousands and
reports the time per file.
"""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest

from engine.music.drums import NUM_VOICES, Voice
from engine.music.midifile import MAX_BARS, MidiReadError, read_clip, read_drum_file, write_clip
from engine.music.pattern import Pattern
from tests.support.midi_fuzz import MUTATIONS, fuzz

GROOVE = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "groove"
REAL = ("drummer1/session1/1_funk_80_beat_4-4.mid", "drummer7/session3/108_rock_95_beat_4-4.mid",
        "drummer1/session1/103_funk_95_fill_4-4.mid",
        "drummer5/session1/10_latin-brazilian-sambareggae_96_beat_4-4.mid")


def corpus(folder: Path) -> list[Path]:
    """Real Groove files where the data set is present, and clips groovefader wrote."""
    files = [GROOVE / r for r in REAL if (GROOVE / r).is_file()]
    if GROOVE.is_dir() and len(files) < 2:  # another copy of the set: any four of its files
        files = sorted(GROOVE.rglob("*.mid"))[:4]
    rng = np.random.default_rng(0)
    for i in range(2):
        hits = rng.random((32, NUM_VOICES)) < 0.2
        hits[::4, Voice.KICK] = True
        files.append(write_clip(folder / f"written{i}.mid",
                                Pattern(hits, rng.random(hits.shape), rng.uniform(-0.5, 0.5, hits.shape))))
    return files


def test_mutants_are_read_or_refused_never_a_crash_or_a_hang(tmp_path):
    report = fuzz(corpus(tmp_path), mutants=400, seed=22, workdir=tmp_path)
    assert report.failures == [], report.failures
    assert set(report.outcomes) <= {"read", "refused"}
    # the mutants reach the reader's later stages, not only mido's parser
    assert report.outcomes["read"] > 0 and len(report.refusals) >= 5, report.as_json()
    assert set(report.by_mutation) == set(MUTATIONS)


def _drum_file(path: Path, track: list) -> Path:
    midi = mido.MidiFile()
    midi.tracks.append(mido.MidiTrack(track))
    midi.save(str(path))
    return path


def _kicks(n: int, gap: int = 480) -> list:
    out = []
    for i in range(n):
        out += [mido.Message("note_on", channel=9, note=36, velocity=100, time=0 if i == 0 else gap - 10),
                mido.Message("note_off", channel=9, note=36, time=10)]
    return out


def test_a_time_signature_of_zero_beats_is_a_skipped_passage(tmp_path):
    """0/4 (found by the fuzz: it divided by zero) is skipped like any other non-4/4 passage."""
    path = _drum_file(tmp_path / "zero.mid", [mido.MetaMessage("time_signature", numerator=4, denominator=4),
                                              *_kicks(16),
                                              mido.MetaMessage("time_signature", numerator=0, denominator=4),
                                              *_kicks(8)])
    got = read_drum_file(path)
    assert got.takes[0].pattern.bars == 4
    assert any("in 0/4 skipped" in s for s in got.skipped_passages)


def test_a_delta_time_of_hours_is_refused_before_a_grid_is_built(tmp_path):
    """One broken delta (0x0FFFFFFF ticks) once asked for a grid of gigabytes."""
    track = [*_kicks(4), mido.Message("note_on", channel=9, note=38, velocity=90, time=0x0FFFFFFF)]
    path = _drum_file(tmp_path / "long.mid", track)
    with pytest.raises(MidiReadError, match=f"implausibly long .*at most {MAX_BARS}") as caught:
        read_clip(path)
    assert caught.value.reason == "implausibly long"


def test_melody_reader_mutants_are_read_or_refused(tmp_path):
    """The melody lane's reader on mutants of two tunes (it used to divide by zero on a time
    division of 0, allocate petabytes for a broken delta and pass mido's own errors on)."""
    from tests.support.melody import melody_a, melody_b
    from tests.support.midi_fuzz import read_melody

    tunes = []
    for i, tune in enumerate((melody_a(), melody_b())):
        tune.write_midi(tmp_path / f"tune{i}.mid")
        tunes.append(tmp_path / f"tune{i}.mid")
    report = fuzz(tunes, mutants=400, seed=7, workdir=tmp_path, read=read_melody)
    assert report.failures == [], report.failures
    assert report.outcomes["read"] > 0 and len(report.refusals) >= 4, report.as_json()
