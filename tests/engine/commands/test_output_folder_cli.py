"""``-o newdir/``: a trailing separator names a folder. ``generate`` (which writes into an
existing folder given as OUTPUT) makes it and writes there; a transition, one file, refuses
it in one line; neither writes a file named ``newdir``."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("torch")

from app.cli import main  # noqa: E402
from engine.music.melody import read_melody_file  # noqa: E402
from engine.music.midifile import read_clip, write_clip  # noqa: E402
from tests.engine.commands.test_odd_paths_cli import groove  # noqa: E402
from tests.support.melody import melody_a, melody_b  # noqa: E402


def test_generate_into_a_new_folder(tmp_path, drums, capsys) -> None:
    out = tmp_path / "newdir"
    assert main(["generate", "-o", f"{out}{os.sep}", "--checkpoint", drums, "--seed", "1"]) == 0
    assert out.is_dir() and [p.name for p in out.iterdir()] == ["groove-001.mid"]
    assert read_clip(out / "groove-001.mid").num_hits > 0
    assert f"wrote {out}{os.sep}groove-001.mid:" in capsys.readouterr().out


def test_generate_a_melody_into_a_new_folder(tmp_path, melodies) -> None:
    out = tmp_path / "tunes" / "new"
    assert main(["generate", "--melody", "-o", f"{out}/", "--checkpoint", melodies, "--seed", "1"]) == 0
    assert out.is_dir() and [p.name for p in out.iterdir()] == ["melody.mid"]
    assert read_melody_file(out / "melody.mid").num_notes > 0


@pytest.mark.parametrize("melody", [False, True], ids=["drums", "melody"])
def test_a_file_where_the_folder_should_be_is_one_line(tmp_path, drums, melodies, capsys, melody) -> None:
    taken = tmp_path / "taken"
    taken.write_bytes(b"keep me")
    ckpt = melodies if melody else drums
    assert main(["generate", *(["--melody"] if melody else []), "-o", f"{taken}/", "--checkpoint", ckpt]) == 1
    err = capsys.readouterr().err
    assert "taken: exists and is not a folder" in err and err.count("\n") == 1
    assert taken.read_bytes() == b"keep me"


@pytest.mark.parametrize("melody", [False, True], ids=["drums", "melody"])
@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
def test_a_transition_into_a_folder_is_one_line(tmp_path, drums, melodies, capsys, melody, existing) -> None:
    if melody:
        a, b = melody_a().write_midi(tmp_path / "a.mid"), melody_b().write_midi(tmp_path / "b.mid")
    else:
        a, b = write_clip(tmp_path / "a.mid", groove(0)), write_clip(tmp_path / "b.mid", groove(1))
    out = tmp_path / "newdir"
    if existing:
        out.mkdir()
    code = main(["transition", str(a), str(b), *(["--melody"] if melody else []), "-o", f"{out}/",
                 "--checkpoint", melodies if melody else drums, "--bars", "4", "--force"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert f"{out}/: a folder; a transition is one file: give a file name" in err
    assert out.is_dir() == existing and (not existing or not any(out.iterdir()))
