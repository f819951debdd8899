"""The window's side of an edit: review, write, reload the open editors, undo.

`EditSession` owns the last change's `UndoRecord`: "Undo change" (the Edit menu) puts
every file back and the editors reload from disk, so Undo works the same whether or not
the editors were reloaded in between. The questions to the user (reload a file that
changed on disk? undo over later changes?) are methods, so tests answer them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from app.editor.textfile import read_text_file
from app.editor.ui.tabs import EditorTabs
from app.edits.changeset import ChangeSet
from app.edits.ui.review_dialog import ReviewDialog
from app.edits.workspace import StaleFileError
from app.edits.writing import FilesChangedSinceApply, UndoRecord, undo_change, write_changeset
from app.utils.errors import DscoderError

log = logging.getLogger(__name__)


class EditSession(QObject):
    changeApplied = Signal(list)  # the folder-relative paths written
    changeUndone = Signal(list)  # the paths restored
    undoAvailable = Signal(bool)
    message = Signal(str)  # a line for the status bar or the chat

    def __init__(self, tabs: EditorTabs, parent_widget: QWidget | None = None) -> None:
        super().__init__(parent_widget)
        self.tabs = tabs
        self.parent_widget = parent_widget
        self.last_change: UndoRecord | None = None

    # -- before asking -----------------------------------------------------------------
    def save_open_files(self, paths: Iterable[str]) -> bool:
        """Save the editors of these files that have unsaved text, so the model edits
        what the user sees; False when one could not be saved."""
        for path in paths:
            editor = self.tabs.editor_for_path(path)
            if editor is not None and editor.is_modified() and not self.tabs.save(editor):
                return False
        return True

    # -- review and write ----------------------------------------------------------------
    def review(self, changeset: ChangeSet) -> bool:
        """Show the review; on Accept write the ticked changes. True when written."""
        dialog = ReviewDialog(changeset, self.parent_widget)
        try:
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return False
        finally:
            dialog.deleteLater()
        return self.accept(changeset)

    def accept(self, changeset: ChangeSet) -> bool:
        """Write the ticked part of the change, reload the editors, keep it for Undo."""
        try:
            record = write_changeset(changeset)
        except StaleFileError as stale:
            if self.ask_reload(stale):
                self.reload_editors(changeset.scope.workspace.absolute(p) for p in stale.paths)
            return False
        except DscoderError as error:
            self.show_error(error)
            return False
        if not record.files:
            return False
        self.last_change = record
        self.reload_editors(f.absolute for f in record.files)
        self.undoAvailable.emit(True)
        self.changeApplied.emit(record.paths)
        self.message.emit(
            f"Changed {len(record.files)} file{'s' if len(record.files) != 1 else ''}: {', '.join(record.paths)}"
        )
        return True

    def undo(self) -> bool:
        """Put back every file of the last change; True when done."""
        record = self.last_change
        if record is None:
            return False
        try:
            restored = undo_change(record)
        except FilesChangedSinceApply as changed:
            if not self.ask_undo_anyway(changed):
                return False
            restored = undo_change(record, overwrite=True)
        except DscoderError as error:
            self.show_error(error)
            return False
        self.last_change = None
        self.reload_editors(f.absolute for f in record.files)
        self.undoAvailable.emit(False)
        self.changeUndone.emit(restored)
        self.message.emit(f"Undid the change to {', '.join(restored)}")
        return True

    # -- editors -----------------------------------------------------------------------
    def reload_editors(self, paths: Iterable[Path]) -> None:
        """Show what is on disk now in the open editors of these files (a deleted file's
        tab closes). An editor with unsaved text keeps it, with a message."""
        for path in paths:
            editor = self.tabs.editor_for_path(path)
            if editor is None:
                continue
            if editor.is_modified():
                self.message.emit(f"{path.name} has unsaved text in its editor, so it was not reloaded")
                continue
            if not path.exists():
                self.tabs.close_tab(self.tabs.indexOf(editor))
                continue
            try:
                loaded = read_text_file(path)
            except DscoderError as error:
                self.show_error(error)
                continue
            caret = editor.cursor_offset()
            editor.load_text_file(loaded)
            editor.set_cursor_offset(min(caret, len(loaded.text)))

    # -- questions (tests answer them) -----------------------------------------------------
    def ask_reload(self, stale: StaleFileError) -> bool:
        return self._ask("Files changed on disk", str(stale), "Reload", QMessageBox.ButtonRole.AcceptRole)

    def ask_undo_anyway(self, changed: FilesChangedSinceApply) -> bool:
        return self._ask("Undo change", str(changed), "Undo Anyway", QMessageBox.ButtonRole.DestructiveRole)

    def _ask(self, title: str, text: str, action: str, role: QMessageBox.ButtonRole) -> bool:
        """Whether the user chose `action` over Cancel."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=self.parent_widget)
        chosen = box.addButton(action, role)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is chosen

    def show_error(self, error: DscoderError) -> None:
        log.info("edit failed: %s", error)
        QMessageBox.warning(self.parent_widget, "Edit files", str(error))
