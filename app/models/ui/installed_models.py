"""The models folder as the model manager knows it: the last scan, and one library task.

`InstalledModels` owns the last `LibrarySnapshot` (the installed files and each
catalog entry's state), the scan that reads it, and the one library task at a time
(verify, import, delete) with its progress row and Cancel button in the Installed tab.
It writes the chosen chat and completion models into the settings. Scanning, hashing,
copying and deleting run on its own `BackgroundTasks`; the dialog hears of the results
through the signals below. Questions to the user (confirm a delete, pick a file to
import) are the dialog's: it calls `delete` and `import_file` with the answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.config.settings import Settings
from app.models.catalog import CatalogEntry
from app.models.library import InstalledModel, import_model, remove_model, reveal_in_file_manager, verify_model
from app.models.ui.manager_data import LibrarySnapshot, read_library, save_settings_message, status_text
from app.models.ui.views import InstalledView
from app.utils.errors import DscoderError
from app.utils.jobs import JobControl
from app.utils.ui.tasks import BackgroundTasks, TaskFunction

LIBRARY_THREAD_PREFIX = "model-library"  # the threads that scan, hash, copy and delete models
PURPOSE_FIELDS = {"chat": "chat_model_path", "completion": "completion_model_path"}


class InstalledModels(QObject):
    refreshed = Signal()  # the installed list and the catalog states were read again
    modelChosen = Signal(str, str)  # purpose ("chat" or "completion"), model path
    modelRemoved = Signal(str)  # path of a deleted model (the settings no longer name it)
    error = Signal(str)
    info = Signal(str)

    def __init__(
        self,
        settings: Settings,
        view: InstalledView,
        entries: Callable[[], Sequence[CatalogEntry]],
        save: Callable[[Settings], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.view = view
        self._entries = entries
        self._save = save
        self.tasks = BackgroundTasks(self, thread_prefix=LIBRARY_THREAD_PREFIX)
        self.snapshot: LibrarySnapshot | None = None
        self._scan_task: int | None = None
        self._rescan = False
        self._library_task: int | None = None
        view.useForChat.connect(lambda path: self.use_model("chat", path))
        view.useForCompletion.connect(lambda path: self.use_model("completion", path))
        view.verifyRequested.connect(self.verify)
        view.revealRequested.connect(self.reveal)
        view.cancelTaskRequested.connect(self.cancel_task)

    @property
    def models_dir(self) -> Path:
        return self.settings.resolved_models_dir()

    def catalog_state(self, entry_id: str) -> str | None:
        """The entry's catalog_status word from the last scan; None before the first."""
        return self.snapshot.catalog_states.get(entry_id) if self.snapshot else None

    def model(self, path: str) -> InstalledModel | None:
        return next((m for m in self.view.models() if str(m.path) == path), None)

    # -- the scan ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the models folder again (off the GUI thread); calls during a scan coalesce."""
        if self.tasks.is_running(self._scan_task):
            self._rescan = True
            return
        models_dir, entries = self.models_dir, list(self._entries())
        self.view.folder_label.setText(f"Models folder: {models_dir}")
        self._scan_task = self.tasks.start(
            lambda _progress, _control: read_library(models_dir, entries), self._on_scanned, on_failed=self.error.emit
        )

    def _on_scanned(self, snapshot: object) -> None:
        assert isinstance(snapshot, LibrarySnapshot)
        self.snapshot = snapshot
        self.show_models()
        if self._rescan:
            self._rescan = False
            self._scan_task = None
            self.refresh()
        self.refreshed.emit()

    def show_models(self) -> None:
        models = self.snapshot.models if self.snapshot else ()
        self.view.set_models(models, self.settings.chat_model_path, self.settings.completion_model_path)

    # -- the actions ---------------------------------------------------------------------------
    def use_model(self, purpose: str, path: str) -> None:
        model = self.model(path)
        if model is not None:
            problem = unusable_reason(model, purpose)
            if problem is not None:
                self.error.emit(str(problem))
                return
        setattr(self.settings, PURPOSE_FIELDS[purpose], path)
        self._save_settings()
        self.show_models()
        self.modelChosen.emit(purpose, path)

    def verify(self, path: str) -> None:
        models_dir = self.models_dir

        def work(progress: Callable[[int, int], None], control: JobControl) -> object:
            return verify_model(Path(path), models_dir, progress=progress, control=control)

        def done(result: object) -> None:
            assert isinstance(result, InstalledModel)
            if result.state == "mismatch":
                self.error.emit(
                    str(
                        DscoderError(
                            f"{result.name} does not match its reference sha256: the file is corrupt",
                            "Delete it and download it again",
                        )
                    )
                )
            else:
                self.info.emit(f"{result.name}: {status_text(result.state)}.")
            self.refresh()

        self._run_task(f"Verifying {Path(path).name}…", work, done)

    def reveal(self, path: str) -> None:
        try:
            reveal_in_file_manager(Path(path))
        except DscoderError as exc:
            self.error.emit(str(exc))

    def delete(self, model: InstalledModel) -> None:
        """Delete a model the user confirmed; the settings stop naming it."""
        path, models_dir = str(model.path), self.models_dir

        def done(_result: object) -> None:
            for name in PURPOSE_FIELDS.values():
                if getattr(self.settings, name) == path:
                    setattr(self.settings, name, "")
                    self._save_settings()
            self.modelRemoved.emit(path)
            self.refresh()

        self._run_task(f"Deleting {model.name}…", lambda _p, _c: remove_model(Path(path), models_dir), done)

    def import_file(self, source: Path, reference: bool) -> None:
        """Copy a GGUF into the models folder, or (reference) list it where it is."""
        models_dir = self.models_dir

        def work(progress: Callable[[int, int], None], control: JobControl) -> object:
            return import_model(source, models_dir, reference=reference, progress=progress, control=control)

        def done(result: object) -> None:
            assert isinstance(result, InstalledModel)
            self.info.emit(f"Imported {result.name}. Use Verify again to hash it.")
            self.refresh()
            self.view.select_path(str(result.path))

        self._run_task(f"{'Adding' if reference else 'Copying'} {source.name}…", work, done)

    def cancel_task(self) -> None:
        if self._library_task is not None:
            self.tasks.cancel(self._library_task)

    def shutdown(self) -> None:
        self.tasks.shutdown()

    def _save_settings(self) -> None:
        message = save_settings_message(self._save, self.settings)
        if message:
            self.error.emit(message)

    def _run_task(self, text: str, work: TaskFunction, done: Callable[[object], None]) -> None:
        if self.tasks.is_running(self._library_task):
            return

        def finish(result: object) -> None:
            self.view.hide_task()
            done(result)

        def failed(message: str) -> None:
            self.view.hide_task()
            self.error.emit(message)
            self.refresh()

        def cancelled() -> None:
            self.view.hide_task()
            self.info.emit(f"{text.rstrip('…')}: cancelled.")

        self.view.show_task(text)
        self._library_task = self.tasks.start(
            work,
            finish,
            on_failed=failed,
            on_cancelled=cancelled,
            on_progress=lambda done_bytes, total: self.view.show_task(text, done_bytes, total),
        )


def unusable_reason(model: InstalledModel, purpose: str) -> DscoderError | None:
    """Why a model cannot serve the purpose; None when it can."""
    if model.state == "missing":
        return DscoderError(f"{model.path} is gone", "Import it again, or remove it from the list")
    if model.state == "mismatch":
        return DscoderError(
            f"{model.name} failed verification (its sha256 does not match): it is corrupt",
            "Delete it and download it again",
        )
    if model.info is None:
        return DscoderError(
            f"{model.name} cannot be read as a GGUF model: {model.info_error or 'unknown error'}",
            "Delete it, or download or import it again",
        )
    if purpose == "completion" and not model.info.has_fim:
        return DscoderError(
            f"{model.name} has no fill-in-the-middle tokens, so it cannot complete code in the editor",
            "Choose a DeepSeek-Coder base model (or another model with FIM tokens) for completion",
        )
    return None
