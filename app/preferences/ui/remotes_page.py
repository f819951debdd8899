"""The Remote engines page: add, edit, remove and test OpenAI-compatible servers.

Test connection runs `probe_remote` off the GUI thread; API keys go to the secret
store when the dialog is accepted, never into settings.json.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QVBoxLayout,
    QWidget,
)

from app.config.remotes import (
    ENGINE_KINDS,
    EXAMPLE_URLS,
    RemoteEngine,
    api_key_for,
    normalize_base_url,
    remotes_from_settings,
    save_api_key,
    validate_remote,
)
from app.config.settings import Settings
from app.llm.remote_probe import ProbeResult, probe_remote
from app.preferences.ui.page_base import SettingsPage, hint
from app.utils.secrets import SecretStore
from app.utils.ui.buttons import button_row, push_button
from app.utils.ui.tasks import BackgroundTasks

LOCAL_ENGINE_LABEL = "This computer (local engine)"
Probe = Callable[[RemoteEngine, "str | None"], ProbeResult]
# (parent, remote or None for a new one, its key) -> (edited remote, key), or None when cancelled.
EditRemote = Callable[[QWidget, "RemoteEngine | None", str], "tuple[RemoteEngine, str] | None"]


class RemoteEngineEditor(QDialog):
    """Name, kind, base URL, model and API key of one remote engine, checked on OK."""

    def __init__(self, parent: QWidget | None, remote: RemoteEngine | None, api_key: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit remote engine" if remote else "Add remote engine")
        self.setMinimumWidth(520)
        self._id = remote.id if remote else None
        form = QFormLayout()
        self.name = QLineEdit(remote.name if remote else "")
        self.name.setPlaceholderText("for example: GPU server")
        self.kind = QComboBox()
        for kind, label in ENGINE_KINDS.items():
            self.kind.addItem(label, kind)
        self.kind.setCurrentIndex(max(self.kind.findData(remote.kind if remote else "vllm"), 0))
        self.base_url = QLineEdit(remote.base_url if remote else "")
        self.model = QLineEdit(remote.model if remote else "")
        self.model.setPlaceholderText("as the server names it, for example deepseek-ai/DeepSeek-Coder-V2-Instruct")
        self.api_key = QLineEdit(api_key)
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("leave empty if the server needs none")
        show_key = QCheckBox("Show")
        show_key.toggled.connect(
            lambda on: self.api_key.setEchoMode(QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password)
        )
        key_row = QHBoxLayout()
        key_row.addWidget(self.api_key, 1)
        key_row.addWidget(show_key)
        form.addRow("Name:", self.name)
        form.addRow("Kind:", self.kind)
        form.addRow("Base URL:", self.base_url)
        form.addRow("Model:", self.model)
        form.addRow("API key:", key_row)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #d1242f;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()

    def _kind_changed(self) -> None:
        self.base_url.setPlaceholderText(EXAMPLE_URLS.get(str(self.kind.currentData()), ""))

    def remote(self) -> RemoteEngine:
        values = dict(
            name=" ".join(self.name.text().split()),
            base_url=normalize_base_url(self.base_url.text()),
            model=self.model.text().strip(),
            kind=str(self.kind.currentData()),
        )
        return RemoteEngine(**values, id=self._id) if self._id else RemoteEngine(**values)

    def accept(self) -> None:
        problems = validate_remote(self.remote())
        if problems:
            self.message.setText(problems[0] + ".")
            return
        super().accept()


def edit_remote_dialog(parent: QWidget, remote: RemoteEngine | None, api_key: str) -> tuple[RemoteEngine, str] | None:
    editor = RemoteEngineEditor(parent, remote, api_key)
    if editor.exec() != QDialog.DialogCode.Accepted:
        return None
    return editor.remote(), editor.api_key.text().strip()


class RemotesPage(SettingsPage):
    title = "Remote engines"
    fields = ("remote_engines", "active_engine")

    def __init__(
        self, secrets: SecretStore, probe: Probe = probe_remote, edit: EditRemote = edit_remote_dialog
    ) -> None:
        super().__init__()
        self.secrets = secrets
        self.probe = probe
        self.edit = edit
        self.remotes: list[RemoteEngine] = []
        self.keys: dict[str, str] = {}  # API keys as edited (id -> key)
        self._saved_keys: dict[str, str] = {}
        self._active_id = ""
        self.tasks = BackgroundTasks(self, max_workers=1, thread_prefix="remote-probe")
        self._probe_task: int | None = None
        self.active = QComboBox()
        self.form.addRow("Chat runs on:", self.active)
        self.list = QListWidget()
        self.list.setMaximumHeight(150)
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setStyleSheet("QListWidget::item { padding: 3px; }")
        self.list.itemDoubleClicked.connect(lambda _item: self.edit_selected())
        self.list.currentRowChanged.connect(lambda _row: self._update_buttons())
        self.form.addRow("Servers:", self.list)
        self.add_button = push_button("Add…", self.add_remote)
        self.edit_button = push_button("Edit…", self.edit_selected)
        self.remove_button = push_button("Remove", self.remove_selected)
        self.test_button = push_button("Test connection", self.test_selected)
        self.form.addRow("", button_row(self.add_button, self.edit_button, self.remove_button, self.test_button))
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.form.addRow("", self.status)
        self.form.addRow(
            "",
            hint(
                "Any OpenAI-compatible server: llama-server, vLLM or SGLang on a GPU machine "
                "(how the 33B and 236B models run), Ollama's /v1, or the DeepSeek API. "
                f"API keys are kept in {secrets.where}."
            ),
        )

    # -- showing -------------------------------------------------------------------------
    def load(self, settings: Settings) -> None:
        self.remotes = remotes_from_settings(settings.remote_engines)
        self._saved_keys = {r.id: api_key_for(r, self.secrets) or "" for r in self.remotes}
        self.keys = dict(self._saved_keys)
        self._active_id = settings.active_engine
        self._refill()

    def _refill(self, row: int | None = None) -> None:
        current = self.list.currentRow() if row is None else row
        self.list.clear()
        for remote in self.remotes:
            model = f" · {remote.model}" if remote.model else ""
            self.list.addItem(
                f"{remote.name} ({ENGINE_KINDS.get(remote.kind, remote.kind)})\n    {remote.base_url}{model}"
            )
        self.list.setCurrentRow(min(max(current, 0), len(self.remotes) - 1))
        active = self._active_id if any(r.id == self._active_id for r in self.remotes) else ""
        self.active.clear()
        self.active.addItem(LOCAL_ENGINE_LABEL, "")
        for remote in self.remotes:
            self.active.addItem(remote.name, remote.id)
        self.active.setCurrentIndex(max(self.active.findData(active), 0))
        self._update_buttons()

    def _update_buttons(self) -> None:
        selected = self._selected() is not None
        for button in (self.edit_button, self.remove_button):
            button.setEnabled(selected)
        self.test_button.setEnabled(selected and self._probe_task is None)

    def _selected(self) -> RemoteEngine | None:
        row = self.list.currentRow()
        return self.remotes[row] if 0 <= row < len(self.remotes) else None

    # -- editing -------------------------------------------------------------------------
    def _name_clash(self, remote: RemoteEngine) -> bool:
        clash = any(r.name.casefold() == remote.name.casefold() and r.id != remote.id for r in self.remotes)
        if clash:
            self.status.setText(f"There is already a remote engine called {remote.name!r}; choose another name.")
        return clash

    def add_remote(self) -> None:
        edited = self.edit(self, None, "")
        if edited is None or self._name_clash(edited[0]):
            return
        remote, key = edited
        self.remotes.append(remote)
        self.keys[remote.id] = key
        self.status.setText(f"Added {remote.name}. Test the connection to check it.")
        self._refill(len(self.remotes) - 1)

    def edit_selected(self) -> None:
        remote = self._selected()
        if remote is None:
            return
        edited = self.edit(self, remote, self.keys.get(remote.id, ""))
        if edited is None or self._name_clash(edited[0]):
            return
        new, key = edited
        self.remotes[self.remotes.index(remote)] = dataclasses.replace(new, id=remote.id)
        self.keys[remote.id] = key
        self._refill()

    def remove_selected(self) -> None:
        remote = self._selected()
        if remote is None:
            return
        self._active_id = str(self.active.currentData() or "")
        self.remotes.remove(remote)
        self.keys.pop(remote.id, None)
        self.status.setText(f"Removed {remote.name}.")
        self._refill()

    # -- testing -------------------------------------------------------------------------
    def test_selected(self) -> None:
        remote = self._selected()
        if remote is None or self._probe_task is not None:
            return
        key = self.keys.get(remote.id) or None
        self.status.setText(f"Connecting to {remote.base_url}…")
        self._probe_task = self.tasks.start(
            lambda _progress, _control: self.probe(remote, key), on_done=self._probe_done, on_failed=self._probe_failed
        )
        self._update_buttons()

    def _probe_done(self, result: object) -> None:
        self._probe_task = None
        assert isinstance(result, ProbeResult)
        lines = [("✔ " if result.ok else "✘ ") + result.message]
        if result.ok and result.fim is not None:
            lines.append(("Inline completion: on. " if result.fim.enabled else "") + result.fim.reason)
        self.status.setText("\n".join(lines))
        self._update_buttons()

    def _probe_failed(self, message: str) -> None:
        self._probe_task = None
        self.status.setText("✘ " + message)
        self._update_buttons()

    def shutdown(self) -> None:
        self.tasks.shutdown()

    # -- results -------------------------------------------------------------------------
    def write(self, settings: Settings) -> None:
        settings.remote_engines = [r.to_dict() for r in self.remotes]
        settings.active_engine = str(self.active.currentData() or "")

    def apply_secrets(self) -> list[str]:
        changed: list[str] = []
        for remote in self.remotes:
            key = self.keys.get(remote.id, "")
            if key != self._saved_keys.get(remote.id, ""):
                save_api_key(remote, key or None, self.secrets)
                if remote.id == self.active.currentData():
                    changed.append("Remote engine API key")
        kept = {r.id for r in self.remotes}
        for gone in set(self._saved_keys) - kept:
            save_api_key(RemoteEngine("", "", id=gone), None, self.secrets)
        self._saved_keys = {r.id: self.keys.get(r.id, "") for r in self.remotes}
        return changed
