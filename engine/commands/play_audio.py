"""``groovefader play --audio``: hear the groove on the built-in kit, no DAW needed.

On JACK the kit plays on audio ports of the sample-accurate MIDI client (``--audio`` turns
that path on, unless ``--time-base wall``), so every hit sounds on its note's frame;
elsewhere on the system's audio device. Where neither can open, one line says why and the
MIDI plays on.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from engine.errors import GrooveFaderError

AUDIO_WAIT_S = 5.0  # building the kit and opening the output, on a loaded machine


def add_audio_args(parser: argparse.ArgumentParser) -> None:
    """The ``audio`` argument group of ``groovefader play``."""
    g = parser.add_argument_group("built-in kit (audio)")
    g.add_argument("--audio", action="store_true",
                   help="play the groove on the built-in drum kit too (JACK audio ports, else the "
                        "system's audio device)")
    g.add_argument("--volume", type=float, default=0.8, help="kit volume 0-1 (default 0.8)")
    g.add_argument("--audio-output", choices=("auto", "jack", "device"), default="auto",
                   help="where the kit plays: JACK ports beside the MIDI port, the audio device, or "
                        "auto (JACK when the MIDI goes through JACK)")


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
    from engine.audio.kit import KitMix
    from engine.audio.settings import AudioSettings

    try:
        settings = AudioSettings(True, KitMix(volume=args.volume), args.audio_output)
    except (ValueError, TypeError) as err:
        raise GrooveFaderError(str(err)) from err
    seq.set_audio(settings)
    seq.wait_status(lambda s: _audio(s).get("output") is not None or _audio(s).get("error") is not None,
                    AUDIO_WAIT_S)
    report = _audio(seq.status())
    if report.get("output") == "jack":
        say(f"groovefader: kit on JACK ports {', '.join(report.get('ports', []))}")
    elif report.get("output") == "device":
        say("groovefader: kit on the audio device")
    else:
        say(f"groovefader: no kit audio: {report.get('error') or 'the audio output did not open'}")


def _audio(status: Any) -> dict[str, Any]:
    return status.stats.get("audio") or {}
