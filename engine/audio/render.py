"""Offline rendering: a pattern played N bars with the built-in kit, to a float array or a WAV.

Hits are placed where the sequencer plays them (:func:`engine.realtime.steps.notes_for_step`:
micro-timing × groove, swing, velocity scale, muted voices) at the nearest sample, and mixed
by the live :class:`~engine.audio.mixer.VoiceMixer`, so the file sounds like the instrument.
Time 0 is the first grid step, as in an exported MIDI clip (early notes of the first step
are clamped to it, as the clip writer does). The file is exactly N bars long; what still
rings at the end is wrapped round to the start, so the clip loops seamlessly on an audio
track. The result is peak-normalised to :data:`TARGET_PEAK_DBFS`.

WAV: 24-bit PCM stereo through the standard library's ``wave``, written atomically.
"""

from __future__ import annotations

import io
import math
import os
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from engine.audio.errors import AudioFileError
from engine.audio.kit import DEFAULT_RATE_HZ, Kit, KitMix, build_kit
from engine.audio.mixer import VoiceMixer
from engine.music.pattern import Pattern
from engine.realtime.steps import Controls, StepTable, notes_for_step, step_ns
from models.atomic import atomic_write

TARGET_PEAK_DBFS = -1.0  # loud, with headroom for 24-bit rounding and inter-sample peaks
BLOCK_FRAMES = 1024
PCM_BITS = 24
_PCM_MAX = 2 ** (PCM_BITS - 1) - 1


@dataclass(frozen=True, order=True)
class Hit:
    """One hit of a render: ``frame`` from the start, ``voice``, MIDI ``velocity``."""

    frame: int
    voice: int
    velocity: int


def hits_for(pattern: Pattern, controls: Controls, bars: int, rate: int) -> list[Hit]:
    """The hits of ``pattern`` looped to ``bars`` bars, each at its sample frame.

    Raises:
        ValueError: ``bars`` < 1.
    """
    if bars < 1:
        raise ValueError(f"bars must be >= 1, got {bars}")
    step_s = step_ns(controls.tempo_bpm) / 1e9
    steps = bars * pattern.steps_per_bar
    table = StepTable.from_pattern(pattern)  # once: a step of a long pattern is a lookup
    hits = []
    for step in range(steps):
        for event in notes_for_step(table, step, controls):
            frame = max(0, round((step + event.shift_steps) * step_s * rate))
            hits.append(Hit(frame, event.voice, event.velocity))
    return sorted(hits)


def render(pattern: Pattern, controls: Controls | None = None, bars: int = 4, *,
           rate: int = DEFAULT_RATE_HZ, mix: KitMix | None = None, kit: Kit | None = None,
           normalize: bool = True) -> np.ndarray:
    """``(frames, 2)`` float32 stereo of ``bars`` bars of ``pattern``.

    Args:
        pattern: the groove (it loops).
        controls: tempo, swing, groove amount, velocity scale, muted voices (default: 120 BPM).
        bars: length in bars.
        rate: sample rate in Hz (the kit is built for it unless ``kit`` is given).
        mix: per-voice levels and pans (the master volume is irrelevant when normalising).
        normalize: scale the peak to :data:`TARGET_PEAK_DBFS` (silence stays silence).
    """
    controls = controls or Controls()
    kit = kit if kit is not None and kit.rate == rate else build_kit(rate)
    frames = round(bars * pattern.steps_per_bar * step_ns(controls.tempo_bpm) / 1e9 * rate)
    hits = hits_for(pattern, controls, bars, rate)
    mixer = VoiceMixer(kit, mix, max_block=BLOCK_FRAMES)
    total = frames + kit.longest
    out = np.zeros((total + BLOCK_FRAMES, 2), np.float32)
    nxt = 0
    for start in range(0, total, BLOCK_FRAMES):
        end = start + BLOCK_FRAMES
        while nxt < len(hits) and hits[nxt].frame < end:
            hit = hits[nxt]
            mixer.trigger(hit.frame - start, hit.voice, hit.velocity)
            nxt += 1
        mixer.mix_into(out[start:end, 0], out[start:end, 1], BLOCK_FRAMES)
    loop = out[:frames].copy()
    for start in range(frames, total, frames):  # the ring past the end, wrapped round
        tail = out[start:min(start + frames, total)]
        loop[:len(tail)] += tail
    if normalize:
        peak = float(np.max(np.abs(loop))) if len(loop) else 0.0
        if peak > 0.0:
            loop *= np.float32(10 ** (TARGET_PEAK_DBFS / 20) / peak)
    return loop


