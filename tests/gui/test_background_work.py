"""The GUI process's two ways to work off the GUI thread: `BackgroundTasks` for short
blocking calls, `start_worker_thread` for a long-lived worker."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal, Slot

from app.utils.errors import DscoderError
from app.utils.ui.tasks import BackgroundTasks
from app.utils.ui.worker_thread import start_worker_thread, stop_worker_thread

WAIT_MS = 5_000


def test_one_worker_runs_tasks_in_order_and_quiet_ones_end_without_the_gui_thread(qtbot):
    tasks = BackgroundTasks(max_workers=1, thread_prefix="serial")
    ran: list[tuple[int, str]] = []
    ids = [tasks.start(lambda _p, _c, i=i: ran.append((i, threading.current_thread().name))) for i in range(20)]
    assert tasks.wait(timeout=WAIT_MS / 1000)
    assert [i for i, _ in ran] == list(range(20))
    assert all(name.startswith("serial") for _, name in ran)
    # No event loop turn has run: tasks nobody waits for were finished on their own thread.
    assert not any(tasks.is_running(task_id) for task_id in ids)
    tasks.shutdown()


def test_a_quiet_task_still_reports_its_failure_on_the_gui_thread(qtbot):
    tasks = BackgroundTasks(max_workers=1)
    failures: list[tuple[str, bool]] = []

    def fail(_progress, _control):
        raise DscoderError("The disk is full", "Free some space")

    tasks.start(
        fail,
        on_failed=lambda message: failures.append((message, threading.current_thread() is threading.main_thread())),
    )
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    assert failures == [("The disk is full. Free some space.", True)]
    tasks.shutdown()


def test_shutdown_either_drops_or_finishes_what_is_queued(qtbot):
    release = threading.Event()
    dropped: list[int] = []
    cancelling = BackgroundTasks(max_workers=1)
    cancelling.start(lambda _p, _c: release.wait(WAIT_MS / 1000))
    for i in range(5):
        cancelling.start(lambda _p, _c, i=i: dropped.append(i))
    cancelling.shutdown()
    release.set()
    assert cancelling.wait(timeout=WAIT_MS / 1000)
    assert dropped == []

    finished: list[int] = []
    finishing = BackgroundTasks(max_workers=1)
    for i in range(5):
        finishing.start(lambda _p, _c, i=i: finished.append(i), lambda _result: finished.append(-1))
    finishing.shutdown(finish_queued=True)
    assert finished == [0, 1, 2, 3, 4]  # every write ran; results for the GUI are dropped
    qtbot.wait(50)
    assert -1 not in finished


class _Recorder(QObject):
    seen = Signal(str, str)

    @Slot()
    def record(self) -> None:
        thread = self.thread()
        self.seen.emit(threading.current_thread().name, thread.objectName() if thread else "")


class _Asker(QObject):
    ask = Signal()


def test_a_long_worker_runs_its_slots_on_its_named_thread(qtbot):
    worker = _Recorder()
    thread = start_worker_thread(worker, "long-worker")
    asker = _Asker()
    asker.ask.connect(worker.record)  # queued: the worker lives on the other thread
    seen: list[tuple[str, str]] = []
    worker.seen.connect(lambda python_name, qt_name: seen.append((python_name, qt_name)))
    asker.ask.emit()
    qtbot.waitUntil(lambda: bool(seen), timeout=WAIT_MS)
    assert seen == [("long-worker", "long-worker")]  # Python's name and Qt's agree
    assert threading.main_thread().name == "MainThread"  # and the GUI thread kept its own
    assert stop_worker_thread(thread, WAIT_MS)
    assert not thread.isRunning()
