"""The "Open folder" file tree: a QFileSystemModel in a QTreeView beside the editor.

Activating a file (double-click or Enter) opens it in the tabs. The folder is kept in
Settings.last_folder so the next start can show it again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QDir, QModelIndex, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFileSystemModel,
    QLabel,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.editor.ui.tabs import EditorTabs


class FileTree(QWidget):
    fileActivated = Signal(str)
    rootChanged = Signal(str)

    def __init__(self, tabs: EditorTabs | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tabs = tabs
        self._root: str | None = None
        self.ask_folder: Callable[[], str | None] = self._folder_dialog

        self.title = QLabel(self)
        self.title.setContentsMargins(8, 4, 8, 4)
        self.title.setStyleSheet("font-weight: 600;")
        self.open_button = QPushButton("Open Folder…", self)
        self.open_button.clicked.connect(self.choose_folder)

        self.model = QFileSystemModel(self)
        self.model.setFilter(QDir.Filter.AllEntries | QDir.Filter.NoDotAndDotDot | QDir.Filter.AllDirs)
        self.model.setReadOnly(True)
        self.view = QTreeView(self)
        self.view.setModel(self.model)
        self.view.setHeaderHidden(True)
        for column in range(1, self.model.columnCount()):
            self.view.hideColumn(column)
        self.view.setAnimated(False)
        self.view.setUniformRowHeights(True)
        self.view.activated.connect(self._on_activated)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.open_button)
        if tabs is not None:
            self.fileActivated.connect(lambda path: tabs.open_paths([path]))
            tabs.folderDropped.connect(self.set_root)
        self._show_root(None)

    def root(self) -> str | None:
        """The folder shown, or None before one is opened."""
        return self._root

    def set_root(self, folder: str | os.PathLike[str]) -> None:
        folder = os.path.abspath(os.fspath(folder))
        if not os.path.isdir(folder):
            return
        self.model.setRootPath(folder)
        self.view.setRootIndex(self.model.index(folder))
        self._show_root(folder)
        if self._tabs is not None:
            self._tabs.remember_folder(folder)  # a convenience: a failed save only logs
        self.rootChanged.emit(folder)

    def choose_folder(self) -> None:
        folder = self.ask_folder()
        if folder:
            self.set_root(folder)

    def _show_root(self, folder: str | None) -> None:
        self._root = folder
        self.title.setText(Path(folder).name.upper() if folder else "No folder open")
        self.title.setToolTip(folder or "")
        self.view.setVisible(folder is not None)
        self.open_button.setVisible(folder is None)

    def _on_activated(self, index: QModelIndex) -> None:
        if not self.model.isDir(index):
            self.fileActivated.emit(self.model.filePath(index))

    def _folder_dialog(self) -> str | None:
        start = (self._tabs.settings.last_folder if self._tabs else "") or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open Folder", start)
        return folder or None
