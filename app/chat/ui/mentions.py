"""`@` in the chat input: a completer over the open tabs, the opened folder's files and
`project`. Choosing one writes "@name " into the text, where the question's attachments find it.

QCompleter completes a QLineEdit by itself; for the multi-line input it is driven here,
as in Qt's "Custom Completer" example: the popup follows the word under the cursor when
that word starts with "@", and Enter, Tab or a click puts the choice in.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, QStringListModel, Qt
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import QCompleter, QPlainTextEdit

_POPUP_KEYS = {Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab, Qt.Key.Key_Escape, Qt.Key.Key_Backtab}
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/")
MAX_VISIBLE = 10


class MentionCompleter(QObject):
    """Completes "@name" in a QPlainTextEdit from a list of names."""

    def __init__(self, edit: QPlainTextEdit) -> None:
        super().__init__(edit)
        self.edit = edit
        self.model = QStringListModel(self)
        self.completer = QCompleter(self.model, self)
        self.completer.setWidget(edit)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setMaxVisibleItems(MAX_VISIBLE)
        self.completer.activated[str].connect(self.insert)  # type: ignore[index]

    def set_names(self, names: Sequence[str]) -> None:
        if list(names) != self.model.stringList():
            self.model.setStringList(list(names))

    def names(self) -> list[str]:
        return self.model.stringList()

    def is_open(self) -> bool:
        popup = self.completer.popup()
        return popup is not None and popup.isVisible()

    def handles_key(self, event: QKeyEvent) -> bool:
        """Whether the open popup takes this key (the edit then leaves it alone)."""
        return self.is_open() and event.key() in _POPUP_KEYS

    def typed_prefix(self) -> str | None:
        """The name being typed after "@" at the cursor, or None when the cursor is not in one."""
        cursor = self.edit.textCursor()
        if cursor.hasSelection():
            return None
        block = cursor.block().text()
        column = cursor.positionInBlock()
        start = column
        while start > 0 and block[start - 1] in _NAME_CHARS:
            start -= 1
        if start == 0 or block[start - 1] != "@":
            return None
        if start >= 2 and (block[start - 2].isalnum() or block[start - 2] in "_@"):
            return None  # an e-mail address or "@@", not a mention
        return block[start:column]

    def update_popup(self) -> None:
        """Open, narrow or close the popup for what is typed at the cursor."""
        prefix = self.typed_prefix()
        popup = self.completer.popup()
        if prefix is None or not self.model.rowCount() or popup is None:
            if popup is not None:
                popup.hide()
            return
        self.completer.setCompletionPrefix(prefix)
        if self.completer.completionCount() == 0:
            popup.hide()
            return
        popup.setCurrentIndex(self.completer.completionModel().index(0, 0))
        rect = self.edit.cursorRect()
        rect.setWidth(max(220, popup.sizeHintForColumn(0) + 24))
        self.completer.complete(rect)

    def insert(self, name: str) -> None:
        """Replace the "@prefix" at the cursor with "@name "."""
        prefix = self.typed_prefix()
        if prefix is None:
            return
        cursor = self.edit.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, len(prefix))
        cursor.insertText(name + " ")
        self.edit.setTextCursor(cursor)
        popup = self.completer.popup()
        if popup is not None:
            popup.hide()
