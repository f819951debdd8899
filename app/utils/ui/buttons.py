"""Push buttons made the same way everywhere: the text, what a click does, and the name a
style sheet or a test finds them by."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QHBoxLayout, QPushButton


def push_button(
    text: str, on_click: Callable[[], object] | SignalInstance, *, object_name: str = "", tooltip: str = ""
) -> QPushButton:
    """A button whose click calls `on_click` (a slot, or a signal it is forwarded to)."""
    button = QPushButton(text)
    if object_name:
        button.setObjectName(object_name)
    if tooltip:
        button.setToolTip(tooltip)
    button.clicked.connect(on_click)
    return button


def button_row(*buttons: QPushButton) -> QHBoxLayout:
    """The buttons side by side from the left, the rest of the row empty."""
    row = QHBoxLayout()
    for button in buttons:
        row.addWidget(button)
    row.addStretch(1)
    return row
