"""Domain exceptions: what went wrong in words a musician can act on.

Library errors (mido, pretty_midi, rtmidi, torch) are re-raised as one of these at the
module boundary (``raise MidiFileError(...) from err``); the CLI and the app print the
message as one line instead of a traceback.
"""


from models.errors import CheckpointError, GrooveFaderError

__all__ = ["GrooveFaderError", "MidiFileError", "CheckpointError", "PortError", "DatasetError", "UsageError"]


class MidiFileError(GrooveFaderError):
    """A MIDI file could not be read or written (names the file and the reason)."""


class PortError(GrooveFaderError):
    """A MIDI port or backend could not be opened, vanished, or does not exist here."""


class UsageError(GrooveFaderError):
    """Options that do not go together, or do not apply to what the command was asked to do
    (the CLI exits with status 2, as for argparse's own usage errors)."""


class DatasetError(GrooveFaderError):
    """A dataset could not be built (no usable file found, unreadable cache, ...)."""
