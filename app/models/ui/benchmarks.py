"""The model manager's Benchmarks tab: published scores beside what was measured here.

For each catalog variant its published pass@1 figures (in the family's own table's terms,
each with its source) and, under them, the files checked on this machine (quant, scores,
gap, date, time taken). "Check this model" runs the quality check
(app/models/quality/check.py) on an installed file in the background: the engine in a
child process as the window runs it, the check on a `BackgroundTasks` pool thread, a
progress bar with the time left, and Cancel (a direct call that ends the request in
flight). The page says what the FIM figures can be compared with and how the answers'
code is isolated.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QBrush, QColor, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.config.settings import Settings
from app.models.catalog import Catalog, load_catalog
from app.models.quality.check import CheckProgress, CheckReport, CheckRun
from app.models.quality.problems import SUITES, Problem
from app.models.quality.published import identify_model
from app.models.quality.report import record_of
from app.models.quality.results import CheckedModel, QualityRecord, QualityResults
from app.models.quality.rows import benchmark_groups
from app.models.quality.sandbox import isolation_text
from app.utils.jobs import JobControl
from app.utils.ui.tasks import BackgroundTasks
from app.utils.units import time_left

if TYPE_CHECKING:
    from app.llm.client import OpenAIClient

CHECK_THREAD_PREFIX = "quality-check"
COLUMNS = ("Model / benchmark", "pass@1", "Source / reading", "Date", "Time taken")
FIM_NOTE = (
    "The completion figures fill one single-line and one multi-line hole per problem through this app's "
    "own completion path. That is not the published HumanEval-FIM protocol: compare them between quants "
    "and models checked here, not with the paper's HumanEval-FIM."
)
WARNING_COLOR = "#b02a37"
MEASURED_SCORE_TIP = (
    "pass@1 measured here: chat (HumanEval's problems asked in the chat), then FIM: the single-line holes / "
    "the multi-line holes filled through the editor's completion"
)
COLUMN_WIDTHS = (360, 250, 420, 130)  # the last column (time taken) takes the rest


@contextlib.contextmanager
def _local_engine(settings: Settings, path: str, cancel: threading.Event) -> Iterator[OpenAIClient]:
    """A fresh engine child for `path`, loaded with the user's settings (as the window loads)."""
    from app.llm.connect import open_client
    from app.models.planning.preflight import plan_and_check_load
    from app.protocol.options import load_options_for

    options = plan_and_check_load(load_options_for(settings, path))
    with open_client(options, cancel=cancel) as client:
        yield client


