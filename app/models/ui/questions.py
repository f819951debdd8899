"""The questions the model manager asks a person (tests replace these with answers)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.models.library import InstalledModel
from app.utils.ui.dialogs import confirm_destructive
from app.utils.units import file_size


def ask_keep_partial(parent: QWidget, label: str) -> bool | None:
    """Cancel a download: True keeps the partial file, False deletes it, None keeps downloading."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Cancel download")
    box.setText(f"Cancel the download of {label}?")
    box.setInformativeText("Keep the part already downloaded to resume it later, or delete it to free the space.")
    keep = box.addButton("Cancel, keep the part", QMessageBox.ButtonRole.AcceptRole)
    delete = box.addButton("Cancel and delete it", QMessageBox.ButtonRole.DestructiveRole)
    go_on = box.addButton("Go on downloading", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(go_on)
    box.exec()
    clicked = box.clickedButton()
    if clicked is keep:
        return True
    if clicked is delete:
        return False
    return None


def confirm_delete(parent: QWidget, model: InstalledModel) -> bool:
    if model.origin == "reference":
        text = f"Remove {model.name} from the list?"
        detail = f"The file stays where it is: {model.path}"
    else:
        text = f"Delete {model.name}?"
        detail = f"{file_size(model.size)} will be deleted from {model.path.parent}. This cannot be undone."
    return confirm_destructive(parent, "Delete model", f"{text}\n\n{detail}")


def choose_import(parent: QWidget, start: Path) -> tuple[Path, bool] | None:
    """A GGUF file to import, and whether to reference it in place (True) or copy it (False)."""
    path, _ = QFileDialog.getOpenFileName(
        parent, "Import a GGUF model", str(Path.home()), "GGUF models (*.gguf);;All files (*)"
    )
    if not path:
        return None
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Import GGUF")
    box.setText(f"Copy {Path(path).name} into the models folder, or use it where it is?")
    box.setInformativeText(
        f"A copy goes to {start / 'imported'} and survives moving the original. Using it in place saves the disk space."
    )
    copy = box.addButton("Copy", QMessageBox.ButtonRole.AcceptRole)
    reference = box.addButton("Use in place", QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(copy)
    box.exec()
    if box.clickedButton() is copy:
        return Path(path), False
    if box.clickedButton() is reference:
        return Path(path), True
    return None
