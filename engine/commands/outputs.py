"""``-o``: what an output path names. A trailing separator (``-o clips/``) names a folder,
which :class:`~pathlib.Path` forgets, so the option keeps it beside the path."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from engine.errors import GrooveFaderError
from models.pathnames import shown

# Audio formats groovefader does not write: a name ending in one gets no MIDI written into it.
OTHER_AUDIO = (".aac", ".aif", ".aifc", ".aiff", ".alac", ".flac", ".m4a", ".mp3", ".oga", ".ogg", ".opus",
               ".wma")

# A path ending in one of these names a folder (``-o clips/``), as a shell's completion writes it.
SEPARATORS = tuple(sep for sep in (os.sep, os.altsep) if sep)


class OutputPath(argparse.Action):
    """``-o``: the path, and in ``output_is_folder`` whether it ends in a separator, which
    :class:`~pathlib.Path` drops (``Path("clips/") == Path("clips")``)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        text = str(values)
        setattr(namespace, self.dest, Path(text))
        namespace.output_is_folder = text.endswith(SEPARATORS)


def single_output(args: argparse.Namespace) -> Path:
    """``-o`` of a transition: one file, so never a folder.

    Raises:
        GrooveFaderError: OUTPUT is a folder, or ends in a separator (names one).
    """
    output = args.output
    if getattr(args, "output_is_folder", False) or output.is_dir():
        raise GrooveFaderError(f"{shown(output)}{os.sep}: a folder; a transition is one file: give a file "
                               f"name (e.g. {shown(output / 'transition.mid')})")
    return output


def refuse_other_audio(path: Path, written: str) -> None:
    """A file name ending in an audio format other than WAV (``loop.flac``) is refused:
    ``written`` says what the command writes instead (``"a melody is written as MIDI (.mid)"``).

    Raises:
        GrooveFaderError: ``path`` ends in such a suffix and is no folder.
    """
    if path.suffix.lower() in OTHER_AUDIO and not path.is_dir():
        raise GrooveFaderError(f"{shown(path)}: {path.suffix} is not written; {written}")


def numbered(path: Path, count: int) -> list[Path]:
    """``count`` files beside ``path`` named after it: NAME-001.ext, NAME-002.ext, ... (more
    digits past 999), so that a pack's files sort by number in any file browser."""
    width = max(3, len(str(count)))
    return [path.with_name(f"{path.stem}-{i + 1:0{width}d}{path.suffix}") for i in range(count)]
