"""Drum features of pattern batches for the realism measures: pure, vectorised numpy.

Every function takes a batch in the pattern codec layout, ``(N, steps, 27)`` (hits |
velocities in [0, 1] | offsets in [-0.5, 0.5] steps, see :mod:`engine.music.pattern`), and
returns one value per pattern. Micro-timing is in *steps* (a 16th note), so figures compare
across tempi (the generator's patterns have none).

Two feature families come from the drum-groove literature, defined as follows:

* **Swing** follows the Groove Toolbox's ``swingness`` (Bruford et al., the definition
  GrooveEvaluator reports as "Micro-Timing::Swingness"): average the onset offsets of all
  voices at each step; a step on the last 16th of a beat (positions 3, 7, 11, ...) whose
  average is earlier than 25 ms is *swung* (an 8th-note swing places the off-beat 8th a
  triplet late, i.e. early on the 16th grid). Swing = 0 without a swung position, else
  ``1 + (swung positions / positions) / 10``; a set's mean is about the share of swung
  patterns. The toolbox's 25 ms threshold is taken at 120 BPM: 0.2 steps.
* **Laid-back-ness** is the toolbox's ``laidbackness``: on the kicks of beats 1 and 3 and
  the snares of beats 2 and 4 of each bar, an event is *laid back* when the note is more
  than 12 ms (0.096 steps at 120 BPM) late against the grid or against the closed hi-hat on
  the same step, *pushed* when as much early; laid-back-ness = share of laid-back events
  − share of pushed events, in [-1, 1].

Syncopation per stream is the Longuet-Higgins & Lee measure of
:func:`engine.music.attributes.syncopation` applied to one stream alone (kick, snare, or the
hi-hats closed and open together), per bar.
"""

from __future__ import annotations

import numpy as np

from engine.music import attributes as attr_lib
from engine.music.drums import NUM_VOICES, Voice

SWING_THRESHOLD_STEPS = 0.2  # 25 ms at 120 BPM (one 16th = 125 ms)
LAIDBACK_THRESHOLD_STEPS = 0.096  # 12 ms at 120 BPM
VOICE_NAMES: tuple[str, ...] = tuple(v.name.lower() for v in Voice)


