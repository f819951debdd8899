"""Downloads in the model manager: start after the disk check, track each job, word its state.

A mixin of `ModelManagerDialog`. The `DownloadWorker` signals arrive on the GUI
thread; here they become download rows, catalog statuses and messages.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QTabWidget, QWidget

from app.models.catalog import CatalogEntry
from app.models.downloads import DownloadJob, DownloadOptions, DownloadProgress, DownloadSpec
from app.models.hub import HubConfig
from app.models.ui.download_worker import DownloadWorker
from app.models.ui.manager_data import LibrarySnapshot, live_status_text, status_text
from app.models.ui.views import CatalogView, DownloadsView
from app.models.verify import format_bytes, require_free_space
from app.utils.errors import DscoderError

# The catalog row's button for each catalog_status word; None: nothing to do (installed).
ACTION_FOR_STATE = {
    "available": "Download",
    "partial": "Resume",
    "mismatch": "Download again",
    "changed": "Download again",
    "missing": "Download again",
}
ACTIVE_JOB_STATES = ("queued", "running", "paused")


class DownloadActions:
    # Provided by ModelManagerDialog.
    downloads: DownloadWorker
    download_options: DownloadOptions | None
    catalog_view: CatalogView
    downloads_view: DownloadsView
    tabs: QTabWidget
    _entries: dict[str, CatalogEntry]
    _snapshot: LibrarySnapshot | None
    _job_states: dict[int, str]
    _job_entries: dict[int, str]
    _progress: dict[int, DownloadProgress]
    ask_keep_partial: Callable[[QWidget, str], bool | None]
    models_dir: Path
    show_error: Callable[[str], None]
    refresh: Callable[[], None]
    _update_recommend_button: Callable[[], None]

    def download_entry(self, entry_id: str) -> int | None:
        """Start (or resume) the download of a catalog entry; returns its job id, None when refused."""
        active = self._active_job(entry_id)
        if active is not None:
            if self._job_states.get(active) == "paused":
                self.downloads.resume(active)
            return active
        entry = self._entries[entry_id]
        return self.download_spec(DownloadSpec.from_catalog_entry(entry), entry.size)

    def download_spec(self, spec: DownloadSpec, size: int) -> int | None:
        """Queue any download after the free-disk check; a refusal is shown, not raised."""
        models_dir = self.models_dir
        margin = (self.download_options or DownloadOptions()).disk_margin_bytes
        already = DownloadJob(spec, models_dir, HubConfig("", None, True)).partial_bytes()
        try:
            require_free_space(models_dir, max(0, size - already) + margin, spec.label)
        except DscoderError as exc:
            self.show_error(str(exc))
            return None
        job_id = self.downloads.add(spec)
        self._track_job(job_id, spec, "queued")
        return job_id

    def job_for_entry(self, entry_id: str) -> int | None:
        return self._active_job(entry_id) or next(
            (job_id for job_id, e in reversed(self._job_entries.items()) if e == entry_id), None
        )

    def cancel_download(self, job_id: int) -> None:
        keep = self.ask_keep_partial(self, self.downloads.job(job_id).spec.label)
        if keep is not None:
            self.downloads.cancel(job_id, remove_partial=not keep)

    def _track_job(self, job_id: int, spec: DownloadSpec, state: str) -> None:
        if spec.catalog_id:
            self._job_entries[job_id] = spec.catalog_id
        self.downloads_view.add_row(job_id, spec.label)
        self._on_job_state(job_id, state)

    def _active_job(self, entry_id: str) -> int | None:
        return next(
            (
                job_id
                for job_id, e in self._job_entries.items()
                if e == entry_id and self._job_states.get(job_id) in ACTIVE_JOB_STATES
            ),
            None,
        )

    def _on_job_state(self, job_id: int, state: str, text: str | None = None) -> None:
        self._job_states[job_id] = state
        if not self.downloads_view.has_row(job_id):
            self.downloads_view.add_row(job_id, self.downloads.job(job_id).spec.label)
        row = self.downloads_view.row(job_id)
        if state == "paused" and text is None and job_id in self._progress:
            p = self._progress[job_id]
            text = f"Paused at {format_bytes(p.done_bytes)} of {format_bytes(p.total_bytes)}; the partial file is kept."
        row.set_state(state, text)
        if entry_id := self._job_entries.get(job_id):
            self._update_entry_status(entry_id)
        self._update_recommend_button()
        self._update_downloads_tab()

    def _on_progress(self, job_id: int, progress: DownloadProgress) -> None:
        self._progress[job_id] = progress
        if self._job_states.get(job_id) != "running":
            self._job_states[job_id] = "running"
            self.downloads_view.row(job_id).set_state("running")
        self.downloads_view.row(job_id).set_progress(progress)
        if entry_id := self._job_entries.get(job_id):
            self._update_entry_status(entry_id)

    def _on_finished(self, job_id: int, path: str) -> None:
        self._on_job_state(job_id, "done", f"Installed and verified: {path}")
        self.refresh()

    def _on_failed(self, job_id: int, message: str) -> None:
        self._on_job_state(job_id, "failed", message)
        self.show_error(message)
        self.refresh()

    def _on_cancelled(self, job_id: int) -> None:
        partial = self.downloads.job(job_id).partial_bytes()
        self._on_job_state(
            job_id, "cancelled", "Cancelled; the partial file was kept." if partial else "Cancelled; nothing was kept."
        )
        self.refresh()

    def _remove_download_row(self, job_id: int) -> None:
        self.downloads.forget(job_id)
        self.downloads_view.remove_row(job_id)

    def _update_entry_status(self, entry_id: str) -> None:
        job_id = self._active_job(entry_id)
        if job_id is not None:
            paused = self._job_states[job_id] == "paused"
            self.catalog_view.set_status(
                entry_id, live_status_text(self._progress.get(job_id), paused), "Resume" if paused else None
            )
            return
        state = self._snapshot.catalog_states.get(entry_id) if self._snapshot else None
        if state is None:
            self.catalog_view.set_status(entry_id, "…", "Download")
        else:
            self.catalog_view.set_status(entry_id, status_text(state), ACTION_FOR_STATE.get(state))

    def download_file(self, repo: str, filename: str, size: int) -> int | None:
        """Download one hub file (a shard or piece brings its whole set), e.g. from a search result."""
        try:
            spec = DownloadSpec.for_repo_file(repo, filename)
        except DscoderError as exc:
            self.show_error(str(exc))
            return None
        return self.download_spec(spec, size)

    def _update_downloads_tab(self) -> None:
        active = sum(1 for state in self._job_states.values() if state in ACTIVE_JOB_STATES)
        index = self.tabs.indexOf(self.downloads_view)
        self.tabs.setTabText(index, f"Downloads ({active})" if active else "Downloads")
