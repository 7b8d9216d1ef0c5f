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


def test_kit_levels_and_pans_shape_the_render(tmp_path, capsys) -> None:
    ckpt = str(tiny_checkpoint("fader_vae"))
    base = ["generate", "--checkpoint", ckpt, "--bars", "2", "--seed", "5"]
    silent, left = tmp_path / "silent.wav", tmp_path / "left.wav"
    names = ("kick", "snare", "closed-hat", "open-hat", "low-tom", "mid-tom", "high-tom", "crash", "ride")
    assert main([*base, "-o", str(silent), *[a for n in names for a in ("--kit-level", f"{n}=0")]]) == 0
    assert not read_wav(silent)[0].any()  # every voice at level 0: silence, not noise
    assert main([*base, "-o", str(left), *[a for n in names for a in ("--kit-pan", f"{n}=-1")]]) == 0
    audio = read_wav(left)[0]
    assert np.abs(audio[:, 0]).max() > 0.5 and np.abs(audio[:, 1]).max() < 1e-6  # all hard left
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main([*base, "-o", str(tmp_path / "x.wav"), "--kit-level", "cowbell=1"])
    assert "VOICE one of kick, snare" in capsys.readouterr().err
    assert main([*base, "-o", str(tmp_path / "y.wav"), "--kit-level", "kick=2"]) == 1
    assert capsys.readouterr().err.strip() == "groovefader: error: levels must lie in [0, 1], got 2.0"


def test_generate_wav_with_a_soundfont_and_with_one_that_cannot_be_used(tmp_path, capsys) -> None:
    pytest.importorskip("tinysoundfont", reason="soundfonts are played through the tinysoundfont package")
    from engine.music.drums import GM_NOTE_MAP, Voice
    from tests.support.sf2 import tone, write_sf2

    ckpt = str(tiny_checkpoint("fader_vae"))
    base = ["generate", "--checkpoint", ckpt, "--bars", "2", "--seed", "5"]
    sounds = {GM_NOTE_MAP.note(v): tone(150.0 + 100 * v, 0.1, 0.03) for v in Voice}
    font = write_sf2(tmp_path / "kit.sf2", sounds)
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"not a soundfont")
    builtin, sf2, fallback = tmp_path / "builtin.wav", tmp_path / "sf2.wav", tmp_path / "fallback.wav"
    assert main([*base, "-o", str(builtin)]) == 0
    assert main([*base, "-o", str(sf2), "--soundfont", str(font)]) == 0
    assert capsys.readouterr().err == ""  # every voice in the soundfont: nothing to say
    assert main([*base, "-o", str(fallback), "--soundfont", str(bad)]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "groovefader: bad.sf2: not a readable SF2 soundfont; playing the built-in kit"]
    a, b, c = (read_wav(p)[0] for p in (builtin, sf2, fallback))
    assert a.shape == b.shape == c.shape and np.abs(b).mean() > 1e-3
    assert np.array_equal(a, c) and not np.allclose(a, b, atol=1e-3)  # the soundfont's sounds, or the kit's
    assert -0.3 >= peak_dbfs(b) > -1.1
