"""Measured loads: what each real load and answer of the local engine used, recorded so
that the next estimate for the same model file and settings is a measurement.

The recording itself is Qt-free (`app.models.planning.load_recorder`); it reads the engine's log
and its process's memory, and the first load may start GPU discovery, so it runs on a
background thread, never on the GUI thread. A remote engine has nothing to record here.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from app.llm.info import EngineInfo
from app.llm.stream import StreamStats
from app.llm.ui.session import EngineSession
from app.llm.ui.worker import engine_log_path
from app.utils.jobs import JobControl, Progress
from app.utils.ui.tasks import BackgroundTasks

RECORDER_THREAD_PREFIX = "load-recorder"


class LoadMeasurements(QObject):
    """Records every load and every finished answer of the session's local engine."""

    def __init__(self, engine: EngineSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self._tasks = BackgroundTasks(self, max_workers=1, thread_prefix=RECORDER_THREAD_PREFIX)
        self.recorded = 0  # records written (loads and answers), for tests
        engine.loaded.connect(self._on_loaded)
        engine.finished.connect(self._on_finished)

    def shutdown(self) -> None:
        self._tasks.shutdown()

    def _on_loaded(self, info: EngineInfo) -> None:
        pid = info.pid
        if pid is None:
            return
        log_path = engine_log_path()

        def work(_progress: Progress, _control: JobControl) -> object:
            # Imported here, on the recorder's thread: the estimator and the GGUF reader are
            # not needed before the first paint.
            from app.models.planning.load_recorder import record_engine_load

            return record_engine_load(pid, log_path, info)

        self._tasks.start(work, self._on_recorded)

    def _on_finished(self, _request_id: int, stats: StreamStats) -> None:
        info = self._engine.info
        if info is None or info.pid is None or not stats.usage:
            return
        pid, usage = info.pid, dict(stats.usage)

        def work(_progress: Progress, _control: JobControl) -> object:
            from app.models.planning.load_recorder import record_engine_request

            return record_engine_request(pid, info, usage)

        self._tasks.start(work, self._on_recorded)

    def _on_recorded(self, record: object) -> None:
        if record is not None:
            self.recorded += 1
