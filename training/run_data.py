"""A resumed run trains on the data it started on: the check both trainers make."""

from __future__ import annotations

from pathlib import Path

from engine.errors import GrooveFaderError
from models.pathnames import shown


def refuse_other_data(run_dir: Path, before: str, now: str, what: str = "data") -> None:
    """Raise when the run's recorded data fingerprint ``before`` is not ``now`` (either
    unknown, '': nothing to compare): the optimiser state, the step or epoch count and the best
    validation figure all belong to the data the run started on.

    Raises:
        GrooveFaderError: the fingerprints differ, naming both.
    """
    if before and now and before != now:
        raise GrooveFaderError(f"{shown(run_dir)}: the {what} changed since the run started (data "
                               f"fingerprint {now[:16]}, the run's {before[:16]}); restore that data "
                               "or start a new run")
