"""The Run panel in the real window, with real subprocesses: pass, fail, timeout, Stop (with
a descendant that called setsid), huge output, a command that does not exist, a location
link that opens the file at the line, unsaved files saved first, and Fix with AI."""

from __future__ import annotations

import os
import sys
import time

import psutil
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.config.settings import Settings
from app.mainwindow.window import MainWindow
from app.run.process import RunOutcome
from tests.helpers.window import OFFSCREEN_SIZE_HINTS, menu_action, open_window

pytestmark = [pytest.mark.qt_log_ignore(OFFSCREEN_SIZE_HINTS), pytest.mark.slow]  # real subprocesses
RUN_TIMEOUT_MS = 60_000
PY = sys.executable


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


@pytest.fixture
def window(qtbot, project) -> MainWindow:
    window = open_window(qtbot, Settings(max_tokens=20, run_timeout_s=60))
    window.file_tree.set_root(str(project))
    window.run.ask_test_command = lambda _parent, _folder, _detected, current: current  # confirmed as shown
    return window


def _wait_done(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.run.controller.running, timeout=RUN_TIMEOUT_MS)
    QApplication.processEvents()


def _run_tests(qtbot, window: MainWindow, command: str) -> None:
    window.run.commands.confirm_test_command(window.file_tree.root(), command)
    menu_action(window, "Run Tests").trigger()
    qtbot.waitUntil(lambda: window.run.controller.running or window.run.last_result is not None, timeout=5000)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_detected_tests_are_confirmed_once_then_pass_with_counts(qtbot, window, project):
    (project / "test_ok.py").write_text("def test_one():\n    assert True\n\n\ndef test_two():\n    pass\n")
    (project / "conftest.py").write_text("")
    asked = []
    window.run.ask_test_command = lambda _p, folder, detected, current: (
        asked.append(detected) or (f"{PY} -m pytest -p no:cacheprovider")
    )
    menu_action(window, "Run Tests").trigger()
    _wait_done(qtbot, window)
    assert asked[0].tool == "pytest"
    result = window.run.last_result
    assert result.outcome is RunOutcome.PASSED
    assert window.run.dock_widget.isVisible()
    outcome = window.run.panel.outcome.text()
    assert outcome.startswith("Passed · exit code 0 · ") and "tests: 2 passed" in outcome
    assert not window.run.panel.fix_button.isEnabled()
    menu_action(window, "Run Tests").trigger()  # confirmed: not asked again
    _wait_done(qtbot, window)
    assert len(asked) == 1


def test_a_failing_run_links_its_locations_and_fix_with_ai_sends_the_code(qtbot, window, project):
    (project / "calc.py").write_text("def add(a, b):\n    return a + c\n\n\nadd(1, 2)\n")
    window.open_files([str(project / "calc.py")])
    menu_action(window, "Run File").trigger()
    _wait_done(qtbot, window)
    result = window.run.last_result
    assert result.outcome is RunOutcome.FAILED and result.exit_code == 1
    view = window.run.panel.output
    assert "NameError" in view.toPlainText()
    lines = sorted(loc.line for loc in view.locations if loc.resolved == str(project / "calc.py"))
    assert lines == [2, 5]
    assert "Failed · exit code 1" in window.run.panel.outcome.text()

    window.tabs.setCurrentIndex(window.tabs.count() - 1)
    window.tabs.new_file()  # another tab is current: the link must switch back
    link = next(loc for loc in view.locations if loc.line == 2)
    cursor = view.textCursor()
    cursor.setPosition(link.start + 2)
    point = view.cursorRect(cursor).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    editor = window.tabs.current_editor()
    assert editor.path == str(project / "calc.py")
    assert editor.line_and_column()[0] == 2

    assert window.run.panel.fix_button.isEnabled()
    window.run.panel.fix_button.click()
    prompt = window.controller.turns[-1].content
    assert "return a + c" in prompt and "NameError" in prompt


def test_unsaved_files_are_saved_before_the_run(qtbot, window, project):
    script = project / "hello.py"
    script.write_text("print('old')\n")
    window.open_files([str(script)])
    editor = window.tabs.current_editor()
    editor.set_text("print('new')\n")
    assert editor.is_modified()
    menu_action(window, "Run File").trigger()
    _wait_done(qtbot, window)
    assert script.read_text() == "print('new')\n"
    assert "new" in window.run.last_result.output


def test_the_timeout_stops_a_run(qtbot, window, project):
    window.settings_store.update(run_timeout_s=1)
    _run_tests(qtbot, window, f"{PY} -c 'import time; time.sleep(60)'")
    _wait_done(qtbot, window)
    assert window.run.last_result.outcome is RunOutcome.TIMED_OUT
    assert "Stopped after the timeout of 1 s" in window.run.panel.output.toPlainText()
    assert window.run.panel.outcome.text().startswith("Timed out")


ESCAPER = (
    "import os, sys, time\n"
    "if os.fork() == 0:\n"
    "    os.setsid()\n"
    "    if os.fork() == 0:\n"
    "        print('escaper', os.getpid(), flush=True)\n"
    "        time.sleep(120)\n"
    "    os._exit(0)\n"
    "time.sleep(120)\n"
)


def _start_escaper(qtbot, window: MainWindow, project) -> int:
    """Runs ESCAPER; the pid of its descendant in a session of its own, once it prints it."""
    (project / "escape.py").write_text(ESCAPER)
    _run_tests(qtbot, window, f"{PY} escape.py")
    view = window.run.panel.output
    qtbot.waitUntil(lambda: "escaper" in view.toPlainText(), timeout=RUN_TIMEOUT_MS)
    return int(view.toPlainText().split("escaper")[1].split()[0])


