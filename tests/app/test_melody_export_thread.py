"""Drums + melody export as long as both loops take to meet (a 63-bar transition under a
16-bar tune: 1008 bars, most of a second to build) is written off the GUI thread."""

from __future__ import annotations

import threading

import mido
from PySide6.QtWidgets import QFileDialog

from app.melody_lane import MelodyLane
from app.melody_panel import MelodyPanel
from engine.music.drums import GM_NOTE_MAP, Voice
from engine.music.pattern import Pattern
from tests.support.melody import melody_b


def test_a_long_drums_and_melody_export_leaves_the_window_responsive(qtbot, tmp_path, monkeypatch) -> None:
    drums = Pattern.empty(bars=63).with_hit(0, Voice.KICK, True, velocity=0.8)
    lane = MelodyLane(None, lambda: (drums, 120.0, GM_NOTE_MAP))
    panel = MelodyPanel(lane)
    qtbot.addWidget(panel)
    clip = tmp_path / "tune.mid"
    melody_b().write_midi(clip)
    lane.load_clip(clip)
    lane.update(bars=16)
    assert lane.melody is not None and lane.melody.bars == 16
    assert lane.export_bars(with_drums=True) == 1008
    out = tmp_path / "both.mid"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    said: list[tuple[str, str]] = []
    lane.message.connect(lambda level, text: said.append((level, text)))

    import app.melody_lane as lane_module

    where: list[str] = []
    write = lane_module.write_midifile

    def recorded(*args, **kwargs):
        where.append(threading.current_thread().name)
        return write(*args, **kwargs)

    monkeypatch.setattr(lane_module, "write_midifile", recorded)
    panel.export_both_button.click()
    lane.close()  # the window closing at once: the write finishes all the same

    qtbot.waitUntil(lambda: any("Exported" in text for _, text in said), timeout=30_000)
    midi = mido.MidiFile(out)
    assert max(sum(m.time for m in t) for t in midi.tracks) / (4 * midi.ticks_per_beat) == 1008
    assert said[-1] == ("info", "Exported drums + melody (1008 bars) to " + str(out))
    assert where == ["groovefader-file-write"]  # built and written off the GUI thread
