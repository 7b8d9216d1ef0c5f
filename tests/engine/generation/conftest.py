"""The shipped drum model on ONNX Runtime, loaded once per test module that asks for ``gen``
(a module may define its own)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHIPPED = Path(__file__).resolve().parents[3] / "checkpoints" / "default.pt"


@pytest.fixture(scope="module")
def gen():
    pytest.importorskip("onnxruntime")
    from engine.generation.generator import Generator

    return Generator.from_checkpoint(SHIPPED, backend="onnx")
