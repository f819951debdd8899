"""Saves the chat's conversation as it changes, off the GUI thread, and opens saved ones.

The binding observes the controller's `Conversation` (app/chat/conversation.py) and saves
what changes: a question when it is added, an answer while it streams (at least every
half second: a crash loses less than a second of it), its footer when it finishes, the
cut made by Regenerate or by editing an earlier question. A conversation is created with
its first question, so an empty "New chat" leaves nothing behind. Selecting a conversation
in the sidebar loads it into the controller, and it continues from there.

Every write runs on one "conversation-writer" thread (a one-thread `BackgroundTasks`, a
serial queue), in the order the changes happened, so the GUI thread never waits for
SQLite while an answer streams. One reused timer saves an answer's tail when its deltas
pause. Each turn keeps its own
database row id (`Turn.db_id`, set by the writer thread when the row exists, and read
only there: later writes run after it), so nothing keeps a list in step with the turns.
The GUI hears back through a queued signal: the conversation's id once it exists, and
when the sidebar should show the new order.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from app.chat.conversation import USER, SavedTurn, Turn
from app.chat.ui.controller import ChatController
from app.conversations.records import StoredMessage
from app.conversations.store import ConversationStore, StoreWriteError, title_from
from app.conversations.streaming import StreamingMessageWriter
from app.conversations.ui.sidebar import ConversationSidebar
from app.llm.ui.session import EngineSession
from app.utils.errors import DscoderError
from app.utils.jobs import JobControl, Progress
from app.utils.ui.tasks import BackgroundTasks

log = logging.getLogger(__name__)

SHOWN_KEY = "shown"  # a user message's stats: what the chat showed (the model saw `content`)
TYPED_KEY = "typed"  # what the user typed (Edit puts it back in the input)
FOOTER_KEY = "footer"  # an answer's stats: the line shown under it
MODEL_KEY = "model"  # an answer's stats: the name of the model that wrote it
WRITER_THREAD = "conversation-writer"
TAIL_SAVE_MS = 500  # the streaming writer's interval: a pause in deltas loses no more than that
INTERRUPTED = "Interrupted"


class _ConversationRow:
    """The current conversation's row; the writer thread fills in `id` when it is created."""

    def __init__(self, conversation_id: int | None = None) -> None:
        self.id = conversation_id


def model_display_name(model: str) -> str:
    """A conversation's model (a GGUF path, or a remote model's name) as an answer's name."""
    base = os.path.basename(model)
    return base[: -len(".gguf")] if base.lower().endswith(".gguf") else base


