"""Inline completion through the real editor, the real worker thread and a real engine
(the tiny GGUF model, which writes random text until max_tokens)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor

from app.completion.debounce import MAX_DELAY_MS
from app.completion.ui.inline import clean_suggestion
from app.completion.ui.service import CompletionService, InlineCompletion
from app.completion.ui.status import CompletionState
from app.config.settings import Settings
from app.config.ui.store import SettingsStore
from app.editor.ui.code_editor import CodeEditor
from app.llm.client import OpenAIClient
from app.llm.supervisor import EngineSupervisor
from app.protocol.options import LoadOptions

WAIT_MS = 20_000
# Longer than the longest debounce: when no request was sent by then, none is coming.
QUIET_MS = MAX_DELAY_MS + 200


@pytest.fixture
def client(tiny_engine):
    ep = tiny_engine.endpoint
    client = OpenAIClient(ep.base_url, ep.api_key)
    yield client
    client.close()


def make_service(qtbot, client: OpenAIClient | None, settings: Settings | None = None) -> CompletionService:
    service = CompletionService(lambda: client, SettingsStore(settings or Settings()))
    qtbot.addWidget(service.indicator)
    return service


@pytest.fixture
def service(qtbot, client):
    service = make_service(qtbot, client)
    qtbot.waitUntil(lambda: service.support is not None, timeout=WAIT_MS)
    yield service
    service.shutdown()


@pytest.fixture
def editor(qtbot):
    widget = CodeEditor(path="notes.txt")
    qtbot.addWidget(widget)
    widget.resize(700, 300)
    widget.show()
    widget.setFocus()
    return widget


class Requests:
    """Records what the controller and the worker report."""

    def __init__(self, service: CompletionService, controller: InlineCompletion) -> None:
        self.sent: list[int] = []
        self.results: dict[int, object] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        controller.requestSent.connect(self.sent.append)
        service.runner.worker.started.connect(self._started)
        service.runner.worker.finished.connect(self._finished)

    def _started(self, _request_id: int) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _finished(self, result) -> None:  # type: ignore[no-untyped-def]
        if not result.skipped:
            self.in_flight -= 1
        self.results[result.request_id] = result


def ghost_pixels(editor: CodeEditor) -> int:
    """Pixels right of the caret on its line that differ from the line's background."""
    sci = editor.sci
    pos = sci.currentPos()
    x, y = sci.pointXFromPosition(pos), sci.pointYFromPosition(pos)
    height = sci.textHeight(0)
    image = sci.grab().toImage()
    background = QColor(image.pixelColor(QPoint(sci.viewport().width() - 20, y + height // 2)))
    count = 0
    for px in range(x + 3, min(x + 200, image.width() - 1)):
        for py in range(y + 2, y + height - 2):
            if image.pixelColor(QPoint(px, py)) != background:
                count += 1
    return count


def type_and_wait_for_ghost(qtbot, editor: CodeEditor, controller: InlineCompletion, text: str) -> str:
    """Type `text` and wait until the whole suggestion is shown (it streams in before that)."""
    with qtbot.waitSignal(controller.suggestionShown, timeout=WAIT_MS):
        qtbot.keyClicks(editor.sci, text)
    return controller.suggestion


def test_a_pause_shows_ghost_text_without_changing_the_document(qtbot, service, editor):
    controller = service.attach(editor)
    requests = Requests(service, controller)
    qtbot.keyClicks(editor.sci, "hello wor")
    assert requests.sent == []  # nothing before the pause
    qtbot.waitUntil(lambda: controller.suggestion != "", timeout=WAIT_MS)
    assert requests.sent and len(requests.sent) == 1
    assert editor.text() == "hello wor"
    assert not editor.sci.canRedo() and editor.is_modified()
    assert controller.state == CompletionState.SHOWN
    assert service.indicator.state == CompletionState.SHOWN
    assert ghost_pixels(editor) > 0  # painted at the caret
    qtbot.keyClick(editor.sci, Qt.Key.Key_Escape)
    assert controller.suggestion == "" and editor.text() == "hello wor"
    assert controller.state == CompletionState.IDLE
    assert ghost_pixels(editor) == 0


def test_tab_inserts_the_suggestion_as_one_undo_step(qtbot, service, editor):
    controller = service.attach(editor)
    suggestion = type_and_wait_for_ghost(qtbot, editor, controller, "def main")
    qtbot.keyClick(editor.sci, Qt.Key.Key_Tab)
    assert editor.text() == "def main" + suggestion
    assert editor.cursor_offset() == len(editor.text())
    assert controller.suggestion == ""
    editor.sci.undo()
    assert editor.text() == "def main"
    editor.sci.redo()
    assert editor.text() == "def main" + suggestion


def test_ctrl_right_accepts_one_word_and_keeps_the_rest(qtbot, service, editor):
    controller = service.attach(editor)
    suggestion = type_and_wait_for_ghost(qtbot, editor, controller, "hello wor")
    qtbot.keyClick(editor.sci, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    accepted = editor.text()[len("hello wor") :]
    assert accepted and suggestion.startswith(accepted)
    assert controller.suggestion == suggestion[len(accepted) :]
    editor.sci.undo()
    assert editor.text() == "hello wor"


def test_typing_the_suggestion_consumes_it_and_other_keys_cancel_it(qtbot, service, editor):
    controller = service.attach(editor)
    requests = Requests(service, controller)
    suggestion = type_and_wait_for_ghost(qtbot, editor, controller, "hello wor")
    sent = len(requests.sent)
    first = suggestion[0]
    assert first.isprintable()
    with qtbot.assertNotEmitted(controller.requestSent, wait=QUIET_MS):  # consuming asks for nothing new
        qtbot.keyClicks(editor.sci, first)
    assert editor.text() == "hello wor" + first
    assert len(requests.sent) == sent
    assert controller.suggestion == suggestion[1:]
    other = "Q" if suggestion[1] != "Q" else "W"
    qtbot.keyClicks(editor.sci, other)
    assert controller.suggestion == ""
    assert editor.text() == "hello wor" + first + other


def test_the_suggestion_shows_while_it_is_written_and_tab_takes_what_is_shown(qtbot, service, editor):
    controller = service.attach(editor)
    requests = Requests(service, controller)
    final = type_and_wait_for_ghost(qtbot, editor, controller, "hello wor")
    assert "whole after" in service.indicator.toolTip()
    result = requests.results[requests.sent[-1]]
    assert result.first_text_s is not None and result.first_text_s <= result.latency_s
    qtbot.keyClick(editor.sci, Qt.Key.Key_Escape)
    # The same request again: while it streams, its first line shows at once (the worker
    # sends each line the stop rules let through; this tiny model writes no line breaks,
    # so the first part is put in by hand, as the worker would).
    with qtbot.waitSignal(controller.requestSent, timeout=WAIT_MS) as sent:
        controller.request_now()
    first_line = final.split()[0] + "\n"
    controller.on_partial(sent.args[0], first_line)
    assert controller.suggestion == clean_suggestion(first_line) and controller.state == CompletionState.SHOWN
    assert ghost_pixels(editor) > 0
    qtbot.keyClick(editor.sci, Qt.Key.Key_Tab)  # takes what is shown and stops the request
    assert editor.text() == "hello wor" + clean_suggestion(first_line)
    qtbot.waitUntil(lambda: sent.args[0] in requests.results, timeout=WAIT_MS)
    # Whatever the request wrote after that is dropped: the text stays, no ghost comes back.
    assert editor.text() == "hello wor" + clean_suggestion(first_line) and controller.suggestion == ""


def test_rapid_typing_sends_one_request_for_the_last_state(qtbot, service, editor):
    controller = service.attach(editor)
    requests = Requests(service, controller)
    qtbot.keyClicks(editor.sci, "abc def ghi jkl")
    qtbot.waitUntil(lambda: controller.suggestion != "", timeout=WAIT_MS)
    assert len(requests.sent) == 1
    assert controller.ghost.anchor == editor.sci.currentPos() == editor.sci.length()
    # A keystroke while a request streams supersedes it; only the newest result shows.
    qtbot.keyClicks(editor.sci, "Z")
    qtbot.waitUntil(lambda: len(requests.sent) == 2, timeout=WAIT_MS)
    qtbot.keyClicks(editor.sci, "Y")
    qtbot.waitUntil(lambda: controller.suggestion != "", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: set(requests.sent) <= set(requests.results), timeout=WAIT_MS)
    assert requests.max_in_flight == 1
    assert controller.ghost.anchor == editor.sci.length()
    shown = [rid for rid, r in requests.results.items() if r.middle and controller.suggestion in r.middle]
    assert shown == [requests.sent[-1]]


def test_caret_move_and_other_edits_drop_a_suggestion(qtbot, service, editor):
    controller = service.attach(editor)
    type_and_wait_for_ghost(qtbot, editor, controller, "hello wor")
    qtbot.keyClick(editor.sci, Qt.Key.Key_Left)
    qtbot.keyClick(editor.sci, Qt.Key.Key_Tab)  # Tab now indents; it does not accept
    qtbot.waitUntil(lambda: controller.suggestion == "", timeout=WAIT_MS)
    assert "elseR" not in editor.text()
    qtbot.keyClick(editor.sci, Qt.Key.Key_Escape)
    assert controller.state == CompletionState.IDLE


def test_ctrl_space_asks_at_once(qtbot, service, editor):
    controller = service.attach(editor)
    service.auto_trigger = False
    editor.set_text("value = ")
    editor.set_cursor_offset(len("value = "))
    qtbot.keyClick(editor.sci, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert controller.state == CompletionState.THINKING
    qtbot.waitUntil(lambda: controller.suggestion != "", timeout=WAIT_MS)
    assert editor.text() == "value = "


def test_switched_off_globally_or_for_the_language(qtbot, client, editor):
    settings = Settings(completion_disabled_languages=["text"])
    service = make_service(qtbot, client, settings)
    try:
        controller = service.attach(editor)
        requests = Requests(service, controller)
        qtbot.waitUntil(lambda: service.support is not None, timeout=WAIT_MS)
        assert service.indicator.state == CompletionState.OFF
        with qtbot.assertNotEmitted(controller.requestSent, wait=QUIET_MS):
            qtbot.keyClicks(editor.sci, "hello")
        assert requests.sent == []
        service.set_language_enabled("text", True)
        assert settings.completion_disabled_languages == []
        qtbot.keyClicks(editor.sci, " wor")
        qtbot.waitUntil(lambda: controller.suggestion != "", timeout=WAIT_MS)
        service.set_enabled(False)
        assert controller.suggestion == "" and service.indicator.state == CompletionState.OFF
        assert not settings.completion_enabled
    finally:
        service.shutdown()


@pytest.mark.slow
def test_a_model_without_fim_greys_the_feature_out_and_says_why(qtbot, tiny_models, tmp_path, editor):
    options = LoadOptions(model_path=str(tiny_models["no_fim"]), n_ctx=512)
    with EngineSupervisor(options, log_path=tmp_path / "engine.log") as supervisor:
        ep = supervisor.start()
        client = OpenAIClient(ep.base_url, ep.api_key)
        service = make_service(qtbot, client)
        try:
            controller = service.attach(editor)
            requests = Requests(service, controller)
            qtbot.waitUntil(lambda: service.support is not None, timeout=WAIT_MS)
            assert not service.support.enabled
            assert service.indicator.state == CompletionState.UNAVAILABLE
            assert "fill-in-the-middle" in service.indicator.toolTip()
            with qtbot.assertNotEmitted(controller.requestSent, wait=QUIET_MS):
                qtbot.keyClicks(editor.sci, "hello")
                qtbot.keyClick(editor.sci, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
            assert requests.sent == [] and controller.suggestion == ""
        finally:
            service.shutdown()
            client.close()


def test_no_model_loaded_is_shown(qtbot):
    service = make_service(qtbot, None)
    try:
        assert service.indicator.state == CompletionState.UNAVAILABLE
        assert "No model" in service.indicator.toolTip()
    finally:
        service.shutdown()


@pytest.fixture(scope="module")
def slow_engine(slow_prompt_model, tmp_path_factory):
    options = LoadOptions(model_path=str(slow_prompt_model), n_ctx=4096, n_batch=512)
    log_path = tmp_path_factory.mktemp("slow-engine") / "engine.log"
    with EngineSupervisor(options, log_path=log_path) as supervisor:
        supervisor.start()
        yield supervisor


@pytest.mark.timeout(300)
def test_typing_cancels_the_request_in_flight_in_the_engine(qtbot, slow_engine, editor):
    ep = slow_engine.endpoint
    client = OpenAIClient(ep.base_url, ep.api_key)
    service = make_service(qtbot, client)
    try:
        qtbot.waitUntil(lambda: service.support is not None, timeout=WAIT_MS)
        service.auto_trigger = False  # only Ctrl+Space asks: no new request races the check
        controller = service.attach(editor)
        requests = Requests(service, controller)
        editor.set_text("def f(x): return x + 1\n" * 120)
        editor.set_cursor_offset(len(editor.text()))
        before = client.engine_info()["last_generation"]
        qtbot.keyClick(editor.sci, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: requests.in_flight == 1, timeout=WAIT_MS)
        # The engine is evaluating its prompt (that takes seconds on this model).
        qtbot.waitUntil(lambda: client.engine_info()["queues"]["completion"]["busy"], timeout=WAIT_MS)
        qtbot.keyClicks(editor.sci, "z")
        first = requests.sent[0]
        qtbot.waitUntil(lambda: first in requests.results, timeout=WAIT_MS)
        assert requests.results[first].cancelled and requests.results[first].middle == ""
        qtbot.waitUntil(lambda: client.engine_info()["last_generation"] != before, timeout=WAIT_MS)
        last = client.engine_info()["last_generation"]
        assert last["finish_reason"] == "cancelled" and last["completion_tokens"] == 0
        assert controller.suggestion == "" and controller.state == CompletionState.IDLE
        assert editor.text().endswith("+ 1\nz")
        assert requests.max_in_flight == 1
    finally:
        service.shutdown()
        client.close()


def test_programmatic_edits_do_not_ask_for_a_completion(qtbot, service, editor):
    controller = service.attach(editor)
    requests = Requests(service, controller)
    with qtbot.assertNotEmitted(controller.requestSent, wait=QUIET_MS):
        editor.insert_at_cursor("inserted from the chat\n")
        editor.set_text("replaced\n")
    assert requests.sent == [] and controller.state == CompletionState.IDLE


def test_tabs_each_get_completion_and_other_tabs_are_repository_context(qtbot, client, tmp_path):
    from app.completion.fim_window import build_completion_prompt
    from app.editor.ui.tabs import EditorTabs

    (tmp_path / "util.py").write_text("def helper():\n    return 1\n")
    (tmp_path / "main.py").write_text("from util import helper\n\nx = ")
    tabs = EditorTabs(SettingsStore(Settings()))
    qtbot.addWidget(tabs)
    service = make_service(qtbot, client)
    try:
        service.watch_tabs(tabs)
        util, main = tabs.open_paths([tmp_path / "util.py", tmp_path / "main.py"])
        assert tabs.current_editor() is main
        controller = service.attach(main)
        assert service.attach(main) is controller  # one per editor
        files = service.open_files(controller)
        assert [f.path for f in files] == [str(tmp_path / "util.py")]
        prompt = build_completion_prompt(
            main.text(), len(main.text()), path=main.path, language="python", other_files=files
        )
        assert prompt.prefix.startswith("# util.py\ndef helper():") and prompt.prefix.endswith(
            "# main.py\n" + main.text()
        )
        main.set_cursor_offset(len(main.text()))
        with qtbot.waitSignal(controller.requestSent, timeout=WAIT_MS):
            qtbot.keyClicks(main.sci, "h")
        tabs.setCurrentWidget(util)  # switching tabs drops the other tab's request
        assert controller.state == CompletionState.IDLE and controller.suggestion == ""
    finally:
        service.shutdown()
