"""Runs off the GUI thread: a `RunWorker` on its own named QThread calls the Qt-free runner;
`RunController` starts runs with an id, stops them (a direct call that sets the run's
event), and drops results of runs it has moved past."""

from __future__ import annotations

import itertools
import logging
import threading

from PySide6.QtCore import QObject, Signal, Slot

from app.run.output import OutputFeed
from app.run.process import RunOutcome, RunResult, RunSpec, run_process, stop_all_runs
from app.utils.ui.worker_thread import start_worker_thread, stop_worker_thread

log = logging.getLogger(__name__)

RUN_THREAD_NAME = "run-worker"


class RunWorker(QObject):
    """Lives on the run thread; one run at a time."""

    finished = Signal(int, object)  # request id, RunResult

    @Slot(int, object, object, object)
    def run(self, request_id: int, spec: RunSpec, feed: OutputFeed, stop: threading.Event) -> None:
        try:
            result = run_process(spec, on_output=feed.write, stop=stop)
        except Exception as error:  # noqa: BLE001 - a bug becomes a message, not a panel stuck on "Running"
            log.exception("the run of %s failed", spec.display)
            result = RunResult(spec.display, RunOutcome.NOT_STARTED, None, 0.0, "", 0, 0, f"The run failed: {error}")
        self.finished.emit(request_id, result)


class RunController(QObject):
    """Owns the run thread; the one place that starts and stops runs."""

    started = Signal(int, str)  # request id, the command
    finished = Signal(int, object)  # request id, RunResult (only the current run's)
    _request = Signal(int, object, object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self.current_id: int | None = None
        self._stop: threading.Event | None = None
        self._worker = RunWorker()
        self._thread = start_worker_thread(self._worker, RUN_THREAD_NAME)
        self._request.connect(self._worker.run)
        self._worker.finished.connect(self._on_finished)

    @property
    def running(self) -> bool:
        return self.current_id is not None

    def start(self, spec: RunSpec, feed: OutputFeed) -> int:
        """Start `spec`; a run in flight is stopped first (its result is dropped)."""
        self.stop()
        request_id = next(self._ids)
        self.current_id = request_id
        self._stop = threading.Event()
        self._request.emit(request_id, spec, feed, self._stop)
        self.started.emit(request_id, spec.display)
        return request_id

    def stop(self) -> None:
        """Direct from the GUI thread: the runner notices within 0.1 s and kills the run's processes."""
        if self._stop is not None:
            self._stop.set()

    def _on_finished(self, request_id: int, result: RunResult) -> None:
        if request_id != self.current_id:
            return  # a run the user moved past
        self.current_id = None
        self._stop = None
        self.finished.emit(request_id, result)

    def shutdown(self) -> None:
        """App quit: every run's processes die now, then the thread ends."""
        self.stop()
        stop_all_runs()
        self.current_id = None
        if not stop_worker_thread(self._thread, 10_000):
            log.warning("the run thread did not end in time")
