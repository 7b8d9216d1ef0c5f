"""`groovefader generate` and `groovefader transition` end to end (in-process), tiny checkpoint."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")

from app.cli import main  # noqa: E402
from engine.music.drums import Voice  # noqa: E402
from engine.music.midifile import read_clip, write_clip  # noqa: E402
from engine.music.pattern import Pattern  # noqa: E402
from tests.support.tiny_checkpoint import tiny_checkpoint  # noqa: E402


@pytest.fixture(scope="module")
def ckpt() -> str:
    return str(tiny_checkpoint("fader_vae"))


def test_generate_writes_a_readable_clip(tmp_path, ckpt, capsys) -> None:
    out = tmp_path / "clip.mid"
    assert main(["generate", "-o", str(out), "--checkpoint", ckpt, "--bars", "4", "--seed", "3",
                 "--bpm", "96"]) == 0
    assert "wrote" in capsys.readouterr().out
    clip = read_clip(out)
    assert clip.num_hits > 0 and clip.bars == 4
    # temperature 0: the 2-bar decode is looped
    assert np.array_equal(clip.bar_slice(0, 2).hits, clip.bar_slice(2, 2).hits)
    assert not list(tmp_path.glob(".*tmp"))  # atomic write left no temp file


def test_generate_same_seed_same_bytes(tmp_path, ckpt) -> None:
    a, b, c = (tmp_path / f"{n}.mid" for n in "abc")
    for path, seed in ((a, "7"), (b, "7"), (c, "8")):
        assert main(["generate", "-o", str(path), "--checkpoint", ckpt, "--seed", seed,
                     "--temperature", "0.8"]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_generate_refuses_to_overwrite_without_force(tmp_path, ckpt, capsys) -> None:
    out = tmp_path / "clip.mid"
    out.write_bytes(b"keep me")
    assert main(["generate", "-o", str(out), "--checkpoint", ckpt]) == 1
    err = capsys.readouterr().err
    assert "clip.mid" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert out.read_bytes() == b"keep me"
    assert main(["generate", "-o", str(out), "--checkpoint", ckpt, "--force"]) == 0
    assert read_clip(out).num_hits > 0


def test_generate_knob_changes_the_clip(tmp_path, ckpt) -> None:
    lo, hi = tmp_path / "lo.mid", tmp_path / "hi.mid"
    densities = []
    for path, value in ((lo, "0.3"), (hi, "2.5")):
        assert main(["generate", "-o", str(path), "--checkpoint", ckpt, "--seed", "1", "--bars", "2",
                     "--knob", f"density={value}"]) == 0
        densities.append(read_clip(path).num_hits)
    assert densities[1] > densities[0]


def test_generate_knob_as_a_share_of_its_range_is_that_raw_value(tmp_path, ckpt, capsys) -> None:
    from engine.generation.generator import Generator

    lo, hi = Generator.from_checkpoint(ckpt).attribute_ranges["density"]
    share, raw = tmp_path / "share.mid", tmp_path / "raw.mid"
    for path, value in ((share, "90%"), (raw, repr(lo + 0.9 * (hi - lo)))):
        assert main(["generate", "-o", str(path), "--checkpoint", ckpt, "--seed", "1", "--bars", "2",
                     "--knob", f"density={value}"]) == 0
    assert share.read_bytes() == raw.read_bytes()
    assert "warning" not in capsys.readouterr().err  # both inside the range


def test_generate_names_a_raw_knob_value_outside_its_range(tmp_path, ckpt, capsys) -> None:
    from engine.generation.generator import Generator

    lo, hi = Generator.from_checkpoint(ckpt).attribute_ranges["density"]
    out, end = tmp_path / "far.mid", tmp_path / "end.mid"
    assert main(["generate", "-o", str(out), "--checkpoint", ckpt, "--seed", "1", "--bars", "2",
                 "--knob", f"density={hi + 5}"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "density" in err[0] and "outside its range" in err[0] and "%" in err[0]
    # held at the range's end: the clip of 100 %
    assert main(["generate", "-o", str(end), "--checkpoint", ckpt, "--seed", "1", "--bars", "2",
                 "--knob", "density=100%"]) == 0
    assert out.read_bytes() == end.read_bytes()


def test_generate_bad_knob_and_missing_checkpoint(tmp_path, ckpt, capsys) -> None:
    assert main(["generate", "-o", str(tmp_path / "x.mid"), "--checkpoint", ckpt,
                 "--knob", "cowbell=1"]) == 1
    assert "cowbell" in capsys.readouterr().err
    assert main(["generate", "-o", str(tmp_path / "x.mid"), "--checkpoint",
                 str(tmp_path / "none.pt")]) == 1
    assert "none.pt" in capsys.readouterr().err
    assert not (tmp_path / "x.mid").exists()
    with pytest.raises(SystemExit):
        main(["generate", "-o", str(tmp_path / "x.mid"), "--knob", "density"])


@pytest.mark.parametrize("command, bad", [
    (["generate"], ["--seed", "-1"]), (["generate", "--melody"], ["--seed", "-1"]),
    (["generate"], ["--temperature", "nan"]), (["generate"], ["--temperature", "-1"]),
    (["generate", "--melody"], ["--temperature", "nan"]), (["generate"], ["--knob", "density=nan"]),
    (["generate"], ["--knob", "density=inf"]), (["generate"], ["--count", "0"]),
    (["play", "--seconds", "1"], ["--seed", "-1"]), (["play"], ["--seconds", "nan"]),
    (["play"], ["--seconds", "-1"]),
    (["melody", "data"], ["--workers", "3"]),
])
def test_odd_numbers_are_refused_when_the_arguments_are_read(tmp_path, capsys, command, bad) -> None:
    out = ["-o", str(tmp_path / "x.mid")] if command[0] == "generate" else []
    with pytest.raises(SystemExit) as refused:
        main([*command, *out, *bad])
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error: argument" in err.strip().splitlines()[-1]
    assert not (tmp_path / "x.mid").exists()


def _clip(tmp_path, name: str, hat_every: int) -> str:
    hits = np.zeros((32, 9), bool)
    t = np.arange(32)
    hits[t % hat_every == 0, Voice.CLOSED_HAT] = True
    hits[t % 16 == 0, Voice.KICK] = True
    hits[t % 16 == 8, Voice.SNARE] = True
    path = tmp_path / name
    write_clip(path, Pattern(hits), tempo_bpm=120)
    return str(path)


@pytest.mark.parametrize("strategy", ["1", "2", "3"])
def test_transition_command(tmp_path, ckpt, strategy) -> None:
    a, b = _clip(tmp_path, "a.mid", 4), _clip(tmp_path, "b.mid", 1)
    out = tmp_path / "t.mid"
    assert main(["transition", a, b, "--bars", "8", "--strategy", strategy, "-o", str(out),
                 "--checkpoint", ckpt, "--seed", "0"]) == 0
    clip = read_clip(out)
    assert clip.bars == 8
    hats = clip.hits[:, Voice.CLOSED_HAT] | clip.hits[:, Voice.OPEN_HAT]
    assert hats[:32].sum() < hats[-32:].sum()
    assert main(["transition", a, b, "-o", str(out), "--checkpoint", ckpt]) == 1  # exists


def test_transition_bad_midi_is_one_line(tmp_path, ckpt, capsys) -> None:
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd garbage")
    good = _clip(tmp_path, "a.mid", 2)
    assert main(["transition", str(bad), good, "-o", str(tmp_path / "t.mid"), "--checkpoint", ckpt]) == 1
    err = capsys.readouterr().err.strip()
    assert "bad.mid" in err and len(err.splitlines()) == 1


def test_help_does_not_import_torch() -> None:
    code = ("import sys; from app.cli import build_parser; build_parser(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_transition_takes_clip_a_tempo_unless_told(tmp_path, ckpt) -> None:
    import mido

    a, b = _clip(tmp_path, "a.mid", 4), _clip(tmp_path, "b.mid", 2)
    write_clip(tmp_path / "a.mid", read_clip(a), tempo_bpm=93, force=True)
    for extra, bpm in (([], 93.0), (["--bpm", "140"], 140.0)):
        out = tmp_path / f"t{bpm:g}.mid"
        assert main(["transition", a, b, "--bars", "4", "-o", str(out), "--checkpoint", ckpt, *extra]) == 0
        tempos = [m.tempo for tr in mido.MidiFile(out).tracks for m in tr if m.type == "set_tempo"]
        assert mido.tempo2bpm(tempos[0]) == pytest.approx(bpm, abs=0.01)


def test_drum_transition_defaults_to_strategy_3(tmp_path, ckpt, capsys) -> None:
    a, b = _clip(tmp_path, "a.mid", 4), _clip(tmp_path, "b.mid", 2)
    assert main(["transition", a, b, "--bars", "4", "-o", str(tmp_path / "t.mid"), "--checkpoint", ckpt]) == 0
    assert "(strategy 3)" in capsys.readouterr().out


def test_generate_count_writes_a_folder_of_clips_from_random_pad_points(tmp_path, ckpt, capsys) -> None:
    out = tmp_path / "pack"
    assert main(["generate", "-o", str(out), "--checkpoint", ckpt, "--count", "6", "--bars", "2",
                 "--pad", "random", "--seed", "4"]) == 0
    files = sorted(out.glob("*.mid"))
    assert [f.name for f in files] == [f"groove-{i:03d}.mid" for i in range(1, 7)]
    clips = [read_clip(f) for f in files]
    assert all(c.bars == 2 and c.num_hits > 0 for c in clips)
    # random pad points: not one groove six times
    assert len({c.hits.tobytes() for c in clips}) > 1
    assert "6 clips" in capsys.readouterr().out
    # a second run refuses to overwrite the pack, and leaves it as it was
    before = [f.read_bytes() for f in files]
    assert main(["generate", "-o", str(out), "--checkpoint", ckpt, "--count", "6", "--pad", "random",
                 "--seed", "5"]) == 1
    assert [f.read_bytes() for f in files] == before


def test_generate_count_into_an_existing_file_is_one_error(tmp_path, ckpt, capsys) -> None:
    out = tmp_path / "clip.mid"
    out.write_bytes(b"x")
    assert main(["generate", "-o", str(out), "--checkpoint", ckpt, "--count", "3"]) == 1
    assert "not a folder" in capsys.readouterr().err


def test_an_unknown_backend_in_the_environment_is_one_line(tmp_path, ckpt, capsys, monkeypatch) -> None:
    monkeypatch.setenv("GROOVEFADER_BACKEND", "bogus")
    assert main(["generate", "-o", str(tmp_path / "x.mid"), "--checkpoint", ckpt]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["groovefader: error: $GROOVEFADER_BACKEND must be one of auto, onnx, torch, got 'bogus'"]


def test_generate_names_the_clips_left_without_a_hit(tmp_path, capsys) -> None:
    """The shipped baseline plays nothing at some pad points: a pack says which clips are empty
    instead of leaving a producer to find silent files."""
    from pathlib import Path

    baseline = Path(__file__).resolve().parents[3] / "checkpoints" / "baseline_groovae.pt"
    out = tmp_path / "pack"
    assert main(["generate", "-o", f"{out}/", "--checkpoint", str(baseline), "--count", "40",
                 "--bars", "2", "--pad", "random", "--seed", "2"]) == 0
    import mido

    empty = [f.name for f in sorted(out.glob("*.mid"))
             if not any(m.type == "note_on" and m.velocity > 0 for t in mido.MidiFile(f).tracks for m in t)]
    err = capsys.readouterr().err
    assert empty, "no empty clip among these pad points: pick another seed for this test"
    assert f"{len(empty)} of 40 clip(s) have no hits" in err
    assert all(name in err for name in empty[:5])


def test_generate_says_nothing_of_empty_clips_when_every_clip_plays(tmp_path, ckpt, capsys) -> None:
    assert main(["generate", "-o", str(tmp_path / "pack"), "--checkpoint", ckpt, "--count", "3",
                 "--pad", "random", "--seed", "4"]) == 0
    assert "no hits" not in capsys.readouterr().err
