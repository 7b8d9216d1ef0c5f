"""The whole window against a real model: each control changes engine state as it should."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest

from app.clips import loop_to_bars
from app.knob_binding import TEMPERATURE
from app.presets import load_preset, save_preset
from engine.generation.knobs import TEMPERATURE_DEFAULT
from engine.music import attributes as attr_lib
from engine.music.drums import NOTE_MAP_PRESETS, Voice
from engine.music.midifile import read_clip, write_clip
from engine.music.pattern import Pattern


def _density(p: Pattern) -> float:
    return float(attr_lib.density(p.to_array()[None])[0])


def _drag_knob(knob, dy: int) -> None:
    c = knob.rect().center()
    QTest.mousePress(knob, Qt.MouseButton.LeftButton, pos=c)
    for i in range(1, 11):
        QTest.mouseMove(knob, c + QPoint(0, round(dy * i / 10)))
    QTest.mouseRelease(knob, Qt.MouseButton.LeftButton, pos=c + QPoint(0, dy))


def _settle(qtbot, window) -> None:
    """Wait until the generator worker is idle and its results reached the GUI thread."""
    gen = window.controller.generator
    assert gen is not None
    qtbot.waitUntil(lambda: gen.wait_idle(0.01), timeout=20_000)
    qtbot.wait(30)


def _written(qtbot, window) -> None:
    """Wait until the clips being written are on disk and their messages shown."""
    qtbot.waitUntil(lambda: window.controller.writes.wait_idle(0.01), timeout=20_000)
    qtbot.wait(30)


def test_startup_smoke(ready_window) -> None:
    w = ready_window
    c = w.controller
    assert w.isVisible() and not w.banner.isVisible()
    assert set(w.knobs.knobs) == {*c.info.attribute_names, "temperature"}
    assert w.grid.pattern is c.pattern and c.pattern.num_hits > 0
    assert c.z is not None and c.z.shape == (c.info.z_dim,)
    assert "measured" in w.measured.text()


def test_density_knob_up_raises_density_of_the_playing_pattern(ready_window, qtbot) -> None:
    w = ready_window
    c = w.controller
    knob = w.knobs.knobs["density"]
    _drag_knob(knob, +400)  # all the way down
    _settle(qtbot, w)
    low = c.pattern
    assert knob.value == knob.low and c.knobs["density"] == knob.low
    _drag_knob(knob, -400)  # all the way up
    _settle(qtbot, w)
    high = c.pattern
    assert knob.value == knob.high
    assert _density(high) > _density(low)
    assert w.grid.pattern is high  # shown …
    if c.transport.link is not None:
        assert c.transport.link.last_pattern is high  # … and handed to the sequencer


def test_pad_drag_changes_the_pattern(ready_window, qtbot) -> None:
    w = ready_window
    c = w.controller
    pad = w.pad_panel.pad
    seen = {c.pattern}
    for target in ((-0.9, -0.9), (0.9, 0.9), (-0.9, 0.9), (0.9, -0.9)):
        start = pad.to_widget(*c.pad).toPoint()
        end = pad.to_widget(*target).toPoint()
        QTest.mousePress(pad, Qt.MouseButton.LeftButton, pos=start)
        QTest.mouseMove(pad, (start + end) / 2)
        QTest.mouseMove(pad, end)
        QTest.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=end)
        _settle(qtbot, w)
        assert c.pad == pytest.approx(target, abs=0.02)
        seen.add(c.pattern)
    assert len(seen) > 1, "four corners of the latent plane all decoded the same pattern"


def test_grid_click_toggles_and_undo_restores(ready_window, qtbot) -> None:
    w = ready_window
    c = w.controller
    before = c.pattern
    step, voice = 5, int(Voice.HIGH_TOM)
    r = w.grid.cell_rect(step, voice)
    QTest.mouseClick(w.grid, Qt.MouseButton.LeftButton, pos=r.center().toPoint())
    after = c.pattern
    assert after.hits[step, voice] != before.hits[step, voice]
    assert after.num_hits == before.num_hits + (1 if after.hits[step, voice] else -1)
    assert w.grid.pattern is after
    _settle(qtbot, w)  # re-encoded: the pad and knobs follow the edit, the pattern stays
    assert c.pattern is after
    QTest.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert c.pattern == before and w.grid.pattern == before
    QTest.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert c.pattern == after


def test_export_writes_a_clip_midifile_reads_back(ready_window, tmp_path) -> None:
    c = ready_window.controller
    path = c.export_clip(tmp_path / "out.mid", 4)
    back = read_clip(path)
    want = loop_to_bars(c.pattern, 4)
    assert back.bars == 4
    np.testing.assert_array_equal(back.hits, want.hits)
    np.testing.assert_array_equal(back.midi_velocities(), want.midi_velocities())


def test_drag_out_carries_a_readable_clip_url(ready_window) -> None:
    w = ready_window
    mime = w.drag_handle.make_mime()
    assert mime is not None
    (url,) = mime.urls()
    path = Path(url.toLocalFile())
    assert path.suffix == ".mid" and read_clip(path).hits.sum() > 0


def test_drop_a_clip_loads_and_encodes_it(ready_window, qtbot, tmp_path) -> None:
    w = ready_window
    c = w.controller
    groove = Pattern.empty(bars=4)
    for s in range(0, 64, 2):
        groove = groove.with_hit(s, Voice.CLOSED_HAT, True, velocity=0.6)
    for s in (0, 6, 16, 22, 32, 38, 48, 54):
        groove = groove.with_hit(s, Voice.KICK, True, velocity=0.9)
    clip = write_clip(tmp_path / "groove.mid", groove, tempo_bpm=100)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(clip))])
    ev = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                    Qt.KeyboardModifier.NoModifier)
    w.dropEvent(ev)
    want = groove.bar_slice(0, 2)
    np.testing.assert_array_equal(c.pattern.hits, want.hits)
    np.testing.assert_array_equal(c.pattern.midi_velocities(), want.midi_velocities())
    z_before = c.z
    _settle(qtbot, w)
    assert not np.array_equal(c.z, z_before)  # encoded: the pad follows the clip
    knob = w.knobs.knobs["density"]
    assert c.knobs["density"] == pytest.approx(min(max(_density(want), knob.low), knob.high))
    assert knob.value == pytest.approx(c.knobs["density"])


def test_bad_clip_is_a_message_not_a_crash(ready_window, tmp_path) -> None:
    c = ready_window.controller
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    got: list[tuple[str, str]] = []
    c.message.connect(lambda level, text: got.append((level, text)))
    before = c.pattern
    c.load_clip(bad)
    assert got and got[-1][0] == "error" and "broken.mid" in got[-1][1]
    assert c.pattern is before


def test_presets_round_trip_and_apply(ready_window, qtbot, tmp_path) -> None:
    w = ready_window
    c = w.controller
    c.transport.set(tempo_bpm=97.0, swing=0.25, note_map=NOTE_MAP_PRESETS["Roland TD"])
    c.set_knob("density", w.knobs.knobs["density"].high)
    _settle(qtbot, w)
    saved = save_preset(tmp_path / "p.json", c.current_preset())
    preset = load_preset(saved)
    assert preset.tempo_bpm == 97.0 and preset.note_map.name == "Roland TD"
    c.transport.set(tempo_bpm=140.0)
    c.set_knob("density", w.knobs.knobs["density"].low)
    _settle(qtbot, w)
    c.apply_preset(preset)
    _settle(qtbot, w)
    assert c.transport["tempo_bpm"] == 97.0 and w.transport.tempo.value() == 97.0
    assert c.knobs["density"] == pytest.approx(preset.knobs["density"])
    assert w.knobs.knobs["density"].value == pytest.approx(preset.knobs["density"])
    np.testing.assert_allclose(c.z, preset.z)


def test_corners_blend_and_transition(ready_window, qtbot) -> None:
    w = ready_window
    c = w.controller
    w.pad_panel.mode_box.setCurrentIndex(1)  # corners mode through the widget
    a = c.pattern
    w.pad_panel.corner_buttons[3].click()  # current pattern → corner D (top-right)
    _settle(qtbot, w)
    assert c.pad_state.labels[3]
    pad = w.pad_panel.pad
    end = pad.to_widget(1.0, 1.0).toPoint() + QPoint(8, -8)  # beyond the corner: clamps to (1, 1)
    QTest.mousePress(pad, Qt.MouseButton.LeftButton, pos=end)
    QTest.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=end)
    _settle(qtbot, w)
    assert c.pad == (1.0, 1.0)
    # corner D holds A's latent: blending at D decodes A's z under the current knobs, with
    # the blend's own feel (its corners' attributes) for the knobs the user did not set
    g = c.generator.generator
    z, own = g.corner_blend(np.stack(c.pad_jobs.corner_latents()), 1.0, 1.0)
    np.testing.assert_allclose(z, g.encode(a))
    expect = g.decode(z, c.knobs, targets=c.knob_binding.state.targets(), own=own)
    assert c.pattern == expect
    with qtbot.waitSignal(c.transitionReady, timeout=20_000) as sig:
        c.make_transition(3, 4, 3)
    assert sig.args[0].bars == 4 and c.pattern is sig.args[0]


def test_missing_checkpoint_is_explained_and_editing_still_works(make_window, qtbot, tmp_path) -> None:
    w = make_window(tmp_path / "nope.pt")
    c = w.controller
    assert w.banner.isVisible() and "nope.pt" in w.banner.text() and "groovefader train" in w.banner.text()
    r = w.grid.cell_rect(0, int(Voice.KICK))
    QTest.mouseClick(w.grid, Qt.MouseButton.LeftButton, pos=r.center().toPoint())
    assert c.pattern.hits[0, Voice.KICK]
    path = c.export_clip(tmp_path / "k.mid", 2)
    assert read_clip(path).hits[0, Voice.KICK]
    c.randomize()  # needs a model: a message, not a crash
    assert c.pattern.num_hits == 1


def test_the_groove_comes_back_after_a_restart(make_window, checkpoint, qtbot) -> None:
    w = make_window(checkpoint, load=False)
    c = w.controller
    with qtbot.waitSignal(c.patternChanged, timeout=60_000, check_params_cb=lambda p: p.num_hits > 0):
        c.load_model(checkpoint)
    c.randomize()
    _settle(qtbot, w)
    c.set_knob("density", w.knobs.knobs["density"].high)
    _settle(qtbot, w)
    groove = c.pattern
    w.close()
    w2 = make_window(checkpoint, load=False)
    c2 = w2.controller
    with qtbot.waitSignal(c2.patternChanged, timeout=60_000, check_params_cb=lambda p: p.num_hits > 0):
        c2.load_model(checkpoint)
    assert c2.pattern == groove


def test_a_turned_knob_is_held_on_the_playing_groove(make_window, checkpoint, qtbot) -> None:
    """The density knob's setting is the groove's measured density, as near as the
    generator gets it; the model's own response to the same knob misses by more."""
    from engine.music import attributes as attr_lib

    w = make_window(checkpoint, load=False)
    c = w.controller
    with qtbot.waitSignal(c.patternChanged, timeout=60_000, check_params_cb=lambda p: p.num_hits > 0):
        c.load_model(checkpoint)
    g = c.generator.generator
    misses_held, misses_free = [], []
    for fraction in (0.1, 0.9):
        c.randomize()
        _settle(qtbot, w)
        lo, hi = c.info.ranges["density"]
        c.set_knob("density", lo + fraction * (hi - lo))
        _settle(qtbot, w)
        knob = c.knobs["density"]
        assert c.settings()["turning"] == "density"
        free = g.decode(c.z, c.knobs)
        misses_held.append(abs(attr_lib.density(c.pattern.to_array()[None])[0] - knob))
        misses_free.append(abs(attr_lib.density(free.to_array()[None])[0] - knob))
    # the turned knob is never missed by more than the model alone misses it (or the slack
    # the loop allows it while holding the others), and here it is met closer overall
    slack = c.generator.generator.feedback.slack * (hi - lo)
    for held_miss, free_miss in zip(misses_held, misses_free, strict=True):
        assert held_miss <= max(free_miss, slack) + 1e-9, (misses_held, misses_free)
    assert sum(misses_held) < sum(misses_free), (misses_held, misses_free)


