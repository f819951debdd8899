"""The Run dock's owner: what Run File and Run Tests run, where, and what happens around a run.

- Run File: the current file's command (the user's per file, else the language's); an
  unsaved file is saved first (an untitled one asks for a name), as are the other editors.
- Run Tests: the folder's test command. A detected command is shown once per folder for
  the user to confirm or edit; what they confirm is kept (`RunCommandStore`).
- The command field: edit it and press Enter to run that instead; it is kept for the file
  or the folder, like a confirmed command.
- Locations in the output open the file at the line; Fix with AI hands the output to the chat.

Only commands the user typed or confirmed run; each has the settings' timeout.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Literal

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDockWidget, QInputDialog, QLineEdit, QWidget

from app.config.ui.store import SettingsStore
from app.editor.ui.code_editor import CodeEditor
from app.editor.ui.tabs import EditorTabs
from app.run.ansi import TextStyle, strip_ansi
from app.run.detect import DetectedCommand, RunCommandStore, detect_test_command
from app.run.environment import run_environment
from app.run.output import OutputFeed
from app.run.process import RunOutcome, RunResult, RunSpec
from app.run.summary import parse_test_counts
from app.run.ui.panel import RunPanel
from app.run.ui.worker import RunController

RunKind = Literal["file", "tests"]
# Tools print colours to a pipe when told to; the view shows them.
COLOUR_ENV = {"FORCE_COLOR": "1", "PY_COLORS": "1", "CLICOLOR_FORCE": "1", "CARGO_TERM_COLOR": "always"}
VIEW_TAIL_CHARS = 32 * 1024  # what the view repaints past its head, a few times a second
_FAILED_STYLE = TextStyle(foreground="#cd0000", bold=True)
_PASSED_STYLE = TextStyle(foreground="#00a000", bold=True)


def ask_test_command(parent: QWidget, folder: str, detected: DetectedCommand | None, current: str) -> str | None:
    """The one confirmation per folder: the detected command, editable; None when cancelled."""
    if detected is not None:
        label = (
            f"Run the tests of {folder} with this command?\nFound from {detected.reason}; it is kept for this folder."
        )
    else:
        label = f"No test command was found in {folder}.\nType the command that runs its tests:"
    text, ok = QInputDialog.getText(parent, "Run Tests", label, QLineEdit.EchoMode.Normal, current)
    return text.strip() if ok and text.strip() else None


class RunDock(QObject):
    fixRequested = Signal(str, str)  # the failed run's output (plain), the folder it ran in

    def __init__(
        self,
        tabs: EditorTabs,
        store: SettingsStore,
        project_folder: Callable[[], str | None],
        parent: QWidget,
        commands: RunCommandStore | None = None,
    ) -> None:
        super().__init__(parent)
        self._tabs = tabs
        self._store = store
        self._project_folder = project_folder
        self._parent = parent
        self.commands = commands or RunCommandStore()
        self.panel = RunPanel()
        self.dock_widget = QDockWidget("Run", parent)
        self.dock_widget.setObjectName("RunDock")  # saveState() keys docks by name
        self.dock_widget.setWidget(self.panel)
        self.dock_widget.hide()  # shown by its menu entry or the first run
        self.controller = RunController(self)
        self.ask_test_command: Callable[[QWidget, str, DetectedCommand | None, str], str | None] = ask_test_command
        self.last_result: RunResult | None = None
        self._kind: RunKind = "tests"
        self._file: str | None = None  # the file of a Run File
        self._folder: str | None = None  # where the last run ran
        p = self.panel
        p.runFileRequested.connect(self.run_file)
        p.runTestsRequested.connect(self.run_tests)
        p.stopRequested.connect(self.stop)
        p.commandEntered.connect(self.run_entered_command)
        p.fixRequested.connect(self._request_fix)
        p.output.locationActivated.connect(self.open_location)
        self.controller.finished.connect(self._on_finished)
        self.controller.started.connect(lambda _id, _command: self.dock_widget.show())

    # -- what to run -------------------------------------------------------------------
    def run_file(self) -> None:
        editor = self._tabs.current_editor()
        if editor is None:
            self.panel.show_message("Open the file to run first")
            return
        if not self._save_editors(editor):
            return
        assert editor.path is not None
        folder = os.path.dirname(editor.path)  # the registry's commands run in the file's folder
        command = self.commands.file_command(self._project_folder() or folder, editor.path)
        if not command:
            self.panel.show_message(f"No command runs {os.path.basename(editor.path)}: type one above and press Enter")
            self._kind, self._file, self._folder = "file", editor.path, folder
            self.panel.command.setFocus()
            return
        self._start("file", command, folder, editor.path)

    def run_tests(self) -> None:
        folder = self._project_folder()
        if not folder:
            self.panel.show_message("Open a folder (File ▸ Open Folder…) to run its tests")
            return
        command, confirmed = self.commands.test_command(folder)
        if not confirmed:
            chosen = self.ask_test_command(self._parent, folder, detect_test_command(folder), command)
            if chosen is None:
                return
            if not self._keep(lambda: self.commands.confirm_test_command(folder, chosen)):
                return
            command = chosen
        if self._save_editors(None):
            self._start("tests", command, folder, None)

    def run_entered_command(self, text: str) -> None:
        """The command field's text, run as typed and kept for the file or folder it is for."""
        command = text.strip()
        project, file = self._project_folder(), self._file
        if self._kind == "file" and file is not None:
            folder, path = os.path.dirname(file), file
            key = project or folder  # file commands are kept with the project, like Run File reads them
            kept = self._keep(lambda: self.commands.set_file_command(key, path, command))
        else:
            folder, file = project or self._folder or "", None
            kept = bool(folder) and self._keep(lambda: self.commands.confirm_test_command(folder, command))
        if command and folder and kept and self._save_editors(None):
            self._start("file" if file else "tests", command, folder, file)

    def stop(self) -> None:
        self.controller.stop()

    def shutdown(self) -> None:
        self.controller.shutdown()

    # -- around a run ------------------------------------------------------------------
    def _keep(self, save: Callable[[], None]) -> bool:
        try:
            save()
        except OSError as error:
            self.panel.show_message(f"The command could not be kept ({error.strerror}); check the data folder")
            return False
        return True

    def _save_editors(self, required: CodeEditor | None) -> bool:
        """Unsaved files are saved before a run: every editor with a file, and `required` (asking
        for a name when it has none). False when a save failed or was cancelled."""
        for editor in self._tabs.editors():
            if editor.is_loading() or not (editor.is_modified() or (editor is required and editor.path is None)):
                continue
            if editor.path is None and editor is not required:
                continue  # an unrelated untitled editor: nothing of it can be in the run
            if not self._tabs.save(editor):
                self.panel.show_message(f"{self._tabs.display_name(editor)} is not saved: the run did not start")
                return False
        return True

    def _start(self, kind: RunKind, command: str, folder: str, file: str | None) -> None:
        self._kind, self._file, self._folder = kind, file, folder
        spec = RunSpec(
            command,
            folder,
            timeout=float(self._store.settings.run_timeout_s),
            env=run_environment(COLOUR_ENV),
        )
        feed = OutputFeed(tail_chars=VIEW_TAIL_CHARS)
        project = self._project_folder()
        folders = (folder, project) if project and project != folder else (folder,)
        self.panel.output.begin(feed, folders, header=f"$ {command}")
        self.controller.start(spec, feed)
        self.panel.show_running(command)

    def _on_finished(self, _request_id: int, result: RunResult) -> None:
        self.last_result = result
        counts = parse_test_counts(result.output)
        footer = result.message or ("Passed" if result.passed else "")
        style = _PASSED_STYLE if result.passed else _FAILED_STYLE
        if result.outcome is RunOutcome.NOT_FOUND:
            footer = result.message  # the one line that says so
        self.panel.output.end(footer, style)
        self.panel.show_result(result, counts)

    def _request_fix(self) -> None:
        if self.last_result is not None and self._folder is not None:
            self.fixRequested.emit(strip_ansi(self.last_result.output), self._folder)

    def open_location(self, path: str, line: int, column: int) -> None:
        """The file at the line, in the editor (after it has loaded, for a large file)."""
        editor = self._tabs.open_path(path)
        if editor is None:
            return
        if editor.is_loading():
            editor.loadFinished.connect(lambda: editor.go_to_line(line), Qt.ConnectionType.SingleShotConnection)
        else:
            editor.go_to_line(line)
