"""The app's start: the modules it imports before Qt exist and do not import Qt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.main import BEFORE_QT

ROOT = Path(__file__).resolve().parents[2]


def test_the_modules_imported_before_qt_exist_and_leave_qt_out() -> None:
    code = ("import importlib, sys\n"
            f"for name in {BEFORE_QT!r}:\n"
            "    importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'torch')))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"
