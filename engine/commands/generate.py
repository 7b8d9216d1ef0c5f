"""``groovefader generate`` and ``groovefader transition``: headless clip rendering.

Both load a checkpoint through :class:`engine.generation.generator.Generator` and write a MIDI clip
atomically through :func:`engine.music.midifile.write_clip`. torch is imported only when a
command runs.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.commands.melody import DEFAULT_STRATEGY as MELODY_STRATEGY
from engine.commands.options import flag_list, given, needs, verb, warn
from engine.commands.outputs import OutputPath, numbered, refuse_other_audio, single_output
from engine.commands.play_audio import KIT_OPTIONS, add_kit_mix_args, kit_for_file, kit_mix
from models.pathnames import shown

# The shipped checkpoint, next to the package (found from any working directory).
DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "default.pt"


@dataclass(frozen=True)
class ShareOfRange:
    """A knob value given as a share of its range (``--knob density=90%``): 0 % is the
    knob's low end, 100 % its high end, the 5th and 95th percentiles of the training grooves."""

    share: float

    def __repr__(self) -> str:
        return f"{self.share * 100:g}%"

    def value(self, low: float, high: float) -> float:
        return low + self.share * (high - low)


def knob_arg(text: str) -> tuple[str, float | ShareOfRange]:
    """argparse type for ``--knob NAME=VALUE`` in the knob's raw units, or ``NAME=P%`` as a
    share of its range (shared by ``generate`` and ``play``)."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"knob must look like name=value or name=percent%, got {text!r}")
    share = value.strip().endswith("%")
    try:
        number = float(value.strip()[:-1] if share else value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"knob {name!r}: {value!r} is not a number") from err
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"knob {name!r}: {value!r} is not a finite number")
    if share:
        if not 0 <= number <= 100:
            raise argparse.ArgumentTypeError(f"knob {name!r}: {value!r} is not a share between 0% and 100%")
        return name.strip(), ShareOfRange(number / 100)
    return name.strip(), number


RANDOM_PAD = "random"


def _pad(text: str) -> tuple[float, float] | str:
    if text.strip().lower() == RANDOM_PAD:
        return RANDOM_PAD
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"pad must look like X,Y in [-1, 1], got {text!r}") from err
    if not (-1 <= x <= 1 and -1 <= y <= 1):
        raise argparse.ArgumentTypeError(f"pad point {text!r} lies outside [-1, 1]²")
    return x, y


def whole_number(name: str, low: int) -> Callable[[str], int]:
    """argparse type: a whole number >= ``low`` (a seed: numpy's generators take no other)."""
    def parse(text: str) -> int:
        try:
            value: int | None = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number >= {low}, got {text!r}")
        return value
    return parse


def number(name: str, low: float, high: float = math.inf) -> Callable[[str], float]:
    """argparse type: a finite number in [low, high]."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and low <= value <= high):
            bound = f">= {low:g}" if high == math.inf else f"in [{low:g}, {high:g}]"
            raise argparse.ArgumentTypeError(f"{name} must be a number {bound}, got {text!r}")
        return value
    return parse


_positive_bars = whole_number("bars", 1)
_count = whole_number("count", 1)
seed_arg = whole_number("seed", 0)
_temperature = number("temperature", 0.0)
_share = number("share", 0.0, 1.0)

DRUM_CONTROLS = ("knob", "pad", "free_knobs")  # generate: what shapes a drum groove only
# transition: what only a melody transition has (--strategy and the rest are shared)
MELODY_TRANSITION_OPTIONS = ("key", "mix_scale", "mix_draw", "feed", "along_data", "ends")


def _common(p: argparse.ArgumentParser, output_help: str, bpm_default: str) -> None:
    p.add_argument("-o", "--output", required=True, action=OutputPath, help=output_help)
    p.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT,
                   help="model checkpoint (default: the shipped checkpoints/default.pt)")
    p.add_argument("--bpm", type=float, default=None,
                   help=f"tempo written into the clip (default: {bpm_default})")
    p.add_argument("--temperature", type=_temperature, default=0.0,
                   help="0 = the most likely notes (default); above 0 samples: a groove redraws "
                        "only the hits the model is unsure of (a few change, not its style), a "
                        "melody samples every note (1 = the model's own odds)")
    p.add_argument("--seed", type=seed_arg, default=None, help="random seed (repeatable output)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``generate`` and ``transition`` to the ``groovefader`` command."""
    g = subparsers.add_parser(
        "generate", help="render a generated drum clip to a MIDI file",
        description="Sample a 2-bar groove from the model (or take a pad point) and write it, "
                    "looped to N bars, to a MIDI clip.")
    _common(g, "the .mid clip to write (a .wav is audio, played by the built-in kit; a folder, or a "
               "path ending in /: the clips go into it, the folder made if missing)", "120")
    g.add_argument("--bars", type=_positive_bars, default=4, help="clip length in bars (default 4)")
    g.add_argument("--knob", type=knob_arg, action="append", default=[], metavar="NAME=VALUE",
                   help="attribute knob held at a value in its raw units, e.g. density=0.8, or at a "
                        "share of its range, e.g. density=90%% (repeatable; a knob not named is left to "
                        "the groove)")
    g.add_argument("--pad", type=_pad, default=None, metavar="X,Y|random",
                   help="take the groove at this XY-pad point, or at a uniformly random pad point per "
                        "clip ('random'), instead of Randomize's draw near the training grooves")
    g.add_argument("--free-knobs", action="store_true",
                   help="one open-loop decode with the knobs as the model's input, instead of "
                        "holding the clip's measured attributes at the knobs")
    g.add_argument("--melody", action="store_true",
                   help="a melody clip from the melody VAE (default checkpoint: checkpoints/melody.pt)")
    g.add_argument("--count", type=_count, default=1,
                   help="number of clips, one groove each; more than one: OUTPUT is a folder of "
                        "groove-001.mid, ... (-o NAME.wav: NAME-001.wav, ...; --melody: OUTPUT-001.mid, "
                        "...)")
    g.add_argument("--key", default=None, help="--melody: key to transpose to (e.g. G, Eb; default C)")
    add_kit_mix_args(g.add_argument_group("the kit (-o x.wav)"))
    g.set_defaults(func=run_generate)

    t = subparsers.add_parser(
        "transition", help="render a transition from clip A to clip B",
        description="Bridge two clips over N bars: 1 = a path from A to B bar by bar (on a checkpoint "
                    "with a map of the data a chain of training grooves, else latent interpolation), "
                    "2 = teacher forcing with a Bernoulli mix of A and B, 3 = both.")
    t.add_argument("a", type=Path, help="start clip (.mid); its first 2 bars are used")
    t.add_argument("b", type=Path, help="end clip (.mid); its first 2 bars are used")
    _common(t, "the .mid clip to write (one file)", "clip A's tempo")
    t.add_argument("--bars", type=_positive_bars, default=8, help="transition length in bars (default 8)")
    t.add_argument("--strategy", type=int, choices=(1, 2, 3), default=None,
                   help="1 interpolation, 2 teacher-forced mix, 3 both (default 3; with --melody 1, "
                        "whose middles are the most tune-like)")
    t.add_argument("--melody", action="store_true",
                   help="melody transition: each clip's most melodic track, arpeggiated to one line")
    t.add_argument("--mix-scale", choices=("bar", "note"), default=None,
                   help="--melody, strategies 2/3: Bernoulli mix per bar or per 16th step (default bar)")
    t.add_argument("--mix-draw", choices=("switch", "independent"), default=None,
                   help="--melody, strategies 2/3: one draw, so the inputs cross from A to B once "
                        "(default), or a draw per bar/step")
    t.add_argument("--feed", choices=("own-notes", "all"), default=None,
                   help="--melody, strategies 2/3: the mix is fed except where the decoder strikes a "
                        "note, which it hears (default), or at every step")
    t.add_argument("--along-data", type=_share, default=None, metavar="SHARE",
                   help="--melody, strategies 1/3: how far the path leans from the latent line toward "
                        "a chain of stored training tunes (0 = the line; default 0.5)")
    t.add_argument("--key", default=None,
                   help="--melody: key of the result, whatever key A and B are in (default: clip A's "
                        "key, estimated from its notes)")
    t.add_argument("--ends", choices=("melodies", "searched", "refined", "decoded"), default=None,
                   help="--melody: first and last bars are A's and B's own (default), the closest "
                        "decodes found in their posteriors, those codes refined by gradient where "
                        "they miss the bar (needs torch), or the plain greedy decodes")
    t.set_defaults(func=run_transition)


def check_generate_options(args: argparse.Namespace) -> None:
    """Refuse what would not change the clips (see :mod:`engine.commands.options`).

    Raises:
        UsageError: a drum control or the kit's options on a melody, ``--key`` on drums, the
            kit's options where no audio is written.
    """
    from engine.errors import UsageError

    if args.melody:
        if flags := given(args, *DRUM_CONTROLS):
            raise UsageError(f"{flag_list(flags)} {verb(flags, 'is a drum control', 'are drum controls')}; "
                             "a melody takes --temperature, --seed, --key, --bars, --count")
        needs(args, KIT_OPTIONS, "the built-in drum kit's audio: a melody is written as MIDI")
        return
    needs(args, ("key",), "--melody: a drum clip has no key")
    if args.count > 1 and isinstance(args.pad, tuple) and args.temperature == 0:
        point = ",".join(f"{v:g}" for v in args.pad)
        raise UsageError(f"--count {args.count} with --pad {point} would write one groove {args.count} "
                         "times (temperature 0 plays a pad point's most likely groove); use --pad random, "
                         "or --temperature above 0")
    audio = any(p.suffix.lower() == ".wav" for p in _outputs(args.output, args.count, args.output_is_folder))
    needs(args, KIT_OPTIONS, "audio output, -o NAME.wav: the clips asked for are MIDI", met=audio)


def check_transition_options(args: argparse.Namespace) -> None:
    """Refuse what would not change the transition (see :mod:`engine.commands.options`).

    Raises:
        UsageError: a melody transition's option without ``--melody``, or one its strategy
            does not use.
    """
    from engine.errors import UsageError

    if not args.melody:
        needs(args, MELODY_TRANSITION_OPTIONS, "--melody")
        return
    strategy = MELODY_STRATEGY if args.strategy is None else args.strategy
    if strategy == 1 and (flags := given(args, "mix_scale", "mix_draw", "feed")):
        raise UsageError(f"{flag_list(flags)} {verb(flags, 'shapes', 'shape')} the teacher-forced mix of "
                         "strategies 2 and 3; strategy 1 has no mix")
    if strategy == 2 and given(args, "along_data"):
        raise UsageError("--along-data leans the latent path of strategies 1 and 3; strategy 2 has no path")


def _refuse_overwrite(path: Path, force: bool) -> None:
    from engine.errors import MidiFileError

    if path.exists() and not force:
        raise MidiFileError(f"{shown(path)}: exists; refusing to overwrite it (use --force)")


def _load(path: Path):  # -> Generator; the import is the slow part (torch)
    from engine.errors import CheckpointError
    from engine.generation.generator import Generator

    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint (train one with `groovefader train` "
                              f"or pass --checkpoint)")
    return Generator.from_checkpoint(path)


def run_generate(args: argparse.Namespace) -> int:
    check_generate_options(args)
    if args.melody:
        from engine.commands.melody import run_generate_melody

        return run_generate_melody(args, DEFAULT_CHECKPOINT)
    import numpy as np

    from engine.music.midifile import write_clip
    from engine.music.pattern import Pattern

    outputs = _outputs(args.output, args.count, args.output_is_folder)
    for path in outputs:
        _refuse_overwrite(path, args.force)
    gen = _load(args.checkpoint)
    knobs = set_knobs(gen, dict(args.knob), lambda message: warn("generate", message))
    rng = np.random.default_rng(args.seed)
    if args.pad == RANDOM_PAD:
        xy = rng.uniform(-1.0, 1.0, (args.count, 2))
        zs = gen.pad_to_z(xy[:, 0], xy[:, 1])
    elif args.pad is not None:
        zs = _repeat(gen.pad_to_z(*args.pad), args.count)
    else:
        zs = gen.sample_like_data(args.count, seed=args.seed, distinct=True)  # a pack: no groove twice
    win_bars = gen.steps // gen.steps_per_bar
    chunks = -(-args.bars // win_bars)
    # At temperature 0 a clip's loop repeats; above it each chunk is its own draw from the same z.
    targets = None if args.free_knobs else knobs.targets()
    pats = gen.decode(np.repeat(zs, chunks, axis=0), knobs.inputs, temperature=args.temperature,
                      seed=args.seed, targets=targets)
    bpm = 120.0 if args.bpm is None else args.bpm
    if len(outputs) > 1:
        outputs[0].parent.mkdir(parents=True, exist_ok=True)
    notes = 0
    silent: list[Path] = []  # clips the model left without a hit: said, not hidden
    kit = None  # the kit the .wav files are rendered with, built once
    for i, path in enumerate(outputs):
        clip = Pattern.concatenate(pats[i * chunks:(i + 1) * chunks]).bar_slice(0, args.bars)
        if path.suffix.lower() == ".wav":  # audio: the kit (built-in or a soundfont's), rendered offline
            from engine.audio.kit import DEFAULT_RATE_HZ
            from engine.audio.render import render_clip_wav

            if kit is None:
                kit = kit_for_file(args, DEFAULT_RATE_HZ, lambda line: print(line, file=sys.stderr))
            render_clip_wav(path, clip, bpm, mix=kit_mix(args), kit=kit, force=args.force)
        else:
            write_clip(path, clip, tempo_bpm=bpm, force=args.force)
        notes += clip.num_hits
        if clip.num_hits == 0:
            silent.append(path)
    length = f"{args.bars} bar{'s' if args.bars > 1 else ''}"
    if len(outputs) == 1:
        print(f"wrote {shown(outputs[0])}: {length}, {notes} notes at {bpm:g} BPM")
    else:
        where = (f"{shown(outputs[0])} to {shown(outputs[-1].name)}" if outputs[0].suffix.lower() == ".wav"
                 else f"{shown(args.output)}{os.sep}")
        print(f"wrote {where} ({len(outputs)} clips): {length} each, {notes} notes at {bpm:g} BPM")
    if silent:
        names = ", ".join(p.name for p in silent[:5]) + (", ..." if len(silent) > 5 else "")
        print(f"groovefader: {len(silent)} of {len(outputs)} clip(s) have no hits ({names}): the model "
              "plays nothing there; try another pad point, knob setting or checkpoint", file=sys.stderr)
    return 0


def _outputs(output: Path, count: int, folder: bool = False) -> list[Path]:
    """One clip: OUTPUT itself. Several, or OUTPUT a folder (an existing one, or ``folder``:
    OUTPUT was written with a trailing separator): OUTPUT is a folder of groove-001.mid, ...;
    several to a NAME.wav that is no folder: audio files NAME-001.wav, ... beside it.

    Raises:
        GrooveFaderError: a folder is needed and OUTPUT is an existing file.
    """
    from engine.errors import GrooveFaderError

    if not folder:
        refuse_other_audio(output, "audio is written as WAV (-o NAME.wav), clips as MIDI (.mid)")
    if not folder and not output.is_dir():
        if count == 1:
            return [output]
        if output.suffix.lower() == ".wav":
            return numbered(output, count)
    if output.exists() and not output.is_dir():
        why = f"; {count} clips need a folder" if count > 1 else ""
        raise GrooveFaderError(f"{shown(output)}: exists and is not a folder{why}")
    return numbered(output / "groove.mid", count)


def set_knobs(gen, knobs: dict[str, float | ShareOfRange],
              warn: Callable[[str], None] | None = None):  # (Generator, ...) -> KnobState
    """The ``--knob`` values as a model's knob state: the knobs named are held at them (a
    share of a knob's range turned into its raw value), the others left to the model
    (shared by ``generate`` and ``play``). A raw value outside the knob's range is held at
    the range's end, and ``warn`` is told so in one line.

    Raises:
        GrooveFaderError: a knob the model does not have (names the ones it has).
    """
    from engine.errors import GrooveFaderError
    from engine.generation.knobs import KnobState

    ranges = gen.attribute_ranges
    raw: dict[str, Any] = {}
    for name, value in knobs.items():
        if name not in ranges:  # KnobState.set_all names every unknown knob
            raw[name] = value
            continue
        low, high = ranges[name]
        if isinstance(value, ShareOfRange):
            raw[name] = value.value(low, high)
            continue
        raw[name] = float(value)
        if warn is not None and not low <= value <= high:
            end = high if value > high else low
            warn(f"knob {name}={value:g} lies outside its range {low:.3g}-{high:.3g} (the training "
                 f"grooves' 5th-95th percentiles); held at {end:.3g} (name=P% gives a share of the range)")
    try:
        return KnobState.for_model(ranges, gen.attribute_defaults).set_all(raw)
    except ValueError as err:
        raise GrooveFaderError(str(err)) from err


def _repeat(z, n: int):
    import numpy as np

    return np.repeat(np.asarray(z)[None], n, axis=0)


def _first_window(path: Path, bars: int):
    from engine.errors import MidiFileError
    from engine.music.midifile import read_drum_pattern
    from engine.music.pattern import Pattern

    takes = read_drum_pattern(path)
    pattern = takes[0].pattern
    if pattern.bars >= bars:
        return pattern.bar_slice(0, bars), takes[0].tempo_bpm
    if bars % pattern.bars:
        raise MidiFileError(f"{shown(path)}: {pattern.bars} bar(s) of drums do not loop into {bars} bars")
    return Pattern.concatenate([pattern] * (bars // pattern.bars)), takes[0].tempo_bpm


def run_transition(args: argparse.Namespace) -> int:
    check_transition_options(args)
    if args.melody:
        from engine.commands.melody import run_transition_melody

        return run_transition_melody(args, DEFAULT_CHECKPOINT)
    from engine.errors import GrooveFaderError
    from engine.generation.transitions import transition
    from engine.music.midifile import write_clip

    single_output(args)
    refuse_other_audio(args.output, "a transition is written as MIDI (.mid)")
    if args.output.suffix.lower() == ".wav":
        raise GrooveFaderError(f"{shown(args.output)}: a transition is written as MIDI (.mid)")
    _refuse_overwrite(args.output, args.force)
    if args.bars < 2:
        raise GrooveFaderError(f"a transition needs at least 2 bars, got {args.bars}")
    gen = _load(args.checkpoint)
    win_bars = gen.steps // gen.steps_per_bar
    a, tempo_a = _first_window(args.a, win_bars)
    b, _ = _first_window(args.b, win_bars)
    if args.strategy is None:
        args.strategy = 3
    out = transition(gen, a, b, args.bars, args.strategy, seed=args.seed, temperature=args.temperature)
    bpm = round(tempo_a, 2) if args.bpm is None else args.bpm
    write_clip(args.output, out, tempo_bpm=bpm, force=args.force)
    print(f"wrote {shown(args.output)}: {args.bars}-bar transition (strategy {args.strategy}), "
          f"{out.num_hits} notes at {bpm:g} BPM")
    return 0