def test_untouched_knobs_leave_the_groove_alone_and_hold_can_be_turned_off(make_window, checkpoint,
                                                                           qtbot) -> None:
    """A fresh groove plays as the model decodes it (no knob set); after the user sets
    density, it is held; with *Hold knobs* off the model answers the knob alone."""
    w = make_window(checkpoint, load=False)
    c = w.controller
    with qtbot.waitSignal(c.patternChanged, timeout=60_000, check_params_cb=lambda p: p.num_hits > 0):
        c.load_model(checkpoint)
    g = c.generator.generator
    c.randomize()
    _settle(qtbot, w)
    assert c.pattern == g.decode(c.z, c.knobs, targets=c.knob_binding.state.targets())  # nothing held
    lo, hi = c.info.ranges["density"]
    c.set_knob("density", lo + 0.9 * (hi - lo))
    _settle(qtbot, w)
    held = c.pattern
    # the knobs nobody set follow the data's trend from where the groove had them
    assert held == g.decode(c.z, c.knobs, turning="density",
                            targets=c.knob_binding.state.targets(g.data_trend))
    assert c.settings()["held"] == ["density"] and c.settings()["holding"] is True
    # Edit → Other knobs follow the data, off: they stay where the groove had them
    assert w.actions.follow_knobs in w.menuBar().actions()[1].menu().actions()
    w.actions.follow_knobs.trigger()
    _settle(qtbot, w)
    assert not c.knob_binding.following and c.settings()["following"] is False
    assert c.pattern == g.decode(c.z, c.knobs, turning="density", targets=c.knob_binding.state.targets())
    w.actions.follow_knobs.trigger()  # back on
    _settle(qtbot, w)
    assert c.knob_binding.following and w.actions.follow_knobs.isChecked()
    assert c.pattern == held
    # Edit → Feel knobs keep the groove: intensity edits the playing groove's velocities
    assert w.actions.keep_feel in w.menuBar().actions()[1].menu().actions()
    assert not w.actions.keep_feel.isChecked()
    w.actions.keep_feel.trigger()
    _settle(qtbot, w)
    assert c.knob_binding.keeping and c.settings()["keeping"] is True
    assert w.knobs.knobs["intensity"].detents == () and w.knobs.knobs["density"].detents != ()
    assert c.pattern == held  # density still walks
    w.actions.keep_feel.trigger()
    _settle(qtbot, w)
    assert not c.knob_binding.keeping and w.knobs.knobs["intensity"].detents != ()
    # Edit → Density and hats keep the groove: density adds hits to the groove playing
    assert w.actions.keep_hits in w.menuBar().actions()[1].menu().actions()
    w.actions.keep_hits.trigger()
    _settle(qtbot, w)
    assert c.knob_binding.keeping_hits and c.settings()["keeping_hits"] is True
    assert w.knobs.knobs["density"].detents == () and w.knobs.knobs["intensity"].detents != ()
    own, edited = (p.to_array()[..., :9] > 0.5 for p in (g.decode(c.z), c.pattern))
    knob = c.knobs["density"]
    if knob >= attr_lib.density(g.decode(c.z).to_array()[None])[0]:
        assert not (own & ~edited).any()  # every hit of the groove still plays
    assert abs(attr_lib.density(c.pattern.to_array()[None])[0] - knob) <= 0.5 / own.shape[0] + 1e-9
    w.actions.keep_hits.trigger()
    _settle(qtbot, w)
    assert not c.knob_binding.keeping_hits and c.pattern == held
    w.actions.hold_knobs.trigger()  # off
    _settle(qtbot, w)
    assert not c.knob_binding.holding and not w.actions.hold_knobs.isChecked()
    assert c.pattern == g.decode(c.z, c.knobs)
    # the knob shows it is held; a double-click releases it to the groove
    w.actions.hold_knobs.trigger()  # back on
    knob = w.knobs.knobs["density"]
    assert knob.held and not w.knobs.knobs["syncopation"].held
    QTest.mouseDClick(knob, Qt.MouseButton.LeftButton, pos=knob.rect().center())
    _settle(qtbot, w)
    assert not knob.held and c.knob_binding.held == set()
    assert c.knobs["density"] == pytest.approx(c.info.defaults["density"])
    assert np.isnan(c.knob_binding.state.targets()).all()
    assert c.pattern == g.decode(c.z, c.knobs, targets=c.knob_binding.state.targets())  # its own again
    c.set_knob("syncopation", c.info.ranges["syncopation"][1])
    c.reset_knobs()
    assert c.settings()["held"] == [] and not w.knobs.knobs["syncopation"].held
    # a double-click on temperature puts it back to its default (it is never held)
    temperature = w.knobs.knobs[TEMPERATURE]
    c.set_knob(TEMPERATURE, 1.0)
    assert temperature.value == 1.0
    QTest.mouseDClick(temperature, Qt.MouseButton.LeftButton, pos=temperature.rect().center())
    _settle(qtbot, w)
    assert c.knob_binding.temperature == TEMPERATURE_DEFAULT == temperature.value
    assert c.knob_binding.held == set()


