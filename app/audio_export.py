"""*File → Export audio…*: N bars of the groove as it plays, rendered with the kit (the
built-in one, or the chosen soundfont's).

What plays is what is written: tempo, swing, groove amount, velocity scale and the muted
voices from the transport, the pattern from the controller, the kit mix's levels and pans.
Rendering runs on a worker thread (a few seconds for a long clip); the result comes back
as one message. The worker is not a daemon: quitting waits for it, so the WAV asked for is
written whole.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QWidget

from app import clips, settings_check
from app.controller import Controller
from app.dialogs import ExportDialog, save_path
from engine.audio.kit import KitMix
from engine.errors import GrooveFaderError
from engine.music.pattern import Pattern
from engine.realtime.steps import Controls

WAV_FILTER = "WAV audio (*.wav)"


class AudioExport(QObject):
    """The *Export audio…* action and the render behind it.

    Signals:
        finished(str, str): level, one line (the file written, or why not).
    """

    finished = Signal(str, str)

    def __init__(self, window: QWidget, controller: Controller, settings: QSettings,
                 silenced: Callable[[], frozenset[int]], parent: QObject | None = None) -> None:
        super().__init__(parent or window)
        self.window, self.controller, self.settings, self._silenced = window, controller, settings, silenced
        self.action = QAction("Export audio…", window)
        self.action.setShortcut(QKeySequence("Ctrl+Shift+E"))
        tip = "Write N bars as a WAV file played by the built-in kit, as it plays now (Ctrl+Shift+E)"
        self.action.setToolTip(tip)
        self.action.setStatusTip(tip)
        self.action.triggered.connect(lambda _checked=False: self.ask())
        window.addAction(self.action)
        self.finished.connect(controller.message)  # queued to the GUI thread
        self._worker: threading.Thread | None = None

    def ask(self) -> None:
        """Ask for the length and the file, then export."""
        saved = settings_check.int_value(self.settings.value("export/bars", 8), 8, 1, clips.MAX_EXPORT_BARS)
        dialog = ExportDialog(clips.export_bars(saved, self.controller.pattern.bars), self.window)
        dialog.setWindowTitle("Export audio")
        dialog.deleteLater()
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        bars = dialog.bars.value()
        self.settings.setValue("export/bars", bars)
        folder = str(self.settings.value("dirs/export", str(Path.home())))
        default = str(Path(folder) / f"groovefader-{bars}bars.wav")
        path = save_path(self.window, "Export audio", default, WAV_FILTER, (".wav",))
        if not path:
            return
        self.settings.setValue("dirs/export", str(Path(path).parent))
        self.export(path, bars)

    def controls(self) -> Controls:
        """The transport's feel and the muted voices, as the sequencer plays them."""
        t = self.controller.transport
        return Controls(tempo_bpm=float(t["tempo_bpm"]), swing=float(t["swing"]), groove=float(t["groove"]),
                        velocity_scale=float(t["velocity_scale"]), muted_voices=self._silenced())

    def export(self, path: str | Path, bars: int) -> threading.Thread:
        """Render ``bars`` bars of the current pattern to ``path`` on a worker thread."""
        from app.audio_binding import stored_mix, stored_soundfont

        pattern, controls, mix = self.controller.pattern, self.controls(), stored_mix(self.settings)
        soundfont = stored_soundfont(self.settings)
        self._worker = threading.Thread(target=self._render,
                                        args=(Path(path), pattern, controls, bars, mix, soundfont),
                                        name="groovefader-audio-export", daemon=False)
        self._worker.start()
        return self._worker

    def _render(self, path: Path, pattern: Pattern, controls: Controls, bars: int, mix: KitMix,
                soundfont: str | None = None) -> None:
        from engine.audio.kit import DEFAULT_RATE_HZ
        from engine.audio.render import render_wav
        from engine.audio.soundfont import kit_with_soundfont

        kit, note = kit_with_soundfont(DEFAULT_RATE_HZ, soundfont)  # the kit that plays live
        try:
            written = render_wav(path, pattern, controls, bars, mix=mix, kit=kit, force=True)
        except (GrooveFaderError, ValueError) as err:
            self._tell("error", f"Export audio: {err}")
            return
        done = f"Exported {bars} bars of audio to {written}"
        self._tell("warning" if note else "info", f"{done} ({note})" if note else done)

    def _tell(self, level: str, text: str) -> None:
        with contextlib.suppress(RuntimeError):  # the window is gone: nobody to tell
            self.finished.emit(level, text)
