"""``groovefader play``: stream a groove to a MIDI port until Ctrl-C or SIGTERM.

The pattern comes from ``--clip FILE.mid``, else from the checkpoint (``--checkpoint``,
default ``checkpoints/default.pt`` when present) decoded with ``--seed`` and ``--knob``
values, else a built-in demo groove. The clock runs in its own process
(:class:`engine.realtime.sequencer.Sequencer`); on exit every note-off is sent. torch is imported
only when a checkpoint is used, inside the command.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from engine.commands.generate import DEFAULT_CHECKPOINT, knob_arg, number, seed_arg, set_knobs
from engine.commands.options import flag_list, given, needs, verb, warn
from engine.commands.play_audio import (
    AUDIO_OPTIONS,
    add_audio_args,
    kit_mix,
    kit_volume,
    start_audio,
    wants_frames,
)
from engine.commands.play_melody import (
    MELODY_OPTIONS,
    add_melody_args,
    choose_melody,
    melody_controls,
    seed_words,
    wants_melody,
)
from engine.errors import GrooveFaderError, MidiFileError, PortError, UsageError
from models.pathnames import shown

LINK_DISCOVERY_S = 1.5  # play --link waits this long for other Link apps before it starts
DEFAULT_BPM = 120.0
# the feel options by the names of the Controls fields they set
FEEL_FLAGS = {"tempo_bpm": "--bpm", "swing": "--swing", "groove": "--groove", "velocity_scale": "--velocity"}


CLOCK_IN_PORT = "groovefader-clock-in"


_seconds = number("seconds", 0.0)  # 0: check everything, open the port, stop


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "play", help="play grooves to a MIDI port (headless) until Ctrl-C",
        description="Stream a drum pattern to a virtual MIDI port named 'groovefader' (or an existing "
                    "port) with a tight clock in its own process. Ctrl-C or SIGTERM stops it and sends "
                    "every note-off.")
    port = p.add_argument_group("MIDI port")
    port.add_argument("--port", default="groovefader",
                      help="virtual port to create (default: groovefader), or with --existing an existing "
                           "output port (name or unique part of it)")
    port.add_argument("--existing", action="store_true",
                      help="connect to an existing output port instead of creating a virtual one "
                           "(always needed on Windows/winmm)")
    port.add_argument("--midi-api", choices=("jack", "alsa", "coremidi", "winmm"), default=None,
                      help="MIDI backend (default: the platform's; JACK when a JACK server is configured)")
    port.add_argument("--sample-accurate", action="store_true",
                      help="JACK only: place every event at its exact frame (JACK-Client) instead of "
                           "rtmidi's next period")
    port.add_argument("--time-base", choices=("auto", "wall", "jack"), default="auto",
                      help="what rtmidi's sends are timed by: JACK's frame clock (what a DAW on JACK "
                           "records by), the wall clock, or auto (default: frames on JACK when a JACK "
                           "client can read them, else wall); --stats reports which was used")
    port.add_argument("--list-ports", action="store_true", help="list MIDI ports of the backend and exit")
    feel = p.add_argument_group("feel")
    feel.add_argument("--bpm", type=float, default=None, help=f"tempo, 30-300 (default {DEFAULT_BPM:g})")
    feel.add_argument("--swing", type=float, default=0.0,
                      help="delay of odd 16ths in steps, 0-0.75 (1/3 = triplet feel)")
    feel.add_argument("--groove", type=float, default=1.0,
                      help="micro-timing amount 0-1 (0 = on the grid; default 1)")
    feel.add_argument("--velocity", type=float, default=1.0, help="velocity scale 0-2 (default 1)")
    feel.add_argument("--clock", choices=("internal", "external"), default="internal",
                      help="internal tempo (sends MIDI clock) or follow an incoming MIDI clock")
    feel.add_argument("--clock-in", default=None, metavar="PORT",
                      help="with --clock external: the MIDI input port sending clock (default: a "
                           f"virtual input {CLOCK_IN_PORT!r} to connect the master to)")
    feel.add_argument("--no-clock-out", action="store_true", help="do not send MIDI clock/start/stop")
    feel.add_argument("--link", action="store_true",
                      help="join the Ableton Link session: tempo, beat phase and start/stop shared with "
                           "Live, Bitwig or any Link app on the network (the 'link' extra); --bpm is "
                           "proposed when no other app is there; Ctrl-C leaves without stopping the others")
    src = p.add_argument_group("pattern")
    src.add_argument("--clip", type=Path, default=None, help="play this drum MIDI clip (loops)")
    src.add_argument("--checkpoint", type=Path, default=None,
                     help=f"model checkpoint (default {DEFAULT_CHECKPOINT} when it exists)")
    src.add_argument("--seed", type=seed_arg, default=None, help="latent sample seed")
    src.add_argument("--temperature", type=float, default=None,
                     help="decoder sampling temperature (default 0: the most likely notes)")
    src.add_argument("--knob", type=knob_arg, action="append", default=[], metavar="NAME=VALUE",
                     help="attribute knob in raw units, e.g. density=0.7, or as a share of its range, "
                          "e.g. density=90%% (repeatable)")
    add_melody_args(p)
    add_audio_args(p)
    run = p.add_argument_group("run")
    run.add_argument("--seconds", type=_seconds, default=None,
                     help="stop after N seconds (tests, benchmarks)")
    run.add_argument("--start-delay", type=float, default=None, metavar="SECONDS",
                     help="open the port, wait this long, then start (lets receivers connect first, so "
                          "they see every note: --stats counts the notes sent)")
    run.add_argument("--stats", action="store_true",
                     help="print the clock's timing statistics as JSON on exit")
    run.add_argument("--quiet", action="store_true", help="no status lines on stderr")
    p.set_defaults(func=run_play)


class _Stop(Exception):
    """Raised by the SIGTERM handler to leave the play loop like Ctrl-C does."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Stop