def test_settings_persist_across_windows(make_window, qtbot, tmp_path) -> None:
    w = make_window(load=False)
    w.transport.tempo.setValue(133.0)
    w.transport.swing.setValue(20)
    w.transport.quantize.setCurrentText("beat")
    w.controller.transport.bindings.arm("density")
    w.controller.transport.handle_cc(0, 74, 10)
    w.close()
    w2 = make_window(load=False)
    assert w2.transport.tempo.value() == 133.0 and w2.controller.transport["tempo_bpm"] == 133.0
    assert w2.controller.transport["swing"] == pytest.approx(0.2)
    assert w2.transport.quantize.currentText() == "beat"
    assert w2.controller.transport.bindings.binding_of("density") == (0, 74)


def test_space_bar_toggles_play(make_window, qtbot) -> None:
    w = make_window(load=False)
    w.grid.setFocus()
    QTest.keyClick(w.grid, Qt.Key.Key_Space)
    assert w.controller.transport.playing
    QTest.keyClick(w.grid, Qt.Key.Key_Space)
    assert not w.controller.transport.playing


def test_heatmap_is_one_batch_off_the_gui_thread_and_matches_the_generator(ready_window, qtbot) -> None:
    w = ready_window
    c = w.controller
    box = w.pad_panel.heat_box
    with qtbot.waitSignal(c.pad_jobs.heatmapReady, timeout=30_000) as sig:
        box.setCurrentIndex(box.findData("density"))
    name, values = sig.args
    assert name == "density" and values.shape == (32, 32)
    g = c.generator.generator
    np.testing.assert_allclose(values, g.heatmap("density", 32, c.knobs))
    assert w.pad_panel.pad._heat is not None
    box.setCurrentIndex(0)
    assert w.pad_panel.pad._heat is None


