"""``groovefader data``: summary, --json, cache hits, exit codes, bad files named one per line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest

from app.cli import main
from engine.music.drums import NUM_VOICES, Voice
from engine.music.midifile import write_clip
from engine.music.pattern import Pattern


def groove(seed: int, bars: int = 3) -> Pattern:
    rng = np.random.default_rng(seed)
    h = rng.random((bars * 16, NUM_VOICES)) < 0.2
    h[::4, Voice.KICK] = True
    return Pattern(h, rng.integers(30, 128, h.shape) / 127)


def bad_files(folder: Path) -> dict[str, str]:
    """Every kind of bad input the brief names; returns file name → expected reason."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.mid").write_bytes(b"")
    (folder / "random.mid").write_bytes(np.random.default_rng(1).integers(0, 256, 800, np.uint8).tobytes())
    good = write_clip(folder / "tmp_good.mid", groove(0)).read_bytes()
    (folder / "tmp_good.mid").unlink()
    (folder / "truncated.mid").write_bytes(good[: len(good) // 2])
    piano = mido.MidiFile()
    piano.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, velocity=90),
                                        mido.Message("note_off", note=60, time=1920)]))
    piano.save(str(folder / "piano.mid"))
    two = mido.MidiFile(type=2)
    two.tracks.append(mido.MidiTrack([mido.Message("note_on", channel=9, note=36, velocity=90)]))
    two.save(str(folder / "type2.mid"))
    for name, usec in (("slow.mid", 0xFFFFFF), ("fast.mid", 6000), ("zero.mid", 0)):
        m = mido.MidiFile()
        track = [mido.MetaMessage("set_tempo", tempo=usec)]
        for i in range(16):
            track += [mido.Message("note_on", channel=9, note=36, velocity=99, time=0 if i == 0 else 470),
                      mido.Message("note_off", channel=9, note=36, time=10)]
        m.tracks.append(mido.MidiTrack(track))
        m.save(str(folder / name))
    return {"empty.mid": "empty file", "random.mid": "not a readable MIDI file",
            "truncated.mid": "not a readable MIDI file", "piano.mid": "no drum notes",
            "type2.mid": "type-2", "slow.mid": "absurd tempo", "fast.mid": "absurd tempo",
            "zero.mid": "absurd tempo"}


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["data", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--bars", "--hop-bars", "--cache-dir", "--workers", "--no-cache", "--json",
                 "GROOVEFADER_CACHE"):
        assert flag in out


def test_summary_then_cache_hit(tmp_path, capsys):
    src = tmp_path / "clips"
    src.mkdir()
    for i in range(3):
        write_clip(src / f"g{i}.mid", groove(i))
    args = ["data", str(src), "--cache-dir", str(tmp_path / "cache"), "--workers", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "files: 3 found, 3 read, 3 gave windows, 0 skipped" in out
    assert "windows: train 6, validation 0, test 0" in out and "cache: miss" in out
    assert main(args + ["--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["cache"] == "hit" and summary["windows"]["train"] == 6
    assert main(args + ["--json", "--bars", "3"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["cache"] == "miss" and summary["windows"]["train"] == 3


def test_bad_files_are_named_with_reasons_and_the_rest_is_kept(tmp_path, capsys):
    src = tmp_path / "mixed"
    expected = bad_files(src)
    write_clip(src / "good.mid", groove(5, bars=4))
    assert main(["data", str(src), "--no-cache", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    for name, reason in expected.items():
        (line,) = [x for x in out.splitlines() if f"{name}:" in x]
        assert line.strip().startswith(f"skipped {src / name}: {reason}")
    assert "windows: train 3," in out and "cache: disabled" in out


def test_nothing_usable_exits_non_zero_with_one_line(tmp_path, capsys):
    src = tmp_path / "allbad"
    expected = bad_files(src)
    assert main(["data", str(src), "--no-cache", "--json"]) == 1
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert {x["file"] for x in summary["skipped_files"]} == set(expected)
    assert summary["files_read"] == 0 and summary["total_windows"] == 0
    err_lines = captured.err.strip().splitlines()
    assert len(err_lines) == 1 and "no usable drum windows in 8 MIDI file(s)" in err_lines[0]


def test_console_script_missing_folder_is_one_line(tmp_path):
    script = Path(sys.executable).with_name("groovefader")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]
    proc = subprocess.run([*cmd, "data", str(tmp_path / "nope")], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"groovefader: error: {tmp_path / 'nope'}: no such directory"
    assert not (tmp_path / ".cache").exists()
