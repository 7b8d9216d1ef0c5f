"""File modes of :func:`models.atomic.atomic_write`: a replaced file keeps its own, a new file
gets what ``open`` would give it under the process's umask."""

from __future__ import annotations

import os
import stat

import pytest

from models.atomic import atomic_write

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664, 0o755, 0o444], ids=oct)
def test_a_replaced_file_keeps_its_mode(tmp_path, umask_022, mode) -> None:
    target = tmp_path / "clip.mid"
    target.write_bytes(b"old")
    target.chmod(mode)
    atomic_write(target, lambda f: f.write(b"new"))
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == mode


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077, 0o027], ids=oct)
def test_a_new_file_gets_the_umask_mode(tmp_path, umask) -> None:
    old = os.umask(umask)
    try:
        target = atomic_write(tmp_path / "new.txt", lambda f: f.write("x"), text=True)
        plain = tmp_path / "plain.txt"
        plain.write_text("x")  # what an ordinary open() makes
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


def test_a_replaced_symlink_target_lends_its_mode(tmp_path, umask_022) -> None:
    real = tmp_path / "real.mid"
    real.write_bytes(b"old")
    real.chmod(0o600)
    link = tmp_path / "link.mid"
    link.symlink_to(real)
    atomic_write(link, lambda f: f.write(b"new"))
    assert stat.S_IMODE(link.stat().st_mode) == 0o600


def test_no_temp_file_is_left(tmp_path) -> None:
    atomic_write(tmp_path / "a.bin", lambda f: f.write(b"x"))
    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "a.bin", lambda f: (_ for _ in ()).throw(RuntimeError("boom")))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]
    assert (tmp_path / "a.bin").read_bytes() == b"x"
