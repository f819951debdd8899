"""Reading large files on a worker thread, for the tabs.

A file larger than ASYNC_READ_BYTES is read and decoded on one shared reader thread;
the result comes back to the GUI thread through a queued signal, with the tab it was
read for. Each read has an id, so a result whose request is gone is dropped.
"""

from __future__ import annotations

import functools
from concurrent.futures import Future, ThreadPoolExecutor

from PySide6.QtCore import QObject, Signal

from app.editor.textfile import TextFile, read_text_file
from app.editor.ui.code_editor import CodeEditor

ASYNC_READ_BYTES = 1024 * 1024

_reader: ThreadPoolExecutor | None = None


def _file_reader() -> ThreadPoolExecutor:
    global _reader
    if _reader is None:
        _reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="file-reader")
    return _reader


class BackgroundFileReads(QObject):
    """The reads in flight: start one for an editor, get `finished` on the GUI thread."""

    finished = Signal(object, str, object)  # editor, path, TextFile or the exception
    _delivered = Signal(int, object)  # read id, TextFile or exception: reader thread -> GUI thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._reads: dict[int, tuple[CodeEditor, str]] = {}
        self._next_id = 0
        self._delivered.connect(self._on_delivered)

    def start(self, editor: CodeEditor, path: str) -> None:
        self._next_id += 1
        self._reads[self._next_id] = (editor, path)
        future = _file_reader().submit(read_text_file, path)
        future.add_done_callback(functools.partial(self._deliver, self._next_id))

    def _deliver(self, read_id: int, future: Future[TextFile]) -> None:
        # Runs on the reader thread: only hand the result over.
        error = future.exception()
        try:
            self._delivered.emit(read_id, error if error is not None else future.result())
        except RuntimeError:  # the tabs were deleted while the file was being read
            pass

    def _on_delivered(self, read_id: int, result: object) -> None:
        entry = self._reads.pop(read_id, None)
        if entry is not None:
            self.finished.emit(entry[0], entry[1], result)
