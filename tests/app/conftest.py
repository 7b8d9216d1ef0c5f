"""Qt offscreen, a real (tiny or shipped) checkpoint, and windows that clean up after themselves."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before any Qt import: no display in CI

from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def checkpoint() -> Path:
    """$GROOVEFADER_TEST_CHECKPOINT, else the shipped checkpoint when present, else a tiny model
    trained on synthetic grooves (seconds)."""
    chosen = os.environ.get("GROOVEFADER_TEST_CHECKPOINT")
    if chosen:
        return Path(chosen)
    shipped = REPO / "checkpoints" / "default.pt"
    if shipped.is_file():
        return shipped
    import torch

    torch.set_num_threads(1)
    from tests.support.tiny_checkpoint import tiny_checkpoint

    return tiny_checkpoint("fader_vae")


@pytest.fixture
def settings_path(tmp_path: Path) -> str:
    return str(tmp_path / "settings.ini")


@pytest.fixture
def make_window(qtbot, settings_path: str) -> Iterator[Callable[..., object]]:
    """``make_window(checkpoint=None | path, link=False)`` → shown MainWindow; model loading
    starts when a checkpoint is given (wait on ``window.controller.modelReady``).

    The built-in kit starts off (written to the settings file unless a choice is saved
    there): opening the audio output costs each test time it does not need. ``kit_off=False``
    leaves the file as a new user has it (the kit on)."""
    from app.main import create_window, make_settings

    windows = []

    def make(checkpoint: Path | str | None = None, link: bool = False, load: bool = True,
             midi_api: str | None = None, kit_off: bool = True):
        store = make_settings(settings_path)
        if kit_off and not store.contains("audio/enabled"):
            store.setValue("audio/enabled", "false")
            store.sync()
        del store
        window, controller = create_window(checkpoint=str(checkpoint) if checkpoint else None,
                                           midi_api=midi_api, settings_path=settings_path,
                                           start_link=link)
        qtbot.addWidget(window)
        window.resize(1200, 720)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()  # shortcuts (Space, Ctrl+Z) go to the active window
        qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
        windows.append(window)
        if load:
            controller.load_model(checkpoint or Path(settings_path).parent / "no-such-checkpoint.pt")
        return window

    yield make
    for w in windows:
        w.close()


@pytest.fixture
def ready_window(make_window, checkpoint, qtbot):
    """A window whose model is loaded and whose first pattern is shown."""
    ctrl_ready = []

    win = make_window(checkpoint, load=False)
    c = win.controller
    c.modelReady.connect(lambda info: ctrl_ready.append(info))
    with qtbot.waitSignal(c.patternChanged, timeout=60_000, check_params_cb=lambda p: p.num_hits > 0):
        c.load_model(checkpoint)
    assert ctrl_ready, "pattern shown before the model was ready"
    return win