def test_randomize_and_variation_move_through_latent_space(ready_window, qtbot) -> None:
    w = ready_window
    c = w.controller
    z0, p0 = c.z, c.pattern
    w.actions.randomize.trigger()
    _settle(qtbot, w)
    z1 = c.z
    assert not np.allclose(z1, z0) and c.pattern is not p0
    g = c.generator.generator
    if g.has_data_map:  # a training groove of the map, plus the map's noise (none by default)
        codes = g._bank.codes.astype(np.float64)
        noise = g.meta["data_map"]["config"]["randomize_noise"]
        gap = np.linalg.norm(codes - z1, axis=1).min()
        assert gap <= 1.5 * noise * np.sqrt(len(z1)) + 1e-6
    else:  # near a training code stored in the checkpoint: noise of std anchor_noise per dimension
        lat = g.meta["latent"]
        gap = np.linalg.norm(np.asarray(lat["anchors"]) - z1, axis=1).min()
        assert gap < 1.5 * lat["anchor_noise"] * np.sqrt(len(z1))
    w.actions.variation.trigger()
    _settle(qtbot, w)
    z2 = c.z
    # a variation stays nearer the pattern it varies than a fresh random draw typically is
    assert 0 < np.linalg.norm(z2 - z1) < np.linalg.norm(z1 - z0) + np.sqrt(len(z0))
    QTest.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_allclose(c.z, z1)


