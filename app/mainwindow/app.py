"""`run_gui`: the QApplication, the GUI's log, the main window, the model loading in the background."""

from __future__ import annotations

import gc
import logging
import sys
from pathlib import Path

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from app import APP_ID, APP_NAME, __version__
from app.config.settings import load_settings
from app.config.validation import sanitized
from app.utils.logs import install_exception_hooks, start_gui_log
from app.utils.resources import resource

qt_log = logging.getLogger("qt")
_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}

ICONS_DIR = resource("icons")


def app_icon() -> QIcon | None:
    """The app icon from resources/icons (svg and png sizes), when present."""
    if not ICONS_DIR.is_dir():
        return None
    icon = QIcon()
    for entry in sorted(ICONS_DIR.iterdir(), key=lambda e: e.name):
        if entry.name.lower().endswith((".svg", ".png")):
            icon.addFile(str(entry))  # shipped files lie on disk in every install (no zip imports)
    return None if icon.isNull() else icon


def _qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    where = f" ({context.category})" if context.category and context.category != "default" else ""
    qt_log.log(_QT_LEVELS.get(kind, logging.WARNING), "%s%s", message, where)


def start_logging() -> Path:
    """The GUI process's log file (gui.log), with uncaught exceptions and Qt's own messages in it."""
    path = start_gui_log()
    install_exception_hooks()
    qInstallMessageHandler(_qt_message)
    return path


# How long a busy Python thread (a project map being built, a conversation being saved) may
# hold the GIL before the GUI thread gets a turn: Python's 5 ms default lets such threads add
# 5 ms at a time to the window's latency; 1 ms keeps the event loop within a frame's budget.
GIL_SWITCH_INTERVAL_S = 0.001


def create_application(argv: list[str] | None = None) -> QApplication:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(argv or sys.argv[:1])
    # The X11 WM_CLASS class is the application name: it must equal the .desktop file name
    # (StartupWMClass) so that docks group the window under its launcher. Titles use the display name.
    app.setApplicationName(APP_ID)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName("dscoder")
    app.setDesktopFileName(APP_ID)
    app.setStyle("Fusion")  # the same look on every desktop, and a dark palette that works
    icon = app_icon()
    if icon is not None:
        app.setWindowIcon(icon)
    return app


def run_gui(files: list[str]) -> int:
    """Open the window with `files`, load the chosen model in the background, run."""
    start_logging()
    app = create_application()
    from app.mainwindow.window import MainWindow  # after QApplication: widgets need it

    settings, problems = sanitized(load_settings())
    window = MainWindow(settings)
    window.show_settings_problems(problems)
    window.open_files(files)
    # The window appears first; the engine process starts behind it, so that its start
    # (a fork, then a second interpreter importing llama.cpp) never delays the first frame.
    window.firstPainted.connect(window.engine.load_from_settings)
    # Everything built at start-up lives as long as the app: moving it out of the garbage
    # collector's view makes the full collections that can pause the GUI thread cheaper.
    window.firstPainted.connect(gc.freeze)
    window.show()
    app.aboutToQuit.connect(window.shutdown)
    return app.exec()
