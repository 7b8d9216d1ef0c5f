"""Measuring where hits sound in recorded or rendered audio (tests and benchmarks).

:func:`onset_frame` finds one hit near where it is expected with a matched filter: the
normalised cross-correlation between the audio and the first milliseconds of the voice's
kit buffer, over every lag within ``search`` frames. Why a matched filter: the kit's
hats and cymbals ring for up to a second, so in a groove a hit starts on top of other
voices' tails, where a level threshold cannot tell a new attack from the ring; the
attack's waveform is known, and the correlation peaks where it starts. A soft hit right
under a loud cymbal can still be masked (a 0.35-velocity hat 21 ms after a loud ride
was missed by 2.3 ms in a trial): tests use audible velocities; benchmarks report misses.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from engine.audio.kit import Kit
from engine.music.drums import Voice

TEMPLATE_S = 0.01  # the attack the filter matches: 10 ms


def _emphasis(x: np.ndarray) -> np.ndarray:
    """First difference: whitens the low voices (a kick's slow sine correlates with itself
    over a wide lag range; its attack's step does not)."""
    return np.diff(x, prepend=0.0)


def onset_frame(mono: np.ndarray, kit: Kit, voice: int, expected: int, search: int) -> int | None:
    """The frame within ``expected ± search`` (cut at the start of the audio) where
    ``voice``'s attack best matches ``mono`` (normalised cross-correlation of the first
    differences). None where the window runs past the end of the audio.
    """
    template = _emphasis(kit.samples[voice][:max(8, round(TEMPLATE_S * kit.rate))].astype(np.float64))
    lo, hi = max(1, expected - search), expected + search + len(template)
    if hi > len(mono) or lo >= hi - len(template):
        return None
    window = np.diff(mono[lo - 1:hi].astype(np.float64))
    corr = np.correlate(window, template, mode="valid")
    energy = np.convolve(window ** 2, np.ones(len(template)), mode="valid")
    score = corr / np.sqrt(np.maximum(energy, 1e-20))
    return lo + int(np.argmax(score))


def first_sound(mono: np.ndarray, threshold: float = 1e-4, start: int = 0) -> int | None:
    """The first frame from ``start`` whose level exceeds ``threshold`` (an isolated hit)."""
    above = np.flatnonzero(np.abs(mono[start:]) > threshold)
    return None if above.size == 0 else start + int(above[0])


def hand_over_notes(device: Any, count: int = 12) -> tuple[list[int], list[int]]:
    """Hand ``count`` notes to an audio output as the clock does (each at its deadline, kick,
    snare and low tom in turn, spaced off any block grid): their gaps (ns, from the first)
    and voices."""
    gaps_ns = [round(i * 101.3e6 + (i % 3) * 7.77e6) for i in range(count)]
    voices = [(Voice.KICK, Voice.SNARE, Voice.LOW_TOM)[i % 3] for i in range(count)]
    t0 = time.perf_counter_ns() + 50_000_000
    for gap, voice in zip(gaps_ns, voices, strict=True):
        while time.perf_counter_ns() < t0 + gap:
            time.sleep(0.0002)
        device.note(t0 + gap, voice, 110)
    return gaps_ns, voices


def open_live_device(live: Any, timeout_s: float = 15.0) -> None:
    """Turn ``live``'s kit on the audio device and wait for it; skip the test where PortAudio
    cannot reach the JACK server."""
    import pytest

    from engine.audio.settings import AudioSettings

    live.configure(AudioSettings(enabled=True, output="device"), None)
    end = time.monotonic() + timeout_s
    while live.opening and time.monotonic() < end:
        live.poll()
        time.sleep(0.02)
    if live.output != "device":
        pytest.skip(f"PortAudio cannot reach JACK here: {live.error}")


def heard_onsets(audio: np.ndarray, kit: Kit, rate: int, gaps_ns: list[int],
                 voices: list[int]) -> list[int | None]:
    """Onset frames of notes handed over by :func:`hand_over_notes`, found in a stereo
    recording from its first sound on (None: not heard)."""
    mono = audio.sum(axis=1)
    start = int(np.flatnonzero(np.abs(mono) > 1e-3)[0])
    return [onset_frame(mono, kit, v, start + round(g * rate / 1e9), search=rate // 100)
            for g, v in zip(gaps_ns, voices, strict=True)]
