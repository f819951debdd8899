"""The downloads the model manager shows: each job's state, catalog entry and progress.

`DownloadJobs` owns that state and the Downloads tab's rows. It starts downloads
after the free-disk check, turns the `DownloadWorker`'s signals (which arrive on the
GUI thread) into rows, and tells the dialog what changed through its own signals:
the dialog words the catalog's Status column, the tab title and the messages.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.models.catalog import CatalogEntry
from app.models.download.hub import HubConfig
from app.models.download.job import DownloadJob, DownloadOptions, DownloadProgress, DownloadSpec
from app.models.ui.download_worker import DownloadWorker
from app.models.ui.downloads_view import DownloadsView
from app.models.ui.manager_data import live_status_text
from app.models.verify import require_free_space
from app.utils.errors import DscoderError
from app.utils.units import file_size

ACTIVE_JOB_STATES = ("queued", "running", "paused")


class DownloadJobs(QObject):
    """The state of every download the window knows, keyed by job id."""

    entryChanged = Signal(str)  # catalog id whose download state changed
    activeCountChanged = Signal(int)  # queued, running or paused jobs
    ended = Signal()  # a job finished, failed or was cancelled: the models folder changed
    error = Signal(str)  # a refusal or a failure, worded for the user

    def __init__(
        self,
        worker: DownloadWorker,
        view: DownloadsView,
        models_dir: Callable[[], Path],
        options: DownloadOptions | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.worker = worker
        self.view = view
        self._models_dir = models_dir
        self._options = options or DownloadOptions()
        self._states: dict[int, str] = {}
        self._entries: dict[int, str] = {}  # job id -> catalog id (hub-search downloads have none)
        self._progress: dict[int, DownloadProgress] = {}
        view.pauseRequested.connect(worker.pause)
        view.resumeRequested.connect(worker.resume)
        view.removeRequested.connect(self._forget)
        worker.queued.connect(lambda job_id, _label: self._set_state(job_id, "queued"))
        worker.started.connect(lambda job_id: self._set_state(job_id, "running"))
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.paused.connect(lambda job_id: self._set_state(job_id, "paused"))
        worker.cancelled.connect(self._on_cancelled)
        for job_id in worker.job_ids():  # a shared worker may already hold downloads
            job = worker.job(job_id)
            self._track(job_id, job.spec, job.state.value)

    # -- starting ------------------------------------------------------------------------------
    def download_entry(self, entry: CatalogEntry) -> int | None:
        """Start (or resume) a catalog entry's download; returns its job id, None when refused."""
        active = self.active_job(entry.id)
        if active is not None:
            if self._states.get(active) == "paused":
                self.worker.resume(active)
            return active
        return self.download_spec(DownloadSpec.from_catalog_entry(entry), entry.size)

    def download_file(self, repo: str, filename: str, size: int) -> int | None:
        """Download one hub file (a shard or piece brings its whole set), e.g. from a search result."""
        try:
            spec = DownloadSpec.for_repo_file(repo, filename)
        except DscoderError as exc:
            self.error.emit(str(exc))
            return None
        return self.download_spec(spec, size)

    def download_spec(self, spec: DownloadSpec, size: int) -> int | None:
        """Queue any download after the free-disk check; a refusal is emitted as `error`, not raised."""
        models_dir = self._models_dir()
        already = DownloadJob(spec, models_dir, HubConfig("", None, True)).partial_bytes()
        try:
            require_free_space(models_dir, max(0, size - already) + self._options.disk_margin_bytes, spec.label)
        except DscoderError as exc:
            self.error.emit(str(exc))
            return None
        job_id = self.worker.add(spec)
        self._track(job_id, spec, "queued")
        return job_id

    def cancel(self, job_id: int, keep_partial: bool) -> None:
        self.worker.cancel(job_id, remove_partial=not keep_partial)

    # -- what the dialog reads -----------------------------------------------------------------
    def label(self, job_id: int) -> str:
        return self.worker.job(job_id).spec.label

    def active_job(self, entry_id: str) -> int | None:
        """The queued, running or paused job of a catalog entry."""
        return next(
            (
                job_id
                for job_id, e in self._entries.items()
                if e == entry_id and self._states.get(job_id) in ACTIVE_JOB_STATES
            ),
            None,
        )

    def job_for_entry(self, entry_id: str) -> int | None:
        """The active job of an entry, else its latest one."""
        return self.active_job(entry_id) or next(
            (job_id for job_id, e in reversed(self._entries.items()) if e == entry_id), None
        )

    def live_status(self, entry_id: str) -> tuple[str, str | None] | None:
        """The Status column's text and button while the entry downloads; None when it does not."""
        job_id = self.active_job(entry_id)
        if job_id is None:
            return None
        paused = self._states[job_id] == "paused"
        return live_status_text(self._progress.get(job_id), paused), "Resume" if paused else None

    def active_count(self) -> int:
        return sum(1 for state in self._states.values() if state in ACTIVE_JOB_STATES)

    # -- the worker's signals ------------------------------------------------------------------
    def _track(self, job_id: int, spec: DownloadSpec, state: str) -> None:
        if spec.catalog_id:
            self._entries[job_id] = spec.catalog_id
        self.view.add_row(job_id, spec.label)
        self._set_state(job_id, state)

    def _set_state(self, job_id: int, state: str, text: str | None = None) -> None:
        self._states[job_id] = state
        if not self.view.has_row(job_id):
            self.view.add_row(job_id, self.label(job_id))
        if state == "paused" and text is None and job_id in self._progress:
            p = self._progress[job_id]
            text = f"Paused at {file_size(p.done_bytes)} of {file_size(p.total_bytes)}; the partial file is kept."
        self.view.row(job_id).set_state(state, text)
        if entry_id := self._entries.get(job_id):
            self.entryChanged.emit(entry_id)
        self.activeCountChanged.emit(self.active_count())

    def _on_progress(self, job_id: int, progress: DownloadProgress) -> None:
        self._progress[job_id] = progress
        if self._states.get(job_id) != "running":
            self._states[job_id] = "running"
            self.view.row(job_id).set_state("running")
        self.view.row(job_id).set_progress(progress)
        if entry_id := self._entries.get(job_id):
            self.entryChanged.emit(entry_id)

    def _on_finished(self, job_id: int, path: str) -> None:
        self._set_state(job_id, "done", f"Installed and verified: {path}")
        self.ended.emit()

    def _on_failed(self, job_id: int, message: str) -> None:
        self._set_state(job_id, "failed", message)
        self.error.emit(message)
        self.ended.emit()

    def _on_cancelled(self, job_id: int) -> None:
        kept = self.worker.job(job_id).partial_bytes()
        self._set_state(
            job_id, "cancelled", "Cancelled; the partial file was kept." if kept else "Cancelled; nothing was kept."
        )
        self.ended.emit()

    def _forget(self, job_id: int) -> None:
        self.worker.forget(job_id)
        self.view.remove_row(job_id)
