"""Export and presets from the window onto a full or read-only disk (a real small tmpfs):
one line in the status line, the previous file whole, no partial file."""

from __future__ import annotations

import numpy as np
import pytest

from engine.music.midifile import write_clip
from engine.music.pattern import Pattern
from tests.support.small_disk import small_disk


@pytest.mark.parametrize("full", [True, False], ids=["full", "read-only"])
def test_export_from_the_window(make_window, qtbot, tmp_path, monkeypatch, full) -> None:
    from PySide6.QtWidgets import QDialog, QFileDialog

    from app import actions

    hits = np.zeros((32, 9), bool)
    hits[::2, 2] = hits[::4, 0] = True
    w = make_window(load=False)
    w.controller.load_clip(write_clip(tmp_path / "in.mid", Pattern(hits)))
    with small_disk(tmp_path / "disk", size_kb=64) as disk:
        old = write_clip(disk.root / "take.mid", Pattern(hits[:16]))
        before = old.read_bytes()
        disk.fill() if full else disk.read_only()
        monkeypatch.setattr(actions.ExportDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(old), "")))
        w.actions.export_clip.trigger()
        why = "No space left on device" if full else "Read-only file system"
        qtbot.waitUntil(lambda: w._status_text.text() == f"{old}: cannot write clip: {why}", timeout=10_000)
        assert old.read_bytes() == before and disk.leftovers() == []


def test_save_preset_from_the_window_on_a_full_disk(make_window, tmp_path, monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    from app.presets import Preset, load_preset, save_preset

    w = make_window(load=False)
    with small_disk(tmp_path / "disk", size_kb=64) as disk:
        old = save_preset(disk.root / "groove.json", Preset(tempo_bpm=90.0))
        disk.fill()
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(old), "")))
        w.actions.save_preset.trigger()
        assert w._status_text.text() == f"{old}: cannot write preset: No space left on device"
        assert load_preset(old).tempo_bpm == 90.0 and disk.leftovers() == []