def test_export_action_asks_length_and_file(ready_window, qtbot, monkeypatch, tmp_path) -> None:
    from PySide6.QtWidgets import QDialog, QFileDialog

    from app.dialogs import ExportDialog

    w = ready_window
    target = tmp_path / "exported"  # no suffix: the action adds .mid

    def accept(self) -> int:  # the user types 3 bars and presses OK
        self.bars.setValue(3)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(ExportDialog, "exec", accept)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    w.actions.export_clip.trigger()
    _written(qtbot, w)
    back = read_clip(tmp_path / "exported.mid")
    np.testing.assert_array_equal(back.hits, loop_to_bars(w.controller.pattern, 3).hits)
    # the dialog asked about "exported", not "exported.mid": replacing that is asked here
    from PySide6.QtWidgets import QMessageBox

    (tmp_path / "exported.mid").write_bytes(b"a take worth keeping")
    asked: list[str] = []

    def answer(reply):
        def question(_parent, _title, text, *a, **k):
            asked.append(text)
            return reply
        return staticmethod(question)

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    w.actions.export_clip.trigger()
    assert asked == ["exported.mid already exists. Replace it?"]
    assert (tmp_path / "exported.mid").read_bytes() == b"a take worth keeping"
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    w.actions.export_clip.trigger()
    _written(qtbot, w)
    assert read_clip(tmp_path / "exported.mid").bars == 3


