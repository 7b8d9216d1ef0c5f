"""A kit from an SF2 soundfont: built in the test (no soundfont is shipped), rendered, and
every way a file can be unusable answered in one line with the built-in kit playing."""

from __future__ import annotations

import numpy as np
import pytest

from engine.audio.kit import build_kit
from engine.audio.render import hits_for, render
from engine.audio.soundfont import SoundFontError, kit_with_soundfont, load_soundfont_kit
from engine.music.drums import GM_NOTE_MAP, Voice
from engine.realtime.steps import Controls
from tests.support.patterns import pattern_from_cells
from tests.support.sf2 import tone, write_sf2

pytest.importorskip("tinysoundfont", reason="soundfonts are played through the tinysoundfont package")

RATE = 48_000
KICK_HZ, SNARE_HZ = 110.0, 700.0


def dominant_hz(buf: np.ndarray, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(buf * np.hanning(len(buf))))
    return float(np.argmax(spectrum) * rate / len(buf))


@pytest.fixture
def kit_sf2(tmp_path):
    """A kit with a kick (110 Hz) and a snare (700 Hz, half as loud) at their GM pitches."""
    return write_sf2(tmp_path / "kit.sf2", {GM_NOTE_MAP.note(Voice.KICK): tone(KICK_HZ, 0.3, 0.08),
                                            GM_NOTE_MAP.note(Voice.SNARE): 0.5 * tone(SNARE_HZ, 0.2, 0.05)})


def test_the_soundfont_s_sounds_play_each_at_full_scale(kit_sf2) -> None:
    kit, missing = load_soundfont_kit(kit_sf2, RATE)
    assert kit.rate == RATE and len(kit.samples) == 9
    assert set(missing) == set(range(9)) - {Voice.KICK, Voice.SNARE}
    kick, snare = kit.samples[Voice.KICK], kit.samples[Voice.SNARE]
    assert dominant_hz(kick) == pytest.approx(KICK_HZ, abs=5)
    assert dominant_hz(snare) == pytest.approx(SNARE_HZ, abs=5)
    # each voice peaks at 1.0, as the built-in kit's do (the kit mix's levels do the balance),
    # though the soundfont's snare is half as loud as its kick
    assert np.abs(kick).max() == pytest.approx(1.0) and np.abs(snare).max() == pytest.approx(1.0)
    assert 0.25 * RATE < len(kick) < 0.4 * RATE  # until it died away, not the full 4 s
    builtin = build_kit(RATE)
    for voice in missing:  # what the soundfont lacks, the built-in kit plays
        assert kit.samples[voice] is not None and np.array_equal(kit.samples[voice], builtin.samples[voice])
    assert abs(kick[-1]) < 1e-3  # ends on silence
    assert not kick.flags.writeable


def test_a_render_with_the_soundfont_places_its_sounds_at_the_hits(kit_sf2) -> None:
    kit, _ = load_soundfont_kit(kit_sf2, RATE)
    pattern = pattern_from_cells({(0, Voice.KICK): (1.0, 0.0), (4, Voice.SNARE): (1.0, 0.2),
                                  (8, Voice.KICK): (0.6, -0.3)}, steps=16)
    controls = Controls(tempo_bpm=120.0)
    audio = render(pattern, controls, 1, rate=RATE, kit=kit, normalize=False).sum(axis=1)
    builtin = render(pattern, controls, 1, rate=RATE, normalize=False).sum(axis=1)
    assert not np.allclose(audio, builtin)
    hits = hits_for(pattern, controls, 1, RATE)
    for hit in hits:
        before = audio[hit.frame - 200:hit.frame - 2]
        after = audio[hit.frame:hit.frame + 2400]
        assert np.abs(after[:64]).max() > 0.05 and np.abs(before).max() < np.abs(after).max() * 0.5
        want = KICK_HZ if hit.voice == Voice.KICK else SNARE_HZ
        assert dominant_hz(after) == pytest.approx(want, abs=25)


@pytest.mark.parametrize(("content", "says"), [
    (None, "cannot read the soundfont"),
    (b"", "not a soundfont file"),
    (b"RIFF\x10\x00\x00\x00WAVEfmt " + bytes(40), "not a readable SF2 soundfont"),
    ("melodic", "has no drum kit"),
])
def test_an_unusable_file_is_one_line_and_the_built_in_kit_plays(tmp_path, content, says) -> None:
    path = tmp_path / "font.sf2"
    if content == "melodic":  # a fine soundfont, but only a piano on bank 0
        write_sf2(path, {60: tone(440.0)}, bank=0, name="Piano")
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(SoundFontError, match=says):
        load_soundfont_kit(path, RATE)
    kit, note = kit_with_soundfont(RATE, str(path))
    assert note is not None and "\n" not in note and says in note and note.startswith("font.sf2: ")
    assert note.endswith("playing the built-in kit")
    builtin = build_kit(RATE)
    assert all(np.array_equal(a, b) for a, b in zip(kit.samples, builtin.samples, strict=True))


def test_a_kit_missing_voices_says_which(kit_sf2) -> None:
    _, note = kit_with_soundfont(RATE, str(kit_sf2))
    assert note == "kit.sf2: no sound for Closed HH, Open HH, Low tom, Mid tom, High tom, Crash, Ride; " \
                   "the built-in kit's plays"
    _, none = kit_with_soundfont(RATE, None)
    assert none is None


def test_without_tinysoundfont_it_says_what_to_install(kit_sf2, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "tinysoundfont", None)  # import fails as if not installed
    _, note = kit_with_soundfont(RATE, str(kit_sf2))
    assert note is not None and "tinysoundfont" in note and note.endswith("playing the built-in kit")
