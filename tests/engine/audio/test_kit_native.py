"""The kit in C (engine/audio/kit_dsp.c): built with the system's compiler, it mixes exactly
what the Python voice mixer does, block by block."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from engine.audio.kit import KitMix, build_kit
from engine.audio.kit_native import NativeMixer, build_library, library_path, load_library
from engine.audio.mixer import VoiceMixer
from engine.music.drums import Voice

SLOTS = 64


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    if not any(shutil.which(cc) for cc in ("cc", "gcc", "clang")):
        pytest.skip("no C compiler: the kit plays through its Python callback")
    return load_library(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def kit():
    return build_kit(48_000)


def blocks(mixer, frames: int) -> tuple[np.ndarray, np.ndarray]:
    left, right = np.full(frames, 9.0, np.float32), np.full(frames, 9.0, np.float32)  # overwritten
    mixer.mix_into(left, right, frames)
    return left, right


@pytest.mark.parametrize("frames", [64, 256, 1000])
def test_it_mixes_what_the_voice_mixer_mixes(lib, kit, frames) -> None:
    """Random hits at random frames and velocities on every voice (closed hi-hats choking
    open ones; at 64 frames so many ring at once that hits steal slots), the same mix."""
    mix = KitMix(levels=(1.0, 0.8, 0.6, 0.7, 0.9, 0.9, 0.9, 0.5, 0.6),
                 pans=(0, -0.3, 0.4, 0.4, -0.6, 0, 0.6, -0.2, 0.3), volume=0.8)
    ref, native = VoiceMixer(kit, mix, polyphony=SLOTS), NativeMixer(lib, kit, mix)
    rng = np.random.default_rng(frames)
    rate = 0.5 if frames == 64 else 0.3  # hits per block
    for _ in range(2000):
        for _ in range(rng.poisson(rate)):
            hit = int(rng.integers(0, frames)), int(rng.integers(0, 9)), int(rng.integers(1, 128))
            ref.trigger(*hit)
            native.trigger(*hit)
        want, got = blocks(ref, frames), blocks(native, frames)
        assert np.abs(want[0] - got[0]).max() <= 1e-5 and np.abs(want[1] - got[1]).max() <= 1e-5
    assert native.triggered == ref.triggered > 500
    assert native.active == ref.active
    if frames == 64:
        assert ref.stolen > 0  # the slots ran out and the same hits gave way


def test_a_closed_hat_silences_an_open_one_and_a_new_mix_takes_the_next_hit(lib, kit) -> None:
    native = NativeMixer(lib, kit, KitMix())
    native.trigger(0, Voice.OPEN_HAT, 127)
    blocks(native, 256)
    native.trigger(100, Voice.CLOSED_HAT, 127)
    left, _ = blocks(native, 256)
    assert np.all(left[:100] == 0.0)  # the open hi-hat is gone from the block's start
    closed = kit.samples[Voice.CLOSED_HAT]
    gain = KitMix().gains()[Voice.CLOSED_HAT, 0]
    np.testing.assert_allclose(left[100:], closed[:156] * gain, atol=1e-6)
    native.set_mix(KitMix(volume=0.0))
    native.trigger(0, Voice.KICK, 127)
    assert native.active == 2
    left, right = blocks(native, 256)
    np.testing.assert_allclose(left, closed[156:412] * gain, atol=1e-6)  # the kick: silent


def test_a_note_table_maps_pitches_to_voices_and_bad_input_is_ignored(lib, kit) -> None:
    native = NativeMixer(lib, kit, KitMix())
    native.set_notes(tuple([-1] * 128), 0x99)
    native.trigger(0, 42, 100)  # no such voice
    native.trigger(0, Voice.KICK, 0)  # velocity 0: silent
    assert native.triggered == 0 and native.active == 0
    with pytest.raises(ValueError, match="contiguous float32"):
        native.mix_into(np.zeros(64), np.zeros(64), 64)


def test_the_library_is_built_once_and_a_broken_compiler_is_one_line(tmp_path, monkeypatch) -> None:
    if not any(shutil.which(cc) for cc in ("cc", "gcc", "clang")):
        pytest.skip("no C compiler")
    built = build_library(tmp_path)
    assert built == library_path(tmp_path) and built.exists()
    stamp = built.stat().st_mtime_ns
    assert build_library(tmp_path) == built and built.stat().st_mtime_ns == stamp  # not rebuilt
    monkeypatch.setenv("CC", "false")  # a compiler that fails
    with pytest.raises(OSError, match=r"^false failed on kit_dsp.c"):
        build_library(tmp_path / "other")
    assert list((tmp_path / "other").iterdir()) == []  # nothing half-written left
    monkeypatch.setenv("PATH", str(tmp_path))  # none at all
    monkeypatch.delenv("CC")
    with pytest.raises(OSError, match="no C compiler"):
        build_library(tmp_path / "none")
