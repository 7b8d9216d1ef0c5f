"""The kit's mixer: a level and a pan per voice (right-click the transport's Kit button).

Plain signals out; :mod:`app.audio_binding` applies the mix to the playing kit, and the
audio export renders with it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QGridLayout, QLabel, QPushButton, QSlider, QWidget

from engine.audio.kit import DEFAULT_LEVELS, DEFAULT_PANS, KitMix
from engine.music.drums import NUM_VOICES, VOICE_LABELS


class KitMixDialog(QDialog):
    """Nine level faders (0–100 %) and pans (L 100 … R 100), applied as they move.

    Signals:
        mixChanged(object): levels and pans as a :class:`KitMix` (the volume is the caller's).
    """

    mixChanged = Signal(object)

    def __init__(self, mix: KitMix, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Kit mix")
        self._volume = mix.volume
        self.levels: list[QSlider] = []
        self.pans: list[QSlider] = []
        grid = QGridLayout(self)
        grid.addWidget(QLabel("Level"), 0, 1)
        grid.addWidget(QLabel("Pan"), 0, 2)
        for voice in range(NUM_VOICES):
            level, pan = QSlider(Qt.Orientation.Horizontal), QSlider(Qt.Orientation.Horizontal)
            level.setRange(0, 100)
            pan.setRange(-100, 100)
            level.setMinimumWidth(140)
            pan.setMinimumWidth(100)
            level.setToolTip(f"{VOICE_LABELS[voice]}: level")
            pan.setToolTip(f"{VOICE_LABELS[voice]}: pan (left … right)")
            grid.addWidget(QLabel(VOICE_LABELS[voice]), voice + 1, 0)
            grid.addWidget(level, voice + 1, 1)
            grid.addWidget(pan, voice + 1, 2)
            self.levels.append(level)
            self.pans.append(pan)
        reset = QPushButton("Reset")
        reset.clicked.connect(
            lambda: self.set_mix(KitMix(DEFAULT_LEVELS, DEFAULT_PANS, self._volume), emit=True))
        grid.addWidget(reset, NUM_VOICES + 1, 2)
        self.set_mix(mix)
        for slider in (*self.levels, *self.pans):
            slider.valueChanged.connect(lambda _v: self.mixChanged.emit(self.mix()))

    def mix(self) -> KitMix:
        return KitMix(tuple(s.value() / 100 for s in self.levels), tuple(s.value() / 100 for s in self.pans),
                      self._volume)

    def set_mix(self, mix: KitMix, emit: bool = False) -> None:
        self._volume = mix.volume
        for sliders, values in ((self.levels, mix.levels), (self.pans, mix.pans)):
            for slider, value in zip(sliders, values, strict=True):
                slider.blockSignals(True)
                slider.setValue(round(value * 100))
                slider.blockSignals(False)
        if emit:
            self.mixChanged.emit(self.mix())
