"""``groovefader generate --melody`` and ``groovefader transition --melody``.

The flags live on the shared ``generate``/``transition`` parsers
(:mod:`engine.commands.generate`); this module runs them with the melody generator.
torch is imported only here, when a melody command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from models.pathnames import shown

# The shipped melody checkpoint, next to the package.
MELODY_CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "melody.pt"
DEFAULT_STRATEGY = 1  # a melody transition's: its middles are the most tune-like (docs/melody.md)
# a melody transition's options when not given: the generator's defaults, named for its summary line
MIX_SCALE, MIX_DRAW, ENDS = "bar", "switch", "melodies"


def _checkpoint(args: argparse.Namespace, drum_default: Path) -> Path:
    """``--checkpoint`` if given, else the shipped melody checkpoint (not the drum one)."""
    from engine.errors import CheckpointError

    path = MELODY_CHECKPOINT if args.checkpoint == drum_default else args.checkpoint
    if not path.is_file():
        raise CheckpointError(f"{path}: no such melody checkpoint (train one with "
                              f"`groovefader melody train` or pass --checkpoint)")
    return path


def _check_key(key: str | None) -> None:
    from engine.errors import GrooveFaderError
    from engine.music.melody import key_shift

    if key is not None:
        try:
            key_shift(key)
        except ValueError as err:
            raise GrooveFaderError(str(err)) from err


def _outputs(output: Path, count: int, folder: bool = False) -> list[Path]:
    """One clip: OUTPUT (in a folder given as OUTPUT, an existing one or with ``folder``, a
    trailing separator: melody.mid); several: OUTPUT-001.mid, ... (in a folder: melody-001.mid, ...).

    Raises:
        GrooveFaderError: OUTPUT names a .wav (a melody is written as MIDI only), or a folder
            is asked for where a file is.
    """
    from engine.commands.outputs import numbered, refuse_other_audio
    from engine.errors import GrooveFaderError

    if folder and output.exists() and not output.is_dir():
        raise GrooveFaderError(f"{shown(output)}: exists and is not a folder")
    if folder or output.is_dir():
        output = output / "melody.mid"
    refuse_other_audio(output, "a melody is written as MIDI (.mid)")
    if output.suffix.lower() == ".wav":
        raise GrooveFaderError(f"{shown(output)}: a melody is written as MIDI (.mid); the built-in "
                               "kit plays drums only")
    if count == 1:
        return [output]
    return numbered(output if output.suffix else output.with_suffix(".mid"), count)


def tempo_of(path: Path, default: float = 120.0) -> float:
    """The first tempo of a MIDI file (``default`` without one, or with one outside 20-500 BPM)."""
    import mido

    try:
        midi = mido.MidiFile(path)
    except (OSError, ValueError, EOFError):
        return default
    for track in midi.tracks:
        for msg in track:
            if msg.type == "set_tempo":
                bpm = mido.tempo2bpm(msg.tempo)
                return round(bpm, 2) if 20.0 <= bpm <= 500.0 else default
    return default


def run_generate_melody(args: argparse.Namespace, drum_default: Path) -> int:
    from engine.errors import MidiFileError
    from engine.generation.melody import MelodyGenerator

    _check_key(args.key)
    outputs = _outputs(args.output, args.count, args.output_is_folder)
    for path in outputs:
        if path.exists() and not args.force:
            raise MidiFileError(f"{path}: exists; refusing to overwrite it (use --force)")
    gen = MelodyGenerator.from_checkpoint(_checkpoint(args, drum_default))
    melodies = gen.generate(args.count, bars=args.bars, temperature=args.temperature, seed=args.seed,
                            key=args.key)
    bpm = 120.0 if args.bpm is None else args.bpm
    length = f"{args.bars} bar{'s' if args.bars > 1 else ''}"
    for path, m in zip(outputs, melodies, strict=True):
        m.write_midi(path, bpm, force=args.force)
        print(f"wrote {shown(path)}: {length}, {m.num_notes} notes at {bpm:g} BPM"
              + (f" in {args.key}" if args.key else ""))
    return 0


def run_transition_melody(args: argparse.Namespace, drum_default: Path) -> int:
    from engine.commands.outputs import refuse_other_audio, single_output
    from engine.errors import GrooveFaderError, MidiFileError
    from engine.generation.melody import ALONG_DATA, FEED, MelodyGenerator
    from engine.music.melody import moved_to_c, read_melody_file

    single_output(args)
    refuse_other_audio(args.output, "a melody transition is written as MIDI (.mid)")
    if args.output.suffix.lower() == ".wav":
        raise GrooveFaderError(f"{shown(args.output)}: a melody transition is written as MIDI (.mid)")
    if args.output.exists() and not args.force:
        raise MidiFileError(f"{args.output}: exists; refusing to overwrite it (use --force)")
    if args.bars < 2:
        raise GrooveFaderError(f"a transition needs at least 2 bars, got {args.bars}")
    _check_key(args.key)
    # The model knows tunes in C (its training tunes were moved there by key signature): each
    # clip goes in moved from its own key to C, as the app's melody lane takes clips A and B,
    # and the result is moved from C to --key, or to A's key: one key throughout, B landing
    # in it.
    (a, home), (b, _) = moved_to_c(read_melody_file(args.a)), moved_to_c(read_melody_file(args.b))
    key = args.key or home
    a, b = a.fit_range(), b.fit_range()
    gen = MelodyGenerator.from_checkpoint(_checkpoint(args, drum_default))
    if args.strategy is None:
        args.strategy = DEFAULT_STRATEGY
    mix_scale, mix_draw = args.mix_scale or MIX_SCALE, args.mix_draw or MIX_DRAW
    feed = args.feed or FEED
    along_data = ALONG_DATA if args.along_data is None else args.along_data
    out = gen.transition(a, b, args.bars, args.strategy, mix_scale=mix_scale, mix_draw=mix_draw,
                         along_data=along_data, seed=args.seed, temperature=args.temperature, key=key,
                         ends=args.ends or ENDS, feed=feed)
    bpm = tempo_of(args.a) if args.bpm is None else args.bpm  # clip A's, as the drums take it
    out.write_midi(args.output, bpm, force=args.force)
    how = "" if args.strategy == 1 else f", mix per {mix_scale}, {mix_draw} draw, {feed} fed"  # 1: no mix
    print(f"wrote {shown(args.output)}: {args.bars}-bar melody transition (strategy {args.strategy}{how}), "
          f"{out.num_notes} notes at {bpm:g} BPM in {key}")
    return 0
