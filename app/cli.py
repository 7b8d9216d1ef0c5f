"""The ``groovefader`` command: one entry point, one subcommand per task.

Subcommands live next to what they drive (``training.cli``, ``engine.commands.generate``,
``app.commands``);
each module exposes ``register(subparsers)`` and imports its heavy dependencies (torch,
Qt) only when its command runs, so ``groovefader --help`` is instant. User mistakes end
in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from engine.errors import GrooveFaderError
from models.pathnames import one_line, shown

# The modules that add subcommands, in --help order. Each must import: a broken command
# module is a bug to see at once, not a subcommand that silently disappears.
COMMAND_MODULES = (
    "app.commands",
    "engine.commands.generate",
    "engine.commands.play",
    "training.cli",
    "training.eval_cli",
    "training.train_cli",
    "training.map_cli",
    "training.export_cli",
    "training.melody.cli",
)


# What the `train` extra adds to the runtime install (torch first).
TRAIN_MODULES = ("torch", "tqdm", "tensorboard", "matplotlib", "music21")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="groovefader",
        description="Real-time MIDI drum synthesizer driven by a fader-VAE.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    for stream in (sys.stdout, sys.stderr):  # a file name of any bytes never ends a print
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        return int(args.func(args) or 0)
    except GrooveFaderError as err:
        print(f"groovefader: error: {one_line(str(err))}", file=sys.stderr)
        return 1
    except OSError as err:  # the disk's answer (full, read-only, gone) to a write no command foresaw
        named = isinstance(err.filename, str | bytes | os.PathLike)
        where = f"{shown(err.filename)}: " if named else ""
        print(f"groovefader: error: {where}{one_line(err.strerror or str(err))}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as err:  # a training command in the runtime-only install
        if err.name not in TRAIN_MODULES:
            raise
        print(f"groovefader: error: '{args.command}' needs {err.name}, which the runtime install leaves "
              "out: pip install 'groovefader[train]'", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
