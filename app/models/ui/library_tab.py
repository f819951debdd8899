"""The Installed tab's actions: use for chat or completion, verify, reveal, delete, import.

A mixin of `ModelManagerDialog` (it uses the dialog's views, tasks and settings).
Hashing, copying and deleting run on `BackgroundTasks`; one at a time, shown with
progress and a Cancel button under the table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QWidget

from app.config.settings import Settings
from app.models.library import InstalledModel, import_model, remove_model, reveal_in_file_manager, verify_model
from app.models.ui.manager_data import status_text
from app.models.ui.views import InstalledView
from app.utils.errors import DscoderError
from app.utils.jobs import JobControl
from app.utils.ui.tasks import BackgroundTasks, TaskFunction


class LibraryActions:
    # Provided by ModelManagerDialog.
    settings: Settings
    tasks: BackgroundTasks
    installed_view: InstalledView
    modelChosen: SignalInstance
    modelRemoved: SignalInstance
    confirm_delete: Callable[[QWidget, InstalledModel], bool]
    choose_import: Callable[[QWidget, Path], tuple[Path, bool] | None]
    _library_task: int | None
    models_dir: Path
    show_error: Callable[[str], None]
    show_info: Callable[[str], None]
    refresh: Callable[[], None]
    _save_settings: Callable[[], None]
    _show_models: Callable[[], None]

    def _model(self, path: str) -> InstalledModel | None:
        return next((m for m in self.installed_view.models() if str(m.path) == path), None)

    def use_model(self, purpose: str, path: str) -> None:
        model = self._model(path)
        if model is not None:
            problem = _unusable_reason(model, purpose)
            if problem is not None:
                self.show_error(str(problem))
                return
        setattr(self.settings, f"{purpose}_model_path", path)
        self._save_settings()
        self._show_models()
        self.modelChosen.emit(purpose, path)

    def verify(self, path: str) -> None:
        models_dir = self.models_dir

        def work(progress: Callable[[int, int], None], control: JobControl) -> object:
            return verify_model(Path(path), models_dir, progress=progress, control=control)

        def done(result: object) -> None:
            assert isinstance(result, InstalledModel)
            if result.state == "mismatch":
                self.show_error(
                    str(
                        DscoderError(
                            f"{result.name} does not match its reference sha256: the file is corrupt",
                            "Delete it and download it again",
                        )
                    )
                )
            else:
                self.show_info(f"{result.name}: {status_text(result.state)}.")
            self.refresh()

        self._run_library_task(f"Verifying {Path(path).name}…", work, done)

    def reveal(self, path: str) -> None:
        try:
            reveal_in_file_manager(Path(path))
        except DscoderError as exc:
            self.show_error(str(exc))

    def delete(self, path: str) -> None:
        model = self._model(path)
        if model is None or not self.confirm_delete(self, model):
            return
        models_dir = self.models_dir

        def done(_result: object) -> None:
            for purpose in ("chat", "completion"):
                if getattr(self.settings, f"{purpose}_model_path") == path:
                    setattr(self.settings, f"{purpose}_model_path", "")
                    self._save_settings()
            self.modelRemoved.emit(path)
            self.refresh()

        self._run_library_task(f"Deleting {model.name}…", lambda _p, _c: remove_model(Path(path), models_dir), done)

    def import_gguf(self) -> None:
        choice = self.choose_import(self, self.models_dir)
        if choice is None:
            return
        source, reference = choice
        models_dir = self.models_dir

        def work(progress: Callable[[int, int], None], control: JobControl) -> object:
            return import_model(source, models_dir, reference=reference, progress=progress, control=control)

        def done(result: object) -> None:
            assert isinstance(result, InstalledModel)
            self.show_info(f"Imported {result.name}. Use Verify again to hash it.")
            self.refresh()
            self.installed_view.select_path(str(result.path))

        self._run_library_task(f"{'Adding' if reference else 'Copying'} {source.name}…", work, done)

    def cancel_library_task(self) -> None:
        if self._library_task is not None:
            self.tasks.cancel(self._library_task)

    def _run_library_task(self, text: str, work: TaskFunction, done: Callable[[object], None]) -> None:
        if self.tasks.is_running(self._library_task):
            return

        def finish(result: object) -> None:
            self.installed_view.hide_task()
            done(result)

        def failed(message: str) -> None:
            self.installed_view.hide_task()
            self.show_error(message)
            self.refresh()

        def cancelled() -> None:
            self.installed_view.hide_task()
            self.show_info(f"{text.rstrip('…')}: cancelled.")

        self.installed_view.show_task(text)
        self._library_task = self.tasks.start(
            work,
            finish,
            on_failed=failed,
            on_cancelled=cancelled,
            on_progress=lambda done_bytes, total: self.installed_view.show_task(text, done_bytes, total),
        )


def _unusable_reason(model: InstalledModel, purpose: str) -> DscoderError | None:
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
