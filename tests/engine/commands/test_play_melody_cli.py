"""``groovefader play --melody``: where the melody comes from and the flags' one-line errors
(no MIDI port here; the port side is in test_play_melody_jack)."""

from __future__ import annotations

import pytest

from app.cli import main
from engine.commands import play_melody
from engine.music.melody import Melody
from tests.engine.commands.test_play_cli import _args
from tests.support.melody import melody_a, memorised_checkpoint


def test_a_clip_is_read_looped_to_whole_bars_and_keyed_at_play_time(tmp_path) -> None:
    clip = tmp_path / "tune.mid"
    Melody.concatenate([melody_a(), melody_a().bar_slice(0, 1)]).write_midi(clip)  # 3 bars
    args = _args("--melody-clip", str(clip), "--key", "Eb", "--octave", "-1", "--melody-channel", "5")
    assert play_melody.wants_melody(args)
    melody, origin = play_melody.choose_melody(args)
    assert melody.bars == 3 and "3 bars" in origin
    assert [p for *_, p in melody.notes()][:7] == [p for *_, p in melody_a().notes()]
    lane = play_melody.melody_controls(args)
    assert (lane.channel, lane.transpose, lane.octave) == (4, 3, -1)


def test_a_generated_melody_has_the_bars_asked_for(tmp_path) -> None:
    pytest.importorskip("torch")
    ckpt = memorised_checkpoint(str(tmp_path))
    melody, origin = play_melody.choose_melody(_args("--melody", "--melody-checkpoint", str(ckpt),
                                                     "--melody-bars", "8", "--seed", "1"))
    assert melody.bars == 8 and melody.num_notes > 0 and "8 bars" in origin


@pytest.mark.parametrize(("argv", "message"), [
    (["--melody", "--key", "H"], "unknown key"),
    (["--melody", "--melody-channel", "17"], "--melody-channel must be 1-16"),
    (["--melody", "--melody-channel", "10"], "--melody-channel 10 is the drums' channel"),
    (["--melody", "--octave", "5"], "--octave must be an int in -3..3"),
    (["--melody-clip", "{tmp}/absent.mid"], "absent.mid: no such file"),
    (["--melody-clip", "{tmp}/junk.mid"], "not a readable MIDI file"),
    (["--melody", "--melody-checkpoint", "{tmp}/none.pt"], "no such melody checkpoint"),
    (["--melody-port", "tune"], "--melody-port needs a melody"),
    (["--melody", "--melody-port", "nowhere"], "--melody-port must name a port other than --port"),
])
def test_user_mistakes_are_one_line(tmp_path, capsys, argv, message) -> None:
    (tmp_path / "junk.mid").write_bytes(b"junk")
    args = ["play", "--port", "nowhere", "--seconds", "0"] + [a.format(tmp=tmp_path) for a in argv]
    assert main(args) != 0
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
