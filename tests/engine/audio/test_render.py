"""Offline rendering: hits where the pattern puts them, loud but never clipping, a real WAV."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from engine.audio.errors import AudioFileError
from engine.audio.kit import build_kit
from engine.audio.render import (
    TARGET_PEAK_DBFS,
    hits_for,
    peak_dbfs,
    read_wav,
    render,
    render_clip_wav,
    write_wav,
)
from engine.music.drums import NUM_VOICES, Voice
from engine.music.pattern import Pattern
from engine.realtime.steps import Controls
from tests.support.audio import first_sound, onset_frame
from tests.support.patterns import pattern_from_cells

RATE = 48_000


def groove_with_feel(seed: int = 0) -> Pattern:
    """A busy two-bar groove, every hit micro-timed and at its own (audible) velocity."""
    rng = np.random.default_rng(seed)
    hits = rng.random((32, NUM_VOICES)) < np.array([0.3, 0.25, 0.6, 0.08, 0.06, 0.06, 0.06, 0.04, 0.1])
    hits[0, Voice.KICK] = True
    vel = rng.uniform(0.6, 1.0, hits.shape).astype(np.float32)
    off = rng.uniform(-0.45, 0.45, hits.shape).astype(np.float32)
    off[0] = np.abs(off[0])  # the first step's early notes would be clamped to time 0
    return Pattern(hits, vel, off)


def test_every_onset_within_half_a_millisecond_of_its_note() -> None:
    pattern, bpm, bars = groove_with_feel(1), 97.0, 4
    audio = render(pattern, Controls(tempo_bpm=bpm), bars, rate=RATE)
    mono = audio.sum(axis=1)
    kit = build_kit(RATE)
    step_s = 60.0 / bpm / 4
    errors_ms = []
    for loop in range(bars // pattern.bars):
        for step, voice in zip(*np.nonzero(pattern.hits), strict=True):
            t = (loop * pattern.steps + step + float(pattern.offsets[step, voice])) * step_s
            expected = round(t * RATE)
            found = onset_frame(mono, kit, int(voice), expected, search=round(0.005 * RATE))
            if found is not None:
                errors_ms.append((found - t * RATE) / RATE * 1e3)
    assert len(errors_ms) >= 0.95 * pattern.num_hits * (bars // pattern.bars)
    assert max(abs(e) for e in errors_ms) <= 0.5


def test_an_isolated_hit_starts_on_its_micro_timed_sample() -> None:
    pattern = pattern_from_cells({(5, Voice.SNARE): (0.8, 0.3)})
    audio = render(pattern, Controls(tempo_bpm=120.0), 2, rate=RATE)
    expected = (5 + 0.3) * 0.125 * RATE  # 16th at 120 BPM = 125 ms
    assert first_sound(audio[:, 0]) == round(expected)


def test_loud_but_never_clipping() -> None:
    audio = render(groove_with_feel(2), Controls(velocity_scale=2.0), 2, rate=RATE)
    assert -0.3 >= peak_dbfs(audio) >= TARGET_PEAK_DBFS - 0.01
    silent = render(Pattern.empty(), Controls(), 1, rate=RATE)
    assert peak_dbfs(silent) == float("-inf")


def test_velocity_scales_the_level_and_swing_moves_odd_steps() -> None:
    soft = pattern_from_cells({(0, Voice.KICK): (0.3, 0.0), (16, Voice.KICK): (1.0, 0.0)})
    audio = render(soft, Controls(), 2, rate=RATE, normalize=False)
    half = len(audio) // 2
    assert np.abs(audio[:half]).max() < 0.3 * np.abs(audio[half:]).max()
    swung = hits_for(pattern_from_cells({(1, Voice.CLOSED_HAT): (0.8, 0.0)}), Controls(swing=0.5), 2, RATE)
    assert swung[0].frame == round(1.5 * 0.125 * RATE)


def test_the_clip_is_exactly_its_bars_and_the_ring_wraps_to_the_start() -> None:
    crash_at_end = pattern_from_cells({(31, Voice.CRASH): (1.0, 0.0)})
    audio = render(crash_at_end, Controls(tempo_bpm=120.0), 2, rate=RATE)
    assert len(audio) == 2 * 2 * RATE  # 2 bars of 4/4 at 120 BPM = 4 s
    assert np.abs(audio[:RATE // 100]).max() > 0.01  # the crash still rings at the top of the loop


def test_wav_file_round_trips_at_24_bits(tmp_path) -> None:
    audio = render(groove_with_feel(3), Controls(), 2, rate=RATE)
    path = write_wav(tmp_path / "g.wav", audio, RATE)
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 3, RATE)
        assert w.getnframes() == len(audio)
    back, rate = read_wav(path)
    assert rate == RATE and np.abs(back - audio).max() < 2 / 2**23
    assert peak_dbfs(back) <= -0.3


def test_refuses_to_overwrite_and_leaves_no_temp_file(tmp_path) -> None:
    path = tmp_path / "g.wav"
    path.write_bytes(b"keep me")
    with pytest.raises(AudioFileError, match="exists"):
        render_clip_wav(path, groove_with_feel(), 120.0)
    assert path.read_bytes() == b"keep me"
    with pytest.raises(AudioFileError, match="tempo"):
        render_clip_wav(tmp_path / "x.wav", groove_with_feel(), 900.0)
    render_clip_wav(path, groove_with_feel(), 120.0, force=True)
    assert read_wav(path)[0].shape == (4 * RATE, 2)
    assert not list(tmp_path.glob(".*tmp"))


def test_a_folder_that_cannot_be_written_is_one_clear_error(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AudioFileError, match="cannot write audio"):
        write_wav(blocker / "g.wav", np.zeros((10, 2), np.float32), RATE)
