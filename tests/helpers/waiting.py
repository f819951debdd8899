"""The one way a Qt-free test waits for something another thread or process does.

A bound on waiting, never a timing assertion: the timeout only keeps a broken run from hanging.
(Scripts that drive the real window wait with tests/helpers/event_loop.py, which runs the Qt
event loop while waiting; GUI tests use qtbot.waitUntil.)"""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, step: float = 0.02, what: str = "") -> None:
    """Poll `condition` until it holds; fail the test (AssertionError) when it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what or 'condition'} not met within {timeout:g} s")
        time.sleep(step)
