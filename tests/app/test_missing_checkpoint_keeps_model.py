"""A checkpoint path with no file behind it (deleted since it was chosen, or a folder) while
a model plays: the model plays on and the window says so; nothing says "no model"."""

from __future__ import annotations


def test_a_missing_drum_checkpoint_keeps_the_model_that_plays(ready_window, qtbot, tmp_path) -> None:
    w = ready_window
    c = w.controller
    generator = c.generator
    failed: list[str] = []
    c.modelFailed.connect(failed.append)
    for path in (tmp_path / "gone.pt", tmp_path):
        with qtbot.waitSignal(c.model.refused, timeout=5_000) as sig:
            c.load_model(path)
        assert f"No model checkpoint at {path}." in sig.args[0]
        assert sig.args[0].endswith(f"Keeping {c.model.path}.")
    assert not failed and not w.banner.isVisible()
    assert w.pad_panel.pad._enabled_text == ""  # no "No model loaded" over a pad that plays
    assert c.generator is generator


def test_a_missing_melody_checkpoint_keeps_the_melody_model(ready_window, qtbot, tmp_path) -> None:
    w = ready_window
    lane, panel = w.melody.lane, w.melody.panel
    qtbot.waitUntil(lambda: lane.ready and panel.randomize_button.isEnabled(), timeout=60_000)
    failed: list[str] = []
    lane.modelFailed.connect(failed.append)
    with qtbot.waitSignal(lane.model.refused, timeout=5_000) as sig:
        lane.load_model(tmp_path / "gone.pt")
    assert "No melody model at" in sig.args[0] and sig.args[0].endswith(f"Keeping {lane.model.path}.")
    assert not failed and lane.ready
    assert panel.randomize_button.isEnabled() and panel.pad.isEnabled()
    assert panel.pad._enabled_text == ""