def test_stop_kills_the_run_and_its_setsid_descendant(qtbot, window, project):
    pid = _start_escaper(qtbot, window, project)
    assert _alive(pid) and os.getsid(pid) != os.getsid(0)
    assert window.run.panel.stop_button.isEnabled()
    menu_action(window, "Stop").trigger()
    _wait_done(qtbot, window)
    assert window.run.last_result.outcome is RunOutcome.STOPPED
    assert not _alive(pid)


def test_closing_the_window_kills_a_run_in_flight(qtbot, window, project):
    pid = _start_escaper(qtbot, window, project)
    window.close()
    assert not _alive(pid)


def test_huge_output_is_capped_and_the_window_stays_responsive(qtbot, window, project):
    (project / "spam.py").write_text(
        "import sys\nsys.stdout.write('FIRST\\n')\nfor i in range(400000):\n"
        "    sys.stdout.write(f'line {i} ' + 'x' * 60 + '\\n')\nsys.stdout.write('LAST\\n')\n"
    )
    rss_before = psutil.Process().memory_info().rss
    _run_tests(qtbot, window, f"{PY} spam.py")
    gaps = []
    last = time.monotonic()
    while window.run.controller.running:  # the event loop keeps turning while 27 MB stream in
        qtbot.wait(20)
        now = time.monotonic()
        gaps.append(now - last)
        last = now
    _wait_done(qtbot, window)
    result = window.run.last_result
    assert result.passed and result.output_bytes > 25_000_000
    text = window.run.panel.output.toPlainText()
    assert text.startswith("$ ") and "FIRST" in text[:200] and "LAST" in text[-200:]
    assert "characters left out …" in text
    assert len(text) < 600_000  # capped: head and tail, not 27 MB
    grown = psutil.Process().memory_info().rss - rss_before
    assert grown < 100 * 1024**2, f"the window grew by {grown / 1024**2:.0f} MiB"
    assert max(gaps) < 1.0, f"the window froze for {max(gaps):.2f} s"
    print(
        f"huge output: {result.output_bytes:,} bytes in {result.seconds:.2f} s, view {len(text):,} chars, longest event-loop gap {max(gaps) * 1000:.0f} ms, RSS grew {grown / 1024**2:.1f} MiB"
    )


def test_a_test_command_that_does_not_exist_says_so_in_one_line(qtbot, window, project):
    _run_tests(qtbot, window, "no-such-test-runner --all")
    _wait_done(qtbot, window)
    result = window.run.last_result
    assert result.outcome is RunOutcome.NOT_FOUND
    lines = window.run.panel.output.toPlainText().strip().splitlines()
    assert lines == [
        "$ no-such-test-runner --all",
        "The command 'no-such-test-runner' was not found: install it or change the command",
    ]
    assert not window.run.panel.fix_button.isEnabled()


def test_an_edited_command_runs_and_is_kept_for_the_folder(qtbot, window, project):
    _run_tests(qtbot, window, "echo first")
    _wait_done(qtbot, window)
    field = window.run.panel.command
    field.setText("echo second")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    _wait_done(qtbot, window)
    assert window.run.last_result.output == "second\n"
    assert window.run.commands.test_command(str(project)) == ("echo second", True)


def test_ansi_colours_are_shown_and_the_escapes_hidden(qtbot, window, project):
    _run_tests(qtbot, window, "printf '\\033[1;31mred\\033[0m plain\\n'")
    _wait_done(qtbot, window)
    view = window.run.panel.output
    text = view.toPlainText()
    assert "red plain" in text and "\x1b" not in text
    cursor = view.textCursor()
    cursor.setPosition(text.index("red plain") + 1)
    red = cursor.charFormat()
    cursor.setPosition(text.index("red plain") + 6)
    plain = cursor.charFormat()
    assert red.foreground().color().name() == "#cd0000" and red.fontWeight() > plain.fontWeight()
    assert plain.foreground().color().name() != "#cd0000"


def test_the_run_timeout_is_a_setting_on_the_run_page(qtbot):
    from app.preferences.ui.dialog import SettingsDialog

    dialog = SettingsDialog(Settings(run_timeout_s=90))
    qtbot.addWidget(dialog)
    assert dialog.run_page.timeout.value() == 90
    dialog.run_page.timeout.setValue(45)
    dialog.accept()
    assert dialog.new_settings is not None and dialog.new_settings.run_timeout_s == 45


def test_a_new_run_stops_the_one_in_flight_and_only_its_result_arrives(qtbot, tmp_path):
    from app.run.output import OutputFeed
    from app.run.process import RunSpec
    from app.run.ui.worker import RunController

    controller = RunController()
    finished = []
    controller.finished.connect(lambda request_id, result: finished.append((request_id, result)))
    try:
        first = controller.start(RunSpec(f"{PY} -c 'import time; time.sleep(30)'", str(tmp_path)), OutputFeed())
        second = controller.start(RunSpec("echo second", str(tmp_path)), OutputFeed())
        qtbot.waitUntil(lambda: bool(finished), timeout=RUN_TIMEOUT_MS)
        qtbot.wait(200)
        assert [request_id for request_id, _ in finished] == [second] and first != second
        assert finished[0][1].output == "second\n"
    finally:
        controller.shutdown()
