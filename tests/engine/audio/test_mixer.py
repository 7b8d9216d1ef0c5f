"""The kit and the mixers the audio callbacks run: the voice mixer (offline render, the audio
device) and the ring mixer (the kit's JACK process), which must sound the same."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from engine.audio.kit import DEFAULT_LEVELS, Kit, KitMix, build_kit, velocity_gain
from engine.audio.mixer import VoiceMixer
from engine.audio.ring_mixer import CHUNK_FRAMES, RingMixer
from engine.music.drums import NUM_VOICES, Voice


@pytest.fixture(scope="module")
def kit() -> Kit:
    return build_kit(48_000)


def test_kit_has_nine_distinct_voices_starting_at_their_attack(kit) -> None:
    assert len(kit.samples) == NUM_VOICES
    for buf in kit.samples:
        assert buf.dtype == np.float32 and not buf.flags.writeable
        assert np.abs(buf).max() == pytest.approx(1.0)
        assert abs(buf[0]) > 0.05  # the hit is sample 0
        assert abs(buf[-1]) < 1e-3  # ends on silence
    # each voice has its own colour: power-spectrum centroids, kick lowest, toms rising, hats high
    def centroid(buf):
        power = np.abs(np.fft.rfft(buf[:4096])) ** 2
        return float((np.fft.rfftfreq(4096, 1 / 48_000) * power).sum() / power.sum())
    c = [centroid(b) for b in kit.samples]
    assert c[Voice.KICK] < c[Voice.LOW_TOM] < c[Voice.MID_TOM] < c[Voice.HIGH_TOM] < c[Voice.SNARE]
    assert c[Voice.SNARE] < c[Voice.RIDE] < c[Voice.CLOSED_HAT]
    lengths = [len(b) for b in kit.samples]
    assert lengths[Voice.CRASH] > lengths[Voice.OPEN_HAT] > lengths[Voice.CLOSED_HAT]
    assert build_kit(22_050).samples[Voice.KICK].shape[0] < kit.samples[Voice.KICK].shape[0]
    with pytest.raises(ValueError, match="sample rate"):
        build_kit(100)


def test_kit_mix_checks_its_values_and_pans_with_constant_power() -> None:
    with pytest.raises(ValueError, match="levels"):
        KitMix(levels=(1.0,) * 8)
    with pytest.raises(ValueError, match="pans"):
        KitMix(pans=(2.0,) * NUM_VOICES)
    with pytest.raises(ValueError, match="volume"):
        KitMix(volume=1.5)
    gains = KitMix(pans=(-1.0, 0.0, 1.0, 0, 0, 0, 0, 0, 0), levels=(1.0,) * NUM_VOICES, volume=1.0).gains()
    assert gains[0, 1] == pytest.approx(0.0, abs=1e-6) and gains[2, 0] == pytest.approx(0.0, abs=1e-6)
    assert (gains ** 2).sum(axis=1) == pytest.approx(np.full(NUM_VOICES, 2.0))
    assert velocity_gain(0) == 0.0 and velocity_gain(127) == 1.0 and 0 < velocity_gain(40) < 40 / 127


MIXERS = pytest.mark.parametrize("mixer_class", [VoiceMixer, RingMixer])


@MIXERS
def test_a_hit_lands_at_its_offset_across_blocks(kit, mixer_class) -> None:
    mixer = mixer_class(kit, KitMix(volume=1.0), max_block=64)
    left, right = np.ones(64, np.float32), np.ones(64, np.float32)
    mixer.trigger(100, Voice.KICK, 127)  # beyond this block: it starts in the next one
    mixer.mix_into(left, right, 64)
    assert not left.any() and not right.any()
    mixer.mix_into(left, right, 64)
    assert not left[:36].any() and left[36] != 0.0
    gain = KitMix(volume=1.0).gains()[Voice.KICK, 0]
    assert np.allclose(left[36:], kit.samples[Voice.KICK][:28] * gain)


@MIXERS
def test_slots_free_when_a_voice_ends_and_the_closed_hat_chokes_the_open_one(kit, mixer_class) -> None:
    mixer = mixer_class(kit, max_block=4096)
    left, right = np.zeros(4096, np.float32), np.zeros(4096, np.float32)
    mixer.trigger(0, Voice.OPEN_HAT, 100)
    mixer.trigger(0, Voice.SNARE, 100)
    mixer.mix_into(left, right, 4096)
    assert mixer.active == 2
    mixer.trigger(10, Voice.CLOSED_HAT, 100)
    assert mixer.active == 2  # open hat cut, closed hat in
    for _ in range(20):
        mixer.mix_into(left, right, 4096)
    assert mixer.active == 0


def test_polyphony_steals_the_oldest_hit(kit) -> None:
    mixer = VoiceMixer(kit, polyphony=2, max_block=256)
    left, right = np.zeros(256, np.float32), np.zeros(256, np.float32)
    mixer.trigger(0, Voice.CRASH, 100)
    mixer.mix_into(left, right, 256)
    mixer.trigger(0, Voice.RIDE, 100)
    mixer.trigger(0, Voice.KICK, 100)
    assert mixer.stolen == 1 and mixer.active == 2


@MIXERS
def test_set_mix_changes_levels_for_the_next_hits(kit, mixer_class) -> None:
    mixer = mixer_class(kit, KitMix(volume=1.0), max_block=128)
    left, right = np.zeros(128, np.float32), np.zeros(128, np.float32)
    mixer.trigger(0, Voice.SNARE, 127)
    mixer.mix_into(left, right, 128)
    loud = np.abs(left).max()
    mixer.set_mix(KitMix(levels=tuple(x * 0.5 for x in DEFAULT_LEVELS), volume=1.0))
    mixer.trigger(0, Voice.SNARE, 127)
    mixer.mix_into(left, right, 128)
    assert mixer.active == 2  # the first snare still rings; both mixed
    half = KitMix(levels=tuple(x * 0.5 for x in DEFAULT_LEVELS), volume=1.0)
    mixer2 = mixer_class(kit, half, max_block=128)
    mixer2.trigger(0, Voice.SNARE, 127)
    mixer2.mix_into(left, right, 128)
    assert np.abs(left).max() == pytest.approx(loud / 2, rel=1e-5)


@MIXERS
def test_mixing_a_block_makes_no_audio_sized_allocation(kit, mixer_class) -> None:
    frames = 4096  # 16 KB per channel: an array this size made per block would show
    mixer = mixer_class(kit, max_block=frames)
    left, right = np.zeros(frames, np.float32), np.zeros(frames, np.float32)
    for voice in range(NUM_VOICES):
        mixer.trigger(voice * 100, voice, 100)
    mixer.mix_into(left, right, frames)  # first call: warm-up
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for voice in range(NUM_VOICES):
            mixer.trigger(voice * 50, voice, 90)
        mixer.mix_into(left, right, frames)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert peak < frames  # bytes: view objects only, far below one 16 KB block


@pytest.mark.parametrize(("block", "hits_per_block"), [(64, 0.03), (100, 0.02), (128, 0.05), (4096, 0.6)])
def test_the_ring_mixer_sounds_exactly_like_the_voice_mixer(kit, block, hits_per_block) -> None:
    """Random hits (every voice, so open hats are choked too), any offset and velocity, blocks
    that do and do not divide the ring: the same audio to float rounding (no polyphony limit
    reached here, the one place they differ)."""
    blocks = 4000 if block < 1000 else 80
    out = []
    for mixer in (VoiceMixer(kit, max_block=block), RingMixer(kit, max_block=block)):
        rng = np.random.default_rng(7)
        left, right = np.zeros(block, np.float32), np.zeros(block, np.float32)
        audio = np.zeros((blocks, 2, block), np.float32)
        for i in range(blocks):
            for _ in range(rng.poisson(hits_per_block)):
                offset, voice = int(rng.integers(0, block)), int(rng.integers(0, NUM_VOICES))
                mixer.trigger(offset, voice, int(rng.integers(1, 128)))
            mixer.mix_into(left, right, block)
            audio[i] = left, right
        out.append(audio)
        assert mixer.stolen == 0
    assert np.abs(out[0]).max() > 0.3 and mixer.triggered > 20
    assert np.abs(out[0] - out[1]).max() < 1e-6


def test_the_ring_mixer_writes_a_hit_a_chunk_at_a_time(kit) -> None:
    """A hit costs its trigger one chunk, and a block without a chunk due costs a copy."""
    mixer = RingMixer(kit, max_block=64)
    left, right = np.zeros(64, np.float32), np.zeros(64, np.float32)
    mixer.trigger(0, Voice.CRASH, 127)
    hit = mixer._hits[0]  # noqa: SLF001 - how far it is written
    assert hit[5] == CHUNK_FRAMES < len(kit.samples[Voice.CRASH])
    for _ in range(CHUNK_FRAMES // 64 - 1):
        mixer.mix_into(left, right, 64)
    assert hit[5] > CHUNK_FRAMES  # a chunk ahead of the block being played, never behind it
    for _ in range(len(kit.samples[Voice.CRASH]) // 64 + 2):
        mixer.mix_into(left, right, 64)
    assert hit[5] == hit[2] and mixer.active == 0
    with pytest.raises(ValueError, match="frames"):
        mixer.mix_into(left, right, 65)


def test_callback_percentiles_read_the_histogram_by_whole_microseconds() -> None:
    from engine.audio.kit_host import callback_percentiles
    from engine.audio.kit_process import HIST_BUCKETS

    hist = np.zeros(HIST_BUCKETS, np.int64)
    assert callback_percentiles(hist) == {}
    hist[3] = 900  # 900 callbacks of 3 µs, 99 of 40 µs, one of 2 ms or more
    hist[40] = 99
    hist[HIST_BUCKETS - 1] = 1
    assert callback_percentiles(hist) == {"p50": 3.0, "p90": 3.0, "p99": 40.0, "p999": 40.0}
    hist[HIST_BUCKETS - 1] = 10
    assert callback_percentiles(hist)["p999"] == HIST_BUCKETS - 1
