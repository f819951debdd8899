"""The main window's feature wiring: the model manager, Settings…, inline completion,
Apply and Fix This Error, the engine choice (local or remote) and the local server.

A mixin of MainWindow, so main_window.py stays about layout and the chat; every method
here only forwards intent between finished pieces."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.chat.ui.controller import EngineState
from app.chat.ui.fix_error import ask_error_text, fix_error_prompt
from app.completion.context import CompletionSupport
from app.config.settings import Settings
from app.config.validation import SettingsProblem
from app.llm.options import LoadOptions, load_options_for
from app.llm.targets import completion_client, remote_target

if TYPE_CHECKING:
    from app.llm.client import OpenAIClient
    from app.mainwindow.window import MainWindow
    from app.models.ui.manager import ModelManagerDialog
    from app.preferences.ui.dialog import SettingsChange

log = logging.getLogger(__name__)

MACHINE_TAB = "This machine"


def _edit_settings(*args: object, **kwargs: object) -> SettingsChange | None:
    # Imported on first use: the dialog pulls in the hub and download stack, which would
    # otherwise cost a third of a second before the window's first paint.
    from app.preferences.ui.dialog import edit_settings

    return edit_settings(*args, **kwargs)  # type: ignore[arg-type]


class WindowFeatures:
    """Methods of MainWindow (see main_window.py for the attributes they use)."""

    _model_manager: ModelManagerDialog | None
    _completion_info: dict[str, object] | None
    _completion_client: OpenAIClient | None
    ask_error_text: Callable[..., str | None]
    edit_settings: Callable[..., SettingsChange | None]

    def _init_features(self: MainWindow) -> None:
        self._model_manager = None
        self._completion_info, self._completion_client = None, None
        self.ask_error_text = ask_error_text  # replaceable in tests, like ask_model_path
        self.edit_settings = _edit_settings

    # -- the model manager ---------------------------------------------------------------
    @property
    def model_manager(self: MainWindow) -> ModelManagerDialog:
        """Made on first use (it probes the machine as it opens), then kept."""
        if self._model_manager is None:
            from app.models.ui.manager import ModelManagerDialog

            self._model_manager = ModelManagerDialog(self.settings, self)
            self._model_manager.modelChosen.connect(self._on_model_chosen)
            self._model_manager.modelRemoved.connect(self._on_model_removed)
        return self._model_manager

    def show_model_manager(self: MainWindow, tab: str | None = None) -> None:
        dialog = self.model_manager
        if tab is not None:
            for index in range(dialog.tabs.count()):
                if dialog.tabs.tabText(index) == tab:
                    dialog.tabs.setCurrentIndex(index)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _on_model_chosen(self: MainWindow, purpose: str, path: str) -> None:
        if purpose == "completion":
            self.settings.completion_model_path = path
            self._save_settings()
            self.completion.engine_changed()
            self.status.showMessage(
                f"Completion model set to {os.path.basename(path)}; inline completion uses the loaded engine", 10_000
            )
            return
        if self.settings.active_engine:  # a local model chosen: chat locally again
            self.settings.active_engine = ""
            self.engine_menu.rebuild()
        self.load_model(path)

    def _on_model_removed(self: MainWindow, path: str) -> None:
        options = self.controller.options
        if isinstance(options, LoadOptions) and options.model_path == path:
            self.controller.unload()

    # -- settings ------------------------------------------------------------------------------
    def open_settings(self: MainWindow) -> None:
        change = self.edit_settings(self, self.settings, local_server_url=self.local_server_url())
        if change is not None:
            self.apply_settings_change(change)

    def apply_settings_change(self: MainWindow, change: SettingsChange) -> None:
        """The dialog saved new settings: take them into the one Settings object everyone
        shares, apply the look at once, and restart the engine where a change needs it."""
        for f in dataclasses.fields(Settings):
            setattr(self.settings, f.name, getattr(change.settings, f.name))
        self.apply_theme(self.settings.theme)
        self.tabs.set_editor_font(self.settings.editor_font_family, self.settings.editor_font_size)
        self.completion.set_enabled(self.settings.completion_enabled)
        self.engine_menu.rebuild()
        if change.restart:
            self.status.showMessage("Restarting the engine for: " + ", ".join(change.restart), 10_000)
            self.reload_engine()

    def show_settings_problems(self: MainWindow, problems: list[SettingsProblem]) -> None:
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            self.status.showMessage(
                f"Settings: {problems[0].message}; the default is used{more}. Edit ▸ Settings… to check.", 30_000
            )

    # -- the engine: local or remote -------------------------------------------------------------
    def reload_engine(self: MainWindow) -> None:
        """Start (or connect to) the engine the settings choose now."""
        target = remote_target(self.settings)
        if target is not None:
            self.controller.load(target)
        elif self.settings.active_engine:
            self.controller.unload()
            self.status.showMessage(
                "The chosen remote engine is gone from the settings; choose another in Model ▸ Engine", 15_000
            )
        elif self.settings.chat_model_path:
            self.controller.load(load_options_for(self.settings))
        else:
            self.controller.unload()

    def choose_engine(self: MainWindow, engine_id: str) -> None:
        """Model ▸ Engine: chat with the local engine ("") or a remote one; saved."""
        if engine_id == self.settings.active_engine:
            return
        self.settings.active_engine = engine_id
        self._save_settings()
        self.engine_menu.rebuild()
        self.reload_engine()

    def local_server_url(self: MainWindow) -> str | None:
        info = self.controller.info
        if self.settings.local_server_enabled and not info.get("remote") and info.get("base_url"):
            return str(info["base_url"])
        return None

    # -- inline completion -----------------------------------------------------------------------
    def completion_client(self: MainWindow) -> OpenAIClient | None:
        """A client of its own on the loaded engine; None while the chat streams (the engine
        serves one request at a time) or while no engine is ready."""
        c = self.controller
        if c.state is not EngineState.READY or c.is_busy():
            return None
        if self._completion_info is not c.info:
            if self._completion_client is not None:
                self._completion_client.close()
            self._completion_info, self._completion_client = c.info, completion_client(c.info)
        return self._completion_client

    def _on_engine_changed_for_completion(self: MainWindow, _state: str = "") -> None:
        self.completion.engine_changed()
        info = self.controller.info
        if self.controller.state is EngineState.READY and info.get("fim_mode") == "off":
            # A remote that takes no FIM: say why, not "no model".
            self.completion.support = CompletionSupport(False, reason=str(info.get("fim_reason") or ""))
            self.completion._refresh_indicator()

    def _on_busy_for_completion(self: MainWindow, busy: bool) -> None:
        if not busy and self.controller.state is EngineState.READY:
            self.completion.engine_changed()  # completion was paused for the answer

    # -- Apply and Fix This Error ----------------------------------------------------------------
    def apply_code(self: MainWindow, code: str) -> None:
        from app.chat.ui.apply_dialog import apply_code_block

        editor = self.tabs.current_editor()
        if editor is None:
            self.status.showMessage("Open the file to apply the code to first", 10_000)
            return
        apply_code_block(editor, code, self)

    def fix_error(self: MainWindow) -> None:
        text = self.ask_error_text(self)
        if not text:
            return
        project_dir = self.file_tree.root() or self.settings.last_folder or None
        fix = fix_error_prompt(text, self.tabs.editors(), project_dir)
        self.chat.input.cancel_edit()
        self.controller.send(fix.prompt)

    # -- quitting ----------------------------------------------------------------------------
    def _shutdown_features(self: MainWindow) -> None:
        self.completion.shutdown()
        if self._completion_client is not None:
            self._completion_client.close()
        if self._model_manager is not None:
            self._model_manager.shutdown()
        self.conversations.close()
        self.store.close()
