"""The "Attachments" settings page: what a chat question carries from the editor and the opened folder."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox

from app.preferences.ui.page_base import SettingsPage, hint, setting_spin


class AttachmentsPage(SettingsPage):
    title = "Attachments"
    fields = ("chat_attach_current_file", "chat_file_tokens", "chat_attach_project_map", "chat_project_map_tokens")

    def __init__(self) -> None:
        super().__init__()
        self.attach_file = self.bind(
            "chat_attach_current_file", QCheckBox("Attach the current file (or the selection) to each question")
        )
        self.form.addRow("", self.attach_file)
        self.file_tokens = self.bind("chat_file_tokens", setting_spin("chat_file_tokens", "", " tokens", 500))
        self.form.addRow("Whole file up to:", self.file_tokens)
        self.attach_map = self.bind(
            "chat_attach_project_map", QCheckBox("Attach the project map to questions about the project")
        )
        self.form.addRow("", self.attach_map)
        self.map_tokens = self.bind(
            "chat_project_map_tokens", setting_spin("chat_project_map_tokens", "", " tokens", 250)
        )
        self.form.addRow("Project map up to:", self.map_tokens)
        self.form.addRow(
            "",
            hint(
                "A larger file sends the part around the cursor; the chips above the chat input show "
                "what goes with the next question, and × leaves one out. Type @ to attach another file, "
                "or @project for the map of the opened folder. Both budgets shrink to fit a small context."
            ),
        )
