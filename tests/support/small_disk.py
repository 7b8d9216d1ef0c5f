"""A real small file system for tests of full and read-only disks: a tmpfs mounted by the test.

Mounting needs root (or CAP_SYS_ADMIN); elsewhere the fixture skips with the reason. A
tmpfs of a few hundred kilobytes fills up after a clip or two; :meth:`SmallDisk.fill`
fills what is left, :meth:`SmallDisk.read_only` remounts it read-only.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


class SmallDisk:
    def __init__(self, root: Path) -> None:
        self.root = root

    def fill(self) -> None:
        """Fill the file system to the last byte (a file named ``filler``)."""
        with open(self.root / "filler", "ab", buffering=0) as f:
            for size in (65536, 4096, 1):  # big steps, then the last partial block
                try:
                    while f.write(b"\0" * size):
                        pass
                except OSError:
                    pass

    def free(self) -> None:
        (self.root / "filler").unlink(missing_ok=True)

    def read_only(self, on: bool = True) -> None:
        _mount("-o", f"remount,{'ro' if on else 'rw'}", str(self.root))

    def leftovers(self) -> list[str]:
        """Temp files an interrupted write left behind (atomic writes leave none)."""
        return sorted(p.name for p in self.root.rglob("*.tmp"))


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True, timeout=30)


@contextmanager
def small_disk(folder: Path, size_kb: int = 256) -> Iterator[SmallDisk]:
    """A ``size_kb`` tmpfs mounted on ``folder`` for the block; skips the test where mounting
    is not allowed."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs the tests as root)")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _mount("-t", "tmpfs", "-o", f"size={size_kb}k,mode=0755", "tmpfs", str(folder))
    except (subprocess.CalledProcessError, FileNotFoundError) as err:
        reason = getattr(err, "stderr", "") or str(err)
        pytest.skip(f"cannot mount a tmpfs here: {reason.strip()}")
    try:
        yield SmallDisk(folder)
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)
