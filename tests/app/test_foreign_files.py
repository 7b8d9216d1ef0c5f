"""The app given files that are not what they claim: one line in the status line, nothing lost
(the model that plays keeps playing)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.mark.parametrize(("content", "expect"), [
    (b'{"tempo": 120}', "not a checkpoint: a JSON file"),
    (b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0", "not a checkpoint: a MIDI file"),
    (bytes(range(1, 200)), "not a checkpoint: neither a PyTorch file nor a pickle"),
])
def test_a_foreign_checkpoint_keeps_the_model_that_plays(ready_window, qtbot, tmp_path, content, expect):
    w = ready_window
    c = w.controller
    generator, info = c.generator, c.info
    bad = Path(os.fsdecode(bytes(tmp_path) + b"/odd \xe9\nname.pt"))  # a name of any bytes
    bad.write_bytes(content)
    failed = []
    c.modelFailed.connect(failed.append)
    with qtbot.waitSignal(c.model.refused, timeout=60_000) as sig:
        c.load_model(bad)
    text = sig.args[0]
    assert expect in text and "odd \\xe9\\nname.pt" in text and "\n" not in text
    assert text.endswith(f"Keeping {c.model.path}.")
    assert w._status_text.text() == text  # the status line says it
    assert not failed and not w.banner.isVisible()
    assert c.generator is generator and c.info is info  # the model plays on
    assert w.pad_panel.pad._enabled_text == ""  # no "Loading model…" left over the pad
    with qtbot.waitSignal(c.patternChanged, timeout=30_000):  # and still answers
        c.randomize()
