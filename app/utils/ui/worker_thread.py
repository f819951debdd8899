"""A long-lived worker: a QObject moved to its own named QThread.

The GUI process's one way to host work that lives as long as the app and keeps state
between requests (the engine's requests and streams, the completions): the worker's
slots run on the thread, requests reach them through queued signals, and cancel is a
direct call from the GUI thread that sets a `threading.Event`. Never subclass QThread
to host slots. Short blocking calls use `app.utils.ui.tasks.BackgroundTasks` instead.
See docs/architecture.md, "Background work".
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, QThread


def start_worker_thread(worker: QObject, name: str) -> QThread:
    """Move `worker` (which must have no parent) to a new QThread named `name`, for Qt and
    for Python's `threading` (logs, the status bar's list of threads), and start it."""
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    # Direct: on the thread that emits `started`, the new one (a plain callable's connection
    # would otherwise be queued to the thread that connected it, and rename the GUI thread).
    thread.started.connect(
        lambda: setattr(threading.current_thread(), "name", name), Qt.ConnectionType.DirectConnection
    )
    thread.start()
    return thread


def stop_worker_thread(thread: QThread, timeout_ms: int) -> bool:
    """End the thread's event loop and wait for it; False when it did not end in time."""
    if not thread.isRunning():
        return True
    thread.quit()
    return thread.wait(timeout_ms)
