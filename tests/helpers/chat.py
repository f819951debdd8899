"""Driving the chat pane like a person would: clicking links in messages and labels."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QLabel, QTextBrowser, QWidget

from app.chat.conversation import Turn
from app.chat.ui.message_body import MessageBody


def settle(qtbot, widget: QWidget) -> None:
    """Wait until a widget added to the live panel is shown and laid out."""
    qtbot.waitUntil(widget.isVisible)
    qtbot.wait(20)


def click_anchor(qtbot, target: QTextBrowser | MessageBody, href: str) -> None:
    """Click a link in a rendered message (or one of its browsers) the way a mouse would."""
    browsers = target.browsers() if isinstance(target, MessageBody) else [target]
    for browser in browsers:
        settle(qtbot, browser)
        block = browser.document().begin()
        while block.isValid():
            it = block.begin()
            while not it.atEnd():
                fragment = it.fragment()
                if fragment.charFormat().anchorHref() == href:
                    cursor = QTextCursor(browser.document())
                    cursor.setPosition(fragment.position() + 1)
                    point = browser.cursorRect(cursor).center()
                    qtbot.mouseClick(browser.viewport(), Qt.MouseButton.LeftButton, pos=point)
                    return
                it += 1
            block = block.next()
    raise AssertionError(f"no link {href!r} in the message")


def click_label_link(qtbot, label: QLabel) -> None:
    """Click the link a label shows (Edit, Regenerate) at its start."""
    settle(qtbot, label)
    point = QPoint(label.contentsRect().left() + 6, label.height() // 2)  # on the link text
    qtbot.mouseClick(label, Qt.MouseButton.LeftButton, pos=point)


class ConversationRecorder:
    """A ConversationObserver that writes down what it is told, for asserting on."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []
        self.texts: list[str] = []

    def turn_added(self, turn: Turn) -> None:
        self.events.append(("added", turn.role))

    def text_appended(self, turn: Turn, text: str) -> None:
        self.texts.append(text)

    def turn_finished(self, turn: Turn) -> None:
        self.events.append(("finished", turn.footer))

    def turn_removed(self, turn: Turn) -> None:
        self.events.append(("removed", turn.role))

    def truncated(self, after: Turn | None, removed: list[Turn]) -> None:
        self.events.append(("truncated", [t.role for t in removed]))

    def cleared(self) -> None:
        self.events.append(("cleared", None))