def demo_pattern() -> Any:
    """A two-bar rock groove with a little push on the hats: the fallback when nothing else is given."""
    import numpy as np

    from engine.music.drums import NUM_VOICES, Voice
    from engine.music.pattern import Pattern

    hits = np.zeros((32, NUM_VOICES), bool)
    vel = np.zeros((32, NUM_VOICES), np.float32)
    off = np.zeros((32, NUM_VOICES), np.float32)
    for s in range(0, 32, 2):
        hits[s, Voice.CLOSED_HAT], vel[s, Voice.CLOSED_HAT] = True, (90 if s % 4 == 0 else 60) / 127
        off[s, Voice.CLOSED_HAT] = -0.05
    for s in (0, 6, 10, 16, 22, 26, 27):
        hits[s, Voice.KICK], vel[s, Voice.KICK] = True, 110 / 127
    for s in (4, 12, 20, 28):
        hits[s, Voice.SNARE], vel[s, Voice.SNARE], off[s, Voice.SNARE] = True, 105 / 127, 0.08
    hits[0, Voice.CRASH], vel[0, Voice.CRASH] = True, 100 / 127
    return Pattern(hits, vel, off)


def choose_pattern(args: argparse.Namespace) -> tuple[Any, str]:
    """The pattern to play and a words-for-humans description of where it came from."""
    if args.clip is not None:
        from engine.music.midifile import read_clip

        if not args.clip.exists():
            raise MidiFileError(f"{shown(args.clip)}: no such file")
        return read_clip(args.clip), f"clip {shown(args.clip)}"
    checkpoint = args.checkpoint or (DEFAULT_CHECKPOINT if DEFAULT_CHECKPOINT.exists() else None)
    if checkpoint is not None:
        from engine.generation.generator import Generator

        gen = Generator.from_checkpoint(checkpoint)
        knobs = dict(args.knob)
        state = set_knobs(gen, knobs, lambda message: warn("play", message))
        z = gen.sample_like_data(1, seed=args.seed)[0]
        pattern = gen.decode(z, state.inputs, temperature=args.temperature or 0.0, seed=args.seed,
                             targets=state.targets())
        return pattern, f"checkpoint {checkpoint} ({seed_words(args.seed)}, knobs {knobs or 'defaults'})"
    if args.knob:
        raise GrooveFaderError(f"--knob needs a checkpoint (none given and {DEFAULT_CHECKPOINT} is absent)")
    return demo_pattern(), "built-in demo groove (no --clip, no checkpoint)"


def check_options(args: argparse.Namespace) -> None:
    """Refuse what would not change the performance, before a model loads or a port opens;
    name what is only redundant in a warning (see :mod:`engine.commands.options`).

    Raises:
        UsageError: an option of a part that does not play (the melody lane, the kit, a
            generated groove), or of a clock that does not run.
    """
    needs(args, MELODY_OPTIONS, "a melody (--melody or --melody-clip)", met=wants_melody(args))
    if args.melody_clip is not None and args.melody_checkpoint is not None:
        raise UsageError("--melody-checkpoint draws a melody from a model and --melody-clip plays its "
                         "clip instead: give one of them")
    needs(args, AUDIO_OPTIONS, "--audio", met=args.audio)
    generated_melody = args.melody and args.melody_clip is None  # --seed and --temperature draw it
    drawn = () if generated_melody else ("seed", "temperature")
    if args.clip is not None and (flags := given(args, "checkpoint", "knob", *drawn)):
        raise UsageError(f"{flag_list(flags)} {verb(flags, 'shapes', 'shape')} what the model generates; "
                         "--clip plays its clip as it is")
    if args.clip is None and args.checkpoint is None and not DEFAULT_CHECKPOINT.exists():  # the demo groove
        needs(args, ("knob", *drawn), f"a checkpoint (none given and {DEFAULT_CHECKPOINT} is absent)")
    external = args.clock == "external"
    needs(args, ("clock_in",), "--clock external", met=external)
    if args.link and external:
        raise UsageError("--link and --clock external are two clocks: choose one")
    if (args.link or external) and given(args, "start_delay"):
        raise UsageError("--start-delay delays the internal clock's start; with "
                         f"{'--link' if args.link else '--clock external'} the start is "
                         f"{'the Link session' if args.link else 'the clock master'}'s")
    if external and args.bpm is not None:
        warn("play", f"--bpm is not used: the tempo follows the MIDI clock on "
                     f"{args.clock_in or CLOCK_IN_PORT!r}")
    if args.no_clock_out and (args.link or external):
        warn("play", "--no-clock-out is not needed: MIDI clock is sent only when the internal clock "
                     "keeps time")


