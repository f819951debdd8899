"""Small owners the window composes, each forwarding one kind of intent between finished pieces:

- `ModelManagerLauncher`: the model manager, made on first use; its choice loads through
  the engine session, its settings changes are saved through the settings store.
- `SettingsEditor`: Edit ▸ Settings…; the dialog's outcome goes into the settings store,
  whose `changed` signal lets each part react (theme, fonts, completion, engine menu), and
  the engine session restarts once for everything that needs it.
- `CodeActions`: a chat code block's Apply, Edit ▸ Fix This Error, and the Run panel's Fix with AI.

The dialogs they show are attributes holding callables, replaceable in tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QStatusBar, QWidget

from app.chat.ui.controller import ChatController
from app.chat.ui.fix_error import ask_error_text, fix_error_prompt
from app.config.settings import Settings
from app.config.ui.store import SettingsStore
from app.editor.ui.file_tree import FileTree
from app.editor.ui.tabs import EditorTabs
from app.llm.ui.session import EngineSession

if TYPE_CHECKING:
    from app.models.ui.manager import ModelManagerDialog
    from app.preferences.ui.dialog import SettingsChange

MACHINE_TAB = "This machine"
STATUS_MS = 10_000


class ModelManagerLauncher(QObject):
    """Owns the model manager dialog: made on first use (it probes the machine as it opens), then kept."""

    def __init__(self, store: SettingsStore, engine: EngineSession, status: QStatusBar, parent: QWidget) -> None:
        super().__init__(parent)
        self._store = store
        self._engine = engine
        self._status = status
        self._parent = parent
        self._dialog: ModelManagerDialog | None = None

    @property
    def dialog(self) -> ModelManagerDialog:
        if self._dialog is None:
            from app.models.ui.manager import ModelManagerDialog  # the hub and download stack: on first use

            self._dialog = ModelManagerDialog(self._store.settings, self._parent, save=self._save)
            self._dialog.modelChosen.connect(self._on_model_chosen)
            self._dialog.modelRemoved.connect(self._engine.forget_model)
        return self._dialog

    def show(self, tab: str | None = None) -> None:
        dialog = self.dialog
        if tab is not None:
            for index in range(dialog.tabs.count()):
                if dialog.tabs.tabText(index) == tab:
                    dialog.tabs.setCurrentIndex(index)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def shutdown(self) -> None:
        if self._dialog is not None:
            self._dialog.shutdown()

    def _save(self, _settings: Settings) -> None:
        self._store.save()  # the dialog changed the shared Settings itself; raises OSError for it to show

    def _on_model_chosen(self, purpose: str, path: str) -> None:
        if purpose == "completion":
            self._store.update(completion_model_path=path)  # completion reacts to the change
            self._status.showMessage(
                f"Completion model set to {os.path.basename(path)}; inline completion uses the loaded engine",
                STATUS_MS,
            )
        else:
            self._engine.load_model(path)  # a local model chosen: chat locally again


def _edit_settings(parent: QWidget, settings: Settings, **options: object) -> SettingsChange | None:
    # Imported on first use: the dialog pulls in the hub and download stack, which would
    # otherwise cost a third of a second before the window's first paint.
    from app.preferences.ui.dialog import edit_settings

    return edit_settings(parent, settings, **options)


class SettingsEditor(QObject):
    """Edit ▸ Settings…: shows the dialog and hands its outcome to the store and the engine."""

    def __init__(self, store: SettingsStore, engine: EngineSession, parent: QWidget) -> None:
        super().__init__(parent)
        self._store = store
        self._engine = engine
        self._parent = parent
        self.edit: Callable[..., SettingsChange | None] = _edit_settings  # replaceable in tests

    def open(self) -> None:
        change = self.edit(self._parent, self._store.settings, local_server_url=self._engine.local_server_url())
        if change is not None:
            self.apply(change)

    def apply(self, change: SettingsChange) -> None:
        """Take the new settings in; the engine restarts once, for all the reasons together
        (the dialog's, which include API keys the settings file does not hold)."""
        with self._engine.restart_once():
            self._store.replace(change.settings)
            self._engine.request_restart(change.restart)


class CodeActions(QObject):
    """Apply (a chat code block into the current file) and Fix This Error (a traceback into a prompt)."""

    def __init__(
        self,
        tabs: EditorTabs,
        file_tree: FileTree,
        controller: ChatController,
        status: QStatusBar,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._tabs = tabs
        self._file_tree = file_tree
        self._controller = controller
        self._status = status
        self._parent = parent
        self.ask_error_text: Callable[[QWidget], str | None] = ask_error_text  # replaceable in tests

    def apply_code(self, code: str) -> None:
        from app.chat.ui.apply_dialog import apply_code_block

        editor = self._tabs.current_editor()
        if editor is None:
            self._status.showMessage("Open the file to apply the code to first", STATUS_MS)
            return
        apply_code_block(editor, code, self._parent)

    def project_folder(self) -> str | None:
        return self._file_tree.root() or self._tabs.settings.last_folder or None

    def fix_error(self) -> None:
        text = self.ask_error_text(self._parent)
        if text:
            self.fix_output(text, self.project_folder())

    def fix_output(self, text: str, folder: str | None) -> None:
        """A pasted error or a failed run's output, with the code it points to, to the chat."""
        fix = fix_error_prompt(text, self._tabs.editors(), folder)
        self._controller.ask(fix.prompt)
