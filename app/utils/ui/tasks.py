"""Blocking calls off the GUI thread, with their results delivered back on it.

`BackgroundTasks` is the GUI process's one way to run short blocking work (scan,
verify, import, remove, probe, a file read, a database write, a warm-up): each owner
(a QObject in a `ui/` package) keeps one as its child, with a named thread pool, and
gets the result, or the `DscoderError`, back on the GUI thread. Cancelling a task sets
its `JobControl` and drops its late result (the Orange3 `TaskState` idea), so a stale
answer never reaches a widget. With `max_workers=1` the tasks run one at a time in the
order they were started: a serial queue, as the conversation writer needs. See
docs/architecture.md, "Background work".
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal, SignalInstance, Slot

from app.utils.errors import CancelledError, DscoderError
from app.utils.jobs import JobControl, Progress

log = logging.getLogger(__name__)

TASK_THREAD_PREFIX = "background-task"
TASK_PROGRESS_INTERVAL_S = 0.1


# A task gets a progress callback (done, total) and a control to check for cancel.
TaskFunction = Callable[[Progress, JobControl], object]


@dataclass
class _Task:
    control: JobControl
    on_done: Callable[[object], None] | None
    on_failed: Callable[[str], None] | None
    on_progress: Callable[[int, int], None] | None
    on_cancelled: Callable[[], None] | None
    cancelled: bool = False
    last_progress: float = 0.0

    def ends_quietly(self, error: DscoderError | None) -> bool:
        """Nothing to tell the GUI thread: no one waits for the result and no failure
        is to be reported, so the task ends on its own thread, without an event."""
        if self.on_done is not None or self.on_cancelled is not None:
            return False
        return error is None or isinstance(error, CancelledError) or self.on_failed is None


class BackgroundTasks(QObject):
    """Blocking calls on named pool threads, with results delivered on the GUI thread."""

    _done = Signal(int, object, object)  # task id, result, error (DscoderError or None)
    _progress = Signal(int, int, int)  # task id, done, total

    def __init__(
        self, parent: QObject | None = None, *, max_workers: int = 2, thread_prefix: str = TASK_THREAD_PREFIX
    ) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=thread_prefix)
        self._tasks: dict[int, _Task] = {}
        self._futures: set[Future[None]] = set()  # submitted and not yet run to the end
        self._next_id = itertools.count(1)
        self._lock = threading.Lock()
        self._closed = False
        self._done.connect(self._finish, Qt.ConnectionType.QueuedConnection)
        self._progress.connect(self._report, Qt.ConnectionType.QueuedConnection)

    def start(
        self,
        function: TaskFunction,
        on_done: Callable[[object], None] | None = None,
        *,
        on_failed: Callable[[str], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
    ) -> int:
        """Run `function(progress, control)` off the GUI thread; callbacks run on the GUI thread.

        A task without `on_done` and `on_cancelled` (fire and forget, as a database write)
        costs the GUI thread nothing when it succeeds; a failure goes to `on_failed`, or
        to the log."""
        task_id = next(self._next_id)
        task = _Task(JobControl(), on_done, on_failed, on_progress, on_cancelled)
        self._tasks[task_id] = task
        future = self._executor.submit(self._run, task_id, task, function)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._forget_future)
        return task_id

    def cancel(self, task_id: int) -> None:
        task = self._tasks.get(task_id)
        if task is not None:
            task.cancelled = True
            task.control.cancel()

    def is_running(self, task_id: int | None) -> bool:
        return task_id is not None and task_id in self._tasks

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every task started so far has run (their results may still be on their
        way to the GUI thread); False on timeout."""
        with self._lock:
            pending = list(self._futures)
        return not futures.wait(pending, timeout).not_done

    def shutdown(self, *, finish_queued: bool = False) -> None:
        """Cancel every task, or with `finish_queued` run every task started so far to its end
        first (and wait for that); either way, results still on their way are dropped."""
        self._closed = True
        if finish_queued:
            self._executor.shutdown(wait=True)
            return
        for task in list(self._tasks.values()):
            task.cancelled = True
            task.control.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _forget_future(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)

    def _run(self, task_id: int, task: _Task, function: TaskFunction) -> None:
        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - task.last_progress < TASK_PROGRESS_INTERVAL_S and done < total:
                return
            task.last_progress = now
            self._emit(self._progress, task_id, done, total)

        result: object = None
        error: DscoderError | None = None
        try:
            result = function(progress, task.control)
        except DscoderError as exc:
            error = exc
        except Exception as exc:  # noqa: BLE001 - a bug becomes a message, not a dead thread
            log.exception("background task %d failed", task_id)
            error = DscoderError(f"The operation failed unexpectedly: {exc}", "See the log for details")
        if task.ends_quietly(error):
            self._tasks.pop(task_id, None)
            if error is not None and not isinstance(error, CancelledError):
                log.warning("background task failed: %s", error)
            return
        self._emit(self._done, task_id, result, error)

    def _emit(self, signal: SignalInstance, *args: object) -> None:
        if self._closed:
            return
        try:
            signal.emit(*args)
        except RuntimeError:  # the Qt object is gone (the app is closing)
            pass

    @Slot(int, int, int)
    def _report(self, task_id: int, done: int, total: int) -> None:
        task = self._tasks.get(task_id)
        if task is not None and not task.cancelled and task.on_progress is not None:
            task.on_progress(done, total)

    @Slot(int, object, object)
    def _finish(self, task_id: int, result: object, error: object) -> None:
        task = self._tasks.pop(task_id, None)
        if task is None or self._closed:
            return
        if task.cancelled or isinstance(error, CancelledError):
            if task.on_cancelled is not None:
                task.on_cancelled()
        elif isinstance(error, DscoderError):
            if task.on_failed is not None:
                task.on_failed(str(error))
            else:
                log.warning("background task failed: %s", error)
        elif task.on_done is not None:
            task.on_done(result)
