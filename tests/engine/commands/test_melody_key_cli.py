"""``--key`` on clips that are not in C: a melody transition (and the melody lane of ``play``)
ends up in the key asked for, whatever key the clips are written in."""

from __future__ import annotations

import pytest

from engine.commands import play_melody
from engine.music.melody import estimate_key, read_melody_file, transpose_to_key
from tests.engine.commands.test_play_cli import _args
from tests.support.melody import melody_a, melody_b, memorised_checkpoint

IN_G = -5  # C major to G major, down a fourth (the nearest G)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> str:
    pytest.importorskip("torch")
    return str(memorised_checkpoint(str(tmp_path_factory.getbasetemp() / "melody")))


def _clips_in_g(folder):
    a = melody_a().transpose(IN_G).write_midi(folder / "a.mid")
    b = melody_b().transpose(IN_G).write_midi(folder / "b.mid")
    return a, b


@pytest.mark.parametrize("key", ["D", "Eb", "C"])
def test_a_transition_between_clips_in_g_is_written_in_the_key_asked_for(tmp_path, ckpt, key) -> None:
    from app.cli import main
    from engine.generation.melody import MelodyGenerator

    a, b = _clips_in_g(tmp_path)
    out = tmp_path / "t.mid"
    assert main(["transition", str(a), str(b), "--melody", "-o", str(out), "--checkpoint", ckpt,
                 "--bars", "4", "--key", key]) == 0
    got = read_melody_file(out)
    # the model was given the clips in C, where it knows them, and its answer moved to the key
    want = MelodyGenerator.from_checkpoint(ckpt).transition(melody_a(), melody_b(), 4, 1, key=key)
    assert got == want and estimate_key(got) == key
    assert got.bar_slice(0, 1) == transpose_to_key(melody_a(), key).bar_slice(0, 1)


def test_a_transition_without_a_key_stays_in_clip_a_key(tmp_path, ckpt) -> None:
    from app.cli import main
    from engine.generation.melody import MelodyGenerator

    a, b = _clips_in_g(tmp_path)
    out = tmp_path / "t.mid"
    assert main(["transition", str(a), str(b), "--melody", "-o", str(out), "--checkpoint", ckpt,
                 "--bars", "4"]) == 0
    got = read_melody_file(out)
    assert got == MelodyGenerator.from_checkpoint(ckpt).transition(melody_a(), melody_b(), 4, 1, key="G")
    assert got.bar_slice(0, 1) == melody_a().transpose(IN_G).bar_slice(0, 1)  # A's own first bar


def test_play_keys_a_clip_from_its_own_key(tmp_path) -> None:
    clip = melody_a().transpose(IN_G).write_midi(tmp_path / "tune.mid")
    args = _args("--melody-clip", str(clip), "--key", "D")
    melody, _ = play_melody.choose_melody(args)
    lane = play_melody.melody_controls(args)
    assert melody.transpose(lane.transpose) == transpose_to_key(melody_a(), "D")
    # without --key the clip plays as written
    melody, _ = play_melody.choose_melody(_args("--melody-clip", str(clip)))
    assert melody == melody_a().transpose(IN_G)


@pytest.mark.parametrize("key", ["G", "D"])
def test_play_keys_a_clip_at_its_own_octave(tmp_path, key) -> None:
    """--key moves a clip to a key, not to another octave (--octave does that): a tune written
    two octaves up stays there."""
    written = melody_a().transpose(IN_G + 24)
    clip = written.write_midi(tmp_path / "high.mid")
    args = _args("--melody-clip", str(clip), "--key", key)
    melody, _ = play_melody.choose_melody(args)
    assert melody.transpose(play_melody.melody_controls(args).transpose) == \
        transpose_to_key(melody_a(), key).transpose(24)


def test_a_transition_takes_each_clip_from_its_own_key_and_lands_in_one_key(tmp_path, ckpt) -> None:
    """A in G, B in D: the model gets both in C, as the app's melody lane gives them, and the
    transition plays in A's key throughout, B's last bar included (not B's D)."""
    from app.cli import main
    from engine.generation.melody import MelodyGenerator

    a = melody_a().transpose(IN_G).write_midi(tmp_path / "a.mid")
    b = melody_b().transpose(2).write_midi(tmp_path / "b.mid")  # D major
    out = tmp_path / "t.mid"
    assert main(["transition", str(a), str(b), "--melody", "-o", str(out), "--checkpoint", ckpt,
                 "--bars", "4"]) == 0
    got = read_melody_file(out)
    assert got == MelodyGenerator.from_checkpoint(ckpt).transition(melody_a(), melody_b(), 4, 1, key="G")
    assert {p % 12 for *_, p in got.bar_slice(3, 4).notes()} == \
        {(p - 5) % 12 for *_, p in melody_b().bar_slice(melody_b().bars - 1, melody_b().bars).notes()}
