"""The model manager window: catalog, installed models, downloads, this machine, hub settings.

It wires the views (display only) to the Qt-free library, download and planner code.
Everything that blocks (probing, scanning, hashing, copying, downloading) runs off
the GUI thread through `DownloadWorker` and `BackgroundTasks`; results come back as
queued signals. Every failure is shown as its `DscoderError` text. Questions to the
user are attributes (`confirm_delete`, `ask_keep_partial`, `choose_import`) so tests
can answer them.

Closing the window only hides it: downloads keep running. Call `shutdown()` when
the app quits (it pauses downloads; their partial files resume at the next start).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.config.settings import Settings, save_settings
from app.hardware.probe import MachineProfile
from app.models.catalog import CatalogEntry, load_catalog
from app.models.downloads import DownloadOptions, DownloadProgress
from app.models.library import InstalledModel, search_hub
from app.models.planner import Plan
from app.models.ui.download_worker import DownloadWorker
from app.models.ui.downloads_tab import DownloadActions
from app.models.ui.library_tab import LibraryActions
from app.models.ui.machine_panel import MachinePanel
from app.models.ui.manager_data import INSTALLED_STATES, LibrarySnapshot, MachineProber, probe_and_plan, read_library
from app.models.ui.questions import ask_keep_partial, choose_import, confirm_delete
from app.models.ui.search_view import HubSearchView
from app.models.ui.views import CatalogView, DownloadsView, InstalledView
from app.utils.errors import DscoderError
from app.utils.ui.tasks import BackgroundTasks

log = logging.getLogger(__name__)
SEARCH_LIMIT = 20
LIBRARY_THREAD_PREFIX = "model-library"  # the threads that scan, hash, copy and delete models


class ModelManagerDialog(LibraryActions, DownloadActions, QDialog):
    modelChosen = Signal(str, str)  # purpose ("chat" or "completion"), model path
    modelRemoved = Signal(str)  # path of a deleted model (the settings no longer name it)
    hubSettingsChanged = Signal()  # the offline switch or the endpoint changed (and was saved)
    libraryRefreshed = Signal()  # the installed list and catalog states were read again
    planReady = Signal()  # the machine was probed and the catalog planned

    def __init__(
        self,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        catalog: Sequence[CatalogEntry] | None = None,
        prober: MachineProber | None = None,
        downloads: DownloadWorker | None = None,
        download_options: DownloadOptions | None = None,
        save: Callable[[Settings], None] = save_settings,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.setObjectName("modelManager")
        self.setModal(False)
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.resize(1100, 680)
        self.settings = settings
        self._save = save
        self._prober = prober
        self.download_options = download_options
        self.confirm_delete: Callable[[QWidget, InstalledModel], bool] = confirm_delete
        self.ask_keep_partial: Callable[[QWidget, str], bool | None] = ask_keep_partial
        self.choose_import: Callable[[QWidget, Path], tuple[Path, bool] | None] = choose_import

        self._owns_downloads = downloads is None
        self.downloads = downloads or DownloadWorker(settings, options=download_options, parent=self)
        self.tasks = BackgroundTasks(self, thread_prefix=LIBRARY_THREAD_PREFIX)
        self._entries: dict[str, CatalogEntry] = {}
        self._snapshot: LibrarySnapshot | None = None
        self._machine: MachineProfile | None = None
        self.plan: Plan | None = None
        self._job_states: dict[int, str] = {}
        self._job_entries: dict[int, str] = {}
        self._progress: dict[int, DownloadProgress] = {}
        self._scan_task: int | None = None
        self._rescan = False
        self._plan_task: int | None = None
        self._library_task: int | None = None
        self._search_task: int | None = None

        self._build()
        self._connect()
        try:
            entries = list(catalog) if catalog is not None else list(load_catalog().entries)
        except DscoderError as exc:
            entries = []
            self.show_error(str(exc))
        self._entries = {entry.id: entry for entry in entries}
        self.catalog_view.set_entries(entries)
        for job_id in self.downloads.job_ids():  # a shared worker may already hold downloads
            job = self.downloads.job(job_id)
            self._track_job(job_id, job.spec, job.state.value)
        self.refresh()
        self.probe()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.offline_check = QCheckBox("Offline: never contact the hub")
        self.offline_check.setChecked(self.settings.hub_offline)
        self.endpoint_edit = QLineEdit(self.settings.hub_endpoint)
        default = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
        self.endpoint_edit.setPlaceholderText(f"{default} (default)")
        self.endpoint_edit.setToolTip(
            "A mirror of the Hugging Face hub, e.g. https://hf-mirror.com; empty: HF_ENDPOINT or the public hub"
        )
        hub_row = QHBoxLayout()
        hub_row.addWidget(self.offline_check)
        hub_row.addSpacing(24)
        hub_row.addWidget(QLabel("Hub endpoint (mirror):"))
        hub_row.addWidget(self.endpoint_edit, 1)

        self.error_label = QLabel()
        self.error_label.setObjectName("modelManagerMessage")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.clicked.connect(self.clear_message)
        self.message_bar = QFrame()
        self.message_bar.setObjectName("messageBar")
        message_layout = QHBoxLayout(self.message_bar)
        message_layout.setContentsMargins(8, 4, 8, 4)
        message_layout.addWidget(self.error_label, 1)
        message_layout.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignTop)
        self.message_bar.hide()

        self.catalog_view = CatalogView()
        self.installed_view = InstalledView()
        self.downloads_view = DownloadsView()
        self.machine_panel = MachinePanel()
        self.purpose_combo = QComboBox()
        self.purpose_combo.addItem("chat", "chat")
        self.purpose_combo.addItem("code completion", "completion")
        self.purpose_combo.addItem("chat and completion (one model)", "both")
        self.recommend_button = QPushButton("Download recommended")
        self.recommend_button.setEnabled(False)
        machine_tab = QWidget()
        machine_layout = QVBoxLayout(machine_tab)
        plan_row = QHBoxLayout()
        plan_row.addWidget(QLabel("Recommend a model for:"))
        plan_row.addWidget(self.purpose_combo)
        plan_row.addStretch(1)
        plan_row.addWidget(self.recommend_button)
        machine_layout.addLayout(plan_row)
        machine_layout.addWidget(self.machine_panel, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.catalog_view, "Catalog")
        self.tabs.addTab(self.installed_view, "Installed")
        self.tabs.addTab(self.downloads_view, "Downloads")
        self.tabs.addTab(machine_tab, "This machine")
        self.search_view = HubSearchView()
        self.tabs.addTab(self.search_view, "Search hub")
        layout = QVBoxLayout(self)
        layout.addLayout(hub_row)
        layout.addWidget(self.message_bar)
        layout.addWidget(self.tabs, 1)

    def _connect(self) -> None:
        self.offline_check.toggled.connect(self._set_offline)
        self.endpoint_edit.editingFinished.connect(self._set_endpoint)
        self.catalog_view.downloadRequested.connect(self.download_entry)
        self.installed_view.useForChat.connect(lambda path: self.use_model("chat", path))
        self.installed_view.useForCompletion.connect(lambda path: self.use_model("completion", path))
        self.installed_view.verifyRequested.connect(self.verify)
        self.installed_view.revealRequested.connect(self.reveal)
        self.installed_view.deleteRequested.connect(self.delete)
        self.installed_view.importRequested.connect(self.import_gguf)
        self.installed_view.cancelTaskRequested.connect(self.cancel_library_task)
        self.downloads_view.pauseRequested.connect(self.downloads.pause)
        self.downloads_view.resumeRequested.connect(self.downloads.resume)
        self.downloads_view.cancelRequested.connect(self.cancel_download)
        self.downloads_view.removeRequested.connect(self._remove_download_row)
        self.purpose_combo.currentIndexChanged.connect(lambda _index: self.probe(reuse_machine=True))
        self.recommend_button.clicked.connect(self.download_recommended)
        self.search_view.searchRequested.connect(self.search)
        self.search_view.downloadRequested.connect(self.download_file)
        self.downloads.queued.connect(lambda job_id, _label: self._on_job_state(job_id, "queued"))
        self.downloads.started.connect(lambda job_id: self._on_job_state(job_id, "running"))
        self.downloads.progress.connect(self._on_progress)
        self.downloads.finished.connect(self._on_finished)
        self.downloads.failed.connect(self._on_failed)
        self.downloads.paused.connect(lambda job_id: self._on_job_state(job_id, "paused"))
        self.downloads.cancelled.connect(self._on_cancelled)

    # -- messages ----------------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        self._show_message(text, "#f8d7da", "#58151c")

    def show_info(self, text: str) -> None:
        self._show_message(text, "#d1e7dd", "#0a3622")

    def clear_message(self) -> None:
        self.error_label.clear()
        self.message_bar.hide()

    def _show_message(self, text: str, background: str, foreground: str) -> None:
        self.error_label.setText(text)
        self.message_bar.setStyleSheet(
            f"QFrame#messageBar {{ background: {background}; border-radius: 4px; }}QLabel {{ color: {foreground}; }}"
        )
        self.message_bar.show()

    # -- hub settings ------------------------------------------------------------------------
    def _set_offline(self, offline: bool) -> None:
        if self.settings.hub_offline != offline:
            self.settings.hub_offline = offline
            self._save_settings()
            self.hubSettingsChanged.emit()

    def _set_endpoint(self) -> None:
        endpoint = self.endpoint_edit.text().strip().rstrip("/")
        if endpoint and not endpoint.startswith(("http://", "https://")):
            self.show_error(
                str(
                    DscoderError(
                        f"{endpoint!r} is not a hub address",
                        "Enter a URL such as https://hf-mirror.com, or leave it empty for the public hub",
                    )
                )
            )
            return
        if endpoint != self.settings.hub_endpoint:
            self.settings.hub_endpoint = endpoint
            self._save_settings()
            self.hubSettingsChanged.emit()

    def _save_settings(self) -> None:
        try:
            self._save(self.settings)
        except OSError as exc:
            self.show_error(
                str(
                    DscoderError(
                        f"Cannot save the settings: {exc.strerror or exc}", "Check that the config folder is writable"
                    )
                )
            )

    # -- library -----------------------------------------------------------------------------
    @property
    def models_dir(self) -> Path:
        return self.settings.resolved_models_dir()

    def refresh(self) -> None:
        """Read the models folder again (off the GUI thread); calls during a scan coalesce."""
        if self.tasks.is_running(self._scan_task):
            self._rescan = True
            return
        models_dir, entries = self.models_dir, list(self._entries.values())
        self.installed_view.folder_label.setText(f"Models folder: {models_dir}")
        self._scan_task = self.tasks.start(
            lambda _progress, _control: read_library(models_dir, entries), self._on_library, on_failed=self.show_error
        )

    def _on_library(self, snapshot: object) -> None:
        assert isinstance(snapshot, LibrarySnapshot)
        self._snapshot = snapshot
        self._show_models()
        for entry_id in self._entries:
            self._update_entry_status(entry_id)
        self._update_recommend_button()
        if self._rescan:
            self._rescan = False
            self._scan_task = None
            self.refresh()
        self.libraryRefreshed.emit()

    def _show_models(self) -> None:
        models = self._snapshot.models if self._snapshot else ()
        self.installed_view.set_models(models, self.settings.chat_model_path, self.settings.completion_model_path)

    # -- machine and plan --------------------------------------------------------------------
    def probe(self, reuse_machine: bool = False) -> None:
        """Probe this machine (once) and plan the catalog for the chosen purpose, off the GUI thread."""
        if self._plan_task is not None:
            self.tasks.cancel(self._plan_task)  # its stale plan is dropped
        machine = self._machine if reuse_machine else None
        if machine is None:
            self.machine_panel.show_probing()
        models_dir, entries, prober = self.models_dir, list(self._entries.values()), self._prober
        purpose = str(self.purpose_combo.currentData())
        self._plan_task = self.tasks.start(
            lambda _p, _c: probe_and_plan(models_dir, entries, purpose, prober, machine),
            self._on_plan,
            on_failed=self.machine_panel.show_error,
        )

    def _on_plan(self, result: object) -> None:
        machine, plan = result  # type: ignore[misc]
        first = self.plan is None
        self._plan_task = None
        self._machine, self.plan = machine, plan
        self.machine_panel.show_machine(machine, plan)
        for fit in plan.fits:
            self.catalog_view.set_fit(fit.entry.id, fit, fit is plan.recommendation)
        self.catalog_view.set_recommendation(f"Recommended for {self.purpose_combo.currentText()}: {plan.reason}")
        if first and plan.recommendation is not None:
            self.catalog_view.scroll_to(plan.recommendation.entry.id)
        self._update_recommend_button()
        self.planReady.emit()

    def _update_recommend_button(self) -> None:
        rec = self.plan.recommendation if self.plan else None
        if rec is None:
            self.recommend_button.setText("Download recommended")
            self.recommend_button.setEnabled(False)
            return
        installed = self._snapshot is not None and self._snapshot.catalog_states.get(rec.entry.id) in INSTALLED_STATES
        active = self._active_job(rec.entry.id) is not None
        label = "installed" if installed else "downloading" if active else "download"
        self.recommend_button.setText(
            f"Recommended: {rec.entry.id} ({label})" if installed or active else f"Download recommended: {rec.entry.id}"
        )
        self.recommend_button.setEnabled(not installed and not active)

    def download_recommended(self) -> None:
        if self.plan is not None and self.plan.recommendation is not None:
            self.download_entry(self.plan.recommendation.entry.id)

    # -- hub search --------------------------------------------------------------------------
    def search(self, query: str) -> None:
        """Search the hub for GGUF repos (off the GUI thread; refused at once when offline)."""
        if self.tasks.is_running(self._search_task):
            return
        settings = self.settings
        self.search_view.show_searching()
        self._search_task = self.tasks.start(
            lambda _p, _c: search_hub(query, SEARCH_LIMIT, settings),
            self.search_view.show_results,  # type: ignore[arg-type]
            on_failed=self.search_view.show_failed,
        )

    # -- lifetime ----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """At app exit: pause downloads (they resume at the next start) and drop pending results."""
        self.tasks.shutdown()
        if self._owns_downloads:
            self.downloads.shutdown()
