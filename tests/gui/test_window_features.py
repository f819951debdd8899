"""The window's features wired together, driven through its menus, with real engines on
the tiny GGUF (a second engine process stands in for a remote server)."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtWidgets import QApplication

from app.completion.ui.status import CompletionState
from app.config.remotes import RemoteEngine, save_api_key
from app.config.settings import Settings, load_settings
from app.llm.info import EngineState
from app.mainwindow.window import MainWindow
from app.preferences.ui.dialog import SettingsChange
from tests.helpers.window import (
    OFFSCREEN_SIZE_HINTS,
    menu_action,
    open_window,
    type_and_send,
    wait_answer_done,
    wait_ready,
)

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_SIZE_HINTS)


@pytest.fixture
def make_window(qtbot):
    def make(settings: Settings | None = None) -> MainWindow:
        return open_window(qtbot, settings or Settings(max_tokens=20))

    return make


@pytest.mark.slow
def test_model_manager_opens_from_the_menu_and_its_choice_loads_the_chat_model(qtbot, make_window, tiny_models):
    window = make_window()
    assert window.no_model_banner.download_button.isVisible()
    menu_action(window, "Model Manager…").trigger()
    dialog = window.models.dialog
    assert dialog.isVisible() and dialog.settings is window.settings
    assert window.models.dialog is dialog  # made once
    dialog.modelChosen.emit("chat", str(tiny_models["v1"]))
    wait_ready(qtbot, window)
    assert window.settings.chat_model_path == str(tiny_models["v1"])
    assert load_settings().chat_model_path == str(tiny_models["v1"])
    dialog.modelRemoved.emit(str(tiny_models["v1"]))
    assert window.engine.state is EngineState.NONE
    dialog.close()


@pytest.mark.slow
def test_settings_apply_the_theme_at_once_and_restart_the_engine_when_needed(qtbot, make_window, tiny_models):
    window = make_window(Settings(max_tokens=20, chat_model_path=str(tiny_models["v1"]), theme="light"))
    window.engine.load_from_settings()
    wait_ready(qtbot, window)
    first_pid = window.engine.info.pid

    def change(**values):
        return lambda _parent, settings, **_kw: SettingsChange(dataclasses.replace(settings, **values), [])

    window.settings_editor.edit = change(theme="dark")
    menu_action(window, "Settings…").trigger()
    assert window.chat.theme() == "dark" and window.tabs.current_editor().theme_name == "dark"
    assert window.engine.info.pid == first_pid  # a look change leaves the engine alone
    assert load_settings().theme == "dark"

    window.settings_editor.edit = lambda _p, settings, **_kw: SettingsChange(
        dataclasses.replace(settings, n_ctx=1024), ["Context size"]
    )
    menu_action(window, "Settings…").trigger()
    assert window.engine.state is EngineState.LOADING
    wait_ready(qtbot, window)
    assert window.engine.info.pid != first_pid and window.engine.info.n_ctx == 1024
    assert window.settings.n_ctx == 1024


@pytest.mark.slow
def test_a_conversation_is_saved_and_reopens_in_a_new_window(qtbot, make_window, tiny_models):
    window = make_window()
    window.engine.load_model(str(tiny_models["v1"]))
    wait_ready(qtbot, window)
    type_and_send(qtbot, window, "first question")
    wait_answer_done(qtbot, window)
    answer = window.controller.turns[-1].content
    window.conversations.flush()  # the writer thread has saved everything so far
    qtbot.waitUntil(lambda: window.sidebar_dock.isVisible() and len(window.sidebar.ids_shown()) == 1)
    cid = window.conversations.current_id
    assert [(m.role, m.complete) for m in window.store.messages(cid)] == [("user", True), ("assistant", True)]
    window.close()

    again = make_window()
    assert again.conversations.current_id == cid
    assert [(t.role, t.content) for t in again.controller.turns] == [("user", "first question"), ("assistant", answer)]
    assert [m.role for m in again.chat.view.messages()] == ["user", "assistant"]
    # Regenerate replaces the stored answer; New chat starts a second conversation.
    again.engine.load_model(str(tiny_models["v1"]))
    wait_ready(qtbot, again)
    again.controller.regenerate()
    wait_answer_done(qtbot, again)
    again.conversations.flush()
    assert [m.role for m in again.store.messages(cid)] == ["user", "assistant"]
    assert again.store.messages(cid)[1].content == again.controller.turns[-1].content
    again.sidebar.newConversationRequested.emit()
    assert again.conversations.current_id is None and again.chat.view.messages() == []
    type_and_send(qtbot, again, "second conversation")
    wait_answer_done(qtbot, again)
    qtbot.waitUntil(lambda: len(again.sidebar.ids_shown()) == 2)
    again.sidebar.conversationSelected.emit(cid)
    assert again.controller.turns[0].content == "first question"


@pytest.mark.slow
def test_completion_attaches_to_new_tabs_and_shows_its_indicator(qtbot, make_window, tiny_models):
    window = make_window()
    assert window.completion.indicator.isVisible()
    assert window.completion.indicator.state == CompletionState.UNAVAILABLE  # no model yet
    editor = window.tabs.new_file()
    assert window.completion.inline_for(editor) is not None
    window.engine.load_model(str(tiny_models["v1"]))
    wait_ready(qtbot, window)
    client = window.engine.completion_client()
    assert client is not None and client.base_url == window.engine.info.base_url
    qtbot.waitUntil(lambda: window.completion.support is not None and window.completion.support.enabled, timeout=10_000)
    assert window.completion.indicator.state != CompletionState.UNAVAILABLE


def test_switching_to_a_remote_engine_streams_the_chat_from_it(qtbot, make_window, tiny_engine):
    endpoint = tiny_engine.endpoint
    remote = RemoteEngine(name="Lab server", base_url=endpoint.base_url, kind="llama-server")
    save_api_key(remote, endpoint.api_key)
    window = make_window(Settings(max_tokens=15, remote_engines=[remote.to_dict()]))
    engines = window.menus.engine_menu.actions_by_id()
    assert set(engines) == {"", remote.id} and engines[""].isChecked()
    engines[remote.id].trigger()
    wait_ready(qtbot, window)
    assert load_settings().active_engine == remote.id
    assert window.status.device_label.text() == "Remote: Lab server"
    assert window.engine.info.pid is None and window.engine.info.is_remote
    type_and_send(qtbot, window, "hello remote")
    wait_answer_done(qtbot, window)
    assert window.controller.last_stats.completion_tokens == 15
    assert window.chat.view.messages()[-1].role == "assistant"


def test_fix_this_error_sends_the_code_the_error_points_to(qtbot, make_window, tmp_path):
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    return a + c\n")
    window = make_window()
    window.open_files([str(source)])
    window.code_actions.ask_error_text = lambda _parent: (
        f"Traceback (most recent call last):\n  File \"{source}\", line 2, in add\nNameError: name 'c' is not defined\n"
    )
    menu_action(window, "Fix This Error…").trigger()
    prompt = window.controller.turns[-1].content
    assert "return a + c" in prompt and "NameError" in prompt
    QApplication.processEvents()


@pytest.mark.slow
def test_a_local_load_and_its_answers_are_recorded_as_measurements(qtbot, make_window, tiny_models):
    from app.models.planning.measured import MeasuredLoads, ModelFileId

    window = make_window(Settings(chat_model_path=str(tiny_models["v1"]), n_gpu_layers=0, max_tokens=24))
    window.engine.load_from_settings()
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: window.measurements.recorded >= 1, timeout=30_000)
    type_and_send(qtbot, window, "hello there")
    wait_answer_done(qtbot, window)
    qtbot.waitUntil(lambda: window.measurements.recorded >= 2, timeout=30_000)
    file_id = ModelFileId.of(tiny_models["v1"])
    assert file_id is not None
    records = MeasuredLoads().for_file(file_id)
    assert records and records[0].rss_at_load > 0 and records[0].buffers.get("model")


@pytest.mark.slow
def test_idle_prefill_evaluates_the_attached_file_so_the_question_reuses_it(qtbot, make_window, tiny_models, tmp_path):
    source = tmp_path / "sample.py"
    source.write_text("".join(f"def helper_{n}(x):\n    return x + {n}\n\n" for n in range(40)))
    window = make_window(Settings(chat_model_path=str(tiny_models["v1"]), n_gpu_layers=0, max_tokens=8))
    window.engine.load_from_settings()
    wait_ready(qtbot, window)
    window.tabs.open_paths([source])
    qtbot.waitUntil(lambda: window.prefill.requests >= 1, timeout=20_000)
    client = window.engine.completion_client()
    assert client is not None
    qtbot.waitUntil(lambda: client.engine_info()["prefill"]["completed"] >= 1, timeout=30_000)
    prepared = client.engine_info()["prefill"]["ready_tokens"]
    assert prepared > 200  # the system prompt and the whole attached file

    type_and_send(qtbot, window, "What does helper_3 return?")
    wait_answer_done(qtbot, window)
    usage = window.controller.last_stats.usage
    assert usage["cached_tokens"] >= prepared  # only the question itself was evaluated
