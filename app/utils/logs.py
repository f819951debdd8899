"""The GUI process's own log file: a rotating `gui.log` in the log folder.

A windowed bundle has no stderr, so whatever goes wrong in the GUI process (an
exception in a slot, a Qt warning, a failed save) must land in a file the user can
find (Help ▸ Open Log Folder) and attach to a report. `start_gui_log` sends the root
logger there, and `install_exception_hooks` routes uncaught exceptions (the main thread
and every other thread) there too, before Python's own reporting, which still prints to
a stderr when there is one. Qt's messages are routed by the window's app module
(`qInstallMessageHandler`), since this module imports no Qt.

The engine child process keeps its own log (engine.log), written by the supervisor.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
from pathlib import Path
from types import TracebackType

from app.utils import paths

GUI_LOG_FILE = "gui.log"
MAX_BYTES = 1_000_000  # then gui.log.1, .2, .3: a few sessions' worth, never unbounded
BACKUP_COUNT = 3
FILE_LEVEL = logging.INFO
FORMAT = "%(asctime)s %(levelname)s [%(threadName)s] %(name)s: %(message)s"

log = logging.getLogger(__name__)


def gui_log_path() -> Path:
    return paths.log_dir() / GUI_LOG_FILE


def start_gui_log(path: Path | None = None, level: int = FILE_LEVEL) -> Path:
    """Log the GUI process to a rotating file (once per process; later calls return the path)."""
    path = path or gui_log_path()
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler) and Path(handler.baseFilename) == path:
            return path
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8", delay=True
    )
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(FORMAT))
    if root.getEffectiveLevel() > level:
        # Lower the root's threshold for the file, and keep the handlers already there
        # (the console's, at --verbose or not) as quiet as they were.
        for existing in root.handlers:
            if existing.level == logging.NOTSET:
                existing.setLevel(root.getEffectiveLevel())
        root.setLevel(level)
    root.addHandler(handler)
    return path


_hooks_installed = False


def install_exception_hooks() -> None:
    """Write uncaught exceptions (any thread) to the log, then report them as Python would."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    previous = sys.excepthook
    previous_thread = threading.excepthook

    def excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if not issubclass(kind, KeyboardInterrupt):
            log.critical("Uncaught exception", exc_info=(kind, value, tb))
        if sys.stderr is not None:  # a windowed bundle has none
            previous(kind, value, tb)

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread is not None else "?"
        if args.exc_value is not None:
            log.critical(
                "Uncaught exception in thread %s", name, exc_info=(args.exc_type, args.exc_value, args.exc_traceback)
            )
        if sys.stderr is not None:
            previous_thread(args)

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook
