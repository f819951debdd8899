"""The loop in the real window with the scripted engine and real test runs: after Accept
the tests run in the Run panel, a failure offers "Fix with these failures" with the
round's status, the fix goes in the same conversation, and Auto does the rounds alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog

from app.chat.ui.message_widgets import ErrorCard
from app.edits.ui.review_dialog import ReviewDialog
from app.llm.info import EngineState
from app.loop.rounds import FEEDBACK_SEED, FEEDBACK_TEMPERATURE, feedback_sampling
from app.mainwindow.edit_loop import FIX_BUTTON
from app.mainwindow.window import MainWindow
from app.protocol.options import LoadOptions
from tests.helpers.fake_engine import ScriptedAnswer, ScriptedEngineWorker
from tests.helpers.median_project import BUGGY, FIXED, STILL_WRONG, write_project
from tests.helpers.median_project import TEST_COMMAND as COMMAND
from tests.helpers.median_project import whole as answer_rewriting
from tests.helpers.window import open_window

pytestmark = pytest.mark.slow  # the tests run in a child process

WAIT_MS = 30_000


def whole(text: str) -> ScriptedAnswer:
    return ScriptedAnswer(deltas=[answer_rewriting(text)])


@pytest.fixture
def loop_window(qtbot, tmp_path: Path, monkeypatch) -> tuple[MainWindow, ScriptedEngineWorker, Path]:
    monkeypatch.setattr(ReviewDialog, "exec", lambda _dialog: QDialog.DialogCode.Accepted)  # the user accepts
    write_project(tmp_path)
    worker = ScriptedEngineWorker()
    window = open_window(qtbot, worker=worker)
    window.run.ask_test_command = lambda _parent, _folder, _detected, _current: COMMAND  # confirmed once
    window.engine.load(LoadOptions("/models/scripted.gguf"))
    qtbot.waitUntil(lambda: window.engine.state is EngineState.READY, timeout=WAIT_MS)
    window.file_tree.set_root(str(tmp_path))
    assert window.tabs.open_path(tmp_path / "stats.py") is not None
    return window, worker, tmp_path


def fix_cards(window: MainWindow) -> list[ErrorCard]:
    view = window.chat.view
    widgets = (view.message_widget(i) for i in range(len(view.messages())))
    return [w for w in widgets if isinstance(w, ErrorCard)]


def edit_files(window: MainWindow, text: str) -> None:
    window.chat.input.set_text(text)
    window.chat.input.edit_files_button.click()


def test_a_failure_offers_the_fix_and_the_next_round_passes(qtbot, loop_window) -> None:
    window, worker, folder = loop_window
    worker.script_answer(whole(STILL_WRONG))
    worker.script_answer(whole(FIXED))
    edit_files(window, "make the failing test pass")
    qtbot.waitUntil(lambda: bool(fix_cards(window)), timeout=WAIT_MS)

    card = fix_cards(window)[-1]
    assert "Round 1 of 3 · tests: 1 failed" in card.text
    assert window.run.last_result is not None and not window.run.last_result.passed  # shown in the Run panel
    next(b for b in card.buttons if b.text() == FIX_BUTTON).click()
    qtbot.waitUntil(lambda: (folder / "stats.py").read_text() == FIXED, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.edit_loop.progress is None, timeout=WAIT_MS)

    first, second = worker.requests
    assert second.messages[: len(first.messages)] == [*first.messages]  # the same conversation, warm
    feedback = second.messages[-1]["content"]
    assert feedback.startswith("1 failed:\n```\n")  # the count; the exit code says nothing more
    assert "assert 3 == 2.5" in feedback and "def median" not in feedback
    assert str(folder) not in feedback  # paths relative to the folder, as the model knows them
    # The feedback round samples as `dscoder edit`'s does; the first answer with the chat's settings.
    assert first.params.temperature == window.settings_store.settings.temperature == 0.0
    assert second.params == feedback_sampling(first.params)
    assert second.params.temperature == FEEDBACK_TEMPERATURE and second.params.seed == FEEDBACK_SEED
    assert "Round 2 of 3 · tests: 1 failed → 2 passed · the tests pass" in window.status.currentMessage()


def test_auto_fixes_without_a_click_and_stops_after_n_rounds(qtbot, loop_window) -> None:
    window, worker, folder = loop_window
    window.edit_loop.auto_fix.setChecked(True)
    window.settings_store.update(edit_feedback_rounds=1)
    worker.script_answer(whole(STILL_WRONG))
    worker.script_answer(whole(BUGGY))
    worker.script_answer(whole(FIXED))  # never asked: N = 1
    edit_files(window, "make the failing test pass")
    qtbot.waitUntil(lambda: len(worker.requests) == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.edit_loop.progress is None, timeout=WAIT_MS)

    assert len(worker.requests) == 2
    assert (folder / "stats.py").read_text() == BUGGY
    assert "Round 2 of 2 · tests: 1 failed → 1 failed · the tests still fail" in window.status.currentMessage()


def test_without_run_after_accept_nothing_runs(qtbot, loop_window) -> None:
    window, worker, folder = loop_window
    window.edit_loop.run_after_accept.setChecked(False)
    worker.script_answer(whole(FIXED))
    edit_files(window, "make the failing test pass")
    qtbot.waitUntil(lambda: (folder / "stats.py").read_text() == FIXED, timeout=WAIT_MS)
    qtbot.wait(300)
    assert window.run.last_result is None and not fix_cards(window)
    assert window.settings_store.settings.edit_run_tests is False  # the toggle is kept


def test_an_answer_without_an_edit_ends_the_loop(qtbot, loop_window) -> None:
    window, worker, folder = loop_window
    worker.script_answer(ScriptedAnswer(deltas=["Sort the values first, then take the middle."]))
    edit_files(window, "make the failing test pass")
    qtbot.waitUntil(lambda: window.edit_loop.progress is None, timeout=WAIT_MS)
    assert "Round 1 of 3 · the answer changed nothing" in window.status.currentMessage()
    assert window.run.last_result is None and (folder / "stats.py").read_text() == BUGGY


def test_the_loop_settings_are_on_the_run_page_and_follow_the_menu(qtbot, loop_window) -> None:
    from app.preferences.ui.dialog import SettingsDialog

    window, _worker, _folder = loop_window
    dialog = SettingsDialog(window.settings_store.settings)
    qtbot.addWidget(dialog)
    assert dialog.run_page.run_tests.isChecked() and not dialog.run_page.auto_fix.isChecked()
    assert dialog.run_page.rounds.value() == 2
    dialog.run_page.auto_fix.setChecked(True)
    dialog.run_page.rounds.setValue(3)
    dialog.accept()
    assert dialog.new_settings is not None
    window.settings_store.replace(dialog.new_settings)
    assert window.edit_loop.auto_fix.isChecked()  # Run > Fix Failures Automatically follows the dialog
    assert window.settings_store.settings.edit_feedback_rounds == 3


def test_a_folder_without_a_test_command_asks_nothing_after_accept(qtbot, loop_window) -> None:
    window, worker, folder = loop_window
    (folder / "test_stats.py").unlink()  # nothing tells how to test this folder
    asked: list[str] = []
    window.run.ask_test_command = lambda _parent, folder_, _detected, _current: asked.append(folder_)  # type: ignore[assignment]
    worker.script_answer(whole(FIXED))
    edit_files(window, "fix median")
    qtbot.waitUntil(lambda: (folder / "stats.py").read_text() == FIXED, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.edit_loop.progress is None, timeout=WAIT_MS)
    assert asked == [] and window.run.last_result is None
    notes = [m.text for m in window.chat.view.messages() if m.role == "note"]
    assert any("No test command was found for this folder" in note for note in notes)
