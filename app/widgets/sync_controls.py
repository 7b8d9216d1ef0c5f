"""The transport's sync controls: the Ableton Link toggle (with the number of other Link
apps) and tap tempo. Plain signals out; :mod:`app.sync_binding` applies them."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

LINK_TIP = ("Ableton Link: share tempo, beat phase and start/stop with Live, Bitwig or any Link "
            "app on the network")


class SyncControls(QWidget):
    """Signals:
        linkToggled(bool): the user turned Link on or off.
        tapped(): a tap on the Tap button (or the T key).
    """

    linkToggled = Signal(bool)
    tapped = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.link = QPushButton("Link")
        self.link.setCheckable(True)
        self.link.setToolTip(LINK_TIP)
        self.tap = QPushButton("Tap")
        self.tap.setShortcut(QKeySequence("T"))
        self.tap.setToolTip("Tap tempo: tap the beat a few times (T)")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.link)
        lay.addWidget(self.tap)
        self.link.toggled.connect(self.linkToggled.emit)
        self.tap.clicked.connect(lambda _checked=False: self.tapped.emit())

    def set_link(self, on: bool, peers: int | None = None) -> None:
        """Show Link on or off and, when on, how many other apps share the session."""
        self.link.blockSignals(True)
        self.link.setChecked(on)
        self.link.blockSignals(False)
        if on and peers is not None:
            self.link.setText(f"Link · {peers}")
            others = "no other Link app yet" if peers == 0 else f"{peers} other Link app(s)"
            self.link.setToolTip(f"{LINK_TIP}\nIn the session: {others}")
        else:
            self.link.setText("Link")
            self.link.setToolTip(LINK_TIP)
