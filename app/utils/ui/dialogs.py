"""Questions asked in a message box, worded by the caller."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def confirm_destructive(parent: QWidget, title: str, text: str) -> bool:
    """Ask Yes or No before something that cannot be undone; No is the default, so Enter keeps the data."""
    answer = QMessageBox.question(
        parent,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes
