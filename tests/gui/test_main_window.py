"""The main window driven like a person would, with the real engine on the tiny GGUF.

Each window starts its own engine process (about two seconds); no part of the engine
is faked. The tiny model answers random text up to max_tokens at hundreds of tokens
a second, which is what the streaming, Stop and crash paths need.
"""

from __future__ import annotations

import os
import signal

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt, QThread
from PySide6.QtGui import QKeyEvent, QPalette
from PySide6.QtWidgets import QApplication

from app.chat.conversation import SavedTurn
from app.chat.markdown.render import action_url
from app.chat.ui.message_widgets import ErrorCard, UserMessageWidget
from app.config.settings import Settings
from app.editor.ui.tabs import SaveChoice
from app.llm.info import EngineState
from app.mainwindow.window import MainWindow
from tests.helpers.chat import ConversationRecorder, click_anchor, click_label_link
from tests.helpers.window import (
    ANSWER_TIMEOUT_MS,
    LOAD_TIMEOUT_MS,
    OFFSCREEN_SIZE_HINTS,
    last_answer,
    open_window,
    roles,
    type_and_send,
    wait_answer_done,
    wait_ready,
)

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_SIZE_HINTS)


@pytest.fixture
def make_window(qtbot):
    """Windows with isolated settings; closing them (at teardown) stops their engines."""

    def make(**settings_values) -> MainWindow:
        return open_window(qtbot, Settings(**settings_values))

    return make


@pytest.fixture
def loaded_window(make_window, qtbot, tiny_models):
    def make(max_tokens: int = 200, **settings_values) -> MainWindow:
        window = make_window(max_tokens=max_tokens, **settings_values)
        window.engine.load_model(str(tiny_models["v1"]))
        wait_ready(qtbot, window)
        return window

    return make


@pytest.mark.slow
def test_a_prompt_streams_into_the_chat_painted_in_batches(qtbot, loaded_window) -> None:
    # Plain decoding: with drafting the tiny model's looping answer arrives 16 tokens at a
    # time and can end within two paint intervals.
    window = loaded_window(max_tokens=300, prompt_lookup=False)
    worker = window.engine.worker
    assert worker.thread().objectName() == "engine-worker"
    assert worker.thread() is not QThread.currentThread()
    renders_before = window.chat.view.render_count
    batches: list[str] = []
    window.engine.delta.connect(lambda _rid, text: batches.append(text))

    type_and_send(qtbot, window, "What does a binary search do?")
    assert window.chat.input.is_busy() and window.chat.input.stop_button.isEnabled()
    wait_answer_done(qtbot, window)

    stats = window.controller.last_stats
    assert stats is not None and stats.completion_tokens == 300
    # However fast the model is: tokens arrive in batches, and the chat paints at most once
    # per batch (its timer merges batches), never once per token.
    renders = window.chat.view.render_count - renders_before
    assert 1 <= renders <= len(batches) < 300
    assert "".join(batches) == window.controller.turns[-1].content
    answer = last_answer(window)
    assert answer.finished and answer.text == window.controller.turns[-1].content
    assert "300 tokens" in answer.stats_text and "tokens/s" in answer.stats_text
    assert [t.role for t in window.controller.turns] == ["user", "assistant"]
    assert window.status.speed_label.isVisible() and "tokens/s" in window.status.speed_label.text()
    assert window.status.device_label.text().startswith("CPU · ") and "threads" in window.status.device_label.text()
    assert window.status.model_label.text() == "tiny-deepseek-v1"
    used, size = window.chat.meter.usage()
    assert size == 4096 and used > 300
    assert not window.chat.input.is_busy()


@pytest.mark.slow
def test_stop_mid_stream_shows_stopped_at_once_and_the_next_prompt_works(qtbot, loaded_window) -> None:
    window = loaded_window(max_tokens=4000)
    type_and_send(qtbot, window, "Write a long story.")
    qtbot.waitUntil(lambda: len(last_answer(window).text) > 20, timeout=ANSWER_TIMEOUT_MS)
    ended: list[int] = []  # the worker's own end of the request: after it, nothing more can come
    window.engine.finished.connect(lambda rid, _stats: ended.append(rid))
    window.engine.failed.connect(lambda rid, _message, _dead: ended.append(rid))
    appended = ConversationRecorder()
    window.controller.conversation.subscribe(appended)

    qtbot.mouseClick(window.chat.input.stop_button, Qt.MouseButton.LeftButton)
    # Shown before control returns to the event loop: no waiting on the worker.
    answer = last_answer(window)
    assert answer.finished and answer.stats_text == "Stopped"
    assert not window.chat.input.is_busy() and not window.chat.input.stop_button.isEnabled()
    stopped_text = answer.text
    qtbot.waitUntil(lambda: bool(ended), timeout=ANSWER_TIMEOUT_MS)
    assert appended.texts == []  # late tokens of the stopped answer were dropped
    assert last_answer(window).text == stopped_text
    assert window.controller.turns[-1].content == stopped_text

    window.settings.max_tokens = 40
    type_and_send(qtbot, window, "And now a short one.")
    wait_answer_done(qtbot, window)
    assert window.controller.last_stats.completion_tokens == 40
    assert roles(window) == ["user", "assistant", "user", "assistant"], window.chat.view.messages()
    assert last_answer(window).stats_text.startswith("40 tokens")


@pytest.mark.slow
def test_regenerate_and_edit_and_resend(qtbot, loaded_window) -> None:
    window = loaded_window(max_tokens=30)
    type_and_send(qtbot, window, "first question")
    wait_answer_done(qtbot, window)
    type_and_send(qtbot, window, "second question")
    wait_answer_done(qtbot, window)
    assert roles(window) == ["user", "assistant", "user", "assistant"]

    # Regenerate the last answer: it is replaced, nothing else changes.
    requests: list[bool] = []
    window.controller.answerStarted.connect(lambda: requests.append(True))
    answer = last_answer(window)
    assert answer.regenerate_link.isVisible()
    click_label_link(qtbot, answer.regenerate_link)
    assert window.controller.is_busy()
    wait_answer_done(qtbot, window)
    assert len(requests) == 1
    assert roles(window) == ["user", "assistant", "user", "assistant"]
    assert [t.role for t in window.controller.turns] == ["user", "assistant", "user", "assistant"]
    assert last_answer(window).finished

    # Edit the first message and resend it: what followed it is dropped.
    first = window.chat.view.message_widget(0)
    assert isinstance(first, UserMessageWidget)
    click_label_link(qtbot, first.edit_link)
    assert window.chat.input.is_editing() and window.chat.input.text() == "first question"
    window.chat.input.editor.clear()
    type_and_send(qtbot, window, "first question, edited")
    wait_answer_done(qtbot, window)
    assert roles(window) == ["user", "assistant"]
    assert [t.content for t in window.controller.turns][0] == "first question, edited"
    assert window.chat.view.messages()[0].text == "first question, edited"
    assert len(window.controller.turns) == 2


def test_code_from_the_editor_goes_into_prompts_and_answers_go_into_the_editor(qtbot, make_window, tmp_path) -> None:
    window = make_window()  # no model needed: the prompts are built and kept either way
    source = tmp_path / "calc.py"
    source.write_bytes(b"def add(a, b):\n    return a + b\n")
    window.open_files([str(source)])
    editor = window.tabs.current_editor()
    assert editor is not None and editor.path == str(source)
    # The current file goes with a question by default: its chip says so before sending,
    # and the prompt carries the name, the language and the code.
    qtbot.waitUntil(lambda: [c.label for c in window.chat.input.chips.chips()] == ["calc.py"])
    type_and_send(qtbot, window, "Is this right?")
    qtbot.waitUntil(lambda: bool(window.controller.turns))
    sent = window.controller.turns[-1]
    assert sent.typed == "Is this right?"
    assert "`calc.py` (Python)" in sent.content
    assert "```python\ndef add(a, b):\n    return a + b\n```" in sent.content
    assert sent.content.endswith("Is this right?")
    # No model yet: the chat says so plainly, with the button that opens one.
    error = window.chat.view.message_widget(len(window.chat.view.messages()) - 1)
    assert isinstance(error, ErrorCard) and "No model is loaded" in error.text
    assert [b.text() for b in error.buttons] == ["Open model file…"]

    # Right-click "Find bugs" on a selection.
    editor.sci.setSelection(editor.position_of_offset(15), editor.position_of_offset(0))
    menu = editor.build_context_menu()
    ask = next(a for a in menu.actions() if a.objectName() == "ask:Find bugs")
    assert ask.isEnabled()
    ask.trigger()
    prompt = window.controller.turns[-1].content
    assert prompt.startswith("Find the bugs in this code.")
    assert "`calc.py` (Python)" in prompt and "```python\ndef add(a, b):\n```" in prompt

    # "Insert at cursor" on an answer's code block puts the code where the caret is.
    window.controller.restore([SavedTurn("assistant", "Try this:\n\n```python\nimport math\n```\n")])
    editor.set_cursor_offset(0)
    click_anchor(qtbot, window.chat.view.message_widget(0).body, action_url("insert", 0))
    assert editor.text() == "import math\ndef add(a, b):\n    return a + b\n"
    assert editor.is_modified()
    assert source.read_bytes() == b"def add(a, b):\n    return a + b\n"


@pytest.mark.slow
def test_the_engine_killed_mid_stream_shows_restart_and_keeps_the_editor_text(qtbot, loaded_window) -> None:
    window = loaded_window(max_tokens=4000)
    editor = window.tabs.current_editor()
    editor.set_text("unsaved work\n")
    assert editor.is_modified()
    type_and_send(qtbot, window, "Tell me everything.")
    qtbot.waitUntil(lambda: len(last_answer(window).text) > 20, timeout=ANSWER_TIMEOUT_MS)

    os.kill(window.engine.info.pid, signal.SIGKILL)
    wait_answer_done(qtbot, window)
    assert window.engine.state is EngineState.DEAD
    assert roles(window) == ["user", "assistant", "error"]
    error = window.chat.view.message_widget(2)
    assert isinstance(error, ErrorCard)
    assert "killed by signal SIGKILL" in error.text
    assert [b.text() for b in error.buttons] == ["Restart engine"]
    assert editor.text() == "unsaved work\n" and editor.is_modified()
    question = window.controller.turns[0]  # with the editor's unsaved text attached
    assert question.typed == "Tell me everything." and "unsaved work" in question.content
    assert window.status.model_label.text() == "The engine stopped"

    qtbot.mouseClick(error.buttons[0], Qt.MouseButton.LeftButton)
    wait_ready(qtbot, window)
    window.settings.max_tokens = 20
    type_and_send(qtbot, window, "Still there?")
    wait_answer_done(qtbot, window)
    assert window.controller.last_stats.completion_tokens == 20
    assert window.chat.view.messages()[-1].role == "assistant"
    assert editor.text() == "unsaved work\n"

    # A death while idle is noticed too, by the worker's watcher.
    rows = len(window.chat.view.messages())
    os.kill(window.engine.info.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: window.engine.state is EngineState.DEAD, timeout=10_000)
    idle_error = window.chat.view.message_widget(rows)
    assert isinstance(idle_error, ErrorCard) and "SIGKILL" in idle_error.text
    assert [b.text() for b in idle_error.buttons] == ["Restart engine"]


@pytest.mark.slow
def test_first_run_without_a_model_says_so_and_offers_to_open_one(qtbot, make_window, tiny_models) -> None:
    window = make_window()
    banner = window.no_model_banner
    assert banner.isVisible() and "No model is loaded" in banner.label.text()
    assert banner.open_button.text() == "Open model file…"
    assert window.status.model_label.text() == "No model loaded"
    assert not window.status.is_loading()

    # A question typed before any model waits for one, and is answered once it is loaded.
    window.settings.max_tokens = 25
    type_and_send(qtbot, window, "hello?")
    error = window.chat.view.message_widget(1)
    assert isinstance(error, ErrorCard)
    window.ask_model_path = lambda: str(tiny_models["v1"])
    qtbot.mouseClick(error.buttons[0], Qt.MouseButton.LeftButton)
    assert window.status.is_loading() and window.status.cancel_button.isVisible()
    assert not banner.isVisible()
    wait_ready(qtbot, window)
    wait_answer_done(qtbot, window)
    assert window.chat.view.messages()[-1].role == "assistant"
    assert window.controller.last_stats.completion_tokens == 25
    assert window.settings.chat_model_path == str(tiny_models["v1"])


@pytest.mark.slow
def test_loading_can_be_cancelled(qtbot, make_window, tiny_models) -> None:
    window = make_window()
    window.engine.load_model(str(tiny_models["v1"]))
    assert window.status.is_loading()
    qtbot.mouseClick(window.status.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.engine.state is EngineState.NONE, timeout=10_000)
    assert not window.status.is_loading()
    assert window.menus.restart.isEnabled()


