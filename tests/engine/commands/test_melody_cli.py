"""`groovefader generate --melody` and `transition --melody` end to end, in process."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from app.cli import main  # noqa: E402
from engine.music.melody import read_melody_file  # noqa: E402
from tests.support.melody import melody_a, melody_b, memorised_checkpoint  # noqa: E402


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> str:
    return str(memorised_checkpoint(str(tmp_path_factory.getbasetemp() / "melody")))


def test_generate_count_bars_key(tmp_path, ckpt, capsys) -> None:
    out = tmp_path / "mel.mid"
    assert main(["generate", "--melody", "-o", str(out), "--checkpoint", ckpt, "--count", "2",
                 "--bars", "4", "--seed", "1", "--key", "F"]) == 0
    files = sorted(tmp_path.glob("mel-*.mid"))
    assert [f.name for f in files] == ["mel-001.mid", "mel-002.mid"]
    assert all(read_melody_file(f).bars == 4 for f in files)
    assert capsys.readouterr().out.count("wrote") == 2


@pytest.mark.parametrize("ends", ["melodies", "searched", "refined", "decoded"])
def test_transition_from_midi_files(tmp_path, ckpt, ends) -> None:
    a, b = melody_a().write_midi(tmp_path / "a.mid"), melody_b().write_midi(tmp_path / "b.mid")
    out = tmp_path / "t.mid"
    assert main(["transition", str(a), str(b), "--melody", "-o", str(out), "--checkpoint", ckpt,
                 "--strategy", "1", "--bars", "4", "--ends", ends]) == 0
    t = read_melody_file(out)
    assert t.bars == 4 and t.bar_slice(0, 1) == melody_a().bar_slice(0, 1)


@pytest.mark.parametrize("share", ["0", "1"])
def test_transition_path_and_mix_options_reach_the_generator(tmp_path, ckpt, share) -> None:
    from engine.generation.melody import MelodyGenerator

    a, b = melody_a().write_midi(tmp_path / "a.mid"), melody_b().write_midi(tmp_path / "b.mid")
    out = tmp_path / "t.mid"
    assert main(["transition", str(a), str(b), "--melody", "-o", str(out), "--checkpoint", ckpt,
                 "--strategy", "3", "--bars", "6", "--along-data", share, "--mix-draw", "independent",
                 "--feed", "all", "--ends", "decoded", "--seed", "2"]) == 0
    want = MelodyGenerator.from_checkpoint(ckpt).transition(
        melody_a(), melody_b(), 6, 3, along_data=float(share), mix_draw="independent", ends="decoded", seed=2,
        feed="all")
    assert read_melody_file(out) == want


def test_a_share_outside_0_1_is_refused(tmp_path, ckpt) -> None:
    with pytest.raises(SystemExit):
        main(["transition", "a.mid", "b.mid", "--melody", "-o", str(tmp_path / "t.mid"),
              "--along-data", "1.5"])


def test_melody_transition_defaults_to_strategy_1_and_clip_a_tempo(tmp_path, ckpt, capsys) -> None:
    import mido

    a, b = melody_a().write_midi(tmp_path / "a.mid", 90), melody_b().write_midi(tmp_path / "b.mid")
    assert main(["transition", str(a), str(b), "--melody", "-o", str(tmp_path / "t.mid"),
                 "--checkpoint", ckpt, "--bars", "4"]) == 0
    said = capsys.readouterr().out
    assert "(strategy 1)," in said  # the lane's default: the most tune-like middles (no mix)
    assert "at 90 BPM" in said  # clip A's tempo, as the drum transition takes it
    tempos = [m.tempo for t in mido.MidiFile(tmp_path / "t.mid").tracks for m in t if m.type == "set_tempo"]
    assert [round(mido.tempo2bpm(t)) for t in tempos] == [90]


def test_melody_clips_into_a_folder_and_never_into_a_wav(tmp_path, ckpt, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--melody", "-o", ".", "--checkpoint", ckpt, "--count", "2"]) == 0
    assert sorted(p.name for p in tmp_path.glob("*.mid")) == ["melody-001.mid", "melody-002.mid"]
    capsys.readouterr()
    assert main(["generate", "--melody", "-o", "m.wav", "--checkpoint", ckpt]) == 1
    assert "written as MIDI" in capsys.readouterr().err and not (tmp_path / "m.wav").exists()
    a, b = melody_a().write_midi(tmp_path / "a.mid"), melody_b().write_midi(tmp_path / "b.mid")
    for melody in (["--melody"], []):
        assert main(["transition", str(a), str(b), *melody, "-o", "t.wav", "--checkpoint", ckpt]) == 1
        assert "written as MIDI" in capsys.readouterr().err and not (tmp_path / "t.wav").exists()


@pytest.mark.parametrize("argv, message", [
    (["generate", "--melody", "-o", "{tmp}/x.mid", "--checkpoint", "{tmp}/none.pt"],
     "no such melody checkpoint"),
    (["generate", "--melody", "-o", "{tmp}/x.mid", "--checkpoint", "{ckpt}", "--key", "H"], "unknown key"),
    (["transition", "{tmp}/junk.mid", "{tmp}/junk.mid", "--melody", "-o", "{tmp}/t.mid",
      "--checkpoint", "{ckpt}"], "not a readable MIDI file"),
])
def test_user_mistakes_are_one_line(tmp_path, ckpt, capsys, argv, message) -> None:
    (tmp_path / "junk.mid").write_bytes(b"junk")
    args = [a.format(tmp=tmp_path, ckpt=ckpt) for a in argv]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_drum_checkpoint_for_a_melody_is_refused(tmp_path, capsys) -> None:
    from tests.support.tiny_checkpoint import tiny_checkpoint

    assert main(["generate", "--melody", "-o", str(tmp_path / "x.mid"), "--checkpoint",
                 str(tiny_checkpoint("fader_vae"))]) == 1
    assert "not a melody model" in capsys.readouterr().err
