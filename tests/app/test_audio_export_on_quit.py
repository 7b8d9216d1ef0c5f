"""Quitting while *Export audio…* renders (256 bars: seconds) waits for the file, as a clip
export does: the WAV asked for is written whole, and nothing is printed on the way out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_closing_the_window_during_an_audio_export_writes_the_whole_file(tmp_path) -> None:
    from engine.audio.render import read_wav

    out = tmp_path / "long.wav"
    code = ("from PySide6.QtCore import QTimer\n"
            "from PySide6.QtWidgets import QApplication\n"
            "from app.main import create_window, make_settings\n"
            f"settings = {str(tmp_path / 's.ini')!r}\n"
            "s = make_settings(settings); s.setValue('audio/enabled', 'false'); s.sync(); del s\n"
            "app = QApplication([])\n"
            "w, c = create_window(settings_path=settings, start_link=False)\n"
            "w.show()\n"
            f"QTimer.singleShot(0, lambda: (w.audio_export.export({str(out)!r}, 256), w.close()))\n"
            "raise SystemExit(app.exec())\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stderr[-1000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-1000:]
    audio, rate = read_wav(out)
    assert len(audio) == round(256 * 4 * 60 / 120 * rate)  # 256 bars at the default 120 BPM
