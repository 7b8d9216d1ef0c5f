"""``groovefader play --melody``: the melody lane's flags and where its melody comes from.

The melody comes from ``--melody-clip FILE.mid`` (its most melodic track, chords arpeggiated
to one line, looped to whole bars), else from the melody checkpoint (``--melody-checkpoint``,
default ``checkpoints/melody.pt``) drawn near its training tunes with ``--seed``. The model
writes in C major; ``--key`` moves the line there at play time (the smallest shift, -6..+5
semitones; a clip is first moved from the key it is written in to C), ``--octave`` by whole
octaves; ``--melody-port`` puts the lane on a port of its own (:mod:`engine.realtime.lane_ports`).
torch is imported only when a checkpoint is used.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine.commands.melody import MELODY_CHECKPOINT
from engine.errors import CheckpointError, GrooveFaderError, MidiFileError
from engine.music.drums import GM_DRUM_CHANNEL

MELODY_BARS = (2, 4, 8, 16)
DEFAULT_CHANNEL = 1  # the melody's MIDI channel, 1-16
# what only the melody lane takes: refused without a melody (engine.commands.options)
MELODY_OPTIONS = ("melody_checkpoint", "melody_bars", "key", "octave", "melody_channel", "melody_port")


def add_melody_args(parser: argparse.ArgumentParser) -> None:
    """The ``melody`` argument group of ``groovefader play``."""
    g = parser.add_argument_group("melody lane")
    g.add_argument("--melody", action="store_true",
                   help="also play a melody (its own MIDI channel, locked to the drums' clock)")
    g.add_argument("--melody-clip", type=Path, default=None, metavar="FILE.mid",
                   help="the melody: this clip's most melodic track, looped (implies --melody)")
    g.add_argument("--melody-checkpoint", type=Path, default=None, metavar="PATH",
                   help=f"melody model (default {MELODY_CHECKPOINT.name} in checkpoints/)")
    g.add_argument("--melody-bars", type=int, choices=MELODY_BARS, default=None,
                   help="length of a generated melody in bars; it loops at that length against the "
                        "drums' 2 bars (default: the model's)")
    g.add_argument("--key", default=None,
                   help="play the melody in this major key (e.g. G, Eb; default: a generated melody "
                        "in C, a clip in its own key)")
    g.add_argument("--octave", type=int, default=None, help="move the melody by whole octaves, -3..3")
    g.add_argument("--melody-channel", type=int, default=None, metavar="1-16",
                   help=f"MIDI channel of the melody (default {DEFAULT_CHANNEL}; 10 is the drums': the "
                        "melody takes it only with --melody-port)")
    g.add_argument("--melody-port", default=None, metavar="NAME",
                   help="play the melody on a port of its own: a virtual port NAME (with --existing, "
                        "the existing port NAME), on the same MIDI API and path as --port, which keeps "
                        "the drums, MIDI clock and transport (default: the melody shares --port)")


def key_shift(key: str | None) -> int:
    """Semitones from C to ``key`` (-6..+5). Raises GrooveFaderError for an unknown key."""
    if key is None:
        return 0
    from engine.music.melody import key_shift as shift_from_c

    try:
        return shift_from_c(key)
    except ValueError as err:
        raise GrooveFaderError(str(err)) from err


def melody_controls(args: argparse.Namespace) -> Any:
    """The lane's :class:`MelodyControls` from the flags (one-line errors)."""
    from engine.realtime.melody_lane import MelodyControls

    channel = DEFAULT_CHANNEL if args.melody_channel is None else args.melody_channel
    if not 1 <= channel <= 16:
        raise GrooveFaderError(f"--melody-channel must be 1-16, got {channel}")
    if channel - 1 == GM_DRUM_CHANNEL and args.melody_port is None:
        # everything on the drums' channel of their port is a drum hit to whoever listens there
        raise GrooveFaderError(f"--melody-channel {channel} is the drums' channel: on --port the "
                               "built-in kit and a DAW's drum track would play the melody as drums "
                               "(choose another channel, or --melody-port NAME)")
    if args.melody_port is not None and (not args.melody_port.strip() or args.melody_port == args.port):
        raise GrooveFaderError(f"--melody-port must name a port other than --port {args.port!r}, "
                               f"got {args.melody_port!r}")
    try:
        return MelodyControls(channel=channel - 1, transpose=key_shift(args.key), octave=args.octave or 0)
    except ValueError as err:
        raise GrooveFaderError(str(err).replace("melody octave", "--octave")) from err


def wants_melody(args: argparse.Namespace) -> bool:
    return bool(args.melody or args.melody_clip is not None)


def seed_words(seed: int | None) -> str:
    """A run's seed as its status line says it (no seed: a random one, not "seed None")."""
    return "a random seed" if seed is None else f"seed {seed}"


def choose_melody(args: argparse.Namespace) -> tuple[Any, str]:
    """The melody to loop and where it came from (for humans)."""
    from engine.generation.melody import loop_to

    if args.melody_clip is not None:
        from engine.music.melody import moved_to_c, read_melody_file

        if not args.melody_clip.exists():
            raise MidiFileError(f"{args.melody_clip}: no such file")
        melody = read_melody_file(args.melody_clip)
        if args.key is not None:  # the lane moves from C to --key: the clip goes there from its own key
            melody, _ = moved_to_c(melody)
        bars = args.melody_bars or melody.bars
        return loop_to(melody, bars), f"melody clip {args.melody_clip} ({bars} bars)"
    path = args.melody_checkpoint or MELODY_CHECKPOINT
    if not path.is_file():
        raise CheckpointError(f"{path}: no such melody checkpoint (pass --melody-checkpoint or "
                              "--melody-clip)")
    from engine.generation.melody import MelodyGenerator

    gen = MelodyGenerator.from_checkpoint(path)
    bars = args.melody_bars or gen.bars
    melody = gen.generate(1, bars=bars, temperature=args.temperature or 0.0, seed=args.seed)[0]
    return melody, f"melody checkpoint {path} ({seed_words(args.seed)}, {bars} bars)"
