"""The window's dialog-driven actions leave nothing behind."""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog

from app.dialogs import ExportDialog, NoteMapDialog, TransitionDialog


def test_dialogs_are_deleted_after_use(make_window, qtbot, monkeypatch) -> None:
    """Each use of Export…, Transition… and Edit note map… built a dialog parented to the
    window that lived as long as the window (found by the monkey as steady growth)."""
    w = make_window(load=False)
    seen: list[int] = []

    def answer(result: QDialog.DialogCode):
        def exec_(dialog) -> int:
            seen.append(len(w.findChildren(type(dialog))))  # alive while it is asked
            return result
        return exec_

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: ("", "")))
    ok, cancel = QDialog.DialogCode.Accepted, QDialog.DialogCode.Rejected
    for cls, result in ((ExportDialog, ok), (TransitionDialog, cancel), (NoteMapDialog, cancel)):
        monkeypatch.setattr(cls, "exec", answer(result))
    actions = w.actions
    for _ in range(5):
        for action in (actions.export_clip, actions.transition, actions.edit_note_map):
            action.trigger()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert seen == [1] * 15
    assert not w.findChildren(ExportDialog) and not w.findChildren(TransitionDialog)
    assert not w.findChildren(NoteMapDialog)


def test_shortcuts_help_lists_every_action_shortcut(make_window) -> None:
    """F1's list names each menu action's shortcut, Export audio's Ctrl+Shift+E and F1's own
    among them."""
    from PySide6.QtGui import QAction, QKeySequence

    from app.actions import SHORTCUTS_HELP

    w = make_window(load=False)
    missing = []
    for action in w.findChildren(QAction):
        shortcuts = action.shortcuts()
        if not shortcuts or not action.text():
            continue
        first = shortcuts[0].toString(QKeySequence.SequenceFormat.PortableText)
        if first not in SHORTCUTS_HELP:
            missing.append(f"{action.text()}: {first}")
    assert not missing, missing
