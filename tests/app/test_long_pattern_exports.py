"""A drum pattern longer than a loop of 2 bars (an 8-bar transition) leaves the app whole:
dragged out as a clip, and exported under the melody as drums + melody."""

from __future__ import annotations

import mido
import numpy as np

from engine.music.drums import Voice
from engine.music.midifile import read_clip
from engine.music.pattern import Pattern
from tests.support.melody import melody_b
from tests.support.threads import melody_lane_with_clip, record_threads


def _bars(path) -> float:
    midi = mido.MidiFile(path)
    return max(sum(m.time for m in t) for t in midi.tracks) / (4 * midi.ticks_per_beat)


def _eight_bars() -> Pattern:
    """8 bars whose kick moves one step later each bar: no shorter loop plays it."""
    p = Pattern.empty(bars=8)
    for bar in range(8):
        p = p.with_hit(16 * bar + bar, Voice.KICK, True, velocity=0.8)
    return p


def test_dragging_out_an_8_bar_transition_carries_all_of_it(ready_window, qtbot) -> None:
    w = ready_window
    c = w.controller
    with qtbot.waitSignal(c.transitionReady, timeout=60_000):
        c.make_transition(_eight_bars(), 8, 1)
    assert c.pattern.bars == 8
    mime = w.drag_handle.make_mime()
    assert mime is not None
    back = read_clip(mime.urls()[0].toLocalFile())
    assert back.bars == 8
    np.testing.assert_array_equal(back.hits, c.pattern.hits)


def test_a_2_bar_groove_is_dragged_out_as_4_bars(ready_window) -> None:
    c = ready_window.controller
    back = read_clip(ready_window.drag_handle.make_mime().urls()[0].toLocalFile())
    assert back.bars == 4
    np.testing.assert_array_equal(back.hits, np.concatenate([c.pattern.hits] * 2))


def test_drums_and_melody_export_the_phrase_of_both_loops(qtbot, tmp_path) -> None:
    lane, panel = melody_lane_with_clip(qtbot, tmp_path, _eight_bars())
    assert lane.melody is not None and lane.melody.bars == 2
    both = panel.export(str(tmp_path / "both.mid"), with_drums=True)
    assert both is not None and _bars(both) == 8
    kicks = [m for m in mido.MidiFile(both).tracks[1] if m.type == "note_on" and m.velocity > 0]
    assert len(kicks) == 8  # every bar of the drums, not the first two
    melody_notes = [m for m in mido.MidiFile(both).tracks[2] if m.type == "note_on" and m.velocity > 0]
    assert len(melody_notes) == 4 * melody_b().num_notes  # the 2-bar tune looped under them
    alone = panel.export(str(tmp_path / "melody.mid"), with_drums=False)
    assert alone is not None and _bars(alone) == 2
    lane.close()


def test_export_offers_whole_loops_of_the_pattern_that_plays() -> None:
    from app.clips import MAX_EXPORT_BARS, export_bars

    assert export_bars(8, 2) == 8 and export_bars(8, 16) == 16 and export_bars(6, 4) == 8
    assert export_bars(250, 16) == MAX_EXPORT_BARS  # 256 is whole loops too
    assert export_bars(250, 12) == 252
    assert export_bars(250, 24) == 250  # 264 would be over the most the dialog takes
    assert export_bars(1, 2) == 2


def test_the_export_dialog_does_not_cut_a_longer_transition(ready_window, qtbot, monkeypatch) -> None:
    from PySide6.QtWidgets import QDialog

    from app.dialogs import ExportDialog

    w = ready_window
    c = w.controller
    w.settings.setValue("export/bars", 4)  # the length exported last
    with qtbot.waitSignal(c.transitionReady, timeout=60_000):
        c.make_transition(_eight_bars(), 8, 1)
    offered: list[int] = []

    def look(dialog: ExportDialog) -> int:
        offered.append(dialog.bars.value())
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(ExportDialog, "exec", look)
    w.actions.export_clip.trigger()
    assert offered == [8]


def test_a_clip_is_written_off_the_gui_thread(ready_window, qtbot, monkeypatch, tmp_path) -> None:
    from PySide6.QtWidgets import QDialog, QFileDialog

    from app import clips
    from app.dialogs import ExportDialog

    w = ready_window
    where = record_threads(monkeypatch, clips, "export")
    monkeypatch.setattr(ExportDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    target = tmp_path / "long.mid"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    said: list[str] = []
    w.controller.message.connect(lambda _level, text: said.append(text))
    w.actions.export_clip.trigger()
    qtbot.waitUntil(lambda: any(t.startswith("Exported") for t in said), timeout=10_000)
    assert where == ["groovefader-file-write"]
    assert read_clip(target).hits.sum() > 0
