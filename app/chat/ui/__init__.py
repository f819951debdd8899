"""The chat pane's widgets: display and forwarded intent only."""

from app.chat.ui.context_meter import ContextMeter
from app.chat.ui.input import ChatInput
from app.chat.ui.panel import ChatPanel
from app.chat.ui.view import ChatMessage, ChatView

__all__ = ["ChatInput", "ChatMessage", "ChatPanel", "ChatView", "ContextMeter"]
