"""Domain exceptions: what went wrong in words a musician can act on.

Library errors (mido, pretty_midi, rtmidi, torch) are re-raised as one of these at the
module boundary (``raise MidiFileError(...) from err``); the CLI and the app print the
message as one line instead of a traceback.
"""


class GrooveFaderError(Exception):
    """Base class of every error groovefader reports to its user."""


class MidiFileError(GrooveFaderError):
    """A MIDI file could not be read or written (names the file and the reason)."""


class CheckpointError(GrooveFaderError):
    """A checkpoint is missing, from another program or version, truncated or unsafe."""


class PortError(GrooveFaderError):
    """A MIDI port or backend could not be opened, vanished, or does not exist here."""


class DatasetError(GrooveFaderError):
    """A dataset could not be built (no usable file found, unreadable cache, ...)."""
