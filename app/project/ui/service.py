"""The project map for a window: built in the background when a folder opens, updated
when a file is saved, cancelled when another folder opens or the window closes.

One owner: this object holds the current ProjectMap and the folder's text files (what
`@file` offers); readers take `project_map` (None while none is built) and `files`.
The listing comes first (it is quick), then the map. Builds and updates run on
BackgroundTasks' pool thread; a late result for a folder no longer open is dropped.
`version` grows with every change of the map, so a reader can tell a changed map from
the same one (a save changes the map in place).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.project.files import is_ignored, is_text_name, source_files
from app.project.outline_map import ProjectMap, build_map
from app.project.relevance import prepare_ranking
from app.utils.jobs import JobControl, Progress
from app.utils.ui.tasks import BackgroundTasks


class ProjectMapService(QObject):
    mapReady = Signal(object)  # ProjectMap
    filesListed = Signal(object)  # list[str]: the folder's text files, relative, with "/"
    progress = Signal(int, int)  # files done, total
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None, tasks: BackgroundTasks | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks or BackgroundTasks(self, max_workers=1, thread_prefix="project-map")
        self.project_map: ProjectMap | None = None
        self.files: list[str] = []
        self.root: Path | None = None
        self.version = 0
        self._build_ids: list[int] = []

    def open_folder(self, root: str | Path | None) -> None:
        """Start building the map of `root` (None: no folder), cancelling a build under way."""
        self.cancel()
        self.project_map = None
        self.files = []
        self.version += 1
        self.root = Path(root).resolve() if root else None
        if self.root is None:
            return
        folder = self.root

        def listing(_progress: Progress, control: JobControl) -> object:
            return [path.relative_to(folder).as_posix() for path in source_files(folder, control, is_text_name)]

        def build(progress: Progress, control: JobControl) -> object:
            project = build_map(folder, control, progress)
            prepare_ranking(project)
            return project

        self._build_ids = [
            self.tasks.start(listing, lambda result: self._on_listed(folder, result), on_failed=self.failed.emit),
            self.tasks.start(
                build,
                lambda result: self._on_built(folder, result),
                on_failed=self.failed.emit,
                on_progress=self.progress.emit,
            ),
        ]

    def is_building(self) -> bool:
        return any(self.tasks.is_running(task) for task in self._build_ids)

    def cancel(self) -> None:
        for task in self._build_ids:
            self.tasks.cancel(task)
        self._build_ids = []

    def file_saved(self, path: str | Path) -> None:
        """Update the saved file's entries (in the background); other files stay as they are."""
        self._list_saved(Path(path))
        project = self.project_map
        if project is None:
            return

        def update(_progress: Progress, _control: JobControl) -> object:
            return project.update_file(path)

        self.tasks.start(update, lambda changed: self._changed(project) if changed else None)

    def _list_saved(self, path: Path) -> None:
        """A file saved for the first time inside the folder joins what `@file` offers."""
        root = self.root
        if root is None or not is_text_name(path.name):
            return
        try:
            relative = path.resolve().relative_to(root).as_posix()
        except ValueError:
            return
        if relative not in self.files and not is_ignored(root, path.resolve()):
            self.files = sorted([*self.files, relative])
            self.filesListed.emit(self.files)

    def _on_listed(self, folder: Path, result: object) -> None:
        if folder == self.root and isinstance(result, list):
            self.files = result
            self.filesListed.emit(result)

    def _on_built(self, folder: Path, result: object) -> None:
        if folder != self.root or not isinstance(result, ProjectMap):
            return  # another folder was opened meanwhile
        self._build_ids = []
        self.project_map = result
        self._changed(result)

    def _changed(self, project: ProjectMap) -> None:
        if project is self.project_map:
            self.version += 1
            self.mapReady.emit(project)

    def shutdown(self) -> None:
        self.cancel()
        self.tasks.shutdown()
