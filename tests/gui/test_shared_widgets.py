"""The Qt helpers every feature shares: the Yes/No question before a deletion, push buttons."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.utils.ui.buttons import button_row, push_button
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


class _Forwarder(QObject):
    requested = Signal()


def test_a_button_calls_its_slot_or_forwards_to_a_signal_and_rows_keep_their_order(qtbot):
    clicks: list[str] = []
    forwarder = _Forwarder()
    forwarder.requested.connect(lambda: clicks.append("signal"))
    send = push_button("Send", lambda: clicks.append("slot"), object_name="SendButton", tooltip="Send (Ctrl+Enter)")
    stop = push_button("Stop", forwarder.requested)
    qtbot.addWidget(send)
    qtbot.addWidget(stop)
    qtbot.mouseClick(send, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(stop, Qt.MouseButton.LeftButton)
    assert clicks == ["slot", "signal"]
    assert (send.objectName(), send.toolTip(), stop.objectName(), stop.toolTip()) == (
        "SendButton",
        "Send (Ctrl+Enter)",
        "",
        "",
    )
    row = button_row(send, stop)
    assert [row.itemAt(i).widget() for i in range(2)] == [send, stop]
    assert row.count() == 3 and row.itemAt(2).spacerItem() is not None
