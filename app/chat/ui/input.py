"""The message box under the conversation: Ctrl+Enter sends, Enter adds a line, Esc stops.

Above the text, the chips of what goes with the message (app/chat/ui/chips.py); `@` opens
a completer over files to attach (app/chat/ui/mentions.py). The input shows and forwards:
what is attached is decided by the question's attachments owner (app/chat/ui/question_attachments.py).
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.chat.attachments.rules import Chip
from app.chat.ui.chips import ChipBar
from app.chat.ui.mentions import MentionCompleter
from app.chat.ui.style import ChatPalette, link_html
from app.utils.ui.buttons import push_button

# A token is ~4 characters of code, so 128K characters fill a 32K-token context, more
# than a local model usually runs with. Keeping only the start of a larger paste keeps
# the box responsive: Qt lays out one 256K-character line in ~130 ms per keystroke.
MAX_PASTE_CHARS = 128 * 1024
_MIN_LINES, _MAX_LINES = 3, 10


class PromptEdit(QPlainTextEdit):
    """Plain-text input that turns Ctrl+Enter into send and Esc into stop."""

    sendPressed = Signal()
    stopPressed = Signal()
    pasteTruncated = Signal(int, int)  # characters pasted, characters kept

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PromptEdit")
        self.max_paste_chars = MAX_PASTE_CHARS
        self.setPlaceholderText("Ask about your code…")
        self.setTabChangesFocus(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.document().setDocumentMargin(2)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self.mentions = MentionCompleter(self)
        self._fit_height()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.mentions.handles_key(event):
            event.ignore()  # the completer's popup takes it (Enter, Tab choose; Esc closes)
            return
        is_enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if is_enter and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            event.accept()
            self.sendPressed.emit()
            return
        if event.key() == Qt.Key.Key_Escape:
            event.accept()
            self.stopPressed.emit()
            return
        super().keyPressEvent(event)
        self.mentions.update_popup()

    def insertFromMimeData(self, source: QMimeData) -> None:
        if source.hasText():
            text = source.text()
            if len(text) > self.max_paste_chars:
                self.insertPlainText(text[: self.max_paste_chars])
                self.pasteTruncated.emit(len(text), self.max_paste_chars)
                return
        super().insertFromMimeData(source)

    def _fit_height(self) -> None:
        # QPlainTextDocumentLayout measures in lines, wrapped lines included.
        lines = int(self.document().documentLayout().documentSize().height())
        lines = max(_MIN_LINES, min(_MAX_LINES, lines))
        margins = self.contentsMargins()
        document_margin = int(self.document().documentMargin()) * 2
        height = lines * self.fontMetrics().lineSpacing() + document_margin
        height += margins.top() + margins.bottom() + 4
        if height != self.height():
            self.setFixedHeight(height)


class ChatInput(QWidget):
    """The chips of what is attached, the input box, Send and Stop."""

    sendRequested = Signal(str)
    editFilesRequested = Signal(str)  # "Edit files": ask for changes to the attached files
    stopRequested = Signal()
    editCancelled = Signal()
    draftChanged = Signal()  # the text changed (the attachments follow its @ mentions, debounced)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatInput")
        self._busy = False
        self._editing = False

        self.edit_banner = QLabel()
        self.edit_banner.setObjectName("EditBanner")
        self.edit_banner.setWordWrap(True)
        self.edit_banner.linkActivated.connect(lambda _url: self.cancel_edit())
        self.edit_banner.hide()
        self.paste_notice = QLabel()
        self.paste_notice.setObjectName("PasteNotice")
        self.paste_notice.setWordWrap(True)
        self.paste_notice.hide()

        self.editor = PromptEdit()
        self.editor.sendPressed.connect(self.send)
        self.editor.stopPressed.connect(self.stopRequested)
        self.editor.pasteTruncated.connect(self._on_paste_truncated)
        self.editor.textChanged.connect(self._update_buttons)
        self.editor.textChanged.connect(self.draftChanged)
        self.chips = ChipBar()
        hint = QLabel("Ctrl+Enter to send")
        hint.setObjectName("InputHint")
        self.stop_button = push_button(
            "■ Stop", self.stopRequested, object_name="StopButton", tooltip="Stop the answer (Esc)"
        )
        self.send_button = push_button("Send", self.send, object_name="SendButton", tooltip="Send (Ctrl+Enter)")
        self.edit_files_button = push_button(
            "Edit Files",
            self.send_edit_request,
            object_name="EditFilesButton",
            tooltip="Ask for changes to the attached files, reviewed before they are written",
        )

        frame = QFrame()
        frame.setObjectName("InputFrame")
        frame_layout = QVBoxLayout(frame)
        frame_layout.setContentsMargins(8, 6, 8, 6)
        frame_layout.setSpacing(4)
        frame_layout.addWidget(self.chips)
        frame_layout.addWidget(self.editor)
        row = QHBoxLayout()
        row.setSpacing(8)
        row.addStretch(1)
        row.addWidget(hint)
        row.addWidget(self.stop_button)
        row.addWidget(self.edit_files_button)
        row.addWidget(self.send_button)
        frame_layout.addLayout(row)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 10)
        layout.setSpacing(4)
        layout.addWidget(self.edit_banner)
        layout.addWidget(self.paste_notice)
        layout.addWidget(frame)
        self._update_buttons()

    # -- what the panel and controller call -------------------------------------------

    def text(self) -> str:
        return self.editor.toPlainText()

    def set_text(self, text: str) -> None:
        self.editor.setPlainText(text)
        self.editor.moveCursor(self.editor.textCursor().MoveOperation.End)

    def set_text_for_edit(self, text: str) -> None:
        """Put an earlier message back for editing; sending it replaces what followed."""
        self._editing = True
        self.edit_banner.show()
        self.set_text(text)
        self.editor.setFocus()

    def cancel_edit(self) -> None:
        if not self._editing:
            return
        self._editing = False
        self.edit_banner.hide()
        self.editor.clear()
        self.editCancelled.emit()

    def is_editing(self) -> bool:
        return self._editing

    def set_busy(self, busy: bool) -> None:
        """While an answer streams, Stop is enabled and sending waits."""
        self._busy = busy
        self._update_buttons()

    def is_busy(self) -> bool:
        return self._busy

    def show_chips(self, chips: list[Chip]) -> None:
        self.chips.show_chips(chips)

    def set_mention_names(self, names: list[str]) -> None:
        """What `@` offers: "project", the open tabs, the opened folder's files."""
        self.editor.mentions.set_names(names)

    def replace_text(self, text: str) -> None:
        """Change the typed text (a mention's chip was removed), keeping the cursor near where it was."""
        cursor = self.editor.textCursor()
        position = min(cursor.position(), len(text))
        self.editor.setPlainText(text)
        cursor = self.editor.textCursor()
        cursor.setPosition(position)
        self.editor.setTextCursor(cursor)

    def focus_input(self) -> None:
        self.editor.setFocus()

    def apply_palette(self, palette: ChatPalette) -> None:
        self.edit_banner.setText(
            "Editing an earlier message: sending it drops the messages after it. "
            + link_html("cancel", "Cancel", palette)
        )

    def send(self) -> None:
        text = self._take_text()
        if text:
            self.sendRequested.emit(text)

    def send_edit_request(self) -> None:
        text = self._take_text()
        if text:
            self.editFilesRequested.emit(text)

    def _take_text(self) -> str:
        """The typed text, cleared from the box; "" when there is nothing to send now."""
        text = self.text()
        if self._busy or not text.strip():
            return ""
        self._editing = False
        self.edit_banner.hide()
        self.paste_notice.hide()
        self.editor.clear()
        return text

    # -- internals --------------------------------------------------------------------

    def _update_buttons(self) -> None:
        self.stop_button.setEnabled(self._busy)
        has_text = self.editor.document().characterCount() > 1  # O(1), unlike toPlainText
        self.send_button.setEnabled(not self._busy and has_text)
        self.edit_files_button.setEnabled(not self._busy and has_text)

    def _on_paste_truncated(self, pasted: int, kept: int) -> None:
        self.paste_notice.setText(
            f"The pasted text had {pasted:,} characters; only the first {kept:,} were kept, "
            "more than the model's context holds. "
            "To ask about a large file, open it in the editor (it goes with the question) or attach it with @."
        )
        self.paste_notice.show()
