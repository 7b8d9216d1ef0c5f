"""``--screenshot`` grabs the window a player sees: both lanes' models loaded and drawn."""

from __future__ import annotations

from pathlib import Path


def test_the_screenshot_waits_for_the_melody_lane(make_window, checkpoint, qtbot, tmp_path: Path) -> None:
    from app.screenshot import ScreenshotWhenReady

    w = make_window(checkpoint, load=False)
    c = w.controller
    lane = w.melody.lane
    seen: list[bool] = []
    grab = w.grab
    w.grab = lambda: (seen.append(lane.melody is not None), grab())[1]  # what was drawn when grabbed
    out = tmp_path / "shot.png"
    shot = ScreenshotWhenReady(w, c, out, timeout_s=120)
    c.load_model(checkpoint)
    qtbot.waitUntil(out.exists, timeout=120_000)
    assert seen == [True], "grabbed before the melody lane had a melody"
    assert shot.exit_code == 0
