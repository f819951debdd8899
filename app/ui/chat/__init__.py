"""The chat pane's widgets: display and forwarded intent only."""

from app.ui.chat.chat_input import ChatInput
from app.ui.chat.chat_panel import ChatPanel
from app.ui.chat.chat_view import ChatMessage, ChatView
from app.ui.chat.context_meter import ContextMeter

__all__ = ["ChatInput", "ChatMessage", "ChatPanel", "ChatView", "ContextMeter"]
