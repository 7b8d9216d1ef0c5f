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


def _odd_clip(folder: Path, name: bytes) -> Path:
    import numpy as np

    from engine.music.midifile import write_clip
    from engine.music.pattern import Pattern

    hits = np.zeros((32, 9), bool)
    hits[::4, 0] = hits[4::8, 1] = True
    return write_clip(Path(os.fsdecode(bytes(folder) + b"/" + name)), Pattern(hits))


def test_a_clip_dropped_under_a_latin1_name_loads(make_window, tmp_path) -> None:
    """The file manager's URL carries the name's bytes (%E9); the clip behind them loads."""
    from urllib.parse import quote_from_bytes

    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    clip = _odd_clip(tmp_path, b"caf\xe9 groove\n.mid")
    w = make_window(load=False)
    mime = QMimeData()
    mime.setUrls([QUrl("file://" + quote_from_bytes(os.fsencode(clip)))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    w.dropEvent(event)
    assert w.controller.pattern.num_hits == 12
    assert w._status_text.text() == "Loaded caf\\xe9 groove\\n.mid (2 bars, first 2 shown)"


def test_a_bad_clip_under_an_odd_name_is_one_escaped_line(make_window, tmp_path) -> None:
    bad = Path(os.fsdecode(bytes(tmp_path) + b"/\xff\x1b[2Jbad.mid"))
    bad.write_bytes(bytes(range(256)))
    w = make_window(load=False)
    before = w.controller.pattern
    w.controller.load_clip(bad)
    text = w._status_text.text()
    assert text == f"{tmp_path}/\\xff\\x1b[2Jbad.mid: not a readable MIDI file " \
                   "(OSError: MThd not found. Probably not a MIDI file)"
    assert w.controller.pattern is before


def test_export_to_an_odd_name(make_window, tmp_path) -> None:
    from engine.music.midifile import read_clip

    w = make_window(load=False)
    w.controller.load_clip(_odd_clip(tmp_path, b"in \xe9.mid"))
    out = Path(os.fsdecode(bytes(tmp_path) + b"/out \xe9.mid"))
    assert w.controller.export_clip(out, 4) == out
    assert read_clip(out).bars == 4


def test_a_foreign_melody_checkpoint_keeps_the_melody_model(make_window, qtbot, tmp_path,
                                                            monkeypatch) -> None:
    from app import melody_lane as lane_module
    from tests.support.melody import memorised_checkpoint

    good = memorised_checkpoint(str(tmp_path))
    monkeypatch.setattr(lane_module, "default_melody_checkpoint", lambda: good)
    w = make_window(None, load=False)
    lane = w.melody.lane
    with qtbot.waitSignal(lane.melodyChanged, timeout=60_000):
        w.controller.load_model(tmp_path / "no-drum-model.pt")  # its failure starts the melody model
    generator = lane.model.generator
    drum = tmp_path / "drums.pt"
    drum.write_bytes(b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0")
    with qtbot.waitSignal(lane.message, timeout=60_000) as sig:
        lane.load_model(drum)
    level, text = sig.args
    assert level == "error" and "not a checkpoint: a MIDI file" in text and text.endswith(f"Keeping {good}.")
    assert lane.model.generator is generator and lane.model_path == str(good)
