"""Waiting in scripts that drive the real window (benchmarks, demos): the event loop runs
while they wait, blocked on events as the app is, never spinning (a spinning loop would
take a core from the engine on a 2-core machine)."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEventLoop, QTimer


def wait_for(condition: Callable[[], bool], timeout_s: float = 300.0, poll_ms: int = 20) -> None:
    """Run the event loop until `condition()` holds; TimeoutError after timeout_s."""
    deadline = time.monotonic() + timeout_s
    loop = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(lambda: loop.quit() if condition() or time.monotonic() > deadline else None)
    poll.start(poll_ms)
    if not condition():
        loop.exec()
    poll.stop()
    if not condition():
        raise TimeoutError(f"not there after {timeout_s:.0f} s")


def run_events_for(seconds: float) -> None:
    """Let the window live for `seconds` (paints, timers, streamed tokens)."""
    until = time.monotonic() + seconds
    wait_for(lambda: time.monotonic() > until, timeout_s=seconds + 60)