def saved_turn(message: StoredMessage, conversation_model: str = "") -> SavedTurn | None:
    """A stored message as a turn to load, or None for what the chat does not show.
    An answer saved before answers kept their model's name gets the conversation's model."""
    if message.role == USER:
        typed = str(message.stats.get(TYPED_KEY) or message.content)
        shown = str(message.stats.get(SHOWN_KEY) or message.content)
        return SavedTurn(USER, message.content, shown=shown, typed=typed, db_id=message.id)
    if message.role == "assistant" and message.content:
        footer = str(message.stats.get(FOOTER_KEY) or ("" if message.complete else INTERRUPTED))
        model = str(message.stats.get(MODEL_KEY) or model_display_name(conversation_model))
        return SavedTurn("assistant", message.content, footer=footer, model=model, db_id=message.id)
    return None


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
        self._row: _ConversationRow | None = None
        self._writes = BackgroundTasks(self, max_workers=1, thread_prefix=WRITER_THREAD)
        self._streaming: StreamingMessageWriter | None = None  # the writer thread's only
        self._closed = False
        self._tail_save = QTimer(self)  # one timer, restarted by the first delta after a save
        self._tail_save.setSingleShot(True)
        self._tail_save.setInterval(TAIL_SAVE_MS)
        self._tail_save.timeout.connect(lambda: self._write(self._flush_streaming))
        controller.conversation.subscribe(self)
        sidebar.conversationSelected.connect(self.open)
        sidebar.newConversationRequested.connect(self.new_conversation)
        sidebar.conversationDeleted.connect(self._on_deleted)
        if store.read_only_reason is not None:  # a history from a newer release: readable, never changed
            sidebar.show_message(store.read_only_reason)

    # -- what the window calls -----------------------------------------------------------
    def open(self, conversation_id: int) -> None:
        """Show a stored conversation in the chat; the next question continues it."""
        if conversation_id == self.current_id and len(self.controller.conversation):
            return
        self.flush()  # what is still being written belongs in what is read
        try:
            messages = self.store.messages(conversation_id)
            model = self.store.get(conversation_id).model
        except (sqlite3.Error, DscoderError) as exc:  # the chat stays as it was
            log.warning("could not read conversation %s: %s", conversation_id, exc)
            self.sidebar.show_message(f"Could not read that conversation ({exc}).")
            return
        turns = [turn for message in messages if (turn := saved_turn(message, model)) is not None]
        self.controller.restore(turns)  # the conversation is cleared, then filled with saved turns
        self._row = _ConversationRow(conversation_id)
        self._set_current(conversation_id)

    def open_last(self) -> None:
        """At start: the conversation used last, if there is one."""
        conversations = self.store.list()  # pinned first: the last used is the latest updated
        if conversations:
            self.open(max(conversations, key=lambda c: c.updated).id)

    def new_conversation(self) -> None:
        self.controller.new_chat()  # the conversation is cleared: see cleared()

    def flush(self) -> None:
        """Wait until every change so far is written."""
        if not self._closed:
            self._writes.wait()

    def close(self) -> None:
        """Save what streams as interrupted, write everything queued, end the writer thread."""
        if self._closed:
            return
        self._tail_save.stop()
        self._write(lambda: self._finish_streaming(INTERRUPTED))
        self._closed = True
        self._writes.shutdown(finish_queued=True)

    # -- the conversation's changes (ConversationObserver) -----------------------------------
    def turn_added(self, turn: Turn) -> None:
        if turn.db_id is not None:
            return  # loaded from the store: saved already
        if self._row is None:
            if turn.role != USER:
                return
            self._start_conversation(turn)
        row = self._row
        assert row is not None
        if turn.role == USER or turn.finished:
            stats = {}
            if turn.role == USER and (turn.display_text != turn.content or turn.typed != turn.content):
                stats = {SHOWN_KEY: turn.display_text, TYPED_KEY: turn.typed}
            elif turn.role != USER and turn.model:
                stats = {MODEL_KEY: turn.model}

            def add() -> None:
                if row.id is not None:
                    turn.db_id = self.store.add_message(row.id, turn.role, turn.content, stats)

            self._write(add, self.sidebar.refresh)
        else:
            model = {MODEL_KEY: turn.model} if turn.model else None

            def start() -> None:
                self._finish_streaming(INTERRUPTED)
                if row.id is not None:
                    self._streaming = self.store.start_answer(row.id, stats=model)
                    turn.db_id = self._streaming.message_id

            self._write(start)

    def text_appended(self, turn: Turn, text: str) -> None:
        self._write(lambda: self._append_streaming(text))
        if not self._tail_save.isActive():
            self._tail_save.start()

    def turn_finished(self, turn: Turn) -> None:
        self._write(lambda: self._finish_streaming(turn.footer), self.sidebar.refresh)

    def turn_removed(self, turn: Turn) -> None:
        def discard() -> None:
            writer, self._streaming = self._streaming, None
            if writer is not None:
                writer.finish()
                self.store.delete_messages_from(writer.message_id)  # nothing arrived: no empty answer

        self._write(discard, self.sidebar.refresh)

    def truncated(self, after: Turn | None, removed: list[Turn]) -> None:
        def delete() -> None:
            first = next((t.db_id for t in removed if t.db_id is not None), None)
            if first is not None:
                self.store.delete_messages_from(first)

        if removed:
            self._write(delete, self.sidebar.refresh)

    def cleared(self) -> None:
        self._write(lambda: self._finish_streaming(INTERRUPTED))
        self._row = None
        self._set_current(None)

    # -- internals ---------------------------------------------------------------------------
    def _start_conversation(self, first: Turn) -> None:
        row = self._row = _ConversationRow()
        model = self.engine.target.model_path if self.engine.target is not None else ""
        # Titled by what the user typed, not by the prompt built around an attached file.
        title = title_from(first.typed or first.display_text)

        def create() -> None:
            row.id = self.store.create(title=title, model=model)

        def created() -> None:
            if self._row is row and row.id is not None:
                self._set_current(row.id)

        self._write(create, created)

    def _append_streaming(self, text: str) -> None:
        if self._streaming is not None:
            self._streaming.append(text)

    def _flush_streaming(self) -> None:
        if self._streaming is not None:
            self._streaming.flush()

    def _finish_streaming(self, footer: str) -> None:
        writer, self._streaming = self._streaming, None
        if writer is not None:
            writer.finish({FOOTER_KEY: footer})

    def _write(self, work: Callable[[], object], then: Callable[[], object] | None = None) -> None:
        """Run `work` on the writer thread, after everything queued before it; `then` on the GUI thread."""
        if self._closed:
            return

        def job(_progress: Progress, _control: JobControl) -> None:
            try:
                work()
            except StoreWriteError as exc:  # a full disk: said once for a run of failed writes
                if exc.repeated:
                    log.info("conversation still not saved: %s", exc)
                    return
                raise DscoderError(f"Could not save the conversation ({exc})") from exc
            except (sqlite3.Error, DscoderError, OSError) as exc:  # a deleted conversation
                raise DscoderError(f"Could not save the conversation ({exc})") from exc

        def failed(message: str) -> None:
            log.warning("could not save the conversation: %s", message)
            self.sidebar.show_message(message)

        def done(_result: object) -> None:
            if then is not None:
                then()

        self._writes.start(job, done if then is not None else None, on_failed=failed)

    def _on_deleted(self, conversation_id: int) -> None:
        if conversation_id == self.current_id:

            def forget() -> None:
                self._streaming = None  # its rows are gone with it

            self._write(forget)
            self.controller.new_chat()

    def _set_current(self, conversation_id: int | None) -> None:
        self.current_id = conversation_id
        self.sidebar.set_current(conversation_id)
        self.conversationChanged.emit(conversation_id)