@pytest.mark.slow
def test_a_bad_model_file_fails_to_load_with_a_readable_error(qtbot, make_window, tiny_models) -> None:
    window = make_window()
    window.engine.load_model(str(tiny_models["not_gguf"]))
    qtbot.waitUntil(lambda: window.engine.state is EngineState.FAILED, timeout=LOAD_TIMEOUT_MS)
    error = window.chat.view.message_widget(0)
    assert isinstance(error, ErrorCard) and "not a GGUF model file" in error.text
    assert [b.text() for b in error.buttons] == ["Open model file…", "Try again"]


@pytest.mark.slow
def test_the_window_stays_responsive_while_an_answer_streams(qtbot, loaded_window) -> None:
    """Keys typed meanwhile go through the event loop and land, and the answer grows on
    screen step by step (how long the loop ever pauses is measured by tests/bench/ui.py)."""
    window = loaded_window(max_tokens=4000)
    editor = window.tabs.current_editor()
    type_and_send(qtbot, window, "Explain recursion at length.")
    shown: list[int] = []

    def grew_three_times() -> bool:
        length = len(last_answer(window).body.toPlainText())
        if not shown or length > shown[-1]:
            shown.append(length)
        return len(shown) > 3

    qtbot.waitUntil(grew_three_times, timeout=ANSWER_TIMEOUT_MS)
    key = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_X, Qt.KeyboardModifier.NoModifier, "x")
    QCoreApplication.postEvent(editor.sci, key)  # queued, like a real key press
    qtbot.waitUntil(lambda: "x" in editor.text(), timeout=ANSWER_TIMEOUT_MS)
    assert window.controller.is_busy(), "the answer ended before the window handled the key"
    qtbot.mouseClick(window.chat.input.stop_button, Qt.MouseButton.LeftButton)
    assert last_answer(window).stats_text == "Stopped"


def test_theme_and_layout_are_remembered(qtbot, make_window) -> None:
    window = make_window()
    window.apply_theme("dark")
    assert window.tabs.current_editor().theme_name == "dark"
    assert window.chat.theme() == "dark"
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() < 80
    dark_action = next(a for a in window.menus.themes.actions() if a.data() == "dark")
    assert dark_action.isChecked()
    window.splitter.setSizes([0, 500, 700])
    sizes = window.splitter.sizes()
    window.close()

    again = make_window(theme=window.settings.theme)
    assert again.chat.theme() == "dark"
    assert again.splitter.sizes() == sizes
    again.apply_theme("light")
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() > 180


def test_closing_asks_about_unsaved_files_and_can_be_cancelled(qtbot, make_window) -> None:
    window = make_window()
    window.tabs.current_editor().set_text("draft")
    asked: list[str] = []

    def keep_open(editor) -> SaveChoice:
        asked.append(window.tabs.display_name(editor))
        return SaveChoice.CANCEL

    window.tabs.ask_unsaved = keep_open
    engine_thread = window.engine.worker.thread()
    window.close()
    assert asked == ["Untitled-1"] and window.isVisible()
    window.tabs.ask_unsaved = lambda _editor: SaveChoice.DISCARD
    window.close()
    assert not window.isVisible()
    assert engine_thread.isFinished()  # the worker thread was ended


@pytest.mark.slow
def test_the_context_window_meter_warns_before_the_context_overflows_and_dropped_turns_are_noted(
    qtbot, make_window, tiny_models
) -> None:
    window = make_window(n_ctx=768, max_tokens=360)  # llama.cpp rounds contexts to 256s
    window.engine.load_model(str(tiny_models["v1"]))
    wait_ready(qtbot, window)
    assert window.chat.meter.usage() == (0, 768)

    type_and_send(qtbot, window, "first")
    wait_answer_done(qtbot, window)
    used, size = window.chat.meter.usage()
    assert size == 768 and used > 0.85 * size and window.chat.meter.is_warning()
    notes = [m.text for m in window.chat.view.messages() if m.role == "note"]
    assert len(notes) == 1 and "fills" in notes[0] and "New chat" in notes[0]
    assert window.status.context_label.text() == f"Context {used:,} / 768"

    type_and_send(qtbot, window, "second")
    wait_answer_done(qtbot, window)
    notes = [m.text for m in window.chat.view.messages() if m.role == "note"]
    assert any("oldest turn left out" in note for note in notes), notes
    assert [t.role for t in window.controller.turns] == ["user", "assistant", "user", "assistant"]

    qtbot.mouseClick(window.chat.new_chat_button, Qt.MouseButton.LeftButton)
    assert window.chat.view.messages() == [] and window.controller.turns == []
    assert window.chat.meter.usage() == (0, 768) and not window.chat.meter.is_warning()
