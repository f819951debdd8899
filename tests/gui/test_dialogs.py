"""The shared Yes/No question before a deletion: No is the default answer."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.utils.ui.dialogs import confirm_destructive


def _answer_when_shown(click_yes: bool, shown: list[str]) -> None:
    """Click Yes, or the default button (what Enter presses), once the message box is up."""

    def press() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(10, press)
            return
        shown.append(f"{box.windowTitle()}|{box.text()}")
        if click_yes:
            box.button(QMessageBox.StandardButton.Yes).click()
        else:
            box.defaultButton().click()

    QTimer.singleShot(0, press)


def test_enter_keeps_the_data_and_yes_confirms(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    shown: list[str] = []
    _answer_when_shown(False, shown)
    assert confirm_destructive(parent, "Delete model", "Delete tiny.gguf?") is False
    _answer_when_shown(True, shown)
    assert confirm_destructive(parent, "Delete model", "Delete tiny.gguf?") is True
    assert shown == ["Delete model|Delete tiny.gguf?"] * 2
