"""``--force`` replaces a clip's content, not who may read it: the file keeps its mode."""

from __future__ import annotations

import os
import stat

import pytest

pytest.importorskip("torch")

from app.cli import main  # noqa: E402
from engine.music.melody import read_melody_file  # noqa: E402
from engine.music.midifile import read_clip  # noqa: E402
from tests.support.melody import melody_a, melody_b, memorised_checkpoint  # noqa: E402
from tests.support.tiny_checkpoint import tiny_checkpoint  # noqa: E402

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("kept", [0o600, 0o664], ids=oct)
def test_generate_force_keeps_the_mode_of_the_clip_it_replaces(tmp_path, kept) -> None:
    out = tmp_path / "clip.mid"
    out.write_bytes(b"old")
    out.chmod(kept)
    assert main(["generate", "-o", str(out), "--checkpoint", str(tiny_checkpoint("fader_vae")),
                 "--seed", "1", "--force"]) == 0
    assert read_clip(out).num_hits > 0 and mode(out) == kept


def test_generate_a_new_clip_gets_the_umask_mode(tmp_path) -> None:
    old = os.umask(0o027)
    try:
        out = tmp_path / "clip.mid"
        assert main(["generate", "-o", str(out), "--checkpoint", str(tiny_checkpoint("fader_vae")),
                     "--seed", "1"]) == 0
    finally:
        os.umask(old)
    assert mode(out) == 0o640


def test_melody_transition_force_keeps_the_mode(tmp_path) -> None:
    ckpt = str(memorised_checkpoint(str(tmp_path / "melody")))
    a, b = melody_a().write_midi(tmp_path / "a.mid"), melody_b().write_midi(tmp_path / "b.mid")
    out = tmp_path / "t.mid"
    out.write_bytes(b"old")
    out.chmod(0o600)
    assert main(["transition", str(a), str(b), "--melody", "-o", str(out), "--checkpoint", ckpt,
                 "--bars", "4", "--force"]) == 0
    assert read_melody_file(out).bars == 4 and mode(out) == 0o600
