"""The model manager window: catalog, installed models, downloads, this machine, benchmarks, hub settings.

The dialog composes three owners and its views. `DownloadJobs` owns the downloads
(job states, their catalog entries, progress), `InstalledModels` the models folder
(the last scan and the one verify/import/delete task), `MachinePlan` the probed
machine and the plan. Each talks to the dialog through its own methods and signals;
the dialog words what they report: the catalog's Status and Fit columns, the
recommendation, the tab titles and the message bar. Everything that blocks runs off
the GUI thread in those owners. Questions to the user are attributes
(`confirm_delete`, `ask_keep_partial`, `choose_import`) so tests can answer them.

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
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.config.settings import Settings, save_settings
from app.hardware.machine_speed_benchmark import measure_machine_speed
from app.models.catalog import CatalogEntry, load_catalog
from app.models.download.job import DownloadOptions
from app.models.library import InstalledModel, installed_paths, search_hub
from app.models.planning.planner import Plan, QuantFit
from app.models.quality.rows import quality_tip
from app.models.ui.benchmarks import BenchmarksPage
from app.models.ui.download_jobs import DownloadJobs
from app.models.ui.download_worker import DownloadWorker
from app.models.ui.downloads_view import DownloadsView
from app.models.ui.installed_models import InstalledModels
from app.models.ui.machine_panel import MachinePanel
from app.models.ui.machine_plan import MachinePlan, SpeedMeasurer
from app.models.ui.manager_data import INSTALLED_STATES, MachineProber, save_settings_message, status_text
from app.models.ui.questions import ask_keep_partial, choose_import, confirm_delete
from app.models.ui.search_view import HubSearchView
from app.models.ui.views import CatalogView, InstalledView, MessageBar
from app.utils.errors import DscoderError
from app.utils.ui.tasks import BackgroundTasks

log = logging.getLogger(__name__)
SEARCH_LIMIT = 20
SEARCH_THREAD_PREFIX = "hub-search"
# The catalog row's button for each catalog_status word; None: nothing to do (installed).
ACTION_FOR_STATE = {
    "available": "Download",
    "partial": "Resume",
    "mismatch": "Download again",
    "changed": "Download again",
    "missing": "Download again",
}


class ModelManagerDialog(QDialog):
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
        speed_measurer: SpeedMeasurer = measure_machine_speed,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.setObjectName("modelManager")
        self.setModal(False)
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.resize(1100, 680)
        self.settings = settings
        self._save = save
        self.confirm_delete: Callable[[QWidget, InstalledModel], bool] = confirm_delete
        self.ask_keep_partial: Callable[[QWidget, str], bool | None] = ask_keep_partial
        self.choose_import: Callable[[QWidget, Path], tuple[Path, bool] | None] = choose_import
        self._entries: dict[str, CatalogEntry] = {}
        self._search_tasks = BackgroundTasks(self, thread_prefix=SEARCH_THREAD_PREFIX)
        self._search_task: int | None = None
        self._planned_once = False

        self._build()
        self._owns_worker = downloads is None
        worker = downloads or DownloadWorker(settings, options=download_options, parent=self)
        self.downloads = DownloadJobs(worker, self.downloads_view, self.models_dir_now, download_options, self)
        self.library = InstalledModels(settings, self.installed_view, self.catalog_entries, save, self)
        self.machine = MachinePlan(settings, self.catalog_entries, prober, speed_measurer, self)
        self._connect()
        try:
            entries = list(catalog) if catalog is not None else list(load_catalog().entries)
        except DscoderError as exc:
            entries = []
            self.show_error(str(exc))
        self._entries = {entry.id: entry for entry in entries}
        self.catalog_view.set_entries(entries)
        self._show_quality()
        for entry_id in self._entries:  # a shared worker may already hold downloads
            if self.downloads.active_job(entry_id) is not None:
                self._update_entry_status(entry_id)
        self._update_downloads_tab(self.downloads.active_count())
        self.refresh()
        self.probe()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.catalog_view = CatalogView()
        self.installed_view = InstalledView()
        self.downloads_view = DownloadsView()
        self.search_view = HubSearchView()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.catalog_view, "Catalog")
        self.tabs.addTab(self.installed_view, "Installed")
        self.tabs.addTab(self.downloads_view, "Downloads")
        self.tabs.addTab(self._build_machine_tab(), "This machine")
        self.benchmarks_view = BenchmarksPage(self.settings)
        self.tabs.addTab(self.benchmarks_view, "Benchmarks")
        self.tabs.addTab(self.search_view, "Search hub")
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_hub_row())
        self.message_bar = MessageBar()
        self.error_label = self.message_bar.label  # the message shown (tests and accessibility read it)
        layout.addWidget(self.message_bar)
        layout.addWidget(self.tabs, 1)

    def _build_hub_row(self) -> QHBoxLayout:
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
        return hub_row

    def _build_machine_tab(self) -> QWidget:
        self.machine_panel = MachinePanel()
        self.purpose_combo = QComboBox()
        self.purpose_combo.addItem("chat", "chat")
        self.purpose_combo.addItem("code completion", "completion")
        self.purpose_combo.addItem("chat and completion", "both")
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
        return machine_tab

    def _connect(self) -> None:
        self.offline_check.toggled.connect(self._set_offline)
        self.endpoint_edit.editingFinished.connect(self._set_endpoint)
        self.catalog_view.downloadRequested.connect(self.download_entry)
        self.installed_view.deleteRequested.connect(self.delete)
        self.installed_view.importRequested.connect(self.import_gguf)
        self.downloads_view.cancelRequested.connect(self.cancel_download)
        self.purpose_combo.currentIndexChanged.connect(lambda _index: self.probe(reuse_machine=True))
        self.recommend_button.clicked.connect(self.download_recommended)
        self.search_view.searchRequested.connect(self.search)
        self.search_view.downloadRequested.connect(self.downloads.download_file)

        self.downloads.entryChanged.connect(self._update_entry_status)
        self.downloads.activeCountChanged.connect(self._update_downloads_tab)
        self.downloads.ended.connect(self.refresh)
        self.downloads.error.connect(self.show_error)
        self.library.refreshed.connect(self._on_library)
        self.benchmarks_view.checkFinished.connect(self._on_quality_checked)
        self.library.modelChosen.connect(self.modelChosen)
        self.library.modelRemoved.connect(self.modelRemoved)
        self.library.error.connect(self.show_error)
        self.library.info.connect(self.show_info)
        self.machine.probing.connect(self.machine_panel.show_probing)
        self.machine.planned.connect(self._on_plan)
        self.machine.failed.connect(self.machine_panel.show_error)
        self.machine.measuring.connect(self.machine_panel.show_measuring)
        self.machine.measureFailed.connect(self.machine_panel.show_speed_error)
        self.machine_panel.measureRequested.connect(self.machine.measure_again)

    # -- what the owners read ----------------------------------------------------------------
    def models_dir_now(self) -> Path:
        return self.settings.resolved_models_dir()

    def catalog_entries(self) -> list[CatalogEntry]:
        return list(self._entries.values())

    @property
    def plan(self) -> Plan | None:
        return self.machine.plan

    # -- messages ----------------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        self.message_bar.show_error(text)

    def show_info(self, text: str) -> None:
        self.message_bar.show_info(text)

    def clear_message(self) -> None:
        self.message_bar.clear()

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
        message = save_settings_message(self._save, self.settings)
        if message:
            self.show_error(message)

    # -- downloads ---------------------------------------------------------------------------
    def download_entry(self, entry_id: str) -> int | None:
        """Start (or resume) the download of a catalog entry; returns its job id, None when refused."""
        return self.downloads.download_entry(self._entries[entry_id])

    def job_for_entry(self, entry_id: str) -> int | None:
        return self.downloads.job_for_entry(entry_id)

    def cancel_download(self, job_id: int) -> None:
        keep = self.ask_keep_partial(self, self.downloads.label(job_id))
        if keep is not None:
            self.downloads.cancel(job_id, keep_partial=keep)

    def download_recommended(self) -> None:
        """Download the recommended model (both of them when chat and completion get one each)."""
        for fit in self._recommended():
            if self.downloads.active_job(fit.entry.id) is None:
                if self.library.catalog_state(fit.entry.id) not in INSTALLED_STATES:
                    self.download_entry(fit.entry.id)

    def _recommended(self) -> list[QuantFit]:
        plan = self.plan
        return [f for f in (plan.recommendation, plan.completion) if f is not None] if plan else []

    def _update_downloads_tab(self, active: int) -> None:
        index = self.tabs.indexOf(self.downloads_view)
        self.tabs.setTabText(index, f"Downloads ({active})" if active else "Downloads")

    def _update_entry_status(self, entry_id: str) -> None:
        """The catalog row's Status and button: a live download wins over the last scan."""
        live = self.downloads.live_status(entry_id)
        if live is not None:
            self.catalog_view.set_status(entry_id, *live)
        else:
            state = self.library.catalog_state(entry_id)
            if state is None:
                self.catalog_view.set_status(entry_id, "…", "Download")
            else:
                self.catalog_view.set_status(entry_id, status_text(state), ACTION_FOR_STATE.get(state))
        self._update_recommend_button()

    # -- installed models --------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the models folder again (off the GUI thread); calls during a scan coalesce."""
        self.library.refresh()

    def _on_library(self) -> None:
        for entry_id in self._entries:
            self._update_entry_status(entry_id)
        self._update_recommend_button()
        snapshot = self.library.snapshot
        installed = installed_paths(self._entries.values(), snapshot.models if snapshot else ())
        self.benchmarks_view.set_installed(
            [str(m.path) for m in (snapshot.models if snapshot else ()) if m.state in INSTALLED_STATES]
        )
        if self.machine.machine is not None and installed != self.machine.installed:
            self.machine.update(reuse_machine=True, installed=installed)  # measured loads of installed files
        else:
            self.machine.installed = installed
        self.libraryRefreshed.emit()

    def _show_quality(self) -> None:
        page = self.benchmarks_view
        records = page.results.records()
        for entry in self._entries.values():
            self.catalog_view.set_quality(entry.id, quality_tip(entry, page.catalog, records))

    def _on_quality_checked(self, _record: object) -> None:
        """A check finished: the catalog's rows and the plan's reasons use it."""
        self._show_quality()
        if self.machine.machine is not None:
            self.probe(reuse_machine=True)

    def delete(self, path: str) -> None:
        model = self.library.model(path)
        if model is not None and self.confirm_delete(self, model):
            self.library.delete(model)

    def import_gguf(self) -> None:
        choice = self.choose_import(self, self.models_dir_now())
        if choice is not None:
            self.library.import_file(*choice)

    # -- machine and plan --------------------------------------------------------------------
    def probe(self, reuse_machine: bool = False) -> None:
        """Probe this machine (once) and plan the catalog for the chosen purpose, off the GUI thread."""
        self.machine.update(str(self.purpose_combo.currentData()), reuse_machine)

    def _on_plan(self) -> None:
        machine, plan = self.machine.machine, self.machine.plan
        assert machine is not None and plan is not None
        first = not self._planned_once
        self._planned_once = True
        self.machine_panel.show_machine(machine, plan, measuring=self.machine.is_measuring)
        for fit in plan.fits:
            self.catalog_view.set_fit(fit.entry.id, fit, fit is plan.recommendation)
        text = f"Recommended for {self.purpose_combo.currentText()}: {plan.reason}"
        if plan.alternative_reason:
            text += f"\n{plan.alternative_reason}"
        self.catalog_view.set_recommendation(text)
        if first and plan.recommendation is not None:
            self.catalog_view.scroll_to(plan.recommendation.entry.id)
        self._update_recommend_button()
        self.planReady.emit()

    def _update_recommend_button(self) -> None:
        recommended = self._recommended()
        if not recommended:
            self.recommend_button.setText("Download recommended")
            self.recommend_button.setEnabled(False)
            return
        names = " + ".join(f.entry.id for f in recommended)
        installed = all(self.library.catalog_state(f.entry.id) in INSTALLED_STATES for f in recommended)
        active = any(self.downloads.active_job(f.entry.id) is not None for f in recommended)
        label = "installed" if installed else "downloading" if active else "download"
        self.recommend_button.setText(
            f"Recommended: {names} ({label})" if installed or active else f"Download recommended: {names}"
        )
        self.recommend_button.setEnabled(not installed and not active)

    # -- hub search --------------------------------------------------------------------------
    def search(self, query: str) -> None:
        """Search the hub for GGUF repos (off the GUI thread; refused at once when offline)."""
        if self._search_tasks.is_running(self._search_task):
            return
        settings = self.settings
        self.search_view.show_searching()
        self._search_task = self._search_tasks.start(
            lambda _p, _c: search_hub(query, SEARCH_LIMIT, settings),
            self._on_search_results,
            on_failed=self.search_view.show_failed,
        )

    def _on_search_results(self, repos: object) -> None:
        assert isinstance(repos, list)
        self.search_view.show_results(repos)

    # -- lifetime ----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """At app exit: pause downloads (they resume at the next start) and drop pending results."""
        self._search_tasks.shutdown()
        self.benchmarks_view.shutdown()
        self.library.shutdown()
        self.machine.shutdown()
        if self._owns_worker:
            self.downloads.worker.shutdown()
