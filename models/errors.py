"""The error base class and the checkpoint error, at the lowest layer.

``models`` sits below ``engine`` (``app → engine → models``), so the classes ``models``
raises live here and ``engine.errors`` re-exports them with the rest of the domain errors;
callers keep importing everything from ``engine.errors``.
"""


class GrooveFaderError(Exception):
    """Base class of every error groovefader reports to its user."""


class CheckpointError(GrooveFaderError):
    """A checkpoint is missing, from another program or version, truncated or unsafe."""
