"""The conversation: one widget per message in a scroll area.

A question's or an answer's widget carries the id of the conversation turn it shows, so
the panel finds a turn's row by asking the view, never by counting rows; notes and
errors are rows of their own with no turn.

Streaming text is buffered per message and painted by one single-shot timer at most
about 30 times a second, and only the messages that changed are laid out again, so a
long conversation costs nothing extra per token. The view only displays and forwards
intent; what a click means for the conversation is the controller's business.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QCursor, QGuiApplication
from PySide6.QtWidgets import QLabel, QScrollArea, QSizePolicy, QToolTip, QVBoxLayout, QWidget

from app.chat.ui.code_highlighter import shared_highlighter
from app.chat.ui.message_browser import prepare_code_layout
from app.chat.ui.message_widgets import (
    AssistantMessageWidget,
    ErrorCard,
    MarkdownMessageWidget,
    MessageWidget,
    NoteWidget,
    UserMessageWidget,
)
from app.chat.ui.style import ChatPalette, palette_for

log = logging.getLogger(__name__)

RENDER_INTERVAL_MS = 33  # about 30 paints a second, however fast tokens arrive
_PREPARE_DELAY_MS = 800  # after start-up, before the first answer is likely to stream
_prepared = False  # code layout is prepared once per process
_BOTTOM_SLACK_PX = 24  # this close to the bottom still counts as "following the answer"


@dataclass(frozen=True)
class ChatMessage:
    """A snapshot of one message as shown: role is user, assistant, error or note."""

    role: str
    text: str
    finished: bool
    stats_text: str = ""


class ChatView(QScrollArea):
    insertRequested = Signal(str)
    replaceRequested = Signal(str)
    applyRequested = Signal(str)  # code to show as a diff against the current file
    editRequested = Signal(int)
    regenerateRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatView")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._palette: ChatPalette = palette_for("light")
        self._assistant_name = "DeepSeek-Coder"
        self._dirty: set[MarkdownMessageWidget] = set()
        self.render_count = 0  # re-renders of streamed text, for tests and benchmarks
        self._follow_output = True

        content = QWidget()
        content.setObjectName("ChatViewContent")
        self._layout = QVBoxLayout(content)
        self._layout.setContentsMargins(12, 12, 12, 12)
        self._layout.setSpacing(14)
        self._empty_hint = QLabel("Ask about your code.\nCtrl+Enter sends, Esc stops the answer.")
        self._empty_hint.setObjectName("ChatEmptyHint")
        self._empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty_hint.setWordWrap(True)
        # The hint fills an empty view (stretch 1); once hidden, the trailing spacer
        # takes the slack so messages stack from the top.
        self._layout.addWidget(self._empty_hint, 1)
        self._layout.addStretch(0)
        # Never wider than the pane: a message that cannot shrink further is cut, never the
        # pane widened (its Edit and Regenerate links would go past the right edge).
        content.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setWidget(content)

        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(RENDER_INTERVAL_MS)
        self._render_timer.timeout.connect(self._render_pending)

        shared_highlighter()  # created now, so it loads the code lexers ahead (see there)
        QTimer.singleShot(_PREPARE_DELAY_MS, self, self._prepare_code_layout)

        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._on_range_changed)
        bar.valueChanged.connect(self._on_scrolled)

    # -- adding messages --------------------------------------------------------------

    def add_user_message(self, text: str, turn_id: int | None = None) -> int:
        """Show what the user sent and scroll to it; returns the message's index."""
        widget = UserMessageWidget(text, self._palette)
        widget.turn_id = turn_id
        widget.editClicked.connect(lambda: self._emit_edit(widget))
        self._follow_output = True
        return self._append_widget(widget)

    def begin_assistant_message(self, turn_id: int | None = None, name: str = "") -> int:
        """Start an empty answer that shows "Generating…"; returns its index."""
        widget = AssistantMessageWidget(name or self._assistant_name, self._palette)
        widget.turn_id = turn_id
        widget.codeActionRequested.connect(self._on_code_action)
        widget.regenerateClicked.connect(self.regenerateRequested)
        index = self._append_widget(widget)
        self._update_regenerate_link()
        return index

    def add_assistant_message(self, text: str, stats_text: str = "", turn_id: int | None = None, name: str = "") -> int:
        """A finished answer in one go (for a conversation loaded from history)."""
        index = self.begin_assistant_message(turn_id, name)
        widget = self._rows()[index]
        assert isinstance(widget, AssistantMessageWidget)
        widget.text = text
        self.finish_message(index, stats_text)
        return index

    def append_to_message(self, index: int, delta: str) -> None:
        """Add streamed text; it is painted with the next timer tick, not now."""
        widget = self._streaming_widget(index)
        if widget is None:
            return
        widget.text += delta
        self._dirty.add(widget)
        if not self._render_timer.isActive():
            self._render_timer.start()

    def finish_message(self, index: int, stats_text: str = "") -> None:
        """End an answer: final render with every code block's links, stats in its footer."""
        widget = self._streaming_widget(index)
        if widget is None:
            return
        self._dirty.discard(widget)
        widget.finish(stats_text)
        self.render_count += 1
        self._update_regenerate_link()

    def show_error(
        self,
        text: str,
        actions: list[tuple[str, Callable[[], object]]] | None = None,
        detail: str = "",
    ) -> int:
        """An inline error card with one button per (title, callback); returns its index."""
        self._render_pending()  # the text before the failure stays as it was streamed
        return self._append_widget(ErrorCard(text, actions or [], detail, self._palette))

    def show_note(self, text: str) -> int:
        return self._append_widget(NoteWidget(text, self._palette))

    # -- removing messages ------------------------------------------------------------

    def clear(self) -> None:
        self.truncate(0)

    def truncate(self, index: int) -> None:
        """Remove message `index` and everything after it (edit-and-resend, regenerate)."""
        rows = self._rows()
        removed = rows[index:]
        for widget in removed:
            if isinstance(widget, MarkdownMessageWidget):
                self._dirty.discard(widget)
            self._layout.removeWidget(widget)
            widget.hide()
            widget.deleteLater()
        if not self._dirty:
            self._render_timer.stop()
        self._empty_hint.setVisible(not self._rows())
        self._update_regenerate_link()

    # -- reading ----------------------------------------------------------------------

    def messages(self) -> list[ChatMessage]:
        """What is shown, including text buffered but not yet painted."""
        return [ChatMessage(w.role, w.text, w.finished, w.stats_text) for w in self._rows()]

    def message_widget(self, index: int) -> MessageWidget:
        return self._rows()[index]

    def row_of_turn(self, turn_id: int) -> int | None:
        """The row that shows that turn, or None."""
        return next((row for row, w in enumerate(self._rows()) if w.turn_id == turn_id), None)

    def is_following_output(self) -> bool:
        """Whether new text scrolls the view (False once the user scrolled up)."""
        return self._follow_output

    # -- looks ------------------------------------------------------------------------

    def set_palette(self, palette: ChatPalette) -> None:
        """Re-style every message (the panel calls this from its set_theme)."""
        self._palette = palette
        self._render_pending()
        for widget in self._rows():
            widget.apply_palette(palette)

    def set_assistant_name(self, name: str) -> None:
        """The name above answers that start from now on (e.g. the model's name)."""
        self._assistant_name = name

    def set_empty_hint(self, text: str) -> None:
        self._empty_hint.setText(text)

    # -- internals --------------------------------------------------------------------

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            content = self.widget()
            if content is not None:
                content.setMaximumWidth(self.viewport().width())
        return super().viewportEvent(event)

    def _prepare_code_layout(self) -> None:
        global _prepared
        if not _prepared:
            _prepared = True
            prepare_code_layout(self._palette.render)

    def _append_widget(self, widget: MessageWidget) -> int:
        self._empty_hint.hide()
        # Before the trailing stretch, so messages stack from the top.
        self._layout.insertWidget(self._layout.count() - 1, widget)
        return len(self._rows()) - 1

    def _rows(self) -> list[MessageWidget]:
        """The message rows in order, as the layout holds them: the view keeps no list of its own."""
        items = (self._layout.itemAt(i) for i in range(self._layout.count()))
        return [w for item in items if item is not None and isinstance(w := item.widget(), MessageWidget)]

    def _streaming_widget(self, index: int) -> AssistantMessageWidget | None:
        rows = self._rows()
        widget = rows[index] if 0 <= index < len(rows) else None
        if not isinstance(widget, AssistantMessageWidget) or widget.finished:
            # A late token for an answer that was stopped or removed: nothing to show.
            log.debug("ignoring text for message %d, which is not streaming", index)
            return None
        return widget

    def _render_pending(self) -> None:
        self._render_timer.stop()
        dirty, self._dirty = self._dirty, set()
        for widget in dirty:
            widget.render_text()
            self.render_count += 1

    def _update_regenerate_link(self) -> None:
        answers = [w for w in self._rows() if isinstance(w, AssistantMessageWidget)]
        for widget in answers:
            widget.set_regenerate_visible(widget is answers[-1] and widget.finished)

    def _emit_edit(self, widget: MessageWidget) -> None:
        rows = self._rows()
        if widget in rows:
            self.editRequested.emit(rows.index(widget))

    def _on_code_action(self, action: str, code: str) -> None:
        if action == "copy":
            QGuiApplication.clipboard().setText(code)
            QToolTip.showText(QCursor.pos(), "Copied", self)
        elif action == "insert":
            self.insertRequested.emit(code)
        elif action == "replace":
            self.replaceRequested.emit(code)
        elif action == "apply":
            self.applyRequested.emit(code)

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._follow_output:
            self.verticalScrollBar().setValue(maximum)

    def _on_scrolled(self, value: int) -> None:
        self._follow_output = value >= self.verticalScrollBar().maximum() - _BOTTOM_SLACK_PX
