"""The Qt adapter for downloads.

`DownloadWorker` owns a Qt-free `DownloadQueue`. The queue calls its listener from
its own worker threads; the listener only emits a private signal, which a queued
connection delivers to the worker's slot on the GUI thread, where the public signals
are emitted. Pause, resume and cancel are direct calls: they only set events.

The other blocking calls (scan, verify, import, remove, probe) run through
`app.utils.ui.tasks.BackgroundTasks`.
"""

from __future__ import annotations

import itertools
import logging

from PySide6.QtCore import QObject, Qt, Signal, Slot

from app.config.settings import Settings
from app.models.download.hub import HubConfig
from app.models.download.job import (
    DownloadJob,
    DownloadOptions,
    DownloadProgress,
    DownloadSpec,
    InstallResult,
    JobState,
)
from app.models.download.queue import DownloadQueue

log = logging.getLogger(__name__)


class DownloadWorker(QObject):
    """Downloads, one queue for the whole app; every signal names its job id."""

    queued = Signal(int, str)  # job id, label (also after a resume)
    started = Signal(int)  # job id
    progress = Signal(int, object)  # job id, DownloadProgress
    finished = Signal(int, str)  # job id, path of the installed model
    failed = Signal(int, str)  # job id, the DscoderError's text
    paused = Signal(int)  # job id
    cancelled = Signal(int)  # job id
    _event = Signal(int, str, object)  # from the queue's threads to the GUI thread

    def __init__(
        self,
        settings: Settings,
        *,
        options: DownloadOptions | None = None,
        max_parallel: int = 1,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.options = options
        self._queue = DownloadQueue(max_parallel=max_parallel, on_event=self._listen)
        self._jobs: dict[int, DownloadJob] = {}
        self._job_ids: dict[DownloadJob, int] = {}
        self._next_id = itertools.count(1)
        self._closed = False
        self._event.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    # -- direct calls from the GUI thread ---------------------------------------------------
    def add(self, spec: DownloadSpec) -> int:
        """Queue a download; returns its job id (its events follow as signals)."""
        job = DownloadJob(
            spec, self.settings.resolved_models_dir(), HubConfig.from_settings(self.settings), options=self.options
        )
        job_id = next(self._next_id)
        self._jobs[job_id] = job
        self._job_ids[job] = job_id
        self._queue.add(job)
        return job_id

    def job(self, job_id: int) -> DownloadJob:
        return self._jobs[job_id]

    def job_ids(self) -> list[int]:
        return list(self._jobs)

    def active_job_for(self, catalog_id: str) -> int | None:
        """The job (queued, running or paused) that downloads this catalog entry, if any."""
        for job_id, job in self._jobs.items():
            if job.spec.catalog_id == catalog_id and job.state in (JobState.QUEUED, JobState.RUNNING, JobState.PAUSED):
                return job_id
        return None

    def pause(self, job_id: int) -> None:
        self._queue.pause(self._jobs[job_id])

    def resume(self, job_id: int) -> None:
        """Resume a paused, failed or cancelled job from its partial file."""
        self._resume(job_id)

    def cancel(self, job_id: int, remove_partial: bool = False) -> None:
        self._queue.cancel(self._jobs[job_id], remove_partial)

    def forget(self, job_id: int) -> None:
        """Drop a job that has ended from the list (its files are not touched)."""
        job = self._jobs.get(job_id)
        if job is not None and job.state in (JobState.DONE, JobState.FAILED, JobState.CANCELLED):
            del self._jobs[job_id]
            self._job_ids.pop(job, None)

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Pause every download (partial files stay for the next start) and stop reporting."""
        if self._closed:
            return
        self._queue.stop_all()
        self._queue.wait(timeout_s)
        self._closed = True

    # -- internals ---------------------------------------------------------------------------
    def _resume(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if job is None or self._closed:
            return
        # The offline switch or the mirror may have changed since the job was made.
        job.hub = HubConfig.from_settings(self.settings)
        self._queue.resume(job)

    def _listen(self, job: DownloadJob, event: str, payload: object) -> None:
        """Called on the queue's threads: hand over to the GUI thread and return at once."""
        job_id = self._job_ids.get(job)
        if job_id is None or self._closed:
            return
        try:
            self._event.emit(job_id, event, payload)
        except RuntimeError:  # the Qt object is gone (the app is closing)
            pass

    @Slot(int, str, object)
    def _deliver(self, job_id: int, event: str, payload: object) -> None:
        job = self._jobs.get(job_id)
        if job is None or self._closed:
            return
        if event == "queued":
            self.queued.emit(job_id, job.spec.label)
        elif event == "started":
            self.started.emit(job_id)
        elif event == "progress" and isinstance(payload, DownloadProgress):
            self.progress.emit(job_id, payload)
        elif event == "done" and isinstance(payload, InstallResult):
            self.finished.emit(job_id, str(payload.path))
        elif event == "failed":
            self.failed.emit(job_id, str(payload))
        elif event == "paused":
            self.paused.emit(job_id)
        elif event == "cancelled":
            self.cancelled.emit(job_id)
