"""The window's menu bar: File, Edit, View, Run, Model (with the engine menu) and Help.

`WindowMenus` builds the menus from the parts the window composed and keeps the actions
whose state follows the engine (Restart, Cancel Loading, Unload). Each action forwards
to its owner: the editor tabs' actions, the engine session, the launchers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow

from app import APP_NAME
from app.config.settings import THEME_CHOICES
from app.config.ui.store import SettingsStore
from app.editor.ui.file_tree import FileTree
from app.editor.ui.recent_menu import RecentFilesMenu
from app.editor.ui.tabs import EditorTabs
from app.llm.info import EngineState
from app.llm.ui.session import EngineSession
from app.mainwindow.engine_menu import EngineMenu
from app.mainwindow.launchers import CodeActions, ModelManagerLauncher, SettingsEditor
from app.run.ui.dock import RunDock


@dataclass(frozen=True)
class WindowCommands:
    """What the window itself does, for the menus to call."""

    open_model_file: Callable[[], None]
    restart_engine: Callable[[], None]  # the chat's: it asks for a model file when there is nothing to load
    apply_theme: Callable[[str], None]
    show_about: Callable[[], None]
    open_log_folder: Callable[[], None]


class WindowMenus:
    def __init__(
        self,
        window: QMainWindow,
        *,
        tabs: EditorTabs,
        file_tree: FileTree,
        sidebar_dock: QDockWidget,
        run: RunDock,
        store: SettingsStore,
        engine: EngineSession,
        models: ModelManagerLauncher,
        settings_editor: SettingsEditor,
        code_actions: CodeActions,
        undo_change: QAction,
        commands: WindowCommands,
    ) -> None:
        self._window = window
        self._engine = engine
        self._editor = tabs.editor_actions
        self._build_file_menu(tabs, file_tree)
        self._build_edit_menu(code_actions, settings_editor, undo_change)
        self._build_view_menu(sidebar_dock, commands)
        self._build_run_menu(run)
        self._build_model_menu(store, engine, models, commands)
        self._build_help_menu(commands)

    def _build_file_menu(self, tabs: EditorTabs, file_tree: FileTree) -> None:
        editor, window = self._editor, self._window
        menu = window.menuBar().addMenu("&File")
        menu.addAction(editor["new"])
        menu.addAction(editor["open"])
        self.open_folder = self._action("Open &Folder…", file_tree.choose_folder, "Ctrl+Shift+O")
        menu.addAction(self.open_folder)
        self.recent_menu = RecentFilesMenu(tabs, window)
        menu.addMenu(self.recent_menu)
        menu.addSeparator()
        menu.addAction(editor["save"])
        menu.addAction(editor["save_as"])
        menu.addSeparator()
        menu.addAction(editor["close"])
        menu.addSeparator()
        quit_action = self._action("&Quit", window.close, QKeySequence.StandardKey.Quit)
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        menu.addAction(quit_action)

    def _build_edit_menu(
        self, code_actions: CodeActions, settings_editor: SettingsEditor, undo_change: QAction
    ) -> None:
        menu = self._window.menuBar().addMenu("&Edit")
        menu.addAction(undo_change)  # an accepted Edit Files change, all its files at once
        menu.addSeparator()
        for name in ("find", "replace", "find_next", "find_previous"):
            menu.addAction(self._editor[name])
        menu.addSeparator()
        menu.addAction(self._editor["go_to_line"])
        menu.addAction(self._editor["toggle_comment"])
        menu.addSeparator()
        self.fix_error = self._action("Fix This &Error…", code_actions.fix_error, "Ctrl+Shift+E")
        menu.addAction(self.fix_error)
        menu.addSeparator()
        self.settings = self._action("&Settings…", settings_editor.open, "Ctrl+,")
        self.settings.setMenuRole(QAction.MenuRole.PreferencesRole)
        menu.addAction(self.settings)

    def _build_view_menu(self, sidebar_dock: QDockWidget, commands: WindowCommands) -> None:
        menu = self._window.menuBar().addMenu("&View")
        self.sidebar = sidebar_dock.toggleViewAction()
        self.sidebar.setText("&Conversations")
        self.sidebar.setShortcut(QKeySequence("Ctrl+Shift+H"))
        menu.addAction(self.sidebar)
        menu.addSeparator()
        theme_menu = menu.addMenu("&Theme")
        self.themes = QActionGroup(self._window)
        for choice, label in THEME_CHOICES:
            action = theme_menu.addAction("&" + label)
            action.setCheckable(True)
            action.setData(choice)
            action.triggered.connect(lambda _=False, c=choice: commands.apply_theme(c))
            self.themes.addAction(action)
        menu.addSeparator()
        for name in ("zoom_in", "zoom_out", "zoom_reset"):
            menu.addAction(self._editor[name])

    def _build_run_menu(self, run: RunDock) -> None:
        menu = self._window.menuBar().addMenu("&Run")
        self.run_file = self._action("Run &File", run.run_file, "F5")
        self.run_tests = self._action("Run &Tests", run.run_tests, "Ctrl+F5")
        self.stop_run = self._action("&Stop", run.stop, "Shift+F5")
        for action in (self.run_file, self.run_tests, self.stop_run):
            menu.addAction(action)
        menu.addSeparator()
        self.run_panel = run.dock_widget.toggleViewAction()
        self.run_panel.setText("Run &Panel")
        self.run_panel.setShortcut(QKeySequence("Ctrl+J"))
        menu.addAction(self.run_panel)

    def _build_model_menu(
        self, store: SettingsStore, engine: EngineSession, models: ModelManagerLauncher, commands: WindowCommands
    ) -> None:
        menu = self._window.menuBar().addMenu("&Model")
        self.model_manager = self._action("Model &Manager…", models.show, "Ctrl+M")
        menu.addAction(self.model_manager)
        self.open_model = self._action("&Open Model File…", commands.open_model_file)
        self.restart = self._action("&Restart Engine", commands.restart_engine)
        self.cancel_load = self._action("&Cancel Loading", engine.cancel_load)
        self.unload = self._action("&Unload", engine.unload)
        for action in (self.open_model, self.restart, self.cancel_load, self.unload):
            menu.addAction(action)
        menu.addSeparator()
        self.engine_menu = EngineMenu(menu, store, engine, self._window)

    def _build_help_menu(self, commands: WindowCommands) -> None:
        menu = self._window.menuBar().addMenu("&Help")
        about = self._action(f"&About {APP_NAME}", commands.show_about)
        about.setMenuRole(QAction.MenuRole.AboutRole)
        menu.addAction(about)
        self.open_log_folder = self._action("Open &Log Folder", commands.open_log_folder)
        menu.addAction(self.open_log_folder)

    def show_engine_state(self, state: EngineState) -> None:
        """Restart needs something to load; Cancel a load in progress; Unload an engine."""
        self.restart.setEnabled(self._engine.has_model() and state is not EngineState.LOADING)
        self.cancel_load.setEnabled(state is EngineState.LOADING)
        self.unload.setEnabled(state in (EngineState.READY, EngineState.DEAD, EngineState.LOADING))

    def show_theme(self, choice: str) -> None:
        for action in self.themes.actions():
            action.setChecked(action.data() == choice)

    def _action(
        self, text: str, slot: Callable[[], object], shortcut: str | QKeySequence.StandardKey | None = None
    ) -> QAction:
        action = QAction(text, self._window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _=False: slot())
        return action
