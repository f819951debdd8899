"""The modal dialogs the editor tabs ask by default (tests replace them on the tabs)."""

from __future__ import annotations

import enum

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.utils.errors import DscoderError


class SaveChoice(enum.Enum):
    """The answer to "save your changes before closing?"."""

    SAVE = "save"
    DISCARD = "discard"
    CANCEL = "cancel"


def ask_unsaved(parent: QWidget, name: str) -> SaveChoice:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Unsaved changes")
    box.setText(f"Save the changes to {name} before closing?")
    box.setInformativeText("If you don't save, your changes will be lost.")
    buttons = QMessageBox.StandardButton
    box.setStandardButtons(buttons.Save | buttons.Discard | buttons.Cancel)
    box.setDefaultButton(buttons.Save)
    answer = box.exec()
    if answer == buttons.Save:
        return SaveChoice.SAVE
    if answer == buttons.Discard:
        return SaveChoice.DISCARD
    return SaveChoice.CANCEL


def ask_open_paths(parent: QWidget, start_folder: str) -> list[str]:
    paths, _ = QFileDialog.getOpenFileNames(parent, "Open Files", start_folder)
    return paths


def ask_save_path(parent: QWidget, suggested: str) -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, "Save As", suggested)
    return path or None


def show_error(parent: QWidget, error: DscoderError) -> None:
    QMessageBox.warning(parent, "DeepSeek-Coder", str(error))
