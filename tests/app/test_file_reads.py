"""MIDI files read without freezing the window: a clip at once, a whole song's file off the
GUI thread, the latest read winning."""

from __future__ import annotations

import threading
from pathlib import Path

import mido
import numpy as np
import pytest

from app.file_reads import AT_ONCE_BYTES, FileReads
from engine.errors import GrooveFaderError
from engine.music.drums import Voice
from engine.music.midifile import write_clip
from engine.music.pattern import Pattern


def _big_drum_file(path: Path, bars: int = 600) -> Path:
    """Hats on every 16th for ``bars`` bars, a kick on each beat: a whole song's size."""
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    for step in range(bars * 16):
        notes = [42] + ([36] if step % 4 == 0 else [])
        for note in notes:
            track.append(mido.Message("note_on", channel=9, note=note, velocity=90, time=0))
        for i, note in enumerate(notes):
            track.append(mido.Message("note_off", channel=9, note=note, velocity=0, time=0 if i else 120))
    midi.tracks.append(track)
    midi.save(path)
    assert path.stat().st_size > AT_ONCE_BYTES
    return path


@pytest.fixture
def reads(qtbot):
    r = FileReads()
    yield r
    r.wait_idle()


def test_a_small_file_is_read_at_once_and_a_large_one_off_the_gui_thread(reads, qtbot, tmp_path) -> None:
    small, large = tmp_path / "small.bin", tmp_path / "large.bin"
    small.write_bytes(b"x" * 100)
    large.write_bytes(b"x" * (AT_ONCE_BYTES + 1))
    threads: list[str] = []
    got: list[int] = []

    def read(path: Path) -> int:
        threads.append(threading.current_thread().name)
        return path.stat().st_size

    reads.read("a", small, read, got.append, pytest.fail)
    assert got == [100] and threads == [threading.current_thread().name]  # in the same gesture
    said: list[str] = []
    reads.started.connect(said.append)
    reads.read("a", large, read, got.append, pytest.fail)
    assert got == [100] and said == [f"Reading large.bin ({(AT_ONCE_BYTES + 1) / 1e6:.1f} MB)…"]
    qtbot.waitUntil(lambda: len(got) == 2, timeout=10_000)
    assert got[1] == AT_ONCE_BYTES + 1 and threads[1] == "groovefader-file-read"


def test_the_latest_read_of_a_purpose_wins_and_failures_are_one_error(reads, qtbot, tmp_path) -> None:
    large = tmp_path / "large.bin"
    large.write_bytes(b"x" * (AT_ONCE_BYTES + 1))
    gate = threading.Event()
    got: list[str] = []
    errors: list[GrooveFaderError] = []

    def slow(_path: Path) -> str:
        gate.wait(10)
        return "first"

    reads.read("clip", large, slow, got.append, errors.append)
    reads.read("clip", large, lambda _p: "second", got.append, errors.append)
    gate.set()
    reads.wait_idle()
    qtbot.wait(50)
    assert got == ["second"]

    def broken(_path: Path) -> str:
        raise KeyError("bad chunk")

    reads.read("clip", large, broken, got.append, errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=10_000)
    assert str(errors[0]) == f"{large}: cannot read it ('bad chunk')" and got == ["second"]


def test_a_song_sized_drum_file_does_not_hold_the_window_and_a_randomize_meanwhile_wins(
        ready_window, qtbot, tmp_path) -> None:
    c = ready_window.controller
    big = _big_drum_file(tmp_path / "song.mid")
    before = c.pattern
    with qtbot.waitSignal(c.patternChanged, timeout=60_000) as shown:
        c.load_clip(big)
        assert c.pattern is before  # the call returned before the file was read
    loaded = shown.args[0]
    assert loaded.hits[0, Voice.KICK] and loaded.hits[:, Voice.CLOSED_HAT].all()
    # a Randomize pressed while a large file is read wins over it
    c.load_clip(big)
    with qtbot.waitSignal(c.patternChanged, timeout=30_000):
        c.randomize()
    c.files.wait_idle()
    qtbot.wait(100)
    assert c.history.stack.text(c.history.stack.index() - 1) == "Randomize"
    small = write_clip(tmp_path / "clip.mid", Pattern(np.eye(32, 9, dtype=bool)))
    c.load_clip(small)  # a clip: at once
    assert c.pattern.hits[:9].diagonal().all()


def test_a_song_sized_melody_file_is_read_off_the_gui_thread(qtbot, tmp_path) -> None:
    from app.melody_lane import MelodyLane

    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    for i in range(8000):  # eighth notes up a scale: 1,000 bars
        note = 60 + (0, 2, 4, 5, 7, 9, 11, 12)[i % 8]
        track.append(mido.Message("note_on", note=note, velocity=80, time=0))
        track.append(mido.Message("note_off", note=note, velocity=0, time=240))
    midi.tracks.append(track)
    path = tmp_path / "song.mid"
    midi.save(path)
    assert path.stat().st_size > AT_ONCE_BYTES
    lane = MelodyLane(None, lambda: (None, 120.0, None))
    try:
        with qtbot.waitSignal(lane.melodyChanged, timeout=60_000) as shown:
            lane.load_clip(path)
            assert lane.melody is None  # the call returned before the file was read
        assert shown.args[0].notes()[0][2] == 60
    finally:
        lane.files.wait_idle()
        lane.close()
