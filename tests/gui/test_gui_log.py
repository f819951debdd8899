"""The GUI process keeps a log file: uncaught exceptions (in slots and threads) and Qt's
own warnings end up in gui.log, since a windowed bundle has no stderr to show them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl

from app.utils import paths
from app.utils.logs import GUI_LOG_FILE
from tests.helpers.window import menu_action, open_window

APP_RUN = textwrap.dedent(
    """
    import threading
    from PySide6.QtCore import QTimer
    from PySide6.QtCore import qWarning
    from app.mainwindow.app import create_application
    from app.mainwindow.app import start_logging

    start_logging()
    app = create_application()

    def broken_slot():
        raise RuntimeError("a bug in a slot")

    def broken_thread():
        raise ValueError("a bug in a worker thread")

    QTimer.singleShot(0, broken_slot)
    QTimer.singleShot(0, lambda: qWarning("a Qt warning for the log"))
    QTimer.singleShot(0, lambda: threading.Thread(target=broken_thread, name="worker-1").start())
    QTimer.singleShot(300, app.quit)
    app.exec()
    """
)


@pytest.mark.slow
def test_exceptions_in_slots_and_threads_and_qt_warnings_go_to_the_log(tmp_path: Path) -> None:
    env = {**os.environ, "DSCODER_HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", APP_RUN], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    log = (tmp_path / "logs" / GUI_LOG_FILE).read_text(encoding="utf-8")
    assert "CRITICAL" in log and "Uncaught exception" in log and "RuntimeError: a bug in a slot" in log
    assert "Uncaught exception in thread worker-1" in log and "ValueError: a bug in a worker thread" in log
    assert "WARNING [MainThread] qt: a Qt warning for the log" in log
    assert "RuntimeError: a bug in a slot" in done.stderr  # still reported where there is a stderr


def test_help_opens_the_log_folder(qtbot) -> None:
    window = open_window(qtbot)
    opened: list[QUrl] = []
    window.open_url = opened.append
    menu_action(window, "Open Log Folder").trigger()
    assert [url.toLocalFile() for url in opened] == [str(paths.log_dir())]
