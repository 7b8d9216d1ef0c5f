"""The dark look of the instrument: Fusion style, one palette, one accent colour.

Colours live here so widgets paint with the same few tones (a dim background for empty
cells, one accent whose brightness carries velocity or heat).
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BACKGROUND = QColor(30, 32, 36)
PANEL = QColor(40, 43, 48)
CELL_EMPTY = QColor(52, 56, 62)
GRID_LINE = QColor(70, 75, 84)
BAR_LINE = QColor(140, 146, 158)
TEXT = QColor(222, 225, 230)
TEXT_DIM = QColor(150, 156, 166)
ACCENT = QColor(255, 153, 51)  # hits, knob arcs, pad cursor
PLAYHEAD = QColor(120, 200, 255)
ERROR = QColor(255, 95, 95)
OK = QColor(120, 220, 140)


def apply_dark_theme(app: QApplication) -> None:
    """Fusion + a dark palette; no platform theme dependence, so screenshots match."""
    app.setStyle("Fusion")
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: BACKGROUND,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: QColor(24, 26, 29),
        QPalette.ColorRole.AlternateBase: PANEL,
        QPalette.ColorRole.ToolTipBase: PANEL,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: PANEL,
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: ERROR,
        QPalette.ColorRole.Highlight: ACCENT.darker(130),
        QPalette.ColorRole.HighlightedText: QColor(20, 20, 20),
        QPalette.ColorRole.PlaceholderText: TEXT_DIM,
    }
    for role, colour in roles.items():
        pal.setColor(role, colour)
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, TEXT_DIM.darker(130))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, TEXT_DIM.darker(130))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, TEXT_DIM.darker(130))
    app.setPalette(pal)
    app.setStyleSheet(
        "QGroupBox { border: 1px solid #3a3e45; border-radius: 6px; margin-top: 14px; padding: 6px; }"
        "QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; color: #aab0ba; }"
        "QToolTip { border: 1px solid #555; }"
        "QLabel#banner { background: #4a2a20; color: #ffd9c2; border: 1px solid #a0503a;"
        " border-radius: 4px; padding: 6px; }"
        "QPushButton:checked { background: #c06a1e; color: #101010; }"
    )
