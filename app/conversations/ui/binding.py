"""Keeps the chat and the conversation store in step.

It listens to the chat controller's conversation signals and saves what happens: the
user's message when sent, the answer while it streams (a crash loses at most half a
second of it), its footer when it ends, and the cut made by Regenerate or by editing
an earlier message. Selecting a conversation in the sidebar shows it in the chat and
makes it what the model sees. A conversation is created with its first message, so
an empty "New chat" leaves nothing behind.
"""

from __future__ import annotations

import logging
import sqlite3

from PySide6.QtCore import QObject, Signal

from app.chat.ui.controller import ChatController, Turn
from app.conversations.store import ConversationStore, StreamingMessageWriter, title_from
from app.conversations.ui.sidebar import ConversationSidebar
from app.llm.ui.session import EngineSession
from app.utils.errors import DscoderError

log = logging.getLogger(__name__)

SHOWN_KEY = "shown"  # a user message's stats: what the chat showed (the model saw `content`)
TYPED_KEY = "typed"  # what the user typed (Edit puts it back in the input)
FOOTER_KEY = "footer"  # an answer's stats: the line shown under it


class ConversationBinding(QObject):
    conversationChanged = Signal(object)  # the id shown in the chat, or None for a new chat

    def __init__(
        self,
        store: ConversationStore,
        controller: ChatController,
        sidebar: ConversationSidebar,
        engine: EngineSession,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.controller = controller
        self.sidebar = sidebar
        self.engine = engine  # which model a new conversation is with
        self.current_id: int | None = None
        self._message_ids: list[int] = []  # per controller turn: its row in the store
        self._writer: StreamingMessageWriter | None = None
        self._restoring = False
        c = controller
        c.userTurnAdded.connect(self._on_user_turn)
        c.answerStarted.connect(self._on_answer_started)
        c.answerDelta.connect(self._on_delta)
        c.answerEnded.connect(self._on_answer_ended)
        c.turnsTruncated.connect(self._on_truncated)
        c.chatCleared.connect(self._on_cleared)
        sidebar.conversationSelected.connect(self.open)
        sidebar.newConversationRequested.connect(self.new_conversation)
        sidebar.conversationDeleted.connect(self._on_deleted)

    # -- what the window calls -----------------------------------------------------------
    def open(self, conversation_id: int) -> None:
        """Show a stored conversation in the chat; the next question continues it."""
        if conversation_id == self.current_id and self.controller.turns:
            return
        try:
            messages = self.store.messages(conversation_id)
        except (sqlite3.Error, DscoderError) as exc:  # the chat stays as it was
            log.warning("could not read conversation %s: %s", conversation_id, exc)
            self.sidebar.show_message(f"Could not read that conversation ({exc}).")
            return
        pairs: list[tuple[Turn, str]] = []
        ids: list[int] = []
        for message in messages:
            if message.role == "user":
                typed = str(message.stats.get(TYPED_KEY) or message.content)
                pairs.append(
                    (Turn("user", message.content, typed), str(message.stats.get(SHOWN_KEY) or message.content))
                )
            elif message.role == "assistant" and message.content:
                footer = str(message.stats.get(FOOTER_KEY) or ("" if message.complete else "Interrupted"))
                pairs.append((Turn("assistant", message.content), footer))
            else:
                continue
            ids.append(message.id)
        self._restoring = True
        try:
            self.controller.restore(pairs)
        finally:
            self._restoring = False
        self._message_ids = ids
        self._set_current(conversation_id)

    def open_last(self) -> None:
        """At start: the conversation used last, if there is one."""
        conversations = self.store.list()  # pinned first: the last used is the latest updated
        if conversations:
            self.open(max(conversations, key=lambda c: c.updated).id)

    def new_conversation(self) -> None:
        self.controller.new_chat()  # emits chatCleared

    def close(self) -> None:
        self._finish_writer("Interrupted")

    # -- controller signals ----------------------------------------------------------------
    def _on_user_turn(self, turn: Turn, shown: str) -> None:
        if self.current_id is None:
            model = self.engine.target.model_path if self.engine.target is not None else ""
            # Titled by what the user typed, not by the prompt built around an attached file.
            self._set_current(self.store.create(title=title_from(turn.typed or shown), model=model))
        assert self.current_id is not None
        stats = {SHOWN_KEY: shown, TYPED_KEY: turn.typed} if shown != turn.content or turn.typed != turn.content else {}
        self._message_ids.append(self.store.add_message(self.current_id, "user", turn.content, stats))
        self.sidebar.refresh()

    def _on_answer_started(self) -> None:
        if self.current_id is not None:
            self._finish_writer("Interrupted")
            self._writer = self.store.start_answer(self.current_id)

    def _on_delta(self, text: str) -> None:
        if self._writer is not None:
            self._writer.append(text)

    def _on_answer_ended(self, kept: bool, footer: str) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        if kept:
            self._message_ids.append(writer.finish({FOOTER_KEY: footer}))
        else:
            writer.finish()
            self.store.delete_messages_from(writer.message_id)  # nothing arrived: no empty answer
        self.sidebar.refresh()

    def _on_truncated(self, count: int) -> None:
        if self._restoring or count >= len(self._message_ids):
            return
        self.store.delete_messages_from(self._message_ids[count])
        del self._message_ids[count:]
        self.sidebar.refresh()

    def _on_cleared(self) -> None:
        if self._restoring:
            return
        self._finish_writer("Interrupted")
        self._message_ids = []
        self._set_current(None)

    def _on_deleted(self, conversation_id: int) -> None:
        if conversation_id == self.current_id:
            self._writer = None  # its rows are gone with it
            self.controller.new_chat()

    # -- internals ---------------------------------------------------------------------------
    def _finish_writer(self, footer: str) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.finish({FOOTER_KEY: footer})

    def _set_current(self, conversation_id: int | None) -> None:
        self.current_id = conversation_id
        self.sidebar.set_current(conversation_id)
        self.conversationChanged.emit(conversation_id)
