"""Drums + melody export as long as both loops take to meet (a 63-bar transition under a
16-bar tune: 1008 bars, most of a second to build) is written off the GUI thread."""

from __future__ import annotations

import mido
from PySide6.QtWidgets import QFileDialog

from engine.music.drums import Voice
from engine.music.pattern import Pattern
from tests.support.threads import melody_lane_with_clip, record_threads


def test_a_long_drums_and_melody_export_leaves_the_window_responsive(qtbot, tmp_path, monkeypatch) -> None:
    drums = Pattern.empty(bars=63).with_hit(0, Voice.KICK, True, velocity=0.8)
    lane, panel = melody_lane_with_clip(qtbot, tmp_path, drums)
    lane.update(bars=16)
    assert lane.melody is not None and lane.melody.bars == 16
    assert lane.export_bars(with_drums=True) == 1008
    out = tmp_path / "both.mid"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    said: list[tuple[str, str]] = []
    lane.message.connect(lambda level, text: said.append((level, text)))

    import app.melody_lane as lane_module

    where = record_threads(monkeypatch, lane_module, "write_midifile")
    panel.export_both_button.click()
    lane.close()  # the window closing at once: the write finishes all the same

    qtbot.waitUntil(lambda: any("Exported" in text for _, text in said), timeout=30_000)
    midi = mido.MidiFile(out)
    assert max(sum(m.time for m in t) for t in midi.tracks) / (4 * midi.ticks_per_beat) == 1008
    assert said[-1] == ("info", "Exported drums + melody (1008 bars) to " + str(out))
    assert where == ["groovefader-file-write"]  # built and written off the GUI thread
