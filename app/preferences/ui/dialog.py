"""The settings dialog: pages on the left, every value checked when OK is pressed.

Use:

    change = edit_settings(parent, settings)
    if change is not None:
        store.replace(change.settings)       # the settings store saves them and says what changed
        if change.restart:                   # labels of changes that need an engine restart
            restart the engine (or reconnect to the chosen remote engine)

The dialog edits a copy and saves only the secrets its pages hold (API keys, which live
in the secret store); it never saves settings.json or touches the engine: it reports.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.config.settings import Settings
from app.config.validation import restart_needed, validate_settings
from app.llm.remote_probe import probe_remote
from app.preferences.ui.attachments_page import AttachmentsPage
from app.preferences.ui.machine_speed_row import MachineSpeedRow
from app.preferences.ui.page_base import SettingsPage
from app.preferences.ui.pages import (
    AppearancePage,
    CompletionPage,
    EnginePage,
    HubPage,
    LocalServerPage,
    SamplingPage,
)
from app.preferences.ui.planner_page import PlannerPage
from app.preferences.ui.prompts_page import AskText, PromptsPage, ask_text
from app.preferences.ui.remotes_page import EditRemote, Probe, RemotesPage, edit_remote_dialog
from app.preferences.ui.run_page import RunPage
from app.preferences.ui.speed_and_memory_page import SpeedAndMemoryPage
from app.utils.errors import DscoderError
from app.utils.secrets import SecretStore, default_secret_store


@dataclass
class SettingsChange:
    settings: Settings  # the new settings (not saved yet: the settings store does that)
    restart: list[str] = field(default_factory=list)  # labels of changes that need an engine restart

    @property
    def needs_restart(self) -> bool:
        return bool(self.restart)


class SettingsDialog(QDialog):
    """Edits a copy of `settings`; after OK, `new_settings` and `restart` hold the outcome."""

    def __init__(
        self,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        secrets: SecretStore | None = None,
        probe: Probe = probe_remote,
        edit_remote: EditRemote = edit_remote_dialog,
        ask: AskText = ask_text,
        choose_folder: Callable[[QWidget, str], str] | None = None,
        local_server_url: str | None = None,
        machine_speed: MachineSpeedRow | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.resize(780, 560)
        self.original = settings
        self.new_settings: Settings | None = None
        self.restart: list[str] = []
        self.secrets = secrets or default_secret_store()
        self.engine_page = EnginePage(choose_folder)
        self.speed_and_memory_page = SpeedAndMemoryPage(machine_speed=machine_speed)
        self.sampling_page = SamplingPage()
        self.prompts_page = PromptsPage(ask)
        self.appearance_page = AppearancePage()
        self.completion_page = CompletionPage()
        self.attachments_page = AttachmentsPage()
        self.run_page = RunPage()
        self.planner_page = PlannerPage()
        self.hub_page = HubPage(self.secrets)
        self.remotes_page = RemotesPage(self.secrets, probe, edit_remote)
        self.local_server_page = LocalServerPage(self.secrets, local_server_url)
        self.pages: list[SettingsPage] = [
            self.engine_page,
            self.speed_and_memory_page,
            self.sampling_page,
            self.prompts_page,
            self.attachments_page,
            self.appearance_page,
            self.completion_page,
            self.run_page,
            self.planner_page,
            self.hub_page,
            self.remotes_page,
            self.local_server_page,
        ]
        self._build_layout(settings)
        for page in self.pages:
            self._watch(page)

    def _build_layout(self, settings: Settings) -> None:
        """The page list on the left, the current page (scrolling) on the right, notes and buttons below."""
        self.page_list = QListWidget()
        self.page_list.setFixedWidth(160)
        self.page_list.setStyleSheet("QListWidget::item { padding: 5px 6px; }")
        self.stack = QStackedWidget()
        for page in self.pages:
            page.load(settings)
            self.page_list.addItem(page.title)
            scroll = QScrollArea()
            scroll.setWidget(page)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            self.stack.addWidget(scroll)
        self.page_list.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.page_list.setCurrentRow(0)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setStyleSheet("color: #d1242f;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        body = QHBoxLayout()
        body.addWidget(self.page_list)
        body.addWidget(self.stack, 1)
        self.restart_note = QLabel()
        self.restart_note.setWordWrap(True)
        self.restart_note.setTextFormat(Qt.TextFormat.PlainText)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.restart_note)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def _watch(self, page: QWidget) -> None:
        """Any edit refreshes the note that says which changes restart the engine."""
        for box in page.findChildren(QAbstractSpinBox):
            box.editingFinished.connect(self.update_restart_note)
            box.valueChanged.connect(self.update_restart_note)  # type: ignore[attr-defined]
        for combo in page.findChildren(QComboBox):
            combo.currentIndexChanged.connect(self.update_restart_note)
        for button in page.findChildren(QAbstractButton):
            button.toggled.connect(self.update_restart_note)
            button.clicked.connect(self.update_restart_note)
        for line in page.findChildren(QLineEdit):
            line.textChanged.connect(self.update_restart_note)

    def update_restart_note(self) -> None:
        restart = restart_needed(self.original, self.collected())
        self.restart_note.setText(
            f"Needs an engine restart: {', '.join(restart)}. The engine restarts when you press OK." if restart else ""
        )

    def show_page(self, title: str) -> None:
        for row, page in enumerate(self.pages):
            if page.title == title:
                self.page_list.setCurrentRow(row)

    def collected(self) -> Settings:
        """The settings as the pages show them now (not yet checked)."""
        settings = copy.deepcopy(self.original)
        for page in self.pages:
            page.write(settings)
        return settings

    def accept(self) -> None:
        settings = self.collected()
        problems = validate_settings(settings)
        if problems:
            first = problems[0]
            page = next((p for p in self.pages if first.field in p.fields), None)
            if page is not None:
                self.page_list.setCurrentRow(self.pages.index(page))
            more = f" ({len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
            self.message.setText(f"{first.message}.{more}")
            return
        restart = restart_needed(self.original, settings)
        try:
            for page in self.pages:
                restart += [label for label in page.apply_secrets() if label not in restart]
        except DscoderError as exc:
            self.message.setText(str(exc))
            return
        self.new_settings = settings
        self.restart = restart
        self.remotes_page.shutdown()
        self.speed_and_memory_page.machine_speed.shutdown()
        super().accept()

    def reject(self) -> None:
        self.remotes_page.shutdown()
        self.speed_and_memory_page.machine_speed.shutdown()
        super().reject()


def edit_settings(parent: QWidget | None, settings: Settings, **options: object) -> SettingsChange | None:
    """Show the dialog; on OK return the new settings and what needs an engine restart."""
    dialog = SettingsDialog(settings, parent, **options)  # type: ignore[arg-type]
    try:
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.new_settings is None:
            return None
        return SettingsChange(dialog.new_settings, dialog.restart)
    finally:
        dialog.deleteLater()
