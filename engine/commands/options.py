"""Options that do not apply to what a command was asked to do.

An option that would change nothing is refused where the user expected it to act (``--key``
on a drum clip, a kit level on a MIDI file: the result would silently not be what was asked
for): a :class:`~engine.errors.UsageError`, one line and exit status 2 as argparse's own
usage errors, raised before a model loads or a port opens. One that is only redundant
(``--bpm`` while the tempo follows an external clock) is named in a one-line warning.

An option counts as given when it is set: the options checked default to None, False or an
empty list, and their working defaults are applied where they are used.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from engine.errors import UsageError


def given(args: argparse.Namespace, *dests: str) -> list[str]:
    """The flags (``--kit-level``) of those of ``dests`` that were given, in order."""
    def is_set(value: object) -> bool:  # identity, not ==: a given 0 or 0.0 is set
        return not (value is None or value is False or (isinstance(value, list) and not value))

    return [f"--{d.replace('_', '-')}" for d in dests if is_set(getattr(args, d, None))]


def flag_list(flags: Sequence[str]) -> str:
    """``--a``, ``--a and --b``, ``--a, --b and --c``."""
    return flags[0] if len(flags) == 1 else f"{', '.join(flags[:-1])} and {flags[-1]}"


def verb(flags: Sequence[str], one: str, many: str) -> str:
    """``one`` after a single flag, ``many`` after several."""
    return one if len(flags) == 1 else many


def needs(args: argparse.Namespace, dests: Sequence[str], needed: str, *, met: bool = False) -> None:
    """Unless ``met``, raise ``UsageError("--a and --b need NEEDED")`` for those of ``dests`` given."""
    flags = [] if met else given(args, *dests)
    if flags:
        raise UsageError(f"{flag_list(flags)} {verb(flags, 'needs', 'need')} {needed}")


def warn(command: str, message: str) -> None:
    """One warning line on stderr, the command named as argparse names it in its errors."""
    print(f"groovefader {command}: warning: {message}", file=sys.stderr, flush=True)
