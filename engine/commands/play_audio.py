"""``groovefader play --audio``: hear the groove on the built-in kit, no DAW needed.

On JACK the kit plays on audio ports of the sample-accurate MIDI client (``--audio`` turns
that path on, unless ``--time-base wall``), so every hit sounds on its note's frame;
elsewhere on the system's audio device. Where neither can open, one line says why and the
MIDI plays on.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.errors import GrooveFaderError

AUDIO_WAIT_S = 5.0  # building the kit and opening the output, on a loaded machine
SOUNDFONT_WAIT_S = 10.0  # and reading a large soundfont and rendering its kit
# --kit-level / --kit-pan names: the voices, lower case, "-" for "_" (closed-hat, low-tom, ...)
VOICE_NAMES: tuple[str, ...] = ("kick", "snare", "closed-hat", "open-hat", "low-tom", "mid-tom",
                                "high-tom", "crash", "ride")
KIT_OPTIONS = ("kit_level", "kit_pan", "soundfont")  # what shapes the kit's sound (play and generate)
AUDIO_OPTIONS = ("volume", "audio_output", *KIT_OPTIONS)  # play: what --audio's kit takes
DEFAULT_VOLUME = 0.8  # the kit's volume, 0-1
DEFAULT_AUDIO_OUTPUT = "auto"


def _voice_value(text: str) -> tuple[int, float]:
    """argparse type for ``VOICE=VALUE`` (``--kit-level snare=0.6``, ``--kit-pan ride=0.5``)."""
    name, sep, value = text.partition("=")
    name = name.strip().lower().replace("_", "-")
    if not sep or name not in VOICE_NAMES:
        raise argparse.ArgumentTypeError(f"expected VOICE=VALUE with VOICE one of {', '.join(VOICE_NAMES)}, "
                                         f"got {text!r}")
    try:
        return VOICE_NAMES.index(name), float(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{name}: {value!r} is not a number") from err


def add_kit_mix_args(group: Any) -> None:
    """``--kit-level`` and ``--kit-pan`` (shared by ``play --audio`` and ``generate -o x.wav``)."""
    group.add_argument("--kit-level", type=_voice_value, action="append", default=[], metavar="VOICE=0-1",
                       help=f"a kit voice's level (repeatable; voices: {', '.join(VOICE_NAMES)})")
    group.add_argument("--kit-pan", type=_voice_value, action="append", default=[], metavar="VOICE=-1-1",
                       help="a kit voice's pan, -1 left to 1 right (repeatable)")
    group.add_argument("--soundfont", metavar="FILE.sf2", default=None,
                       help="take the kit's sounds from this SF2 soundfont's drum kit (needs the "
                            "tinysoundfont package); one that cannot be used is one line, and the "
                            "built-in kit plays")


def soundfont_path(args: argparse.Namespace) -> str | None:
    """``--soundfont`` as an absolute path (the kit may load it in another process), or None."""
    value = getattr(args, "soundfont", None)
    return str(Path(value).expanduser().absolute()) if value else None


def kit_for_file(args: argparse.Namespace, rate: int, say: Callable[..., None]) -> Any:
    """The kit ``generate -o x.wav`` renders with: the soundfont's, or the built-in one (and
    the one line saying why, or which voices the soundfont lacked)."""
    from engine.audio.soundfont import kit_with_soundfont

    kit, note = kit_with_soundfont(rate, soundfont_path(args))
    if note:
        say(f"groovefader: {note}")
    return kit


def kit_mix(args: argparse.Namespace, volume: float = DEFAULT_VOLUME) -> Any:
    """The kit's mix from ``--kit-level`` / ``--kit-pan`` and ``volume``.

    Raises:
        GrooveFaderError: a level, pan or volume out of range (one line).
    """
    from engine.audio.kit import KitMix

    levels, pans = list(KitMix().levels), list(KitMix().pans)
    for voice, value in getattr(args, "kit_level", []):
        levels[voice] = value
    for voice, value in getattr(args, "kit_pan", []):
        pans[voice] = value
    try:
        return KitMix(tuple(levels), tuple(pans), volume)
    except ValueError as err:
        raise GrooveFaderError(str(err)) from err


def add_audio_args(parser: argparse.ArgumentParser) -> None:
    """The ``audio`` argument group of ``groovefader play``."""
    g = parser.add_argument_group("built-in kit (audio)")
    g.add_argument("--audio", action="store_true",
                   help="play the groove on the built-in drum kit too (JACK audio ports, else the "
                        "system's audio device)")
    g.add_argument("--volume", type=float, default=None, help=f"kit volume 0-1 (default {DEFAULT_VOLUME:g})")
    g.add_argument("--audio-output", choices=("auto", "jack", "device"), default=None,
                   help="where the kit plays: JACK ports beside the MIDI port, the audio device, or "
                        "auto (JACK when the MIDI goes through JACK)")
    add_kit_mix_args(g)


def kit_volume(args: argparse.Namespace) -> float:
    """``--volume``, or the kit's default volume."""
    return DEFAULT_VOLUME if args.volume is None else args.volume


def wants_frames(args: argparse.Namespace) -> bool:
    """Whether ``--audio`` asks for the sample-accurate JACK output (the kit's ports live on it)."""
    from engine.ports.base import default_api

    if not args.audio or args.audio_output == "device" or args.time_base == "wall":
        return False
    return (args.midi_api or default_api()) == "jack"


def start_audio(seq: Any, args: argparse.Namespace, say: Callable[..., None]) -> None:
    """Turn the kit on and say where it plays, or in one line why it cannot (MIDI plays on).

    Raises:
        GrooveFaderError: a volume outside 0-1.
    """
    if not args.audio:
        return
    from engine.audio.settings import AudioSettings

    settings = AudioSettings(True, kit_mix(args, kit_volume(args)), args.audio_output or DEFAULT_AUDIO_OUTPUT,
                             soundfont_path(args))
    seq.set_audio(settings)
    seq.wait_status(lambda s: _audio(s).get("output") is not None or _audio(s).get("error") is not None,
                    AUDIO_WAIT_S + (SOUNDFONT_WAIT_S if settings.soundfont else 0.0))
    report = _audio(seq.status())
    if report.get("output") == "jack":
        say(f"groovefader: kit on JACK ports {', '.join(report.get('ports', []))}")
    elif report.get("output") == "device":
        say("groovefader: kit on the audio device")
    else:
        say(f"groovefader: no kit audio: {report.get('error') or 'the audio output did not open'}")
    if report.get("soundfont"):
        say(f"groovefader: {report['soundfont']}")


def _audio(status: Any) -> dict[str, Any]:
    return status.stats.get("audio") or {}
