"""The ``groovefader`` command: one entry point, one subcommand per task.

Subcommands live next to what they drive (``training.cli``, ``engine.commands.generate``,
``app.commands``); each module exposes ``register(subparsers)``. The command table below
names every subcommand with its module and one-line help, so ``groovefader --help`` lists
them all without importing any, and ``groovefader generate`` imports only
``engine.commands.generate``: building the table eagerly imported every training module
(numpy's linear algebra, the data map) and cost a clip render half its start-up. Heavy
dependencies (torch, Qt, onnxruntime) are imported only when a command runs. User
mistakes end in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.errors import GrooveFaderError, UsageError
from models.pathnames import one_line, shown


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, the module whose ``register`` adds it, and the help line
    ``groovefader --help`` shows (the same text the module registers; a test checks)."""

    name: str
    module: str
    help: str


# Every subcommand, in --help order. A module may add several (generate and transition).
COMMANDS = (
    Command("app", "app.commands", "start the desktop app (latent pad, knobs, step grid, transport)"),
    Command("generate", "engine.commands.generate", "render a generated drum clip to a MIDI file"),
    Command("transition", "engine.commands.generate", "render a transition from clip A to clip B"),
    Command("play", "engine.commands.play", "play grooves to a MIDI port (headless) until Ctrl-C"),
    Command("data", "training.cli", "build the 2-bar training windows from a folder of drum MIDI files"),
    Command("eval", "training.eval_cli", "evaluate a checkpoint (and a baseline) on a folder of drum MIDI"),
    Command("train", "training.train_cli",
            "train a fader-VAE (or the plain-VAE baseline) on a folder of drum MIDI"),
    Command("map", "training.map_cli",
            "add the map of the training grooves (knobs walk it, the pad shows it) to a checkpoint"),
    Command("export", "training.export_cli",
            "write a checkpoint's ONNX graphs: the app and play then run without torch"),
    Command("melody", "training.melody.cli", "melody VAE: build data, train, evaluate"),
)
COMMAND_MODULES = tuple(dict.fromkeys(c.module for c in COMMANDS))

# What the `train` extra adds to the runtime install (torch first).
TRAIN_MODULES = ("torch", "tqdm", "tensorboard", "matplotlib", "music21")


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names (its first word that is not an option), or None."""
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``groovefader`` parser.

    Without ``argv`` every command module is imported and registers its subcommands (the
    whole table, as tests and tools want it). With ``argv``, only the module of the command
    it names registers; every other command is a placeholder carrying its help line, so
    ``--help`` and "invalid choice" still list them all. A broken command module is an
    import error when its command runs, never a subcommand that silently disappears.
    """
    parser = argparse.ArgumentParser(
        prog="groovefader",
        description="Real-time MIDI drum synthesizer driven by a fader-VAE.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if argv is None:
        wanted = set(COMMAND_MODULES)
    else:
        name = chosen_command(argv)
        wanted = {c.module for c in COMMANDS if c.name == name}
    for command in COMMANDS:  # in table order; a module's commands are neighbours in it
        if command.name in sub.choices:
            continue
        if command.module in wanted:
            importlib.import_module(command.module).register(sub)
        else:  # listed, not imported
            sub.add_parser(command.name, help=command.help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    for stream in (sys.stdout, sys.stderr):  # a file name of any bytes never ends a print
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    # the window's event loop is Qt's, where a Python handler would wait for the next slot
    restore = _exit_on_termination() if args.command != "app" else (lambda: None)
    try:
        return int(args.func(args) or 0)
    except UsageError as err:  # options that do not go together: argparse's words and status
        print(f"{parser.prog} {args.command}: error: {one_line(str(err))}", file=sys.stderr)
        return 2
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
    finally:
        restore()


def _exit_on_termination() -> Callable[[], None]:
    """SIGTERM and SIGHUP (``kill``, ``timeout``, a closed terminal) end the command as Ctrl-C
    does, by an exception, so a half-written file is removed on the way out instead of left
    behind as a hidden temp file. A command with its own handler (``play``) sets it over this
    one; handlers someone else set are kept. Returns what puts the old handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def terminated(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    old = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) is signal.SIG_DFL:
            old[sig] = signal.signal(sig, terminated)

    def restore() -> None:
        for sig, handler in old.items():
            signal.signal(sig, handler)

    return restore


if __name__ == "__main__":
    sys.exit(main())
