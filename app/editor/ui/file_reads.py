"""Reading large files off the GUI thread, for the tabs.

A file larger than ASYNC_READ_BYTES is read and decoded on the tabs' own reader (a
one-thread `BackgroundTasks`); the result comes back on the GUI thread with the tab it
was read for. A tab closed meanwhile is the tabs' to notice (they drop its result).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.editor.textfile import TextFile, read_text_file
from app.editor.ui.code_editor import CodeEditor
from app.utils.errors import DscoderError
from app.utils.jobs import JobControl, Progress
from app.utils.ui.tasks import BackgroundTasks

ASYNC_READ_BYTES = 1024 * 1024
READER_THREAD_PREFIX = "file-reader"


def _read(path: str) -> TextFile | DscoderError:
    try:
        return read_text_file(path)
    except DscoderError as exc:  # the tab shows it, with what to do
        return exc


class BackgroundFileReads(QObject):
    """The reads in flight: start one for an editor, get `finished` on the GUI thread."""

    finished = Signal(object, str, object)  # editor, path, TextFile or the DscoderError

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = BackgroundTasks(self, max_workers=1, thread_prefix=READER_THREAD_PREFIX)

    def start(self, editor: CodeEditor, path: str) -> None:
        def read(_progress: Progress, _control: JobControl) -> TextFile | DscoderError:
            return _read(path)

        self._tasks.start(
            read,
            lambda result: self.finished.emit(editor, path, result),
            on_failed=lambda message: self.finished.emit(editor, path, DscoderError(message)),
        )
