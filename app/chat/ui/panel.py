"""The chat pane: conversation, context-window meter, New chat and the input, as one widget.

It forwards intent as signals and shows what it is told, through its own methods only:
the controller never reaches into the view or the input. Turns of the conversation
(app/chat/conversation.py) are shown by `ConversationDisplay`, which observes the
conversation and calls the turn methods here; notes, errors, the busy state and the
context-window meter come from the controller. The controller owns the conversation and what
each request means; the engine session owns the engine.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.chat.attachments.rules import Chip
from app.chat.conversation import ASSISTANT, Turn
from app.chat.ui.context_window_meter import ContextWindowMeter
from app.chat.ui.input import ChatInput
from app.chat.ui.style import ChatPalette, chat_style_sheet, palette_for
from app.chat.ui.view import ChatView
from app.utils.ui.buttons import push_button


class ChatPanel(QWidget):
    sendRequested = Signal(str)  # what the user typed
    editFilesRequested = Signal(str)  # what the user typed, to be asked as an edit of the attached files
    draftChanged = Signal()  # the typed text changed
    attachmentRemoved = Signal(str)  # a chip's key: leave it out of this message
    attachmentAdded = Signal(str)  # a suggestion chip's key: attach it
    stopRequested = Signal()
    newChatRequested = Signal()
    editCancelled = Signal()
    insertRequested = Signal(str)
    replaceRequested = Signal(str)
    applyRequested = Signal(str)  # a code block's "Apply": the code to diff and apply
    editRequested = Signal(int)  # the id of the turn whose Edit link was clicked
    regenerateRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatPanel")
        self.view = ChatView()
        self.input = ChatInput()
        self.meter = ContextWindowMeter()
        self.new_chat_button = push_button(
            "New chat", self.newChatRequested, object_name="NewChatButton", tooltip="Start an empty conversation"
        )

        header = QFrame()
        header.setObjectName("ChatHeader")
        header_layout = QHBoxLayout(header)
        header_layout.setContentsMargins(12, 6, 8, 6)
        header_layout.setSpacing(10)
        title = QLabel("Chat")
        title.setObjectName("ChatTitle")
        header_layout.addWidget(title)
        header_layout.addStretch(1)
        header_layout.addWidget(self.meter)
        header_layout.addWidget(self.new_chat_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.input)

        self.input.sendRequested.connect(self.sendRequested)
        self.input.editFilesRequested.connect(self.editFilesRequested)
        self.input.stopRequested.connect(self.stopRequested)
        self.input.editCancelled.connect(self.editCancelled)
        self.input.draftChanged.connect(self.draftChanged)
        self.input.chips.removed.connect(self.attachmentRemoved)
        self.input.chips.added.connect(self.attachmentAdded)
        self.view.insertRequested.connect(self.insertRequested)
        self.view.replaceRequested.connect(self.replaceRequested)
        self.view.applyRequested.connect(self.applyRequested)
        self.view.editRequested.connect(self._on_edit_clicked)
        self.view.regenerateRequested.connect(self.regenerateRequested)
        self._theme = ""
        self.set_theme("light")

    def set_theme(self, name: str) -> None:
        """Re-style the pane for "light" or "dark", code highlighting included."""
        palette = palette_for(name)
        self._theme = name
        self.setPalette(_qt_palette(palette))
        self.setStyleSheet(chat_style_sheet(palette))
        self.view.set_palette(palette)
        self.input.apply_palette(palette)
        self.meter.apply_palette(palette)

    def theme(self) -> str:
        return self._theme

    def set_busy(self, busy: bool) -> None:
        """An answer is streaming: Stop is enabled, sending waits."""
        self.input.set_busy(busy)

    def set_context_usage(self, used_tokens: int, context_size: int) -> None:
        self.meter.set_usage(used_tokens, context_size)

    # -- turns ---------------------------------------------------------------------------
    def show_turn(self, turn: Turn) -> None:
        """A question, or an answer (streaming in when it is not finished yet)."""
        if turn.role != ASSISTANT:
            self.view.add_user_message(turn.display_text, turn.id)
        elif turn.finished:
            self.view.add_assistant_message(turn.content, turn.footer, turn.id, turn.model)
        else:
            self.view.begin_assistant_message(turn.id, turn.model)

    def append_to_turn(self, turn_id: int, text: str) -> None:
        row = self.view.row_of_turn(turn_id)
        if row is not None:
            self.view.append_to_message(row, text)

    def finish_turn(self, turn_id: int, footer: str) -> None:
        row = self.view.row_of_turn(turn_id)
        if row is not None:
            self.view.finish_message(row, footer)

    def remove_turn(self, turn_id: int) -> None:
        """That turn's row and whatever follows it."""
        row = self.view.row_of_turn(turn_id)
        if row is not None:
            self.view.truncate(row)

    def remove_after_turn(self, turn_id: int | None) -> None:
        """Every row after that turn's (notes and errors too); None: every row."""
        row = self.view.row_of_turn(turn_id) if turn_id is not None else -1
        if row is not None:
            self.view.truncate(row + 1)

    def clear_messages(self) -> None:
        self.view.clear()

    # -- other rows and the input --------------------------------------------------------------
    def show_note(self, text: str) -> None:
        self.view.show_note(text)

    def show_error(self, text: str, actions: list[tuple[str, Callable[[], object]]], detail: str = "") -> None:
        self.view.show_error(text, actions, detail)

    def set_assistant_name(self, name: str) -> None:
        self.view.set_assistant_name(name)

    def set_empty_hint(self, text: str) -> None:
        self.view.set_empty_hint(text)

    def show_attachments(self, chips: list[Chip]) -> None:
        """The chips above the input: what goes with the next message."""
        self.input.show_chips(chips)

    def set_mention_names(self, names: list[str]) -> None:
        self.input.set_mention_names(names)

    def draft_text(self) -> str:
        """What is typed in the input so far."""
        return self.input.text()

    def replace_draft(self, text: str) -> None:
        self.input.replace_text(text)

    def begin_edit(self, text: str) -> None:
        """Put an earlier question back in the input; sending it replaces what followed it."""
        self.input.set_text_for_edit(text)

    def cancel_edit(self) -> None:
        self.input.cancel_edit()

    def _on_edit_clicked(self, row: int) -> None:
        turn_id = self.view.message_widget(row).turn_id
        if turn_id is not None:
            self.editRequested.emit(turn_id)


