"""The Model menu's engine part: which engine chats (Local or a remote, as radio items),
and, while the local engine serves other tools, where it listens and its key.

It keeps itself current: the list follows the settings store (remote engines added,
removed or chosen elsewhere), the "Serving at" line follows the engine session, and a
choice goes to the session, which saves it and loads that engine."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication
from PySide6.QtWidgets import QMenu, QWidget

from app.config.remotes import remotes_from_settings
from app.config.ui.store import SettingsStore
from app.llm.targets import local_server_key
from app.llm.ui.session import EngineSession

LOCAL = ""  # active_engine for the local engine
MENU_FIELDS = frozenset({"remote_engines", "active_engine"})


class EngineMenu(QObject):
    def __init__(self, model_menu: QMenu, store: SettingsStore, engine: EngineSession, parent: QWidget) -> None:
        super().__init__(parent)
        self.settings = store.settings
        self.engine = engine
        self.menu = QMenu("&Engine", parent)
        self.menu.setObjectName("EngineMenu")
        model_menu.addMenu(self.menu)
        self.group = QActionGroup(self)
        self.serving_action = QAction("", parent)
        self.serving_action.setEnabled(False)  # a line of information, not a command
        self.copy_key_action = QAction("Copy Server API &Key", parent)
        self.copy_key_action.triggered.connect(self.copy_key)
        model_menu.addSeparator()
        model_menu.addAction(self.serving_action)
        model_menu.addAction(self.copy_key_action)
        self.rebuild()
        self.show_serving(None)
        store.changed.connect(self._on_settings_changed)
        engine.stateChanged.connect(lambda _state: self.show_serving(engine.local_server_url()))

    def rebuild(self) -> None:
        """List Local and the remotes from the settings again."""
        self.menu.clear()
        for action in self.group.actions():
            self.group.removeAction(action)
        choices = [(LOCAL, "&Local (this computer)")]
        choices += [
            (r.id, f"{r.name} — {r.model or r.base_url}") for r in remotes_from_settings(self.settings.remote_engines)
        ]
        if self.settings.active_engine not in {engine_id for engine_id, _ in choices}:
            choices.append((self.settings.active_engine, "(a removed engine)"))
        for engine_id, label in choices:
            action = self.menu.addAction(label.replace("&", "&&") if engine_id else label)
            action.setCheckable(True)
            action.setData(engine_id)
            action.setChecked(engine_id == self.settings.active_engine)
            action.triggered.connect(lambda _=False, e=engine_id: self.engine.choose_engine(e))
            self.group.addAction(action)
        if len(choices) == 1:
            hint = self.menu.addAction("Add remote engines in Settings… ▸ Remote engines")
            hint.setEnabled(False)

    def actions_by_id(self) -> dict[str, QAction]:
        return {str(a.data()): a for a in self.group.actions()}

    def show_serving(self, base_url: str | None) -> None:
        """The local engine's address for other tools while it serves them, else hidden."""
        serving = bool(base_url) and self.settings.local_server_enabled and not self.settings.active_engine
        self.serving_action.setText(f"Serving at {base_url}" if serving else "")
        self.serving_action.setVisible(serving)
        self.copy_key_action.setVisible(serving)

    def copy_key(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(local_server_key())

    def _on_settings_changed(self, names: frozenset[str]) -> None:
        if names & MENU_FIELDS:
            self.rebuild()
        if "local_server_enabled" in names:
            self.show_serving(self.engine.local_server_url())
