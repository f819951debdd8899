"""The widgets of single chat messages: user, assistant, error card and note.

Each Markdown message owns one auto-height MessageBody (its prose and code blocks, each
code block scrolling sideways on its own), so re-rendering the answer that is streaming
lays out that one message and never the rest of the conversation. Nothing in a message
is wider than the pane: the footer and the names wrap or elide.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFont, QFontDatabase
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from app.chat.markdown.render import CodeBlock, parse_action_url
from app.chat.markdown.stream import StreamingRenderer
from app.chat.ui.message_body import MessageBody
from app.chat.ui.message_browser import MessageBrowser
from app.chat.ui.style import ChatPalette, link_html

__all__ = [
    "AssistantMessageWidget",
    "ErrorCard",
    "MarkdownMessageWidget",
    "MessageBody",
    "MessageBrowser",
    "MessageWidget",
    "NoteWidget",
    "UserMessageWidget",
]

_EXTERNAL_SCHEMES = ("http", "https", "mailto")


def _small_link_label(object_name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(object_name)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
    label.setCursor(Qt.CursorShape.PointingHandCursor)
    return label


def _role_label(text: str, *, may_be_long: bool = False) -> QLabel:
    label = QLabel(text)
    label.setObjectName("MessageRole")
    if may_be_long:  # a model's name: cut at the pane's edge rather than widening the message
        label.setToolTip(text)
        label.setMinimumWidth(1)
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


class MessageWidget(QFrame):
    """Base of every message row; `role` and `text` are what ChatView.messages() reports.
    `turn_id` is the conversation turn a question or answer shows (None for notes, errors)."""

    role = ""

    def __init__(self, text: str, palette: ChatPalette, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = text
        self.finished = True
        self.stats_text = ""
        self.turn_id: int | None = None
        self._palette = palette

    def apply_palette(self, palette: ChatPalette) -> None:
        self._palette = palette


class MarkdownMessageWidget(MessageWidget):
    """A message whose text is Markdown shown in a MessageBrowser."""

    # action ("copy" | "insert" | "replace" | "apply"), code
    codeActionRequested = Signal(str, str)

    def __init__(self, text: str, palette: ChatPalette, parent: QWidget | None = None) -> None:
        super().__init__(text, palette, parent)
        self.body = MessageBody()
        self.body.linkClicked.connect(self._on_link)
        self.code_blocks: list[CodeBlock] = []
        self._renderer = StreamingRenderer(
            palette.render,
            code_actions=self._code_actions(),
            hard_breaks=self._hard_breaks(),
            highlight_top_level=False,  # the browser colours those itself, off-thread
        )

    def render_text(self) -> None:
        """Lay out the current text again; ChatView calls this at most ~30 times a second.

        While streaming, both the parse and the layout start at the last top-level block.
        """
        rendered = self._renderer.render(self.text, streaming=not self.finished)
        self.code_blocks = rendered.code_blocks
        self.body.show_segments(rendered.segments, rendered.segment_code)

    def apply_palette(self, palette: ChatPalette) -> None:
        super().apply_palette(palette)
        self._renderer.set_theme(palette.render)
        self.body.set_code_style(palette.render, code_actions=self._code_actions())
        self.render_text()

    def _code_actions(self) -> bool:
        return True

    def _hard_breaks(self) -> bool:
        return False

    def _on_link(self, url: str) -> None:
        action = parse_action_url(url)
        if action is not None:
            name, index = action
            if 0 <= index < len(self.code_blocks):
                self.codeActionRequested.emit(name, self.code_blocks[index].code)
            return
        if QUrl(url).scheme().lower() in _EXTERNAL_SCHEMES:
            QDesktopServices.openUrl(QUrl(url))


class UserMessageWidget(MarkdownMessageWidget):
    role = "user"
    editClicked = Signal()

    def __init__(self, text: str, palette: ChatPalette, parent: QWidget | None = None) -> None:
        super().__init__(text, palette, parent)
        card = QFrame()
        card.setObjectName("UserCard")
        card_layout = QVBoxLayout(card)
        card_layout.setContentsMargins(12, 8, 12, 10)
        card_layout.setSpacing(4)
        header = QHBoxLayout()
        header.addWidget(_role_label("You"))
        header.addStretch(1)
        self.edit_link = _small_link_label("EditLink")
        self.edit_link.setToolTip("Put this message back in the input box to change and resend it")
        self.edit_link.linkActivated.connect(lambda _url: self.editClicked.emit())
        header.addWidget(self.edit_link)
        card_layout.addLayout(header)
        card_layout.addWidget(self.body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(card)
        self.apply_palette(palette)

    def apply_palette(self, palette: ChatPalette) -> None:
        self.edit_link.setText(link_html("edit", "Edit", palette))
        super().apply_palette(palette)

    def _code_actions(self) -> bool:
        return False

    def _hard_breaks(self) -> bool:
        return True


class AssistantMessageWidget(MarkdownMessageWidget):
    role = "assistant"
    regenerateClicked = Signal()

    def __init__(self, assistant_name: str, palette: ChatPalette, parent: QWidget | None = None) -> None:
        super().__init__("", palette, parent)
        self.finished = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 0, 12, 0)
        layout.setSpacing(4)
        self.role_label = _role_label(assistant_name, may_be_long=True)
        layout.addWidget(self.role_label)
        layout.addWidget(self.body)
        footer = QHBoxLayout()
        self.footer_label = QLabel("Generating…")
        self.footer_label.setObjectName("MessageFooter")
        self.footer_label.setWordWrap(True)  # "412 tokens · 9.1 tokens/s · …" wraps in a narrow pane
        footer.addWidget(self.footer_label)
        footer.addStretch(1)
        self.regenerate_link = _small_link_label("RegenerateLink")
        self.regenerate_link.setToolTip("Ask again for a new answer to the last message")
        self.regenerate_link.linkActivated.connect(lambda _url: self.regenerateClicked.emit())
        self.regenerate_link.hide()
        footer.addWidget(self.regenerate_link)
        layout.addLayout(footer)
        self.apply_palette(palette)

    def apply_palette(self, palette: ChatPalette) -> None:
        self.regenerate_link.setText(link_html("regenerate", "↻ Regenerate", palette))
        super().apply_palette(palette)

    def finish(self, stats_text: str) -> None:
        self.finished = True
        self.stats_text = stats_text
        self.footer_label.setText(stats_text)
        self.footer_label.setVisible(bool(stats_text))
        self.render_text()

    def set_regenerate_visible(self, visible: bool) -> None:
        self.regenerate_link.setVisible(visible)


class ErrorCard(MessageWidget):
    """What went wrong, in words, with buttons for what can be done about it."""

    role = "error"

    def __init__(
        self,
        text: str,
        actions: list[tuple[str, Callable[[], object]]],
        detail: str,
        palette: ChatPalette,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(text, palette, parent)
        self.setObjectName("ErrorCard")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(6)
        message = QLabel(f"⚠  {text}")
        message.setObjectName("ErrorText")
        message.setTextFormat(Qt.TextFormat.PlainText)
        message.setWordWrap(True)
        message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(message)
        if detail:
            detail_label = QLabel(detail)
            detail_label.setObjectName("ErrorDetail")
            detail_label.setTextFormat(Qt.TextFormat.PlainText)
            detail_label.setWordWrap(True)
            detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            detail_label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
            layout.addWidget(detail_label)
        self.buttons: list[QPushButton] = []
        if actions:
            row = QHBoxLayout()
            for title, callback in actions:
                button = QPushButton(title)
                button.clicked.connect(lambda _checked=False, cb=callback: cb())
                row.addWidget(button)
                self.buttons.append(button)
            row.addStretch(1)
            layout.addLayout(row)


class NoteWidget(MessageWidget):
    """A quiet line between messages, e.g. that old turns were dropped."""

    role = "note"

    def __init__(self, text: str, palette: ChatPalette, parent: QWidget | None = None) -> None:
        super().__init__(text, palette, parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 0, 12, 0)
        label = QLabel(text)
        label.setObjectName("ChatNote")
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont(label.font())
        font.setItalic(True)
        label.setFont(font)
        layout.addWidget(label)
