"""`groovefader generate -o groove.wav`: the clip rendered with the built-in kit."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from app.cli import main  # noqa: E402
from engine.audio.render import peak_dbfs, read_wav  # noqa: E402
from tests.support.tiny_checkpoint import tiny_checkpoint  # noqa: E402


def test_generate_wav_renders_the_same_groove_as_the_clip(tmp_path, capsys) -> None:
    ckpt = str(tiny_checkpoint("fader_vae"))
    wav, mid = tmp_path / "g.wav", tmp_path / "g.mid"
    for out in (wav, mid):
        assert main(["generate", "-o", str(out), "--checkpoint", ckpt, "--bars", "3", "--seed", "5",
                     "--bpm", "100"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("wrote") and printed[0].split(":", 1)[1] == printed[1].split(":", 1)[1]
    audio, rate = read_wav(wav)
    assert rate == 48_000 and audio.shape == (round(3 * 4 * 0.6 * rate), 2)  # 3 bars of 4 beats at 100 BPM
    assert -0.3 >= peak_dbfs(audio) > -1.1
    assert np.abs(audio).mean() > 1e-3  # it plays
    assert main(["generate", "-o", str(wav), "--checkpoint", ckpt]) == 1
    err = capsys.readouterr().err
    assert "g.wav" in err and "--force" in err and len(err.strip().splitlines()) == 1
