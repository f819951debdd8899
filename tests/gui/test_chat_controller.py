"""The chat controller's behaviour, with the scripted engine worker (no engine process):
send, stop, edit and resend, regenerate, the rows shown, notes, errors, engine death and
stale request ids. The real engine path is covered by test_main_window.py."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.chat.attachments import excerpts
from app.chat.editor_access import EditorSnapshot
from app.chat.ui import ChatPanel
from app.chat.ui.controller import ChatController
from app.chat.ui.message_widgets import AssistantMessageWidget, ErrorCard
from app.config.settings import Settings
from app.config.ui.store import SettingsStore
from app.llm.info import EngineState
from app.llm.ui.session import EngineSession
from app.protocol.options import LoadOptions
from tests.helpers.chat import ConversationRecorder, click_label_link
from tests.helpers.fake_engine import ScriptedAnswer, ScriptedEngineWorker, ScriptedLoad

WAIT_MS = 5_000


class NoEditor:
    """The editor as the chat sees it, with no file open."""

    def __init__(self) -> None:
        self.inserted: list[str] = []

    def snapshot(self) -> EditorSnapshot | None:
        return EditorSnapshot("calc.py", "", "python", "x = 1\n")

    def open_files(self) -> list[str]:
        return []

    def open_text(self, path: str) -> str | None:
        return None

    def insert_at_cursor(self, code: str) -> bool:
        self.inserted.append(code)
        return True

    def replace_selection(self, code: str) -> bool:
        return False


class Chat:
    """A chat panel, its controller and an engine session on the scripted worker."""

    def __init__(self, qtbot, settings: Settings) -> None:
        self.qtbot = qtbot
        self.panel = ChatPanel()
        qtbot.addWidget(self.panel)
        self.panel.resize(520, 700)
        self.panel.show()
        self.worker = ScriptedEngineWorker()
        self.engine = EngineSession(SettingsStore(settings), lambda options: options, self.worker)
        self.editor = NoEditor()
        self.controller = ChatController(self.panel, self.editor, settings, self.engine)
        self.recorder = ConversationRecorder()
        self.controller.conversation.subscribe(self.recorder)

    def load(self) -> None:
        self.engine.load(LoadOptions("/models/scripted.gguf"))
        self.qtbot.waitUntil(lambda: self.engine.state is EngineState.READY, timeout=WAIT_MS)

    def wait_idle(self) -> None:
        self.qtbot.waitUntil(lambda: not self.controller.is_busy(), timeout=WAIT_MS)

    def rows(self) -> list[tuple[str, str]]:
        return [(m.role, m.text) for m in self.panel.view.messages()]

    def turns(self) -> list[tuple[str, str]]:
        return [(t.role, t.content) for t in self.controller.conversation.turns]


@pytest.fixture
def chat(qtbot):
    return Chat(qtbot, Settings(max_tokens=77, system_prompt="Be brief."))


def test_a_question_streams_its_answer_into_the_conversation_and_the_view(chat) -> None:
    chat.load()
    chat.worker.script_answer(ScriptedAnswer(deltas=["Use ", "a set", "."]))
    chat.controller.send("How do I dedupe?")
    assert chat.panel.input.is_busy()
    chat.wait_idle()
    assert chat.turns() == [("user", "How do I dedupe?"), ("assistant", "Use a set.")]
    assert chat.rows() == chat.turns()
    request = chat.worker.requests[-1]
    assert request.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "How do I dedupe?"},
    ]
    assert request.params.max_tokens == 77
    assert chat.recorder.texts == ["Use ", "a set", "."]
    answer = chat.controller.conversation.last()
    assert answer is not None and answer.finished and answer.model == "scripted-model"
    assert chat.panel.view.message_widget(1).stats_text.startswith("3 tokens")


def test_the_current_file_goes_with_the_question_and_edit_puts_back_what_was_typed(chat) -> None:
    chat.load()
    current = excerpts.current_file("calc.py", "python", "x = 1\n", 0)
    chat.controller.send("Is this right?", [current])
    chat.wait_idle()
    question = chat.controller.conversation.turns[0]
    assert "x = 1" in question.content and question.typed == "Is this right?"
    assert chat.rows()[0][1].startswith("Is this right?\n\n")  # the attachment line, not the code
    chat.controller.edit(question.id)
    assert chat.panel.input.is_editing() and chat.panel.input.text() == "Is this right?"


def test_stop_keeps_what_arrived_and_late_or_stale_signals_are_dropped(chat) -> None:
    chat.load()
    chat.worker.script_answer(ScriptedAnswer(deltas=["partial"], hold=True))
    chat.controller.send("Write a story.")
    chat.qtbot.waitUntil(lambda: chat.rows()[-1][1] == "partial", timeout=WAIT_MS)
    stopped = chat.worker.requests[-1].request_id
    chat.controller.stop()
    assert chat.turns() == [("user", "Write a story."), ("assistant", "partial")]
    assert chat.panel.view.message_widget(1).stats_text == "Stopped" and not chat.panel.input.is_busy()

    chat.worker.script_answer(ScriptedAnswer(deltas=["fresh"]))
    chat.controller.send("Another one.")
    chat.worker.delta.emit(stopped, " late")  # the stopped request's tokens, still on their way
    chat.worker.failed.emit(stopped, "stale failure", False)
    chat.wait_idle()
    assert chat.turns()[-1] == ("assistant", "fresh")
    assert [role for role, _ in chat.rows()] == ["user", "assistant", "user", "assistant"]


def test_regenerate_replaces_the_last_answer_and_edit_cuts_what_followed(chat, qtbot) -> None:
    chat.load()
    for text in ("first answer", "second answer", "second, again", "edited answer"):
        chat.worker.script_answer(ScriptedAnswer(deltas=[text]))
    chat.controller.send("first question")
    chat.wait_idle()
    chat.controller.send("second question")
    chat.wait_idle()

    answer = chat.panel.view.message_widget(3)
    assert isinstance(answer, AssistantMessageWidget)
    click_label_link(qtbot, answer.regenerate_link)
    chat.wait_idle()
    assert chat.turns()[2:] == [("user", "second question"), ("assistant", "second, again")]
    assert chat.worker.requests[-1].messages[-1] == {"role": "user", "content": "second question"}
    assert chat.recorder.events[-3][0] == "truncated" and chat.recorder.events[-3][1] == ["assistant"]

    first = chat.controller.conversation.turns[0]
    chat.panel.editRequested.emit(first.id)  # the first question's Edit link
    assert chat.panel.input.text() == "first question"
    chat.panel.input.editor.clear()
    chat.controller.send("first question, edited")
    chat.wait_idle()
    assert chat.turns() == [("user", "first question, edited"), ("assistant", "edited answer")]
    assert chat.rows() == chat.turns()
    rows = [chat.panel.view.row_of_turn(t.id) for t in chat.controller.conversation.turns]
    assert rows == [0, 1]  # each turn's row, found by its id


def test_notes_come_after_the_answer_and_failures_offer_to_try_again(chat) -> None:
    chat.load()
    chat.worker.script_answer(ScriptedAnswer(deltas=["ok"], notes=["2 oldest turns left out"]))
    chat.controller.send("q1")
    chat.wait_idle()
    assert chat.rows()[-2:] == [("assistant", "ok"), ("note", "2 oldest turns left out")]

    chat.worker.script_answer(ScriptedAnswer(deltas=[], fail="The server said no (HTTP 500)"))
    chat.controller.send("q2")
    chat.wait_idle()
    assert chat.rows()[-2:] == [("user", "q2"), ("error", "The server said no (HTTP 500)")]  # no empty bubble
    assert ("removed", "assistant") in chat.recorder.events
    error = chat.panel.view.message_widget(len(chat.rows()) - 1)
    assert isinstance(error, ErrorCard) and [b.text() for b in error.buttons] == ["Try again"]
    chat.worker.script_answer(ScriptedAnswer(deltas=["better"]))
    error.buttons[0].click()
    chat.wait_idle()
    assert chat.rows()[-2:] == [("user", "q2"), ("assistant", "better")]  # the error card went with the retry


def test_the_engine_dying_mid_answer_keeps_the_text_and_offers_a_restart(chat) -> None:
    chat.load()
    chat.worker.script_answer(ScriptedAnswer(deltas=["half an ans"], die="The engine stopped (killed by signal 9)"))
    chat.controller.send("Tell me everything.")
    chat.wait_idle()
    assert chat.engine.state is EngineState.DEAD
    assert chat.rows()[-2:] == [("assistant", "half an ans"), ("error", "The engine stopped (killed by signal 9)")]
    assert chat.panel.view.message_widget(1).stats_text == "Interrupted"
    error = chat.panel.view.message_widget(2)
    assert isinstance(error, ErrorCard) and [b.text() for b in error.buttons] == ["Restart engine"]
    error.buttons[0].click()
    chat.qtbot.waitUntil(lambda: chat.engine.state is EngineState.READY, timeout=WAIT_MS)
    assert chat.rows()[-1] == ("note", "The engine is running again; the conversation continues.")

    chat.worker.die()  # and once more while idle
    chat.qtbot.waitUntil(lambda: chat.engine.state is EngineState.DEAD, timeout=WAIT_MS)
    assert chat.rows()[-1][0] == "error"


def test_a_question_before_any_model_waits_and_is_answered_once_one_loads(chat) -> None:
    opened: list[bool] = []
    chat.controller.openModelRequested.connect(lambda: opened.append(True))
    chat.controller.send("hello?")
    error = chat.panel.view.message_widget(1)
    assert isinstance(error, ErrorCard) and "No model is loaded" in error.text
    error.buttons[0].click()
    assert opened == [True]
    chat.worker.script_load(ScriptedLoad(hold=True))
    chat.engine.load(LoadOptions("/models/scripted.gguf"))
    chat.controller.send("still there?")
    assert chat.rows()[-1] == ("note", "The model is loading; the answer starts when it is ready.")
    chat.worker.finish_held_load()
    chat.qtbot.waitUntil(lambda: len(chat.worker.requests) == 1, timeout=WAIT_MS)
    chat.wait_idle()
    assert chat.turns()[-2:] == [("user", "still there?"), ("assistant", "Hello, world")]


def test_new_chat_and_a_restored_conversation(chat) -> None:
    chat.load()
    chat.controller.send("q")
    chat.wait_idle()
    chat.panel.new_chat_button.click()
    assert chat.turns() == [] and chat.rows() == [] and chat.recorder.events[-1] == ("cleared", None)
    assert chat.panel.meter.usage() == (0, 4096)

    from app.chat.conversation import SavedTurn

    chat.controller.restore([SavedTurn("user", "old q", db_id=1), SavedTurn("assistant", "old a", footer="12 tokens")])
    assert chat.rows() == [("user", "old q"), ("assistant", "old a")]
    assert chat.panel.view.message_widget(1).stats_text == "12 tokens"
    chat.controller.insert_code("print(1)")
    assert chat.editor.inserted == ["print(1)"]
    chat.controller.replace_code("print(2)")
    assert chat.rows()[-1] == ("note", "Open a file in the editor to replace its selection.")
    chat.qtbot.mouseClick(chat.panel.new_chat_button, Qt.MouseButton.LeftButton)
    assert chat.rows() == []
