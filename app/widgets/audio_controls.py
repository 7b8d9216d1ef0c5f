"""The transport's kit controls: the built-in drum kit on or off, and its volume.

Plain signals out; :mod:`app.audio_binding` sends them to the sequencer and shows back
where the kit plays (or in one line why it cannot).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSlider, QWidget

KIT_TIP = ("Kit: hear the groove on the built-in drum kit, no DAW or synth needed (on JACK: audio "
           "ports beside the MIDI port, each hit on its note's frame; else the system's audio device); "
           "right-click: kit mix (level and pan per voice)")


class AudioControls(QWidget):
    """Signals:
        enabledChanged(bool): the user turned the kit on or off.
        volumeChanged(float): the kit's volume, 0..1.
        mixRequested(): right-click on Kit: open the kit mix.
    """

    enabledChanged = Signal(bool)
    volumeChanged = Signal(float)
    mixRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kit = QPushButton("Kit")
        self.kit.setCheckable(True)
        self.kit.setToolTip(KIT_TIP)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(80)
        self.volume.setMaximumWidth(90)
        self.volume.setToolTip("Kit volume")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.kit)
        lay.addWidget(self.volume)
        self.kit.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.kit.customContextMenuRequested.connect(lambda _pos: self.mixRequested.emit())
        self.kit.toggled.connect(self.enabledChanged.emit)
        self.volume.valueChanged.connect(lambda v: self.volumeChanged.emit(v / 100))

    def set_state(self, enabled: bool, volume: float) -> None:
        """Show settings without echoing them back as signals."""
        for widget, apply in ((self.kit, lambda: self.kit.setChecked(enabled)),
                              (self.volume, lambda: self.volume.setValue(round(volume * 100)))):
            widget.blockSignals(True)
            apply()
            widget.blockSignals(False)

    def set_report(self, line: str) -> None:
        """Where the kit plays, or why it cannot (tooltip; "" = off)."""
        self.kit.setToolTip(f"{KIT_TIP}\n{line}" if line else KIT_TIP)