def split(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(hits bool, velocities, offsets)``, each ``(N, T, 9)``; velocity/offset zeroed off hits.

    Raises:
        ValueError: not ``(N, T, 27)`` (a single ``(T, 27)`` pattern is taken as N = 1).
    """
    b = np.asarray(batch, np.float64)
    if b.ndim == 2:
        b = b[None]
    if b.ndim != 3 or b.shape[2] != 3 * NUM_VOICES:
        raise ValueError(f"expected (N, steps, {3 * NUM_VOICES}), got {b.shape}")
    hits = b[..., :NUM_VOICES] > 0.5
    return hits, b[..., NUM_VOICES:2 * NUM_VOICES] * hits, b[..., 2 * NUM_VOICES:] * hits


def hits_per_voice(batch: np.ndarray) -> np.ndarray:
    """``(N, 9)`` onsets of each voice in each pattern."""
    hits, _, _ = split(batch)
    return hits.sum(axis=1).astype(np.float64)


def _onset_stats(values: np.ndarray, hits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population) std over each pattern's onsets; 0 for an empty pattern."""
    n = hits.sum(axis=(1, 2))
    safe = np.maximum(n, 1)
    mean = (values * hits).sum(axis=(1, 2)) / safe
    var = ((values - mean[:, None, None]) ** 2 * hits).sum(axis=(1, 2)) / safe
    return np.where(n > 0, mean, 0.0), np.where(n > 0, np.sqrt(var), 0.0)


def velocity_stats(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of the onsets' MIDI velocities (1–127 scale), each ``(N,)``."""
    hits, vel, _ = split(batch)
    mean, std = _onset_stats(vel * 127.0, hits)
    return mean, std


def timing_stats(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of the onsets' micro-timing offsets in steps (GrooveEvaluator's
    "Poly Offset Mean/std"), each ``(N,)``; > 0 mean = behind the beat."""
    hits, _, off = split(batch)
    return _onset_stats(off, hits)


def voices_used(batch: np.ndarray) -> np.ndarray:
    """Number of voices with at least one onset (GrooveEvaluator's "NoI")."""
    hits, _, _ = split(batch)
    return hits.any(axis=1).sum(axis=1).astype(np.float64)


def step_density(batch: np.ndarray) -> np.ndarray:
    """Share of steps with at least one onset ("Total Step Density")."""
    hits, _, _ = split(batch)
    return hits.any(axis=2).mean(axis=1)


def _step_mean_offset(hits: np.ndarray, off: np.ndarray) -> np.ndarray:
    """``(N, T)`` mean offset of the onsets on each step, NaN on silent steps."""
    n = hits.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, off.sum(axis=2) / np.maximum(n, 1), np.nan)


def swing(batch: np.ndarray, steps_per_beat: int = 4,
          threshold: float | np.ndarray = SWING_THRESHOLD_STEPS) -> np.ndarray:
    """Groove Toolbox swingness (module docstring): 0, or 1 + share of swung positions / 10.
    ``threshold`` in steps, one for all or ``(N,)`` (e.g. 25 ms at each window's tempo:
    :func:`ms_to_steps`)."""
    hits, _, off = split(batch)
    avg = _step_mean_offset(hits, off)[:, steps_per_beat - 1::steps_per_beat]
    thr = np.broadcast_to(np.asarray(threshold, np.float64), (avg.shape[0],))[:, None]
    with np.errstate(invalid="ignore"):
        swung = (avg < -thr).sum(axis=1)
    return np.where(swung > 0, 1.0 + swung / avg.shape[1] / 10.0, 0.0)


def ms_to_steps(ms: float, tempo_bpm: np.ndarray, steps_per_beat: int = 4) -> np.ndarray:
    """``ms`` milliseconds in steps at each tempo (one step = 60000 / (bpm · steps per beat) ms)."""
    return ms * np.asarray(tempo_bpm, np.float64) * steps_per_beat / 60000.0


def laidbackness(batch: np.ndarray, steps_per_bar: int = 16,
                 threshold: float = LAIDBACK_THRESHOLD_STEPS) -> np.ndarray:
    """Groove Toolbox laid-back-ness (module docstring), in [-1, 1]."""
    hits, _, off = split(batch)
    steps = hits.shape[1]
    beat = steps_per_bar // 4
    t = np.where(hits, off, np.nan)
    late, early = [], []
    for bar_start in range(0, steps - steps_per_bar + 1, steps_per_bar):
        for k, voice in enumerate((Voice.KICK, Voice.SNARE, Voice.KICK, Voice.SNARE)):
            step = bar_start + k * beat
            note, hat = t[:, step, int(voice)], t[:, step, int(Voice.CLOSED_HAT)]
            with np.errstate(invalid="ignore"):
                late.append((note > threshold) | (note > hat + threshold))
                early.append((note < -threshold) | (note < hat - threshold))
    if not late:
        return np.zeros(hits.shape[0])
    return np.mean(late, axis=0) - np.mean(early, axis=0)


def stream_syncopation(batch: np.ndarray, voices: tuple[int, ...],
                       steps_per_bar: int = 16) -> np.ndarray:
    """Longuet-Higgins & Lee syncopation per bar of one stream (the onsets of ``voices``
    taken as one monophonic line)."""
    hits, vel, off = split(batch)
    keep = np.zeros(NUM_VOICES, bool)
    keep[list(voices)] = True
    if keep[_DRUM_LAYER].any() and keep[_CYMBAL_LAYER].any():
        raise ValueError("a stream must lie within the drum layer or the cymbal layer")
    line = (hits & keep).astype(np.float64)
    return attr_lib.syncopation(np.concatenate([line, vel * line, off * line], axis=2), steps_per_bar)


_DRUM_LAYER = [int(Voice.KICK), int(Voice.SNARE), int(Voice.LOW_TOM), int(Voice.MID_TOM),
               int(Voice.HIGH_TOM)]
_CYMBAL_LAYER = [int(Voice.CLOSED_HAT), int(Voice.OPEN_HAT), int(Voice.CRASH), int(Voice.RIDE)]
HATS = (int(Voice.CLOSED_HAT), int(Voice.OPEN_HAT))


def groove_features(batch: np.ndarray, steps_per_bar: int = 16) -> tuple[np.ndarray, tuple[str, ...]]:
    """The per-pattern drum features MGEval compares, ``(N, F)`` and their F names:
    voices used, step density, velocity mean/std (MIDI), micro-timing mean/std (steps),
    swing, laid-back-ness, syncopation of kick / snare / hi-hats, and hits per voice."""
    vm, vs = velocity_stats(batch)
    tm, ts = timing_stats(batch)
    cols = {
        "voices_used": voices_used(batch),
        "step_density": step_density(batch),
        "velocity_mean": vm,
        "velocity_std": vs,
        "timing_mean": tm,
        "timing_std": ts,
        "swing": swing(batch, steps_per_bar // 4),
        "laidbackness": laidbackness(batch, steps_per_bar),
        "syncopation_kick": stream_syncopation(batch, (int(Voice.KICK),), steps_per_bar),
        "syncopation_snare": stream_syncopation(batch, (int(Voice.SNARE),), steps_per_bar),
        "syncopation_hats": stream_syncopation(batch, HATS, steps_per_bar),
    }
    per_voice = hits_per_voice(batch)
    for j, name in enumerate(VOICE_NAMES):
        cols[f"hits_{name}"] = per_voice[:, j]
    return np.stack(list(cols.values()), axis=1), tuple(cols)


def classifier_features(batch: np.ndarray, steps_per_bar: int = 16) -> np.ndarray:
    """The fixed feature vector the two-sample classifier sees, ``(N, F)``: the groove
    features, mean velocity and mean offset per voice (0 where a voice is silent), mean
    |offset|, and the onset profile (onsets on each step, all voices together)."""
    hits, vel, off = split(batch)
    n = np.maximum(hits.sum(axis=1), 1)
    per_voice_vel = vel.sum(axis=1) / n * 127.0
    per_voice_off = off.sum(axis=1) / n
    total = np.maximum(hits.sum(axis=(1, 2)), 1)
    abs_off = np.abs(off).sum(axis=(1, 2)) / total
    profile = hits.sum(axis=2).astype(np.float64)
    groove, _ = groove_features(batch, steps_per_bar)
    return np.concatenate([groove, per_voice_vel, per_voice_off, abs_off[:, None], profile], axis=1)


def raw_tensor(batch: np.ndarray) -> np.ndarray:
    """``(N, T * 27)``: the hit/velocity/offset grid itself, flattened (velocities and
    offsets zeroed where there is no hit)."""
    hits, vel, off = split(batch)
    return np.concatenate([hits.astype(np.float64), vel, off], axis=2).reshape(len(hits), -1)