class ConversationDisplay:
    """Shows a conversation in a chat panel: the ConversationObserver the panel needs."""

    def __init__(self, panel: ChatPanel) -> None:
        self.panel = panel

    def turn_added(self, turn: Turn) -> None:
        self.panel.show_turn(turn)

    def text_appended(self, turn: Turn, text: str) -> None:
        self.panel.append_to_turn(turn.id, text)

    def turn_finished(self, turn: Turn) -> None:
        self.panel.finish_turn(turn.id, turn.footer)

    def turn_removed(self, turn: Turn) -> None:
        self.panel.remove_turn(turn.id)

    def truncated(self, after: Turn | None, removed: list[Turn]) -> None:
        self.panel.remove_after_turn(after.id if after is not None else None)

    def cleared(self) -> None:
        self.panel.clear_messages()


def _qt_palette(palette: ChatPalette) -> QPalette:
    """Base colours for what the style sheet leaves to the style (check boxes, selection)."""
    qt = QPalette()
    roles = {
        QPalette.ColorRole.Window: palette.background,
        QPalette.ColorRole.Base: palette.surface,
        QPalette.ColorRole.AlternateBase: palette.surface,
        QPalette.ColorRole.Button: palette.surface,
        QPalette.ColorRole.WindowText: palette.text,
        QPalette.ColorRole.Text: palette.text,
        QPalette.ColorRole.ButtonText: palette.text,
        QPalette.ColorRole.PlaceholderText: palette.muted,
        QPalette.ColorRole.Highlight: palette.accent,
        QPalette.ColorRole.HighlightedText: palette.accent_text,
        QPalette.ColorRole.Link: palette.link,
        QPalette.ColorRole.ToolTipBase: palette.surface,
        QPalette.ColorRole.ToolTipText: palette.text,
    }
    for role, colour in roles.items():
        qt.setColor(role, QColor(colour))
    return qt
