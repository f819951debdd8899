"""Run the app's real start in a child process until the window's first frame is painted.

For child scripts (the UI benchmark's cold start, the check that the window's start imports no
engine code): `leave_at_first_paint(report)` watches every widget's paint events; after the
first frame (and what was queued on it) it calls `report` and ends the process at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

from app.mainwindow.app import create_application


class FirstPaint(QObject):
    def __init__(self, report: Callable[[], None]) -> None:
        super().__init__()
        self.report = report
        self.seen = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self.seen and event.type() == QEvent.Type.Paint and isinstance(watched, QWidget):
            self.seen = True
            QTimer.singleShot(0, self.done)  # once this frame is painted
        return False

    def done(self) -> None:
        self.report()
        os._exit(0)


def leave_at_first_paint(report: Callable[[], None]) -> FirstPaint:
    """Create the application and watch it; keep the returned watcher alive, then start the app."""
    application = create_application()
    watcher = FirstPaint(report)
    application.installEventFilter(watcher)
    return watcher
