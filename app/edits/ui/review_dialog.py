"""One review for a change across files: the files with their badges, a diff per file
with a toggle per hunk, and a confirmation for each deletion.

The dialog only edits the `ChangeSet`'s toggles (`FileChange.accepted`, `.confirmed`);
what Accept writes is decided by app.edits.writing, driven by app.edits.ui.session. The
edits that were refused (outside the folder, not editable, a SEARCH block that did not
match) are listed above the files, so the user sees what the model tried and why it is
not there.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.edits.changeset import ChangeSet, FileChange
from app.edits.ui.hunk_view import hunk_view

BADGES = {"new": "NEW", "changed": "CHANGED", "deleted": "DELETED"}


def file_label(change: FileChange) -> str:
    """The file list's row: "calc.py  CHANGED  +3 −1"."""
    added = sum(len(h.new_lines) for h in change.hunks)
    removed = sum(len(h.old_lines) for h in change.hunks)
    return f"{change.path}  {BADGES[change.kind]}  +{added} −{removed}"


def hunk_label(change: FileChange, index: int) -> str:
    hunk = change.hunks[index]
    if change.kind == "new":
        return f"Create {change.path} ({len(hunk.new_lines)} lines)"
    first, last = hunk.start + 1, max(hunk.start + 1, hunk.end)
    where = f"line {first}" if first == last else f"lines {first}–{last}"
    if not hunk.old_lines:
        where = f"after line {hunk.start}" if hunk.start else "at the top"
    return f"Change {index + 1} of {len(change.hunks)}: {where}"


class ReviewDialog(QDialog):
    """Review a ChangeSet; Accept means "write what is ticked" (the caller writes it)."""

    def __init__(self, changeset: ChangeSet, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.changeset = changeset
        self.setWindowTitle("Review the change")
        self.resize(960, 620)
        layout = QVBoxLayout(self)
        self.summary = QLabel(self._summary_text())
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.problems = QLabel("\n".join(self._problem_lines()))
        self.problems.setObjectName("EditProblems")
        self.problems.setWordWrap(True)
        self.problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problems.setVisible(bool(self.problems.text()))
        layout.addWidget(self.problems)

        self.file_list = QListWidget()
        self.pages = QStackedWidget()
        self.hunk_checks: dict[str, list[QCheckBox]] = {}
        self.delete_checks: dict[str, QCheckBox] = {}
        for change in changeset.changes:
            item = QListWidgetItem(file_label(change))
            item.setData(Qt.ItemDataRole.UserRole, change.path)
            self.file_list.addItem(item)
            self.pages.addWidget(self._page(change))
        self.file_list.currentRowChanged.connect(self.pages.setCurrentIndex)
        splitter = QSplitter()
        splitter.addWidget(self.file_list)
        splitter.addWidget(self.pages)
        splitter.setSizes([260, 700])
        layout.addWidget(splitter, 1)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.accept_button = self.buttons.addButton("Accept", QDialogButtonBox.ButtonRole.AcceptRole)
        self.accept_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        if changeset.changes:
            self.file_list.setCurrentRow(0)
        self._update_accept()

    def _summary_text(self) -> str:
        changes = self.changeset.changes
        if not changes:
            return "The answer changes no file."
        kinds: list[str] = [c.kind for c in changes]
        listed = ", ".join(f"{kinds.count(k)} {k}" for k in ("changed", "new", "deleted") if k in kinds)
        return f"The answer changes {len(changes)} file{'s' if len(changes) != 1 else ''} ({listed}). Untick what you do not want."

    def _problem_lines(self) -> list[str]:
        lines = [f"Not applied: {p.message.rstrip('.')}." for p in self.changeset.problems]
        return lines + [f"{note}." for note in self.changeset.scope.notes]

    def _page(self, change: FileChange) -> QWidget:
        body = QWidget()
        rows = QVBoxLayout(body)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        if change.kind == "deleted":
            confirm = QCheckBox(
                f"Delete {change.path} ({len(change.hunks[0].old_lines)} lines); Undo change restores it"
            )
            confirm.setChecked(change.confirmed)
            confirm.toggled.connect(lambda on, c=change: self._confirm(c, on))
            self.delete_checks[change.path] = confirm
            rows.addWidget(confirm)
            rows.addWidget(hunk_view(change.hunks[0], font))
        else:
            checks: list[QCheckBox] = []
            for index, hunk in enumerate(change.hunks):
                check = QCheckBox(hunk_label(change, index))
                check.setChecked(change.accepted[index])
                check.toggled.connect(lambda on, c=change, i=index: self._toggle(c, i, on))
                rows.addWidget(check)
                rows.addWidget(hunk_view(hunk, font))
                checks.append(check)
            self.hunk_checks[change.path] = checks
        rows.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        return scroll

    def _toggle(self, change: FileChange, index: int, on: bool) -> None:
        change.accepted[index] = on
        self._update_accept()

    def _confirm(self, change: FileChange, on: bool) -> None:
        change.confirmed = on
        self._update_accept()

    def _update_accept(self) -> None:
        self.accept_button.setEnabled(bool(self.changeset.to_write))
