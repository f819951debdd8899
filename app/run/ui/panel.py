"""The Run panel's widgets: Run File, Run Tests, Stop, the command (editable), the output,
the outcome line (exit code, time, test counts) and Fix with AI. It only shows and forwards:
`RunDock` (dock.py) decides what runs."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.run.process import RunOutcome, RunResult
from app.run.summary import TestCounts
from app.run.ui.view import RunOutputView
from app.utils.ui.buttons import push_button


def describe_result(result: RunResult, counts: TestCounts | None) -> str:
    """The outcome line: "Failed · exit code 1 · 2.3 s · tests: 1 failed, 4 passed"."""
    parts = [result.outcome.value.capitalize()]
    if result.exit_code is not None:
        parts.append(f"exit code {result.exit_code}")
    parts.append(f"{result.seconds:.1f} s")
    if counts is not None:
        passed = f", {counts.passed} passed" if counts.passed is not None and counts.failed else ""
        parts.append(f"tests: {counts.describe()}{passed}")
    if result.omitted_bytes:
        parts.append(f"{result.omitted_bytes:,} bytes of output left out")
    return " · ".join(parts)


class RunPanel(QWidget):
    runFileRequested = Signal()
    runTestsRequested = Signal()
    stopRequested = Signal()
    commandEntered = Signal(str)  # the user edited the command and pressed Enter
    fixRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run_file_button = push_button("Run File", self.runFileRequested)
        self.run_tests_button = push_button("Run Tests", self.runTestsRequested)
        self.stop_button = push_button("Stop", self.stopRequested)
        self.stop_button.setEnabled(False)
        self.command = QLineEdit()
        self.command.setPlaceholderText("The command to run (Enter runs it)")
        self.command.setAccessibleName("Run command")
        self.fix_button = push_button(
            "Fix with AI", self.fixRequested, tooltip="Send the output and the code it points to to the chat"
        )
        self.fix_button.setEnabled(False)
        self.outcome = QLabel()
        self.outcome.setObjectName("RunOutcome")
        self.output = RunOutputView()

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 4, 4, 0)
        for button in (self.run_file_button, self.run_tests_button, self.stop_button):
            bar.addWidget(button)
        bar.addWidget(self.command, 1)
        footer = QHBoxLayout()
        footer.setContentsMargins(4, 0, 4, 4)
        footer.addWidget(self.outcome, 1)
        footer.addWidget(self.fix_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self.output, 1)
        layout.addLayout(footer)

        self.command.returnPressed.connect(lambda: self.commandEntered.emit(self.command.text()))

    def show_running(self, command: str) -> None:
        self.command.setText(command)
        self.stop_button.setEnabled(True)
        self.fix_button.setEnabled(False)
        self.outcome.setText("Running…")

    def show_result(self, result: RunResult, counts: TestCounts | None) -> None:
        self.stop_button.setEnabled(False)
        failed = result.outcome in (RunOutcome.FAILED, RunOutcome.TIMED_OUT) and bool(result.output.strip())
        self.fix_button.setEnabled(failed)
        self.outcome.setText(describe_result(result, counts))

    def show_message(self, text: str) -> None:
        """A line that is not a run's outcome (nothing to run, a save refused)."""
        self.outcome.setText(text)
