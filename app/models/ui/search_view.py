"""The hub search tab: other DeepSeek-Coder GGUF repos and their files (online only).

Display only: the dialog runs the search off the GUI thread and hands the repos to
`show_results`; a chosen file goes back as `downloadRequested`.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.download.hub import HubRepo
from app.models.download.spec import shard_set_names
from app.utils.units import file_size

FILE_ROLE = Qt.ItemDataRole.UserRole


class HubSearchView(QWidget):
    searchRequested = Signal(str)  # query
    downloadRequested = Signal(str, str, int)  # repo, file name, bytes of the whole set

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.query_edit = QLineEdit("deepseek-coder")
        self.query_edit.setPlaceholderText("Search the hub for GGUF repos")
        self.search_button = QPushButton("Search the hub")
        self.status_label = QLabel(
            "Search lists GGUF repos on the hub (or the mirror) with their files. "
            "Files from here are checked against the hub's own sha256."
        )
        self.status_label.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setObjectName("hubResults")
        self.tree.setHeaderLabels(["Repository / file", "Size", "Downloads"])
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemSelectionChanged.connect(self._update_button)
        self.download_button = QPushButton("Download selected file")
        self.download_button.setEnabled(False)

        self.query_edit.returnPressed.connect(self._search)
        self.search_button.clicked.connect(self._search)
        self.download_button.clicked.connect(self._download)
        self.tree.itemDoubleClicked.connect(lambda _item, _column: self._download())

        top = QHBoxLayout()
        top.addWidget(self.query_edit, 1)
        top.addWidget(self.search_button)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.download_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status_label)
        layout.addWidget(self.tree, 1)
        layout.addLayout(bottom)
        self._sizes: dict[tuple[str, str], int] = {}

    def show_searching(self) -> None:
        self.search_button.setEnabled(False)
        self.status_label.setText("Searching…")

    def show_failed(self, text: str) -> None:
        self.search_button.setEnabled(True)
        self.status_label.setText(text)

    def show_results(self, repos: Sequence[HubRepo]) -> None:
        self.search_button.setEnabled(True)
        self.tree.clear()
        self._sizes.clear()
        for repo in repos:
            parent = QTreeWidgetItem([repo.repo_id, "", str(repo.downloads or "")])
            sizes = {f.name: f.size for f in repo.files}
            for remote in repo.files:
                names, join = shard_set_names(remote.name)
                if join and names[0] != remote.name:
                    continue  # a set is listed once, by its first piece
                total = sum(sizes.get(name, 0) for name in names)
                label = remote.name + (f"  (+{len(names) - 1} more pieces)" if join else "")
                item = QTreeWidgetItem([label, file_size(total), ""])
                item.setData(0, FILE_ROLE, (repo.repo_id, remote.name))
                self._sizes[(repo.repo_id, remote.name)] = total
                parent.addChild(item)
            self.tree.addTopLevelItem(parent)
        self.tree.expandAll()
        count = sum(len(r.files) for r in repos)
        self.status_label.setText(f"{len(repos)} repositories, {count} GGUF files." if repos else "Nothing found.")

    def select_file(self, repo: str, filename: str) -> None:
        for top in range(self.tree.topLevelItemCount()):
            parent = self.tree.topLevelItem(top)
            children = [parent.child(i) for i in range(parent.childCount())] if parent else []
            for child in children:
                if child is not None and child.data(0, FILE_ROLE) == (repo, filename):
                    self.tree.setCurrentItem(child)
                    return

    def _selected(self) -> tuple[str, str] | None:
        item = self.tree.currentItem()
        data = item.data(0, FILE_ROLE) if item is not None else None
        return (str(data[0]), str(data[1])) if data else None

    def _update_button(self) -> None:
        self.download_button.setEnabled(self._selected() is not None)

    def _search(self) -> None:
        self.searchRequested.emit(self.query_edit.text().strip() or "deepseek-coder")

    def _download(self) -> None:
        chosen = self._selected()
        if chosen is not None:
            self.downloadRequested.emit(chosen[0], chosen[1], self._sizes.get(chosen, 0))