class _CheckHandle:
    """Cancel for a check that may not have started yet: the engine's start, then the check."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self._lock = threading.Lock()
        self._check: CheckRun | None = None

    def attach(self, check: CheckRun) -> None:
        with self._lock:
            self._check = check
        if self.cancelled.is_set():
            check.cancel()

    def cancel(self) -> None:
        self.cancelled.set()
        with self._lock:
            check = self._check
        if check is not None:
            check.cancel()


class BenchmarksPage(QWidget):
    checkFinished = Signal(object)  # the QualityRecord kept

    def __init__(
        self,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        catalog: Catalog | None = None,
        results: QualityResults | None = None,
        sandbox_isolation: Callable[[], str] = isolation_text,
    ) -> None:
        """`sandbox_isolation` says how the answers' code is isolated; it tries the OS's
        namespaces (a short child process), so it runs off the GUI thread when the tab is first shown."""
        super().__init__(parent)
        self.sandbox_isolation = sandbox_isolation
        self._isolation_asked = False
        self.settings = settings
        self.catalog = catalog or load_catalog()
        self.results = results or QualityResults()
        # Replaceable in tests: how a client for a file is opened, and which problems are checked.
        self.client_for: Callable[[str, threading.Event], contextlib.AbstractContextManager[OpenAIClient]] = (
            lambda path, cancel: _local_engine(settings, path, cancel)
        )
        self.problems: Sequence[Problem] | None = None
        self._tasks = BackgroundTasks(self, max_workers=1, thread_prefix=CHECK_THREAD_PREFIX)
        self._task: int | None = None
        self._handle: _CheckHandle | None = None
        self._started = 0.0
        self._build()
        self.show_results()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.notes_label = QLabel(FIM_NOTE)
        self.notes_label.setWordWrap(True)
        self.notes_label.setObjectName("benchmarkNotes")
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(True)
        self.tree.setWordWrap(True)
        self.file_combo = QComboBox()
        self.file_combo.setMinimumContentsLength(40)
        self.suite_combo = QComboBox()
        for suite in SUITES:
            self.suite_combo.addItem(
                {"quick": "quick (24 problems)", "full": "full (164 problems)"}.get(suite, suite), suite
            )
        self.check_button = QPushButton("Check this model")
        self.check_button.clicked.connect(self.start_check)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_check)
        self.progress_bar = QProgressBar()
        self.time_left_label = QLabel()
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        check_row = QHBoxLayout()
        check_row.addWidget(QLabel("Installed file:"))
        check_row.addWidget(self.file_combo, 1)
        check_row.addWidget(self.suite_combo)
        check_row.addWidget(self.check_button)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress_bar, 1)
        progress_row.addWidget(self.time_left_label)
        progress_row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.notes_label)
        layout.addLayout(check_row)
        layout.addLayout(progress_row)
        layout.addWidget(self.status_label)
        layout.addWidget(self.tree, 1)
        self._set_running(False)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if not self._isolation_asked:
            self._isolation_asked = True
            isolation = self.sandbox_isolation
            self._tasks.start(lambda _progress, _control: isolation(), self._show_isolation)

    def _show_isolation(self, text: object) -> None:
        self.notes_label.setText(f"{FIM_NOTE}\n\n{text}")

    def _set_running(self, running: bool) -> None:
        self.check_button.setEnabled(not running and self.file_combo.count() > 0)
        self.file_combo.setEnabled(not running)
        self.suite_combo.setEnabled(not running)
        self.cancel_button.setVisible(running)
        self.progress_bar.setVisible(running)
        self.time_left_label.setVisible(running)

    # -- what is shown ------------------------------------------------------------------------
    def set_installed(self, paths: Sequence[str]) -> None:
        """The installed model files the check may run on."""
        current = self.file_combo.currentData()
        self.file_combo.clear()
        for path in paths:
            self.file_combo.addItem(os.path.basename(path), path)
        index = self.file_combo.findData(current)
        if index >= 0:
            self.file_combo.setCurrentIndex(index)
        self._set_running(self.is_running)

    def show_results(self) -> None:
        self.tree.clear()
        for group in benchmark_groups(self.catalog, self.results.records()):
            top = QTreeWidgetItem([group.title])
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            self.tree.addTopLevelItem(top)
            for row in group.rows:
                item = QTreeWidgetItem([row.name, row.score, row.detail, row.date, row.time_taken])
                item.setToolTip(2, row.detail)
                if row.measured:
                    item.setToolTip(1, MEASURED_SCORE_TIP)
                if row.warning:
                    for column in range(len(COLUMNS)):
                        item.setForeground(column, QBrush(QColor(WARNING_COLOR)))
                top.addChild(item)
            top.setExpanded(bool(group.rows))
        for column, width in enumerate(COLUMN_WIDTHS):
            self.tree.setColumnWidth(column, width)

    def measured_items(self) -> list[QTreeWidgetItem]:
        """The rows of files measured here (for tests and accessibility)."""
        found = []
        for index in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(index)
            children = [top.child(i) for i in range(top.childCount())] if top is not None else []
            found += [item for item in children if item is not None and "measured here" in item.text(0)]
        return found

    # -- the check ----------------------------------------------------------------------------
    @property
    def is_running(self) -> bool:
        return self._tasks.is_running(self._task)

    def start_check(self) -> None:
        path = self.file_combo.currentData()
        if not path or self.is_running:
            return
        suite = str(self.suite_combo.currentData())
        client_for, problems = self.client_for, self.problems
        settings = {
            "n_ctx": self.settings.n_ctx,
            "kv_cache_type": self.settings.kv_cache_type,
            "flash_attn": self.settings.flash_attn,
        }

        handle = self._handle = _CheckHandle()
        catalog = self.catalog

        def work(progress: Callable[[int, int], None], _control: JobControl) -> object:
            identity, model = identify_model(path, catalog), CheckedModel.of_file(path)
            with client_for(path, handle.cancelled) as client:
                check = CheckRun(client, suite, problems=problems, on_progress=lambda p: progress(p.done, p.total))
                handle.attach(check)
                report: CheckReport = check.run()
            if report.cancelled:
                return None
            return record_of(report, identity, model, settings)

        self._started = time.monotonic()
        self.progress_bar.setRange(0, 0)  # busy until the engine has loaded and the first step is done
        self.time_left_label.setText("starting the engine…")
        self.status_label.setText(f"Checking {os.path.basename(path)} on the {suite} suite…")
        self._task = self._tasks.start(
            work,
            self._on_done,
            on_failed=self._on_failed,
            on_progress=self._on_progress,
            on_cancelled=self._on_cancelled,
        )
        self._set_running(True)

    def cancel_check(self) -> None:
        if self._task is None:
            return
        if self._handle is not None:
            self._handle.cancel()  # ends the engine's start or the request in flight at once
        self._tasks.cancel(self._task)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)
        left = CheckProgress(done, total, time.monotonic() - self._started).time_left_s
        self.time_left_label.setText("" if left is None else f"about {time_left(left)} left")

    def _on_done(self, result: object) -> None:
        self._finish()
        if not isinstance(result, QualityRecord):
            self.status_label.setText("The check was cancelled; nothing was kept.")
            return
        self.results.put(result)
        self.status_label.setText(f"Checked {result.model.name} in {time_left(result.seconds)}.")
        self.show_results()
        self.checkFinished.emit(result)

    def _on_failed(self, message: str) -> None:
        self._finish()
        self.status_label.setText(f"The check failed: {message}")

    def _on_cancelled(self) -> None:
        self._finish()
        self.status_label.setText("The check was cancelled; nothing was kept.")

    def _finish(self) -> None:
        self._task, self._handle = None, None
        self._set_running(False)

    def shutdown(self) -> None:
        self.cancel_check()
        self._tasks.shutdown()
