"""The status-bar indicator for inline completion: idle, thinking, suggestion shown, or
off/unavailable with the reason. A click opens a menu to switch completion on or off,
globally and for the current file's language."""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QLabel, QMenu, QWidget

from app.editor import textfile


class CompletionState(StrEnum):
    IDLE = "idle"
    THINKING = "thinking"
    SHOWN = "shown"
    OFF = "off"  # switched off by the user (globally or for this language)
    UNAVAILABLE = "unavailable"  # the model can't complete (no FIM), or no model


_TEXT = {
    CompletionState.IDLE: "Completion",
    CompletionState.THINKING: "Completion: thinking…",
    CompletionState.SHOWN: "Completion: Tab to accept",
    CompletionState.OFF: "Completion: off",
    CompletionState.UNAVAILABLE: "Completion unavailable",
}
_TIPS = {
    CompletionState.IDLE: "Inline completion is on: pause typing, or press Ctrl+Space.",
    CompletionState.THINKING: "The model is writing a suggestion.",
    CompletionState.SHOWN: "Tab accepts the suggestion, Ctrl+Right accepts a word, Esc dismisses it.",
}


class CompletionStatus(QLabel):
    """Shows a CompletionState; emits the user's on/off choices."""

    enabledToggled = Signal(bool)  # completion on or off everywhere
    languageToggled = Signal(str, bool)  # language id, on or off

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("completionStatus")
        self.state = CompletionState.IDLE
        self.reason = ""
        self.label = ""
        self.globally_enabled = True
        self.language = textfile.PLAIN_TEXT
        self.language_enabled = True
        self.timing = ""  # how long the last suggestion took, for the tooltip
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.set_state(CompletionState.IDLE)

    def set_state(self, state: CompletionState, reason: str = "", label: str = "") -> None:
        self.state, self.reason, self.label = state, reason, label
        text = _TEXT[state]
        if label and state not in (CompletionState.OFF, CompletionState.UNAVAILABLE):
            text += f" ({label})"
        self.setText(text)
        tip = reason or _TIPS.get(state, "")
        if self.timing and not reason and state in (CompletionState.IDLE, CompletionState.SHOWN):
            tip += f"\n{self.timing}"
        self.setToolTip(tip)
        self.setAccessibleDescription(tip)
        greyed = state in (CompletionState.OFF, CompletionState.UNAVAILABLE)
        self.setStyleSheet("color: palette(mid);" if greyed else "")

    def set_timing(self, first_text_s: float | None, whole_s: float) -> None:
        """Note the last suggestion's time to its first shown text and to its end."""
        first = f"first text after {first_text_s:.2f} s, " if first_text_s is not None else ""
        self.timing = f"Last suggestion: {first}whole after {whole_s:.2f} s"
        self.set_state(self.state, self.reason, self.label)

    def set_language(self, language_id: str, enabled: bool) -> None:
        self.language, self.language_enabled = language_id, enabled

    def build_menu(self) -> QMenu:
        menu = QMenu(self)
        everywhere = menu.addAction("Inline Completion")
        everywhere.setCheckable(True)
        everywhere.setChecked(self.globally_enabled)
        everywhere.toggled.connect(self.enabledToggled)
        name = textfile.language(self.language).name
        for_language = menu.addAction(f"Inline Completion for {name}")
        for_language.setCheckable(True)
        for_language.setChecked(self.language_enabled)
        for_language.setEnabled(self.globally_enabled)
        for_language.toggled.connect(lambda on: self.languageToggled.emit(self.language, on))
        if self.reason and self.state == CompletionState.UNAVAILABLE:
            menu.addSeparator()
            why = menu.addAction(self.reason if len(self.reason) < 90 else self.reason[:87] + "…")
            why.setEnabled(False)
        return menu

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            menu = self.build_menu()
            menu.exec(self.mapToGlobal(event.position().toPoint()))
            menu.deleteLater()
            return
        super().mousePressEvent(event)
