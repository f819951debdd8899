"""The chat pane: conversation, context meter, New chat and the input, as one widget.

It forwards intent as signals and shows what it is told; the controller owns the
conversation, the engine and what each request means.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.chat.ui.context_meter import ContextMeter
from app.chat.ui.input import ChatInput
from app.chat.ui.style import ChatPalette, chat_style_sheet, palette_for
from app.chat.ui.view import ChatView


class ChatPanel(QWidget):
    sendRequested = Signal(str, bool)  # text, include the current file
    stopRequested = Signal()
    newChatRequested = Signal()
    editCancelled = Signal()
    insertRequested = Signal(str)
    replaceRequested = Signal(str)
    applyRequested = Signal(str)  # a code block's "Apply": the code to diff and apply
    editRequested = Signal(int)
    regenerateRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatPanel")
        self.view = ChatView()
        self.input = ChatInput()
        self.meter = ContextMeter()
        self.new_chat_button = QPushButton("New chat")
        self.new_chat_button.setObjectName("NewChatButton")
        self.new_chat_button.setToolTip("Start an empty conversation")
        self.new_chat_button.clicked.connect(self.newChatRequested)

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
        self.input.stopRequested.connect(self.stopRequested)
        self.input.editCancelled.connect(self.editCancelled)
        self.view.insertRequested.connect(self.insertRequested)
        self.view.replaceRequested.connect(self.replaceRequested)
        self.view.applyRequested.connect(self.applyRequested)
        self.view.editRequested.connect(self.editRequested)
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
