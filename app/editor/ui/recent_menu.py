"""File ▸ Open Recent, rebuilt from the tabs' recent files each time it opens."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMenu, QWidget

from app.editor.ui.tabs import EditorTabs


class RecentFilesMenu(QMenu):
    """ "Open Recent": rebuilt from the tabs' recent files each time it opens."""

    def __init__(self, tabs: EditorTabs, parent: QWidget | None = None) -> None:
        super().__init__("Open &Recent", parent)
        self._tabs = tabs
        self.aboutToShow.connect(self.rebuild)
        tabs.recentFilesChanged.connect(self.rebuild)
        self.rebuild()

    def rebuild(self) -> None:
        self.clear()
        recent = self._tabs.recent_files()
        if not recent:
            self.addAction("No recent files").setEnabled(False)
            return
        for number, path in enumerate(recent, start=1):
            label = f"&{number} {Path(path).name}" if number < 10 else Path(path).name
            action = self.addAction(label)
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _=False, p=path: self._tabs.open_paths([p]))
        self.addSeparator()
        self.addAction("Clear Recent Files").triggered.connect(self._tabs.clear_recent_files)