def test_corner_from_a_clip(ready_window, qtbot, monkeypatch, tmp_path) -> None:
    from PySide6.QtWidgets import QFileDialog

    w = ready_window
    c = w.controller
    clip = write_clip(tmp_path / "four.mid", Pattern.empty().with_hit(0, Voice.KICK, True))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(clip), "")))
    w.pad_panel.corner_buttons[0].menu().actions()[1].trigger()
    _settle(qtbot, w)
    assert c.pad_state.labels[0] == "four"
    assert w.pad_panel.pad._corner_labels[0] == "four"


def test_an_unexpected_error_in_a_slot_becomes_a_message(ready_window, qtbot) -> None:
    import sys

    from app.main import install_error_handler

    c = ready_window.controller
    old = sys.excepthook
    install_error_handler(c)
    try:
        got: list[tuple[str, str]] = []
        c.message.connect(lambda level, text: got.append((level, text)))
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())
        assert got and got[-1][0] == "error" and "boom" in got[-1][1]
    finally:
        sys.excepthook = old


def test_cli_screenshot_renders_the_ready_window(checkpoint, tmp_path) -> None:
    """``groovefader app --screenshot`` end to end, in a fresh process, as the README uses it."""
    import os
    import subprocess
    import sys

    from PySide6.QtGui import QImage

    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-m", "app", "app", "--checkpoint", str(checkpoint),
                           "--settings", str(tmp_path / "s.ini"), "--screenshot", str(out)],
                          env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    img = QImage(str(out))
    assert img.width() >= 1000 and img.height() >= 600
    assert out.stat().st_size < 300_000
    # dark theme: the top-left corner (menu bar background) is dark
    assert img.pixelColor(5, 30).lightness() < 80
    # a screenshot path that cannot be: one line, exit 1, and the run ends (it had hung)
    (tmp_path / "a-file").write_text("")
    impossible = tmp_path / "a-file" / "x.png"
    proc = subprocess.run([sys.executable, "-m", "app", "app", "--checkpoint", str(checkpoint),
                           "--settings", str(tmp_path / "s.ini"), "--screenshot", str(impossible)],
                          env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "cannot write screenshot" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-2000:]


def test_wheel_over_a_hit_sets_its_velocity_and_undo_restores(ready_window, qtbot) -> None:
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QWheelEvent

    w = ready_window
    c = w.controller
    before = c.pattern
    step, voice = map(int, np.argwhere(before.hits)[0])
    pos = w.grid.cell_rect(step, voice).center()

    def wheel(notches: int) -> None:
        ev = QWheelEvent(pos, w.grid.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120 * notches),
                         Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                         Qt.ScrollPhase.NoScrollPhase, False)
        w.grid.wheelEvent(ev)

    wheel(-2)
    wheel(-1)  # one gesture: one undo step
    vel = c.pattern.midi_velocities()[step, voice]
    assert vel == max(1, before.midi_velocities()[step, voice] - 24)
    assert c.pattern.num_hits == before.num_hits
    QTest.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert c.pattern == before


