"""``groovefader app``: start the desktop instrument (Qt is imported only when it runs)."""

from __future__ import annotations

import argparse

MIDI_API_CHOICES = ("jack", "alsa", "coremidi", "winmm")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "app", help="start the desktop app (latent pad, knobs, step grid, transport)",
        description="Start the groovefader window. The window appears at once; the model "
                    "loads in the background.")
    p.add_argument("--checkpoint", metavar="PATH",
                   help="model checkpoint (default: the last one used, else checkpoints/default.pt)")
    p.add_argument("--midi-api", choices=MIDI_API_CHOICES,
                   help="MIDI backend for the output port and input (default: the system's)")
    p.add_argument("--screenshot", metavar="FILE",
                   help="render the window offscreen to a PNG once the model has loaded and a "
                        "pattern is shown, then exit")
    p.add_argument("--screenshot-timeout", type=float, default=60.0, metavar="S",
                   help=argparse.SUPPRESS)
    p.add_argument("--startup-report", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--settings", metavar="FILE",
                   help="keep settings in this INI file instead of the user's settings store")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from app.main import run

    return run(args)
