"""The Prompts page: system-prompt presets (the DeepSeek default plus the user's own)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QWidget,
)

from app.config.settings import Settings
from app.preferences.ui.page_base import SettingsPage, hint
from app.protocol.deepseek import DEEPSEEK_V1_SYSTEM_PROMPT
from app.utils.ui.buttons import button_row, push_button

DEFAULT_PRESET_LABEL = "DeepSeek default"
# (parent, title, label, initial text) -> the text entered, or None when cancelled.
AskText = Callable[[QWidget, str, str, str], "str | None"]


def ask_text(parent: QWidget, title: str, label: str, initial: str) -> str | None:
    text, ok = QInputDialog.getText(parent, title, label, text=initial)
    return text if ok else None


class PromptsPage(SettingsPage):
    title = "Prompts"
    fields = ("system_prompt", "system_prompt_preset", "system_prompt_presets")

    def __init__(self, ask: AskText = ask_text) -> None:
        super().__init__()
        self.ask = ask
        self.presets: list[dict[str, str]] = []
        self.chosen = ""  # "" is the DeepSeek default
        self.list = QListWidget()
        self.list.setMaximumHeight(110)
        self.list.currentRowChanged.connect(self._show_current)
        self.form.addRow("Presets:", self.list)
        self.add_button = push_button("Add…", self.add_preset)
        self.rename_button = push_button("Rename…", self.rename_preset)
        self.delete_button = push_button("Delete", self.delete_preset)
        self.use_button = push_button("Use for new chats", self.use_preset)
        self.form.addRow("", button_row(self.add_button, self.rename_button, self.delete_button, self.use_button))
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("The system prompt: what the assistant should know or how it should answer")
        self.text.setMaximumHeight(170)
        self.text.textChanged.connect(self._text_edited)
        self.form.addRow("Text:", self.text)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #d1242f;")
        self.form.addRow("", self.message)
        self.form.addRow(
            "",
            hint(
                "The preset used for new chats is in bold. The DeepSeek default is the "
                "model's own prompt (DeepSeek-Coder V2 models have none). A conversation "
                "keeps the prompt it started with."
            ),
        )

    # -- showing -------------------------------------------------------------------------
    def load(self, settings: Settings) -> None:
        self.presets = [
            dict(p) for p in settings.system_prompt_presets if isinstance(p, dict) and isinstance(p.get("name"), str)
        ]
        names = [p["name"] for p in self.presets]
        self.chosen = settings.system_prompt_preset if settings.system_prompt_preset in names else ""
        self._refill(self._row_of(self.chosen))

    def _refill(self, row: int) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for name in ["", *[p["name"] for p in self.presets]]:
            item = QListWidgetItem(name or DEFAULT_PRESET_LABEL)
            if name == self.chosen:
                font = QFont(item.font())
                font.setBold(True)
                item.setFont(font)
                item.setText(item.text() + "  (used for new chats)")
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.list.setCurrentRow(max(0, min(row, self.list.count() - 1)))
        self._show_current(self.list.currentRow())

    def _row_of(self, name: str) -> int:
        names = [p["name"] for p in self.presets]
        return names.index(name) + 1 if name in names else 0

    def _current(self) -> dict[str, str] | None:
        row = self.list.currentRow()
        return self.presets[row - 1] if row >= 1 else None

    def _show_current(self, _row: int) -> None:
        preset = self._current()
        self.text.blockSignals(True)
        self.text.setPlainText(preset["text"] if preset else DEEPSEEK_V1_SYSTEM_PROMPT)
        self.text.blockSignals(False)
        self.text.setReadOnly(preset is None)
        self.rename_button.setEnabled(preset is not None)
        self.delete_button.setEnabled(preset is not None)

    def _text_edited(self) -> None:
        preset = self._current()
        if preset is not None:
            preset["text"] = self.text.toPlainText()

    # -- editing -------------------------------------------------------------------------
    def _checked_name(self, name: str | None, allowed_same: str = "") -> str | None:
        if name is None:
            return None
        name = " ".join(name.split())
        taken = {p["name"].casefold() for p in self.presets} | {DEFAULT_PRESET_LABEL.casefold()}
        taken.discard(allowed_same.casefold())
        if not name:
            self.message.setText("A preset needs a name.")
            return None
        if name.casefold() in taken:
            self.message.setText(f"There is already a preset called {name!r}; choose another name.")
            return None
        self.message.clear()
        return name

    def add_preset(self) -> None:
        name = self._checked_name(self.ask(self, "New system prompt", "Name of the preset:", ""))
        if name is None:
            return
        self.presets.append({"name": name, "text": ""})
        self._refill(len(self.presets))
        self.text.setFocus()

    def rename_preset(self) -> None:
        preset = self._current()
        if preset is None:
            return
        name = self._checked_name(self.ask(self, "Rename preset", "New name:", preset["name"]), preset["name"])
        if name is None:
            return
        if self.chosen == preset["name"]:
            self.chosen = name
        preset["name"] = name
        self._refill(self.list.currentRow())

    def delete_preset(self) -> None:
        preset = self._current()
        if preset is None:
            return
        row = self.list.currentRow()
        self.presets.remove(preset)
        if self.chosen == preset["name"]:
            self.chosen = ""
        self._refill(row - 1)

    def use_preset(self) -> None:
        preset = self._current()
        self.chosen = preset["name"] if preset else ""
        self._refill(self.list.currentRow())

    def write(self, settings: Settings) -> None:
        settings.system_prompt_presets = [dict(p) for p in self.presets]
        settings.system_prompt_preset = self.chosen
        chosen = next((p for p in self.presets if p["name"] == self.chosen), None)
        settings.system_prompt = chosen["text"] if chosen else ""