def test_note_map_dialog_changes_what_is_exported(ready_window, monkeypatch, tmp_path) -> None:
    import mido
    from PySide6.QtWidgets import QDialog

    from app.dialogs import NoteMapDialog

    w = ready_window
    c = w.controller

    def accept(self) -> int:  # the user moves the kick to note 24
        self.notes[int(Voice.KICK)].setValue(24)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(NoteMapDialog, "exec", accept)
    w.actions.edit_note_map.trigger()
    assert c.transport["note_map"].note(Voice.KICK) == 24
    if not c.pattern.hits[0, Voice.KICK]:
        c.toggle_cell(0, int(Voice.KICK))
    path = c.export_clip(tmp_path / "k.mid", 1)
    notes = {m.note for m in mido.MidiFile(path) if m.type == "note_on" and m.velocity > 0}
    assert 24 in notes and 36 not in notes


def test_the_gui_thread_never_decodes(ready_window, qtbot) -> None:
    import threading

    w = ready_window
    c = w.controller
    g = c.generator.generator
    threads: list[str] = []
    # decodes, encodes, and the searches of the training grooves (Randomize with a voice
    # locked, Variation)
    watched = ("decode", "encode", "sample_like_data", "variation")

    def on_thread(real):
        def call(*a, **k):
            threads.append(threading.current_thread().name)
            return real(*a, **k)
        return call

    for name in watched:
        setattr(g, name, on_thread(getattr(g, name)))
    try:
        c.toggle_lock(int(Voice.KICK))
        w.actions.randomize.trigger()
        _settle(qtbot, w)
        c.toggle_lock(int(Voice.KICK))
        c.variation()
        _settle(qtbot, w)
        _drag_knob(w.knobs.knobs["syncopation"], -60)
        _settle(qtbot, w)  # (latest wins: without settling, the pad's decode could replace the knob's)
        pad = w.pad_panel.pad
        QTest.mouseClick(pad, Qt.MouseButton.LeftButton, pos=pad.to_widget(0.5, 0.5).toPoint())
        _settle(qtbot, w)
        r = w.grid.cell_rect(2, int(Voice.RIDE))
        QTest.mouseClick(w.grid, Qt.MouseButton.LeftButton, pos=r.center().toPoint())
        _settle(qtbot, w)
    finally:
        for name in watched:
            delattr(g, name)
    assert len(threads) >= 7
    assert threading.main_thread().name not in threads
    assert set(threads) == {"groovefader-generator"}


@pytest.mark.skipif(Path("/dev/snd/seq").exists(), reason="this machine has an ALSA sequencer")
def test_no_midi_backend_is_explained_and_the_app_still_works(make_window, checkpoint, qtbot,
                                                              tmp_path) -> None:
    w = make_window(checkpoint, link=True, load=False, midi_api="alsa")
    c = w.controller
    with qtbot.waitSignal(c.patternChanged, timeout=60_000, check_params_cb=lambda p: p.num_hits > 0):
        c.load_model(checkpoint)
    qtbot.waitUntil(lambda: "no ALSA sequencer" in w.transport.status.text(), timeout=30_000)
    assert "jack" in w.transport.status.text().lower()
    w.transport.play_button.click()  # pressing play without a port: no crash
    _drag_knob(w.knobs.knobs["density"], -100)
    _settle(qtbot, w)
    assert read_clip(c.export_clip(tmp_path / "still.mid", 2)).hits.sum() == c.pattern.num_hits