def peak_dbfs(audio: np.ndarray) -> float:
    """The sample peak in dB relative to full scale (-inf for silence)."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return -math.inf if peak == 0.0 else 20 * math.log10(peak)


WAV_CHUNK_FRAMES = 1 << 15  # converted and written a chunk at a time (see write_wav_to)


def wav_bytes(audio: np.ndarray, rate: int) -> bytes:
    """``audio`` (``(frames, channels)`` float in [-1, 1]) as a 24-bit PCM WAV file's bytes."""
    buf = io.BytesIO()
    write_wav_to(buf, audio, rate)
    return buf.getvalue()


def write_wav_to(file: IO[bytes], audio: np.ndarray, rate: int) -> None:
    """``audio`` (``(frames, channels)`` float in [-1, 1]) as a 24-bit PCM WAV into the
    seekable binary ``file``. Converted and written in chunks of :data:`WAV_CHUNK_FRAMES`:
    minutes of audio are hundreds of MB, and one copy of them holds the GIL long enough to
    stall the other threads (the GUI's, when the app exports)."""
    if audio.ndim != 2:
        raise ValueError(f"audio must have shape (frames, channels), got {audio.shape}")
    with wave.open(file, "wb") as w:
        w.setnchannels(audio.shape[1])
        w.setsampwidth(PCM_BITS // 8)
        w.setframerate(int(rate))
        w.setnframes(len(audio))
        for start in range(0, len(audio), WAV_CHUNK_FRAMES):
            chunk = audio[start:start + WAV_CHUNK_FRAMES]
            ints = np.rint(np.clip(chunk, -1.0, 1.0) * _PCM_MAX).astype("<i4")
            w.writeframesraw(ints.reshape(-1, 1).view(np.uint8)[:, :3].tobytes())  # the low 3 bytes


def read_wav(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """A 16- or 24-bit PCM WAV as ``((frames, channels)`` float32 in [-1, 1], rate)``.

    Raises:
        AudioFileError: not a readable PCM WAV of those widths.
    """
    try:
        with wave.open(str(path), "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (OSError, wave.Error, EOFError) as err:
        raise AudioFileError(f"{path}: not a readable WAV file: {err}") from err
    if width == 2:
        ints = np.frombuffer(raw, "<i2").astype(np.int32)
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
    else:
        raise AudioFileError(f"{path}: {8 * width}-bit samples; only 16- and 24-bit PCM are read")
    scale = float(2 ** (8 * width - 1) - 1)
    return (ints.reshape(-1, channels) / scale).astype(np.float32), rate


def write_wav(path: str | os.PathLike[str], audio: np.ndarray, rate: int, *, force: bool = False) -> Path:
    """Write ``audio`` as a 24-bit WAV, atomically (a crash or full disk leaves no half file).

    Raises:
        AudioFileError: the file exists and ``force`` is False, or it cannot be written.
    """
    path = Path(path)
    if path.exists() and not force:
        raise AudioFileError(f"{path}: exists; refusing to overwrite it (use --force)")
    if audio.ndim != 2:
        raise ValueError(f"audio must have shape (frames, channels), got {audio.shape}")
    try:
        atomic_write(path, lambda f: write_wav_to(f, audio, rate))
    except OSError as err:
        raise AudioFileError(f"{path}: cannot write audio: {err.strerror or err}") from err
    return path


def render_wav(path: str | os.PathLike[str], pattern: Pattern, controls: Controls | None = None,
               bars: int = 4, *, rate: int = DEFAULT_RATE_HZ, mix: KitMix | None = None,
               kit: Kit | None = None, force: bool = False) -> Path:
    """Render ``bars`` bars of ``pattern`` and write them to ``path`` (see :func:`render`;
    ``kit``: the sounds, e.g. a soundfont's, at ``rate``; default the built-in kit)."""
    return write_wav(path, render(pattern, controls, bars, rate=rate, mix=mix, kit=kit), rate, force=force)


def render_clip_wav(path: str | os.PathLike[str], clip: Pattern, tempo_bpm: float, *,
                    rate: int = DEFAULT_RATE_HZ, mix: KitMix | None = None, kit: Kit | None = None,
                    force: bool = False) -> Path:
    """``groovefader generate -o x.wav``: the whole clip once, at ``tempo_bpm``, as it plays.

    Raises:
        AudioFileError: a tempo the sequencer cannot play, or the file cannot be written.
    """
    try:
        controls = Controls(tempo_bpm=float(tempo_bpm))
    except ValueError as err:
        raise AudioFileError(f"{path}: cannot render audio: {err}") from err
    return render_wav(path, clip, controls, clip.bars, rate=rate, mix=mix, kit=kit, force=force)
