"""The loop in the window: after Accept the folder's tests run (Run ▸ Run Tests After
Accept), a failed run offers "Fix with these failures" under the answer, and each
round's status shows in the chat and the status bar ("Round 2 of 3 · tests: 3 failed →
1 failed"). Run ▸ Fix Failures Automatically sends the feedback without the click, up to
the settings' feedback rounds (N, default 2: the same meaning as `dscoder edit --rounds`).
Every round still opens the review: nothing is written without Accept.

The feedback is the loop's own (app.loop.feedback): the trimmed output, the first
failure first, within the context left; a file is sent again only where its text is not
what the model's edit left (the review left hunks out, or it changed since). It goes in
the same conversation, so the engine evaluates only the new turn.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QStatusBar, QWidget

from app.chat.ui.controller import ChatController
from app.config.ui.store import SettingsStore
from app.edits.changeset import ChangeSet
from app.edits.workspace import EditScope
from app.loop.feedback import budget_chars, changed_beyond_edit, feedback_message, trim_failures
from app.loop.rounds import STOP_TEXTS, LoopProgress, StopReason, TestRun
from app.mainwindow.edit_files import EditFiles
from app.run.process import RunOutcome, RunResult
from app.run.ui.dock import RunDock
from app.utils.errors import DscoderError

STATUS_MS = 30_000
FIX_BUTTON = "Fix with these failures"
NO_TEST_COMMAND = "No test command was found for this folder, so none ran: Run ▸ Run Tests (Ctrl+F5) sets one"


class EditLoopGlue(QObject):
    def __init__(
        self,
        edit_files: EditFiles,
        run: RunDock,
        controller: ChatController,
        store: SettingsStore,
        status: QStatusBar,
        project_folder: Callable[[], str | None],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.project_folder = project_folder
        self.edit_files = edit_files
        self.run = run
        self.controller = controller
        self.store = store
        self.status = status
        self.progress: LoopProgress | None = None
        self.changeset: ChangeSet | None = None  # the last accepted change of this loop
        self.believed: dict[str, str] = {}  # each editable file as the model last saw or wrote it
        self.last_run: TestRun | None = None
        self._awaiting_tests = False
        self._context = (0, 0)  # tokens in use, context size
        self.run_after_accept = self._toggle("Run Tests After &Accept", "edit_run_tests")
        self.run_after_accept.setToolTip("After an edit is accepted, run the folder's test command")
        self.auto_fix = self._toggle("Fix Failures &Automatically", "edit_auto_fix")
        self.auto_fix.setToolTip("While the tests fail, send the failures back without a click (the feedback rounds)")
        panel = controller.panel
        panel.editFilesRequested.connect(lambda _text: self._begin())
        panel.stopRequested.connect(lambda: self._end("stopped"))
        panel.sendRequested.connect(lambda _text: self._end(None))  # an ordinary question leaves the loop
        controller.contextUsageChanged.connect(lambda used, size: setattr(self, "_context", (used, size)))
        edit_files.session.changeApplied.connect(lambda _paths: self._on_applied())
        edit_files.requests.nothingChanged.connect(self._on_nothing_changed)
        run.controller.finished.connect(self._on_run_finished)

    def _toggle(self, text: str, field: str) -> QAction:
        action = QAction(text, self)
        action.setCheckable(True)
        action.setChecked(bool(getattr(self.store.settings, field)))
        action.toggled.connect(lambda on: self.store.update(**{field: on}))
        self.store.changed.connect(
            lambda names: action.setChecked(bool(getattr(self.store.settings, field))) if field in names else None
        )  # the Settings dialog's Run page changes it too
        return action

    # -- the rounds ------------------------------------------------------------------------
    def _begin(self) -> None:
        """A new Edit Files question: round 1 of a new loop."""
        self.progress = LoopProgress(int(self.store.settings.edit_feedback_rounds))
        self.progress.begin_round()
        self.changeset, self.believed, self.last_run = None, {}, None

    def _end(self, reason: StopReason | None) -> None:
        if self.progress is not None and reason is not None:
            self._show(f"{self.progress.status()} · {STOP_TEXTS[reason]}")
        self.progress = None
        self._awaiting_tests = False

    def _show(self, text: str) -> None:
        self.status.showMessage(text, STATUS_MS)
        self.controller.panel.show_note(text)

    def _on_applied(self) -> None:
        accepted = self.edit_files.session.last_accepted
        if self.progress is None or accepted is None:
            return
        self.changeset = accepted
        self.believed.update({f.path: f.text for f in accepted.scope.editable if f.path not in self.believed})
        self.believed.update({c.path: c.new_text for c in accepted.changes if c.kind != "deleted"})
        if not self.run_after_accept.isChecked():
            self._end(None)
            return
        folder = self.project_folder()
        if not folder or not self.run.commands.test_command(folder)[0]:
            self._show(NO_TEST_COMMAND)  # never a question after every Accept in a folder without tests
            self._end(None)
            return
        self._awaiting_tests = True
        self._show(self.progress.status("running the tests"))
        self.run.run_tests()  # the folder's test command, confirmed once per folder
        if not self.run.controller.running:  # no command, or the user cancelled its confirmation
            self._awaiting_tests = False

    def _on_nothing_changed(self) -> None:
        if self.progress is not None:
            self._end("unchanged")  # the chat's note under the answer says why (no edit read, or the same text)

    def _on_run_finished(self, _request_id: int, result: RunResult) -> None:
        if not self._awaiting_tests or self.progress is None:
            return  # a run the user started by hand
        self._awaiting_tests = False
        if result.outcome is RunOutcome.STOPPED:
            self._end("stopped")
            return
        self.last_run = TestRun.from_result(result)
        reason = self.progress.after_tests(self.last_run)
        if reason is not None:
            self._end(reason)
            return
        if self.auto_fix.isChecked():
            self._show(self.progress.status())
            self.fix()
            return
        self.status.showMessage(self.progress.status(), STATUS_MS)
        self.controller.panel.show_error(self.progress.status(), [(FIX_BUTTON, self.fix)])

    def fix(self) -> None:
        """Send the failures (and any file changed beyond the model's edit) as the next round."""
        progress, changeset, run = self.progress, self.changeset, self.last_run
        if progress is None or changeset is None or run is None or progress.rounds_left == 0:
            return
        old = changeset.scope
        paths = [f.path for f in old.editable] + [c.path for c in changeset.changes if c.kind == "new"]
        try:
            scope = EditScope.read(old.workspace.folder, dict.fromkeys(paths), [f.path for f in old.read_only])
        except DscoderError as error:
            self.controller.panel.show_note(str(error))
            return
        resent = changed_beyond_edit(scope, self.believed)
        self.believed.update({f.path: f.text for f in resent})
        used, size = self._context
        budget = budget_chars(size or None, used, int(self.store.settings.max_tokens))
        message = feedback_message(
            run.result_line(exit_code=False),
            trim_failures(run.output, budget, str(scope.workspace.folder)),
            resent,
            scope,
        )
        progress.begin_round()
        shown = f"{FIX_BUTTON} ({progress.status()}): {run.result_line()}"
        self.edit_files.requests.follow_up(message, shown, scope, feedback=True)