def test_load_clip_and_transition_dialogs(ready_window, qtbot, monkeypatch, tmp_path) -> None:
    from PySide6.QtWidgets import QDialog, QFileDialog

    from app.dialogs import TransitionDialog

    w = ready_window
    c = w.controller
    sparse = Pattern.empty().with_hit(0, Voice.KICK, True).with_hit(16, Voice.KICK, True)
    dense = sparse
    for s in range(32):
        dense = dense.with_hit(s, Voice.CLOSED_HAT, True, velocity=0.7)
    a_path = write_clip(tmp_path / "a.mid", sparse)
    b_path = write_clip(tmp_path / "b.mid", dense)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(a_path), "")))
    w.actions.load_clip.trigger()
    np.testing.assert_array_equal(c.pattern.hits, sparse.hits)
    _settle(qtbot, w)

    def accept(self) -> int:  # B = a clip, strategy 1, 4 bars
        self.path.setText(str(b_path))
        self.source.setCurrentIndex(self.source.findData("file"))
        self.strategy.setCurrentIndex(self.strategy.findData(1))
        self.bars.setValue(4)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(TransitionDialog, "exec", accept)
    with qtbot.waitSignal(c.transitionReady, timeout=30_000) as sig:
        w.actions.transition.trigger()
    out: Pattern = sig.args[0]
    assert out.bars == 4 and c.pattern is out and w.grid.pattern is out
    # the transition moves from A towards B: its last bar is busier than its first
    first, last = out.bar_slice(0, 1), out.bar_slice(3, 1)
    assert last.num_hits >= first.num_hits


def test_a_broken_checkpoint_is_explained(make_window, qtbot, tmp_path) -> None:
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint at all, just bytes")
    w = make_window(load=False)
    c = w.controller
    with qtbot.waitSignal(c.modelFailed, timeout=60_000) as sig:
        c.load_model(bad)
    assert "broken.pt" in sig.args[0] and "Cannot load model" in sig.args[0]
    assert w.banner.isVisible() and "broken.pt" in w.banner.text()
    assert c.info is None and c.generator is None


def test_the_window_is_built_without_importing_torch(tmp_path) -> None:
    """Window first: nothing on the way to the first paint imports torch (it loads later, on a thread)."""
    import os
    import subprocess
    import sys

    code = ("import sys\n"
            "from PySide6.QtWidgets import QApplication\n"
            "app = QApplication([])\n"
            "from app.main import create_window\n"
            f"w, c = create_window(settings_path={str(tmp_path / 's.ini')!r}, start_link=False)\n"
            "w.show(); app.processEvents()\n"
            "print('torch' in sys.modules, w.grid.shown_pattern is not None)\n")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-1000:]
    assert out.stdout.split() == ["False", "True"]


def test_the_knobs_show_their_detents_around_the_groove(make_window, checkpoint, qtbot) -> None:
    """Ticks on each knob where a turn plays another recorded groove: around the playing
    groove's value, the turned knob's staying where its turn began; none with Hold off."""
    w = make_window(checkpoint, load=False)
    c = w.controller
    with qtbot.waitSignal(c.patternChanged, timeout=60_000, check_params_cb=lambda p: p.num_hits > 0):
        c.load_model(checkpoint)
    knob = w.knobs.knobs["density"]
    if not c.generator.generator.has_data_map:
        assert c.info.detents == 0 and knob.detents == ()  # the model's own knob: no detents
        return
    c.randomize()
    _settle(qtbot, w)
    lo, hi = c.info.ranges["density"]
    own = knob.measured
    assert c.info.detents == c.generator.generator.walk_settings.anchors
    assert knob.detents[0] == pytest.approx(lo) and knob.detents[-1] == pytest.approx(hi)
    if lo <= own <= hi:
        assert min(abs(d - own) for d in knob.detents) < 1e-9  # the groove's own value is one
    before = knob.detents
    c.set_knob("density", lo + 0.9 * (hi - lo))
    _settle(qtbot, w)
    assert knob.detents == before  # the turn started there: its detents stay
    # every knob's detents lie around the groove the generator's walk starts from
    from engine.generation.groove_bank import detent_values

    g = c.generator.generator
    centres = g.playing_attributes(c.z)
    assert c.info.kept == tuple(g.walk_settings.keep)
    for name in c.info.attribute_names:
        expected = () if name in c.info.kept else detent_values(centres[name], *c.info.ranges[name],
                                                                 c.info.detents)
        assert w.knobs.knobs[name].detents == pytest.approx(tuple(expected)), name
    assert w.knobs.knobs["temperature"].detents == ()
    w.actions.hold_knobs.trigger()  # off: the model's own knob, no detents
    _settle(qtbot, w)
    assert knob.detents == ()
    w.actions.hold_knobs.trigger()
    _settle(qtbot, w)
    assert knob.detents == before
