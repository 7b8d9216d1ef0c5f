"""Checkpoints the command-line tests share: a tiny drum model and a memorised melody model."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def drums() -> str:
    pytest.importorskip("torch")
    from tests.support.tiny_checkpoint import tiny_checkpoint

    return str(tiny_checkpoint("fader_vae"))


@pytest.fixture(scope="module")
def melodies(tmp_path_factory) -> str:
    pytest.importorskip("torch")
    from tests.support.melody import memorised_checkpoint

    return str(memorised_checkpoint(str(tmp_path_factory.getbasetemp() / "melody")))
