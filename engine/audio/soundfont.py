"""A drum kit from any SF2 soundfont the user points to, in place of the built-in one.

Why pre-rendered: each voice's hit is rendered once, offline, by TinySoundFont (PyPI
``tinysoundfont``, MIT; imported only here) into a mono buffer at the output's sample rate,
and the soundfont's kit then plays exactly like the built-in one: the same
:class:`~engine.audio.mixer.VoiceMixer` copies buffers in the audio callback (no synthesis
there, nothing allocated), the same micro-timing, per-voice level and pan, and the offline
WAV sounds as the live kit does.

Which sounds: the soundfont's General MIDI percussion bank (bank 128; preset 0, else its
lowest), each voice at its General MIDI pitch (kick 36, snare 38, ...), rendered at velocity
127 until it has died away (at most :data:`MAX_VOICE_S`). Velocity then scales the buffer
as for the built-in kit (the soundfont's own velocity layers are not kept). Each voice is
peak-normalised to 1.0 like the built-in kit's, so the kit mix's levels mean the same with
either (the soundfont's own balance differs widely: in FluidR3_GM the closed hi-hat peaks
at a tenth of the snare). A voice the soundfont has no sound for keeps the built-in kit's.

Raises :class:`SoundFontError` (one line) for a missing file, a file that is not a
soundfont, or one with no drum kit; callers fall back to the built-in kit and show it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from engine.audio.errors import AudioError
from engine.audio.kit import Kit, build_kit
from engine.music.drums import GM_NOTE_MAP, VOICE_LABELS, Voice

PERCUSSION_BANK = 128  # the General MIDI drum kits' bank in an SF2 file
MAX_VOICE_S = 4.0  # a hit rendered this long at most (a looped sample is faded out there)
SILENCE_DB = -70.0  # a hit has died away once a whole chunk stays this far below its peak
CHUNK_FRAMES = 2048
FADE_S = 0.01
DRUM_CHANNEL = 9
MAX_FILE_BYTES = 2 * 1024**3  # larger than any soundfont: something else


class SoundFontError(AudioError):
    """A soundfont that cannot be used (named, with the reason); the built-in kit plays instead."""


def _synth_module():
    try:
        from tinysoundfont import _tinysoundfont
    except ImportError as err:
        raise SoundFontError("soundfonts need the tinysoundfont package "
                             "(pip install --no-deps tinysoundfont)") from err
    return _tinysoundfont


def load_soundfont_kit(path: str | os.PathLike[str], rate: int) -> tuple[Kit, tuple[int, ...]]:
    """The soundfont's drum kit at ``rate`` Hz, and the voices it had no sound for.

    Those voices keep the built-in kit's sound (so a kit with no ride still has one).

    Raises:
        SoundFontError: no such file, not a readable SF2/SF3, no percussion preset, or no
            voice at all sounding.
    """
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
    except OSError as err:
        raise SoundFontError(f"{name}: cannot read the soundfont: {err.strerror or err}") from err
    if not path.is_file() or size == 0 or size > MAX_FILE_BYTES:
        raise SoundFontError(f"{name}: not a soundfont file")
    tsf = _synth_module()
    try:
        font = tsf.SoundFont(str(path))
    except (RuntimeError, ValueError, OSError) as err:
        raise SoundFontError(f"{name}: not a readable SF2 soundfont") from err
    preset = _drum_preset(font)
    if preset is None:
        raise SoundFontError(f"{name}: has no drum kit (no preset in the percussion bank {PERCUSSION_BANK})")
    font.set_output(tsf.OutputMode.StereoInterleaved, rate, 0.0)
    builtin = build_kit(rate)
    samples: list[np.ndarray] = []
    missing: list[int] = []
    for voice in Voice:
        buf = _render_hit(font, preset, GM_NOTE_MAP.note(voice), rate)
        if buf is None:
            missing.append(int(voice))
        samples.append(buf if buf is not None else np.zeros(0, np.float32))
    if len(missing) == len(samples):
        raise SoundFontError(f"{name}: its drum kit made no sound at the General MIDI drum pitches")
    out = []
    for voice, buf in enumerate(samples):
        buf = builtin.samples[voice] if voice in missing else (buf / np.max(np.abs(buf))).astype(np.float32)
        buf.setflags(write=False)
        out.append(buf)
    return Kit(rate, tuple(out)), tuple(missing)


def kit_with_soundfont(rate: int, soundfont: str | None) -> tuple[Kit, str | None]:
    """The kit to play at ``rate``: the soundfont's where it can be used, else the built-in one.

    Returns:
        ``(kit, note)``: ``note`` is one line saying why the built-in kit plays instead, or
        which voices the soundfont lacked; None when all is as asked.
    """
    if not soundfont:
        return build_kit(rate), None
    try:
        kit, missing = load_soundfont_kit(soundfont, rate)
    except SoundFontError as err:
        return build_kit(rate), f"{err}; playing the built-in kit"
    if missing:
        names = ", ".join(VOICE_LABELS[v] for v in missing)
        return kit, f"{Path(soundfont).name}: no sound for {names}; the built-in kit's plays"
    return kit, None


def _drum_preset(font) -> int | None:  # noqa: ANN001 - tinysoundfont's SoundFont
    """Preset 0 of the percussion bank, else its lowest, else None."""
    for preset in range(128):
        try:
            if font.get_preset_name(PERCUSSION_BANK, preset) != "<None>":
                return preset
        except RuntimeError:
            return None
    return None


def _render_hit(font, preset: int, key: int, rate: int) -> np.ndarray | None:  # noqa: ANN001
    """One hit of ``key``, mono float32 from its note-on until it has died away; None if silent."""
    font.reset()
    font.channel_set_bank(DRUM_CHANNEL, PERCUSSION_BANK)
    font.channel_set_preset_number(DRUM_CHANNEL, preset, True)
    font.channel_note_on(DRUM_CHANNEL, key, 1.0)
    chunk = bytearray(CHUNK_FRAMES * 2 * 4)
    view = memoryview(chunk)
    parts: list[np.ndarray] = []
    peak = 0.0
    quiet_after = 0
    for _ in range(int(MAX_VOICE_S * rate) // CHUNK_FRAMES + 1):
        font.render(view, False)
        stereo = np.frombuffer(chunk, np.float32).reshape(-1, 2)
        mono = stereo.mean(axis=1)
        parts.append(mono.copy())
        level = float(np.max(np.abs(mono)))
        peak = max(peak, level)
        if peak > 0.0 and level < peak * 10 ** (SILENCE_DB / 20):
            quiet_after += 1
            if quiet_after >= 2:
                break
        else:
            quiet_after = 0
    font.channel_sounds_off(DRUM_CHANNEL)
    if peak <= 1e-6:
        return None
    buf = np.concatenate(parts)[: int(MAX_VOICE_S * rate)].astype(np.float64)
    loud = np.flatnonzero(np.abs(buf) >= peak * 10 ** (SILENCE_DB / 20))
    buf = buf[: int(loud[-1]) + 1]
    n = min(len(buf), round(rate * FADE_S))
    buf[-n:] *= np.linspace(1.0, 0.0, n)  # ends on silence (a looped sample is cut here)
    return buf.astype(np.float32)
