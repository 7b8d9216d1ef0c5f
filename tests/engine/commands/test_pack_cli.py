"""Building a sample pack with ``generate --count``: audio packs, names that sort, no pack of
one groove copied, and help texts that describe the command they belong to."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from app.cli import build_parser, main  # noqa: E402
from engine.audio.render import read_wav  # noqa: E402


def test_count_with_a_wav_output_writes_numbered_wavs(tmp_path, drums, capsys) -> None:
    out = tmp_path / "loop.wav"
    assert main(["generate", "-o", str(out), "--checkpoint", drums, "--count", "3", "--bars", "2",
                 "--seed", "2", "--kit-level", "kick=0.5"]) == 0
    assert not out.exists()  # no folder named loop.wav
    files = sorted(tmp_path.glob("*.wav"))
    assert [f.name for f in files] == ["loop-001.wav", "loop-002.wav", "loop-003.wav"]
    for f in files:
        audio, rate = read_wav(f)
        assert audio.shape == (round(2 * 4 * 0.5 * rate), 2) and audio.any()  # 2 bars at 120 BPM
    assert "3 clips" in capsys.readouterr().out
    before = [f.read_bytes() for f in files]
    assert main(["generate", "-o", str(out), "--checkpoint", drums, "--count", "3", "--seed", "3"]) == 1
    assert "loop-001.wav: exists" in capsys.readouterr().err
    assert [f.read_bytes() for f in files] == before


def test_a_melody_pack_of_a_hundred_or_more_sorts_by_number(tmp_path, melodies) -> None:
    out = tmp_path / "tunes"
    assert main(["generate", "--melody", "-o", f"{out}/", "--checkpoint", melodies, "--count", "100",
                 "--bars", "2", "--seed", "1"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"melody-{i:03d}.mid" for i in range(1, 101)]


def test_a_fixed_pad_point_at_temperature_0_is_not_copied_into_a_pack(tmp_path, drums, capsys) -> None:
    out = tmp_path / "pack"
    assert main(["generate", "-o", str(out), "--checkpoint", drums, "--count", "4", "--pad", "0.3,0.3"]) == 2
    err = capsys.readouterr().err
    assert "--pad 0.3,0.3" in err and "--pad random" in err and err.count("\n") == 1
    assert not out.exists()
    # one clip of the point, or several drawn from it, are what was asked for
    assert main(["generate", "-o", str(tmp_path / "one.mid"), "--checkpoint", drums, "--pad", "0.3,0.3"]) == 0
    assert main(["generate", "-o", str(out), "--checkpoint", drums, "--count", "2", "--pad", "0.3,0.3",
                 "--temperature", "1"]) == 0


def test_one_clip_is_summed_up_without_each(tmp_path, drums, melodies, capsys) -> None:
    assert main(["generate", "-o", str(tmp_path / "a.mid"), "--checkpoint", drums, "--bars", "1"]) == 0
    assert ": 1 bar, " in capsys.readouterr().out
    assert main(["generate", "--melody", "-o", str(tmp_path / "m.mid"), "--checkpoint", melodies,
                 "--bars", "1"]) == 0
    assert ": 1 bar, " in capsys.readouterr().out
    assert main(["generate", "-o", str(tmp_path / "p"), "--checkpoint", drums, "--count", "2"]) == 0
    assert ": 4 bars each, " in capsys.readouterr().out


def test_transition_help_describes_the_transition() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    text = " ".join(sub.choices["transition"].format_help().split())
    assert "the clips go into it" not in text and "built-in kit" not in text  # generate's -o
    assert "default: 120;" not in text  # the transition's tempo is clip A's
    generate = " ".join(sub.choices["generate"].format_help().split())
    assert "transition:" not in generate


@pytest.mark.parametrize("suffix", [".flac", ".mp3", ".aiff", ".ogg"])
def test_an_audio_name_other_than_wav_gets_no_midi_written_into_it(tmp_path, drums, melodies, capsys,
                                                                     suffix) -> None:
    from engine.music.midifile import write_clip
    from tests.engine.commands.test_odd_paths_cli import groove
    from tests.support.melody import melody_a, melody_b

    a, b = write_clip(tmp_path / "a.mid", groove(0)), write_clip(tmp_path / "b.mid", groove(1))
    ma, mb = melody_a().write_midi(tmp_path / "ma.mid"), melody_b().write_midi(tmp_path / "mb.mid")
    out = tmp_path / f"loop{suffix}"
    runs = [["generate", "--checkpoint", drums], ["generate", "--checkpoint", drums, "--count", "2"],
            ["generate", "--melody", "--checkpoint", melodies],
            ["transition", str(a), str(b), "--bars", "4", "--checkpoint", drums],
            ["transition", str(ma), str(mb), "--melody", "--bars", "4", "--checkpoint", melodies]]
    for argv in runs:
        assert main([*argv, "-o", str(out)]) == 1, argv
        err = capsys.readouterr().err
        assert f"loop{suffix}: {suffix} is not written; " in err and "MIDI (.mid)" in err, (argv, err)
        assert err.count("\n") == 1 and "Traceback" not in err
        assert not out.exists() and not list(tmp_path.glob("loop*")), argv


def test_knob_help_says_what_an_unnamed_knob_does() -> None:
    """A knob not named is left to the groove (its measured value moves with the groove), not
    held at its default: the help says so."""
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    text = " ".join(sub.choices["generate"].format_help().split())
    assert "stay at their defaults" not in text and "not named is left to the groove" in text


def test_a_larger_pack_from_a_seed_begins_with_the_smaller_one(tmp_path, drums) -> None:
    """A producer who liked ``--count 4 --seed 9`` and asks for 8 gets those 4 and 4 more."""
    for count in (4, 8):
        assert main(["generate", "-o", str(tmp_path / f"p{count}") + "/", "--checkpoint", drums,
                     "--count", str(count), "--seed", "9"]) == 0
    small = sorted((tmp_path / "p4").glob("*.mid"))
    large = sorted((tmp_path / "p8").glob("*.mid"))
    assert len(small) == 4 and len(large) == 8
    assert [f.read_bytes() for f in small] == [f.read_bytes() for f in large[:4]]
    assert len({f.read_bytes() for f in large}) == 8
