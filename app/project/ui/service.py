"""The project map for a window: built in the background when a folder opens, updated
when a file is saved, cancelled when another folder opens or the window closes.

One owner: this object holds the current ProjectMap; readers take `project_map` (None
while none is built). Builds and updates run on BackgroundTasks' pool threads; a late
result for a folder no longer open is dropped.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.project.outline_map import ProjectMap, build_map
from app.utils.jobs import JobControl, Progress
from app.utils.ui.tasks import BackgroundTasks


class ProjectMapService(QObject):
    mapReady = Signal(object)  # ProjectMap
    progress = Signal(int, int)  # files done, total
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None, tasks: BackgroundTasks | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks or BackgroundTasks(self, max_workers=1, thread_prefix="project-map")
        self.project_map: ProjectMap | None = None
        self.root: Path | None = None
        self._build_id: int | None = None

    def open_folder(self, root: str | Path | None) -> None:
        """Start building the map of `root` (None: no folder), cancelling a build under way."""
        self.cancel()
        self.project_map = None
        self.root = Path(root).resolve() if root else None
        if self.root is None:
            return
        folder = self.root

        def build(progress: Progress, control: JobControl) -> object:
            return build_map(folder, control, progress)

        self._build_id = self.tasks.start(
            build,
            lambda result: self._on_built(folder, result),
            on_failed=self.failed.emit,
            on_progress=self.progress.emit,
        )

    def is_building(self) -> bool:
        return self.tasks.is_running(self._build_id)

    def cancel(self) -> None:
        if self._build_id is not None:
            self.tasks.cancel(self._build_id)
            self._build_id = None

    def file_saved(self, path: str | Path) -> None:
        """Update the saved file's entries (in the background); other files stay as they are."""
        project = self.project_map
        if project is None:
            return

        def update(_progress: Progress, _control: JobControl) -> object:
            return project.update_file(path)

        self.tasks.start(update, lambda changed: self.mapReady.emit(project) if changed else None)

    def _on_built(self, folder: Path, result: object) -> None:
        if folder != self.root or not isinstance(result, ProjectMap):
            return  # another folder was opened meanwhile
        self._build_id = None
        self.project_map = result
        self.mapReady.emit(result)

    def shutdown(self) -> None:
        self.cancel()
        self.tasks.shutdown()
