"""Shared fixtures of the melody training tests."""

from __future__ import annotations

import pytest

SCALES = ["CDEF GABc", "cBAG FEDC", "EFGA Bcde", "dcBA GFED", "GABc defg", "gfed cBAG"]


@pytest.fixture(scope="module")
def folk(tmp_path_factory):
    """A folder with one small ABC collection: 40 4/4 tunes of scale runs, enough for every
    split of the tune-level split to get windows."""
    root = tmp_path_factory.mktemp("abc")
    (root / "folk").mkdir()
    tunes = []
    for i in range(40):
        a, b = SCALES[i % 6], SCALES[(i + 1 + i // 6) % 6]
        tunes.append(f"X:{i + 1}\nT:t{i}\nM:4/4\nL:1/8\nK:C\n{a}|{b}|{a}|{b}|\n")
    (root / "folk" / "tunes.abc").write_text("\n".join(tunes), encoding="latin-1")
    return root
