"""Start-up: show the window first, then load torch and the model in the background.

Importing torch costs 1–1.5 s here, so :func:`run` builds and shows the window (widgets,
theme, settings) before anything touches the model, then asks the controller to load the
checkpoint on a thread. ``--screenshot`` waits until the model is loaded and a pattern is
painted, grabs the window to a PNG and quits.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
import time
from pathlib import Path

_T0 = time.perf_counter()  # as close to process start as this module gets

log = logging.getLogger(__name__)

LINK_DELAY_MS = 200  # after the model is ready: time for the first decode and paint

# Modules the window uses that do not use Qt, imported before Qt: once PySide6 is imported
# it reads the source of every module imported after it (for its __feature__ switches),
# about 0.2 ms each; numpy, mido and the engine are some 250 modules.
BEFORE_QT = ("numpy", "mido", "engine.music.pattern", "engine.music.melody", "engine.music.lanes_clip",
             "engine.generation.knobs", "engine.generation.melody_pad", "engine.generation.voice_lock",
             "engine.ports.factory", "engine.audio.live", "engine.realtime.melody_lane",
             "engine.sync.tap_tempo")


def make_settings(path: str | None):
    """QSettings in an INI file (``path``) or the user's store for groovefader."""
    from PySide6.QtCore import QSettings

    if path:
        return QSettings(str(path), QSettings.Format.IniFormat)
    return QSettings("groovefader", "groovefader")


def create_window(*, checkpoint: str | None = None, midi_api: str | None = None,
                  settings_path: str | None = None, start_link: bool = True):
    """Build the controller and window (the QApplication must exist); returns (window, controller)."""
    from app.controller import Controller, default_checkpoint
    from app.main_window import MainWindow
    from app.sequencer_link import SequencerLink
    from app.transport_state import TransportState

    settings = make_settings(settings_path)
    saved_api = str(settings.value("transport/api", "auto"))
    api = midi_api or (saved_api if saved_api != "auto" else None)
    link = SequencerLink(api=api) if start_link else None
    controller = Controller(TransportState(link))
    if link is not None:
        # The clock process starts once the model is in and its first pattern painted (or
        # the model cannot load): on 2 cores, spawning it beside torch's import slows both.
        from PySide6.QtCore import QTimer

        controller.modelReady.connect(lambda _info: QTimer.singleShot(LINK_DELAY_MS, link.start))
        controller.modelFailed.connect(lambda _text: link.start())
    window = MainWindow(controller, settings)
    if midi_api:
        window.transport.api.blockSignals(True)
        window.transport.api.setCurrentText(midi_api)
        window.transport.api.blockSignals(False)
    path = checkpoint or settings.value("model/checkpoint") or default_checkpoint()
    window.checkpoint_path = str(path)
    return window, controller


def install_error_handler(controller) -> None:
    """One top-level handler: an unexpected error in a slot is logged, the sequencer is told
    to stop (it sends every note-off) and the window shows one line; the app keeps running."""
    previous = sys.excepthook

    def handle(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        log.error("unexpected error", exc_info=(exc_type, exc, tb))
        try:
            if controller.transport.playing:
                controller.transport.set_playing(False)
            controller.message.emit("error", f"Unexpected error: {exc_type.__name__}: {exc} "
                                              "(playback stopped; details in the log)")
        except Exception:  # the handler itself must never raise
            previous(exc_type, exc, tb)

    sys.excepthook = handle


def run(args: argparse.Namespace) -> int:
    if args.screenshot or getattr(args, "startup_report", False):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    for name in BEFORE_QT:  # only an earlier import: a module gone or failing fails where it is used
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.theme import apply_dark_theme

    logging.basicConfig(level=logging.WARNING, format="groovefader: %(message)s")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("groovefader")
    apply_dark_theme(app)
    window, controller = create_window(checkpoint=args.checkpoint, midi_api=args.midi_api,
                                       settings_path=args.settings)
    install_error_handler(controller)
    if args.screenshot:
        window.resize(1280, 760)
    window.show()
    app.processEvents()  # expose and paint the window before the model loader competes for the GIL
    shown = time.perf_counter() - _T0
    log.info("window shown after %.3f s", shown)
    if args.checkpoint:
        window.settings.setValue("model/checkpoint", str(args.checkpoint))
    QTimer.singleShot(0, lambda: controller.load_model(window.checkpoint_path))
    if getattr(args, "startup_report", False):
        from app.startup_report import StartupReport

        report = StartupReport(window, controller)
        code = app.exec()
        return report.exit_code if code == 0 else code
    if args.screenshot:
        from app.screenshot import ScreenshotWhenReady

        shot = ScreenshotWhenReady(window, controller, Path(args.screenshot), args.screenshot_timeout)
        code = app.exec()
        return shot.exit_code if code == 0 else code
    return app.exec()
