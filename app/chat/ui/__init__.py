"""The chat pane's widgets: display and forwarded intent only."""

from app.chat.ui.context_window_meter import ContextWindowMeter
from app.chat.ui.input import ChatInput
from app.chat.ui.panel import ChatPanel
from app.chat.ui.view import ChatMessage, ChatView

__all__ = ["ChatInput", "ChatMessage", "ChatPanel", "ChatView", "ContextWindowMeter"]
