"""Options that would change nothing: refused in one line (exit status 2, as argparse's own
usage errors) where the user expected them to act, or named in a one-line warning where
they are only redundant. Nothing is written and no port opens on a refusal."""

from __future__ import annotations

import pytest

from app.cli import main
from engine.commands import play as play_cli
from tests.engine.commands.test_play_cli import _args

KIT = ["--kit-level", "snare=0.5"]


def _refused(capsys, argv: list[str], *words: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"groovefader {argv[0]}: error: "), err
    for word in words:
        assert word in err, err
    return err


@pytest.mark.parametrize(("extra", "words"), [
    (["--key", "G"], ["--key needs --melody"]),
    ([*KIT], ["--kit-level", "-o NAME.wav"]),
    (["--soundfont", "kit.sf2", "--kit-pan", "ride=0.5"], ["--kit-pan and --soundfont", "-o NAME.wav"]),
    (["--count", "2", "--soundfont", "kit.sf2"], ["--soundfont", "-o NAME.wav"]),
    (["--melody", "--knob", "density=1"], ["--knob is a drum control"]),
    (["--melody", "--pad", "0,0", "--free-knobs"], ["--pad and --free-knobs are drum controls"]),
    (["--melody", *KIT], ["--kit-level", "a melody is written as MIDI"]),
])
def test_generate_refuses_options_that_do_not_apply(tmp_path, capsys, extra, words) -> None:
    out = tmp_path / "clip.mid"
    _refused(capsys, ["generate", "-o", str(out), "--checkpoint", str(tmp_path / "none.pt"), *extra], *words)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("extra", "words"), [
    (["--key", "G"], ["--key needs --melody"]),
    (["--mix-scale", "note", "--ends", "decoded"], ["--mix-scale and --ends need --melody"]),
    (["--mix-draw", "independent"], ["--mix-draw needs --melody"]),
    (["--feed", "all"], ["--feed needs --melody"]),
    (["--along-data", "0"], ["--along-data needs --melody"]),
    (["--melody", "--mix-scale", "note"], ["--mix-scale", "strategies 2 and 3", "strategy 1"]),
    (["--melody", "--strategy", "1", "--mix-draw", "independent"], ["--mix-draw", "strategy 1"]),
    (["--melody", "--feed", "all"], ["--feed", "strategy 1"]),
    (["--melody", "--strategy", "2", "--along-data", "1"], ["--along-data", "strategies 1 and 3"]),
])
def test_transition_refuses_options_that_do_not_apply(tmp_path, capsys, extra, words) -> None:
    out = tmp_path / "t.mid"
    _refused(capsys, ["transition", "a.mid", "b.mid", "-o", str(out), "--checkpoint",
                      str(tmp_path / "none.pt"), *extra], *words)
    assert not out.exists()


@pytest.mark.parametrize(("extra", "words"), [
    (["--key", "G"], ["--key needs a melody (--melody or --melody-clip)"]),
    (["--octave", "1", "--melody-channel", "2"], ["--octave and --melody-channel need a melody"]),
    (["--melody-bars", "4", "--melody-checkpoint", "m.pt"],
     ["--melody-checkpoint and --melody-bars need a melody"]),
    (["--melody-port", "tune"], ["--melody-port needs a melody"]),
    (["--melody-clip", "{tmp}/t.mid", "--melody-checkpoint", "m.pt"],
     ["--melody-checkpoint", "--melody-clip"]),
    (["--volume", "0.5"], ["--volume needs --audio"]),
    (["--audio-output", "device", *KIT, "--soundfont", "kit.sf2"],
     ["--audio-output, --kit-level and --soundfont need --audio"]),
    (["--clip", "{tmp}/g.mid", "--knob", "density=1"], ["--knob", "--clip plays its clip as it is"]),
    (["--clip", "{tmp}/g.mid", "--checkpoint", "c.pt"], ["--checkpoint", "--clip"]),
    (["--clip", "{tmp}/g.mid", "--seed", "3", "--temperature", "0.5"],
     ["--seed and --temperature", "--clip"]),
    (["--clip", "{tmp}/g.mid", "--melody-clip", "{tmp}/t.mid", "--seed", "3"], ["--seed", "--clip"]),
    (["--clock-in", "master"], ["--clock-in needs --clock external"]),
    (["--link", "--clock", "external"], ["--link and --clock external are two clocks"]),
    (["--link", "--start-delay", "1"], ["--start-delay", "internal clock"]),
    (["--clock", "external", "--start-delay", "1"], ["--start-delay", "internal clock"]),
])
def test_play_refuses_options_that_do_not_apply(tmp_path, capsys, extra, words) -> None:
    argv = ["play", "--port", "nowhere", "--seconds", "0", *[a.format(tmp=tmp_path) for a in extra]]
    _refused(capsys, argv, *words)


def test_play_without_a_checkpoint_refuses_what_draws_a_groove(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(play_cli, "DEFAULT_CHECKPOINT", tmp_path / "absent.pt")
    _refused(capsys, ["play", "--port", "nowhere", "--seconds", "0", "--seed", "2"],
             "--seed needs a checkpoint")


@pytest.mark.parametrize("argv", [
    ["--clip", "g.mid", "--melody", "--seed", "3", "--temperature", "0.5"],  # they draw the melody
    ["--melody-clip", "t.mid", "--key", "G", "--octave", "-1", "--melody-bars", "4"],
    ["--audio", "--volume", "0.5", "--audio-output", "device", *KIT],
    ["--clock", "external", "--clock-in", "master"],
    ["--start-delay", "0.5"],
    ["--seed", "1", "--knob", "density=1"],
])
def test_play_accepts_options_that_apply(argv, capsys) -> None:
    play_cli.check_options(_args(*argv))
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(("argv", "words"), [
    (["--clock", "external", "--bpm", "96"], "--bpm is not used: the tempo follows the MIDI clock"),
    (["--clock", "external", "--no-clock-out"], "--no-clock-out is not needed: MIDI clock is sent only"),
    (["--link", "--no-clock-out"], "--no-clock-out is not needed: MIDI clock is sent only"),
])
def test_play_names_redundant_options_in_one_warning_line(argv, words, capsys) -> None:
    args = _args(*argv)
    play_cli.check_options(args)
    err = capsys.readouterr().err
    assert err == f"groovefader play: warning: {err.split('warning: ', 1)[1]}" and err.count("\n") == 1
    assert words in err