def run_play(args: argparse.Namespace) -> int:
    from engine.ports import list_ports
    from engine.realtime.sequencer import Sequencer
    from engine.realtime.steps import Controls

    if args.list_ports:
        ports = list_ports(args.midi_api)
        print(json.dumps(ports, indent=2))
        return 0
    check_options(args)
    if args.bpm is None:
        args.bpm = DEFAULT_BPM
    try:
        controls = Controls(tempo_bpm=args.bpm, swing=args.swing, groove=args.groove,
                            velocity_scale=args.velocity)
    except (ValueError, TypeError) as err:  # named as the option is typed, not as Controls names it
        name, _, rest = str(err).partition(" ")
        raise GrooveFaderError(f"{FEEL_FLAGS.get(name, name)} {rest}") from err
    lane = melody_controls(args)  # the melody flags are checked before any model loads
    if args.audio:
        kit_mix(args, kit_volume(args))  # and the kit's: a bad volume stops before the clock starts
    pattern, origin = choose_pattern(args)
    melody, melody_origin = choose_melody(args) if wants_melody(args) else (None, "")
    if melody is not None:
        origin += f" with {melody_origin}"
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))

    seq = Sequencer(args.port, args.midi_api, virtual=not args.existing,
                    sample_accurate=args.sample_accurate or wants_frames(args), time_base=args.time_base,
                    controls=controls,
                    clock_out=not args.no_clock_out, melody_controls=lane,
                    melody_port=args.melody_port if melody is not None else None)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    code = 0
    try:
        status = seq.status()
        if status.port_state == "error":  # at start-up a bad port is a user mistake: say it and stop
            raise PortError(status.error or f"cannot open MIDI port {args.port!r}")
        if status.melody_port_state == "error":  # the melody's own port (--melody-port), likewise
            raise PortError(status.melody_port_error or f"cannot open MIDI port {args.melody_port!r}")
        seq.set_pattern(pattern)
        start_audio(seq, args, say)
        if melody is not None:
            seq.set_melody(melody)
        if args.link:
            seq.set_clock_source("link")
            if seq.sync().clock_source != "link":
                raise GrooveFaderError(seq.status().error or "Ableton Link could not start")
            # Link shares a start with the peers found by then, not with those found later
            seq.wait_status(lambda st: bool(st.link_peers), LINK_DISCOVERY_S)
            seq.play()  # joins a playing session in phase, or starts it (at its next bar)
            say(f"playing {origin} with Ableton Link on {args.port!r}; Ctrl-C to leave")
        elif args.clock == "external":
            # without --clock-in, a virtual input of its own for the master to connect to
            name = args.clock_in or CLOCK_IN_PORT
            seq.set_clock_source("external", name, args.midi_api, virtual=args.clock_in is None)
            followed = seq.sync()
            if followed.error:  # an input that does not exist: say so and stop, as for a bad port
                raise PortError(followed.error)
            say(f"playing {origin}, following MIDI clock on {name!r}; Ctrl-C to stop")
        else:
            if (args.start_delay or 0.0) > 0:
                time.sleep(args.start_delay)
            seq.play()
            say(f"playing {origin} at {args.bpm:g} BPM on {args.port!r}; Ctrl-C to stop")
        end = None if args.seconds is None else time.monotonic() + args.seconds
        last_state, last_peers = status.port_state, status.link_peers
        while end is None or time.monotonic() < end:
            time.sleep(0.05 if end is None else max(0.0, min(0.05, end - time.monotonic())))
            status = seq.status()
            if status.port_state != last_state:
                say(f"groovefader: port {status.port_state}" + (f": {status.error}" if status.error else ""))
                last_state = status.port_state
            if status.link_peers != last_peers and status.link_peers is not None:
                say(f"groovefader: Link, {status.link_peers} other app(s) at {status.bpm:.1f} BPM")
                last_peers = status.link_peers
            if not status.alive:
                raise PortError(f"the clock process stopped: {status.error}")
    except (KeyboardInterrupt, _Stop):
        code = 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        try:
            if args.link:  # leave the session: the other apps play on
                seq.set_clock_source("internal")
            seq.stop()
            final = seq.sync(2.0)
        except PortError:
            final = seq.status()
        seq.close()
        final = seq.status() if final is None else final
        if args.stats:
            print(json.dumps({"stats": final.stats, "port_state": final.port_state,
                              "error": final.error, "bpm": args.bpm, "origin": origin}, indent=2),
                  flush=True)
    return code
