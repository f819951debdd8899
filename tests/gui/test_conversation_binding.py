"""The conversation binding saves what the conversation model changes, on its writer thread,
into real SQLite; the window runs on the scripted engine worker (no engine process)."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from app.chat.ui.message_widgets import AssistantMessageWidget
from app.config.settings import Settings
from app.conversations.store import ConversationStore, default_db_path
from app.conversations.ui.sidebar import ID_ROLE
from app.llm.info import EngineInfo, EngineState
from app.mainwindow.window import MainWindow
from app.utils.atomic import SQLITE_FULL
from tests.helpers.fake_engine import ScriptedAnswer, ScriptedEngineWorker, ScriptedLoad
from tests.helpers.history import write_newer_database
from tests.helpers.window import open_window

WAIT_MS = 5_000


class WriteThreads:
    """Wraps the store's writing methods to note which thread ran each."""

    def __init__(self, store: ConversationStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.threads: set[str] = set()
        for name in ("create", "add_message", "start_answer", "delete_messages_from", "save_partial"):
            original = getattr(store, name)

            def noted(*args, _original=original, **kwargs):
                self.threads.add(threading.current_thread().name)
                return _original(*args, **kwargs)

            monkeypatch.setattr(store, name, noted)


def scripted_window(qtbot, worker: ScriptedEngineWorker) -> MainWindow:
    window = open_window(qtbot, Settings(), worker)
    window.engine.load_model("/models/scripted.gguf")
    qtbot.waitUntil(lambda: window.engine.state is EngineState.READY, timeout=WAIT_MS)
    return window


def ask(qtbot, window: MainWindow, text: str) -> None:
    window.controller.send(text)
    qtbot.waitUntil(lambda: not window.controller.is_busy(), timeout=WAIT_MS)
    window.conversations.flush()


def stored(window: MainWindow) -> list[tuple[str, str, bool]]:
    cid = window.conversations.current_id
    assert cid is not None
    return [(m.role, m.content, m.complete) for m in window.store.messages(cid)]


def test_questions_and_answers_are_saved_off_the_gui_thread(qtbot, monkeypatch) -> None:
    worker = ScriptedEngineWorker()
    window = scripted_window(qtbot, worker)
    writes = WriteThreads(window.store, monkeypatch)
    worker.script_answer(ScriptedAnswer(deltas=["par", "tial"], hold=True))
    window.controller.send("first question")
    qtbot.waitUntil(lambda: window.controller.turns[-1].content == "partial", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.conversations.current_id is not None, timeout=WAIT_MS)
    # The deltas have paused: the binding's tail timer saves what arrived, with no flush asked.
    qtbot.waitUntil(lambda: stored(window)[1:] == [("assistant", "partial", False)], timeout=WAIT_MS)
    assert stored(window)[0] == ("user", "first question", True)

    window.controller.stop()
    window.conversations.flush()
    assert stored(window) == [("user", "first question", True), ("assistant", "partial", True)]
    footer = window.store.messages(window.conversations.current_id)[1].stats["footer"]
    assert footer == "Stopped"
    # Only the writer thread writes: no timer thread for a pause in deltas, nor the GUI thread.
    assert writes.threads and all(name.startswith("conversation-writer") for name in writes.threads)
    turns = window.controller.turns
    assert [t.db_id for t in turns] == [m.id for m in window.store.messages(window.conversations.current_id)]


def test_regenerate_edit_and_an_empty_answer_change_the_stored_conversation(qtbot) -> None:
    worker = ScriptedEngineWorker()
    window = scripted_window(qtbot, worker)
    for text in ("a1", "a2", "a2 again", "a1 edited"):
        worker.script_answer(ScriptedAnswer(deltas=[text]))
    ask(qtbot, window, "q1")
    ask(qtbot, window, "q2")
    window.controller.regenerate()
    qtbot.waitUntil(lambda: not window.controller.is_busy(), timeout=WAIT_MS)
    window.conversations.flush()
    assert [content for _role, content, _ in stored(window)] == ["q1", "a1", "q2", "a2 again"]

    window.controller.edit(window.controller.turns[0].id)
    ask(qtbot, window, "q1 edited")
    assert [content for _role, content, _ in stored(window)] == ["q1 edited", "a1 edited"]

    worker.script_answer(ScriptedAnswer(deltas=[], fail="no answer"))
    ask(qtbot, window, "q3")
    assert [content for _role, content, _ in stored(window)] == ["q1 edited", "a1 edited", "q3"]  # no empty answer


def test_a_saved_conversation_opens_without_being_saved_again_and_new_chat_starts_another(qtbot) -> None:
    worker = ScriptedEngineWorker()
    window = scripted_window(qtbot, worker)
    ask(qtbot, window, "first conversation")
    first = window.conversations.current_id
    window.sidebar.newConversationRequested.emit()
    assert window.conversations.current_id is None and window.controller.turns == []
    ask(qtbot, window, "second conversation")
    qtbot.waitUntil(lambda: window.conversations.current_id not in (None, first), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(window.sidebar.ids_shown()) == 2, timeout=WAIT_MS)

    window.sidebar.conversationSelected.emit(first)
    assert window.conversations.current_id == first
    assert [t.content for t in window.controller.turns] == ["first conversation", "Hello, world"]
    window.conversations.flush()
    assert len(window.store.messages(first)) == 2  # opening saved nothing twice
    ask(qtbot, window, "and a follow-up")
    assert [content for _role, content, _ in stored(window)][-2:] == ["and a follow-up", "Hello, world"]

    window.store.delete(first)
    window.sidebar.conversationDeleted.emit(first)
    assert window.conversations.current_id is None and window.controller.turns == []


def _answer_names(window: MainWindow) -> list[str]:
    view = window.chat.view
    widgets = [view.message_widget(row) for row in range(len(view.messages()))]
    return [w.role_label.text() for w in widgets if isinstance(w, AssistantMessageWidget)]


def test_after_a_restart_answers_show_the_model_that_wrote_them(qtbot) -> None:
    qwen = EngineInfo(model_name="qwen2.5-coder-0.5b-instruct", model_path="/models/qwen.gguf", n_ctx=4096)
    worker = ScriptedEngineWorker()
    worker.script_load(ScriptedLoad(info=qwen))
    window = scripted_window(qtbot, worker)
    ask(qtbot, window, "Which model are you?")
    assert _answer_names(window) == ["qwen2.5-coder-0.5b-instruct"]
    conversation = window.conversations.current_id
    assert conversation is not None
    answer = window.store.messages(conversation)[1]
    assert answer.stats["model"] == "qwen2.5-coder-0.5b-instruct" and answer.stats["footer"]
    window.close()  # the app quits: its conversations are written and closed

    # The next start, before any model is loaded: the restored answer keeps its model's name.
    restarted = open_window(qtbot, Settings(), ScriptedEngineWorker())
    assert restarted.conversations.current_id == conversation
    assert [t.content for t in restarted.controller.turns] == ["Which model are you?", "Hello, world"]
    assert _answer_names(restarted) == ["qwen2.5-coder-0.5b-instruct"]
    assert restarted.controller.turns[1].model == "qwen2.5-coder-0.5b-instruct"


def test_answers_saved_without_a_model_name_take_the_conversations_model(tmp_path) -> None:
    from app.conversations.ui.binding import saved_turn

    store = ConversationStore(tmp_path / "history.sqlite3")
    conversation = store.create("old", model="/models/deepseek-coder-6.7b-instruct.Q4_K_M.gguf")
    store.add_message(conversation, "user", "hi")
    store.add_message(conversation, "assistant", "hello", {"footer": "2 tokens"})
    info = store.get(conversation)
    turns = [saved_turn(m, info.model) for m in store.messages(conversation)]
    assert turns[1] is not None and turns[1].model == "deepseek-coder-6.7b-instruct.Q4_K_M"
    store.close()


def test_a_history_from_a_newer_release_is_shown_read_only_with_the_reason(qtbot) -> None:
    write_newer_database(default_db_path())
    window = open_window(qtbot, Settings(), ScriptedEngineWorker())
    assert window.store.read_only_reason is not None
    assert not window.sidebar.status.isHidden()
    assert window.sidebar.status.text() == window.store.read_only_reason
    assert "newer version" in window.sidebar.status.text()
    listed = [window.sidebar.list.item(i).data(ID_ROLE) for i in range(window.sidebar.list.count())]
    assert 7 in listed  # its conversation is listed, readable


class FullDisk:
    """The store's SQLite connection on a disk that just filled: every commit fails as SQLite's does."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, *args):
        if sql == "COMMIT":
            full = sqlite3.OperationalError("database or disk is full")
            full.sqlite_errorcode = SQLITE_FULL
            raise full
        return self._connection.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self._connection, name)


def test_a_full_disk_is_said_once_not_at_every_save(qtbot, monkeypatch) -> None:
    worker = ScriptedEngineWorker()
    window = scripted_window(qtbot, worker)
    shown: list[str] = []
    monkeypatch.setattr(window.conversations.sidebar, "show_message", shown.append)
    ask(qtbot, window, "saved before the disk filled")
    monkeypatch.setattr(window.store, "_conn", FullDisk(window.store._conn))
    for question in ("one", "two", "three"):
        worker.script_answer(ScriptedAnswer(deltas=["an ", "answer"]))
        ask(qtbot, window, question)
    qtbot.waitUntil(lambda: bool(shown), timeout=WAIT_MS)
    failures = [text for text in shown if text]
    assert len(failures) == 1 and "full" in failures[0]
    monkeypatch.undo()
    assert stored(window)[0] == ("user", "saved before the disk filled", True)
