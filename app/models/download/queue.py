"""Several downloads, run one (or N) at a time, each in its own worker thread.

Qt-free: listeners are called from the worker threads, so a GUI adapter forwards
them as queued signals. A paused job leaves its slot to the next one and goes to
the back of the queue when resumed; its partial file makes it continue where it
stopped.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from app.models.download.job import DownloadJob, DownloadProgress, JobState
from app.utils.errors import CancelledError, DscoderError
from app.utils.jobs import PausedError

log = logging.getLogger(__name__)

# (job, event, payload): events are queued, started, progress (DownloadProgress),
# paused, cancelled, done (InstallResult), failed (DscoderError).
QueueListener = Callable[[DownloadJob, str, object], None]


class DownloadQueue:
    def __init__(self, max_parallel: int = 1, on_event: QueueListener | None = None) -> None:
        if max_parallel < 1:
            raise ValueError("max_parallel must be at least 1")
        self.max_parallel = max_parallel
        self.on_event = on_event
        self._jobs: list[DownloadJob] = []
        self._pending: deque[DownloadJob] = deque()
        self._running: set[DownloadJob] = set()
        self._changed = threading.Condition()

    @property
    def jobs(self) -> list[DownloadJob]:
        with self._changed:
            return list(self._jobs)

    def add(self, job: DownloadJob) -> DownloadJob:
        own_progress = job.on_progress

        def forward(progress: DownloadProgress) -> None:
            if own_progress is not None:
                own_progress(progress)
            self._notify(job, "progress", progress)

        job.on_progress = forward
        with self._changed:
            self._jobs.append(job)
            job.state = JobState.QUEUED
            self._pending.append(job)
        self._notify(job, "queued", None)
        self._pump()
        return job

    def pause(self, job: DownloadJob) -> None:
        with self._changed:
            if job in self._pending:
                self._pending.remove(job)
                job.state = JobState.PAUSED
                queued_pause = True
            else:
                queued_pause = False
                job.pause()
        if queued_pause:
            self._notify(job, "paused", None)

    def resume(self, job: DownloadJob) -> None:
        with self._changed:
            if job.state not in (JobState.PAUSED, JobState.FAILED, JobState.CANCELLED) or job in self._running:
                return
            job.state = JobState.QUEUED
            self._pending.append(job)
        self._notify(job, "queued", None)
        self._pump()

    def cancel(self, job: DownloadJob, remove_partial: bool = False) -> None:
        with self._changed:
            running = job in self._running
            if job in self._pending:
                self._pending.remove(job)
            if running:
                job.cancel(remove_partial)
            else:
                job.state = JobState.CANCELLED
        if not running:
            if remove_partial:
                job.discard_partials()
            self._notify(job, "cancelled", None)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or running; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending and not self._running, timeout)

    def stop_all(self) -> None:
        """Pause everything (for app exit): partial files stay for the next start."""
        with self._changed:
            for job in list(self._pending):
                job.state = JobState.PAUSED
            self._pending.clear()
            running = list(self._running)
        for job in running:
            job.pause()

    def _pump(self) -> None:
        with self._changed:
            while self._pending and len(self._running) < self.max_parallel:
                job = self._pending.popleft()
                self._running.add(job)
                worker = threading.Thread(target=self._run, args=(job,), name=f"download {job.spec.label}", daemon=True)
                worker.start()

    def _run(self, job: DownloadJob) -> None:
        self._notify(job, "started", None)
        event: str
        payload: object = None
        try:
            payload = job.run()
            event = "done"
        except PausedError:
            event = "paused"
        except CancelledError:
            event = "cancelled"
        except DscoderError as exc:
            event, payload = "failed", exc
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the queue silently
            log.exception("download %s crashed", job.spec.label)
            job.state = JobState.FAILED
            job.error = DscoderError(f"The download of {job.spec.label} failed unexpectedly: {exc}", "See the log")
            event, payload = "failed", job.error
        # Free the slot before telling listeners, so a resume sent from a "paused"
        # listener finds the job no longer running.
        with self._changed:
            self._running.discard(job)
        self._notify(job, event, payload)
        self._pump()
        with self._changed:
            self._changed.notify_all()

    def _notify(self, job: DownloadJob, event: str, payload: object) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(job, event, payload)
        except Exception:  # noqa: BLE001 - a listener's bug must not break the download
            log.exception("download listener failed on %s", event)
