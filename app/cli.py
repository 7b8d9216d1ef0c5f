"""The ``groovefader`` command: one entry point, one subcommand per task.

Subcommands live next to what they drive (``training.cli``, ``engine.cli``, ``app.main``);
each module exposes ``register(subparsers)`` and imports its heavy dependencies (torch,
Qt) only when its command runs, so ``groovefader --help`` is instant. User mistakes end
in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from engine.errors import GrooveFaderError

# Modules that add subcommands; a module not yet written is skipped so the others work.
_COMMAND_MODULES = ("app.commands", "engine.cli", "engine.play_cli", "training.cli", "training.eval_cli",
                    "training.train_cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="groovefader",
        description="Real-time MIDI drum synthesizer driven by a fader-VAE.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except GrooveFaderError as err:
        print(f"groovefader: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
