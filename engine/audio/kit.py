"""The built-in drum kit: nine voices synthesised in numpy, computed once per sample rate.

Why synthesis and not samples: nothing to license or ship, every sample rate gets exact
buffers (no resampling in the audio callback), and the sounds are reproducible (fixed
seeds). The recipes are the classic analogue-drum ones (a TR-808-style kick and toms:
a sine falling in pitch; snare: two tones plus band-passed noise; hats and cymbals: six
square-wave partials at inharmonic ratios plus high-passed noise), one per
:class:`~engine.music.drums.Voice`.

Every voice's buffer is mono float32, peak-normalised to 1.0, and starts at its attack
(sample 0 is the hit), so an onset is exactly where a sample is placed. Level and pan are
per voice (:class:`KitMix`); velocity scales the amplitude (:func:`velocity_gain`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.music.drums import NUM_VOICES, VOICE_LABELS, Voice

DEFAULT_RATE_HZ = 48_000
MIN_RATE_HZ, MAX_RATE_HZ = 22_050, 192_000
VELOCITY_CURVE = 1.6  # amplitude = (velocity / 127) ** curve: soft notes clearly softer, like a drum
# The six square-wave partials of the TR-808's cymbal and hat circuit, in Hz.
METAL_PARTIALS_HZ = (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)

# Default balance (linear gain 0..1) and pan (-1 left … +1 right) per voice, drummer's view
# of a right-handed kit: hats and high tom right of centre, floor tom left.
DEFAULT_LEVELS: tuple[float, ...] = (1.0, 0.85, 0.45, 0.45, 0.8, 0.75, 0.7, 0.5, 0.45)
DEFAULT_PANS: tuple[float, ...] = (0.0, 0.05, 0.35, 0.35, -0.45, -0.1, 0.25, -0.4, 0.45)


@dataclass(frozen=True)
class KitMix:
    """Per-voice level and pan plus the master volume: what the mixer's gains come from.

    Args:
        levels: nine linear gains in [0, 1], in :class:`Voice` order.
        pans: nine pans in [-1, 1] (-1 = hard left).
        volume: master gain in [0, 1].
    """

    levels: tuple[float, ...] = DEFAULT_LEVELS
    pans: tuple[float, ...] = DEFAULT_PANS
    volume: float = 0.8

    def __post_init__(self) -> None:
        for name, values, low in (("levels", self.levels, 0.0), ("pans", self.pans, -1.0)):
            if len(values) != NUM_VOICES:
                raise ValueError(f"{name} needs {NUM_VOICES} values, got {len(values)}")
            for v in values:
                if not isinstance(v, int | float) or not low <= float(v) <= 1.0 or math.isnan(v):
                    raise ValueError(f"{name} must lie in [{low:g}, 1], got {v!r}")
        if not isinstance(self.volume, int | float) or not 0.0 <= float(self.volume) <= 1.0:
            raise ValueError(f"volume must lie in [0, 1], got {self.volume!r}")

    def gains(self) -> np.ndarray:
        """``(9, 2)`` float32: left and right gain per voice (constant-power pan × level × volume)."""
        pans = np.asarray(self.pans, np.float64)
        angle = (pans + 1.0) * math.pi / 4  # 0 = hard left, π/2 = hard right
        level = np.asarray(self.levels, np.float64) * float(self.volume) * math.sqrt(2.0)
        out = np.stack([np.cos(angle), np.sin(angle)], axis=1) * level[:, None]
        return out.astype(np.float32)  # centre: 1.0 per side at level 1, volume 1


def velocity_gain(velocity: int) -> float:
    """Amplitude of a MIDI velocity 1–127 (0 or less is silent)."""
    return 0.0 if velocity <= 0 else (min(int(velocity), 127) / 127.0) ** VELOCITY_CURVE


@dataclass(frozen=True)
class Kit:
    """The nine voice buffers at one sample rate.

    Attributes:
        rate: sample rate in Hz.
        samples: nine mono float32 buffers (read-only), peak 1.0, attack at index 0.
    """

    rate: int
    samples: tuple[np.ndarray, ...] = field(repr=False)

    @property
    def longest(self) -> int:
        """Frames of the longest voice (how long a hit can ring)."""
        return max(len(s) for s in self.samples)

    def label(self, voice: int) -> str:
        return VOICE_LABELS[int(voice)]


def build_kit(rate: int = DEFAULT_RATE_HZ) -> Kit:
    """Synthesise the kit at ``rate`` Hz (about 50 ms of numpy work; do it once, off the
    audio thread).

    Raises:
        ValueError: a rate outside 22.05–192 kHz (below it the cymbals' band would not fit).
    """
    if not isinstance(rate, int) or not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        raise ValueError(f"sample rate must be an int in {MIN_RATE_HZ}..{MAX_RATE_HZ} Hz, got {rate!r}")
    makers = {
        Voice.KICK: lambda: _drum(rate, 0.45, start_hz=160.0, end_hz=48.0, sweep_s=0.045, decay_s=0.32,
                                  click=0.5, seed=1),
        Voice.SNARE: lambda: _snare(rate),
        Voice.CLOSED_HAT: lambda: _metal(rate, 0.09, decay_s=0.022, low_hz=7_000.0, noise=0.6, seed=3),
        Voice.OPEN_HAT: lambda: _metal(rate, 0.6, decay_s=0.18, low_hz=6_500.0, noise=0.6, seed=4),
        Voice.LOW_TOM: lambda: _drum(rate, 0.5, start_hz=130.0, end_hz=82.0, sweep_s=0.08, decay_s=0.22,
                                     click=0.15, seed=5),
        Voice.MID_TOM: lambda: _drum(rate, 0.45, start_hz=180.0, end_hz=118.0, sweep_s=0.07, decay_s=0.19,
                                     click=0.15, seed=6),
        Voice.HIGH_TOM: lambda: _drum(rate, 0.4, start_hz=240.0, end_hz=165.0, sweep_s=0.06, decay_s=0.16,
                                      click=0.15, seed=7),
        Voice.CRASH: lambda: _metal(rate, 1.8, decay_s=0.55, low_hz=3_500.0, noise=0.9, seed=8),
        Voice.RIDE: lambda: _ride(rate),
    }
    samples = []
    for voice in Voice:
        buf = makers[voice]()
        buf = (buf / np.max(np.abs(buf))).astype(np.float32)
        buf.setflags(write=False)
        samples.append(buf)
    return Kit(rate, tuple(samples))


# -- the recipes -----------------------------------------------------------------------------

def _time(rate: int, seconds: float) -> np.ndarray:
    return np.arange(round(rate * seconds), dtype=np.float64) / rate


def _fade_tail(buf: np.ndarray, rate: int, fade_s: float = 0.01) -> np.ndarray:
    """End on silence (no click when the buffer runs out)."""
    n = min(len(buf), round(rate * fade_s))
    buf[-n:] *= np.linspace(1.0, 0.0, n)
    return buf


def _band_noise(rate: int, n: int, low_hz: float, high_hz: float, seed: int) -> np.ndarray:
    """White noise band-limited to [low, high] Hz in the frequency domain (numpy only)."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0.0
    noise = np.fft.irfft(spectrum, n)
    return noise / (np.max(np.abs(noise)) or 1.0)


def _drum(rate: int, seconds: float, *, start_hz: float, end_hz: float, sweep_s: float, decay_s: float,
          click: float, seed: int) -> np.ndarray:
    """A sine whose pitch falls exponentially from ``start_hz`` to ``end_hz``, starting at its
    peak (cosine phase) so the hit is sample 0, with a short noise click for the beater."""
    t = _time(rate, seconds)
    freq = end_hz + (start_hz - end_hz) * np.exp(-t / sweep_s)
    phase = 2 * np.pi * np.cumsum(freq) / rate
    body = np.cos(phase - phase[0]) * np.exp(-t / decay_s)
    beater = _band_noise(rate, len(t), 1_000.0, 8_000.0, seed) * np.exp(-t / 0.004) * click
    return _fade_tail(body + beater, rate)


def _snare(rate: int) -> np.ndarray:
    t = _time(rate, 0.35)
    tone = (np.cos(2 * np.pi * 185.0 * t) + 0.6 * np.cos(2 * np.pi * 330.0 * t)) * np.exp(-t / 0.06)
    wires = _band_noise(rate, len(t), 1_500.0, 11_000.0, seed=2) * np.exp(-t / 0.09)
    return _fade_tail(0.55 * tone + 1.0 * wires, rate)


def _metal_partials(t: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Six square waves at the 808's inharmonic ratios: the metallic core of hats and cymbals."""
    return sum(np.sign(np.sin(2 * np.pi * f * scale * t + 0.3 * i))
               for i, f in enumerate(METAL_PARTIALS_HZ)) / len(METAL_PARTIALS_HZ)


def _metal(rate: int, seconds: float, *, decay_s: float, low_hz: float, noise: float,
           seed: int) -> np.ndarray:
    t = _time(rate, seconds)
    n = len(t)
    metal = np.fft.irfft(np.fft.rfft(_metal_partials(t, 8.0)) * (np.fft.rfftfreq(n, 1.0 / rate) > low_hz), n)
    hiss = _band_noise(rate, n, low_hz, min(16_000.0, rate / 2 * 0.95), seed)
    body = (metal / (np.max(np.abs(metal)) or 1.0) + noise * hiss) * np.exp(-t / decay_s)
    return _fade_tail(body, rate)


def _ride(rate: int) -> np.ndarray:
    t = _time(rate, 1.4)
    wash = _metal(rate, 1.4, decay_s=0.45, low_hz=4_500.0, noise=0.35, seed=9)
    bell = sum(np.cos(2 * np.pi * f * t) for f in (620.0, 931.0, 1_480.0)) * np.exp(-t / 0.3) / 3
    return _fade_tail(wash + 0.5 * bell, rate)
