"""The main window: file tree | editor tabs | chat, menus, and the engine's status bar.

The window wires widgets to the chat controller and the editor; it decides nothing
about conversations or engines itself. Window geometry and the splitter's sizes live
in a QSettings file next to settings.json, so tests (DSCODER_HOME) stay isolated.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QGuiApplication, QKeySequence, QPaintEvent
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMessageBox, QSplitter, QVBoxLayout, QWidget

from app import APP_NAME, __version__
from app.chat.ui import ChatPanel
from app.chat.ui.controller import ChatController, EngineState
from app.chat.ui.warmup import start_highlighting_warmup
from app.completion.ui.service import CompletionService
from app.config.settings import Settings, load_settings, save_settings
from app.config.validation import sanitized
from app.conversations.store import ConversationStore
from app.conversations.ui.binding import ConversationBinding
from app.conversations.ui.sidebar import ConversationSidebar
from app.editor.ui.file_tree import FileTree
from app.editor.ui.recent_menu import RecentFilesMenu
from app.editor.ui.tabs import EditorTabs, SaveChoice
from app.llm.options import load_options_for
from app.llm.targets import supervisor_factory
from app.llm.ui.worker import EngineWorker, engine_log_path
from app.mainwindow.engine_menu import EngineMenu
from app.mainwindow.features import MACHINE_TAB, WindowFeatures
from app.mainwindow.parts import NoModelBanner, TabsEditorAccess
from app.mainwindow.status_bar import EngineStatusBar
from app.mainwindow.theme import THEME_CHOICES, apply_application_palette, effective_theme
from app.models.gpu_layers import resolve_auto_gpu_layers
from app.utils import paths

log = logging.getLogger(__name__)

WINDOW_STATE_FILE = "window.ini"


class MainWindow(WindowFeatures, QMainWindow):
    firstPainted = Signal()  # the first frame is on screen: time for work that can wait

    def __init__(
        self,
        settings: Settings | None = None,
        worker: EngineWorker | None = None,
        parent: QWidget | None = None,
        store: ConversationStore | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else sanitized(load_settings())[0]
        self._init_features()
        self.setWindowTitle(f"[*]{APP_NAME}")
        self.ask_model_path: Callable[[], str | None] = self._model_dialog  # replaceable in tests
        self.theme_name = effective_theme(self.settings.theme)
        apply_application_palette(self.theme_name)  # before the widgets: they start in the right colours

        self.tabs = EditorTabs(self.settings, theme_name=self.theme_name)
        self.file_tree = FileTree(self.tabs)
        self.file_tree.hide()
        self.chat = ChatPanel()
        self.no_model_banner = NoModelBanner()
        chat_side = QWidget()
        chat_layout = QVBoxLayout(chat_side)
        chat_layout.setContentsMargins(0, 0, 0, 0)
        chat_layout.setSpacing(0)
        chat_layout.addWidget(self.no_model_banner)
        chat_layout.addWidget(self.chat, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("MainSplitter")
        self.splitter.setChildrenCollapsible(False)
        for widget, stretch in ((self.file_tree, 0), (self.tabs, 3), (chat_side, 2)):
            self.splitter.addWidget(widget)
            self.splitter.setStretchFactor(self.splitter.indexOf(widget), stretch)
        self.splitter.setSizes([0, 760, 520])
        self.setCentralWidget(self.splitter)
        self.status = EngineStatusBar()
        self.setStatusBar(self.status)

        self.store = store or ConversationStore()
        self.sidebar = ConversationSidebar(self.store)
        self.sidebar_dock = QDockWidget("Conversations", self)
        self.sidebar_dock.setObjectName("ConversationsDock")  # saveState() keys docks by name
        self.sidebar_dock.setWidget(self.sidebar)
        self.sidebar_dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable | QDockWidget.DockWidgetFeature.DockWidgetMovable
        )
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.sidebar_dock)
        self.sidebar_dock.hide()

        worker = worker or EngineWorker.on_new_thread(
            supervisor_factory(self.settings, engine_log_path, resolve_auto_gpu_layers)
        )
        self.controller = ChatController(self.chat, TabsEditorAccess(self.tabs), self.settings, worker, self)
        self.conversations = ConversationBinding(self.store, self.controller, self.sidebar, self.settings, self)
        self.completion = CompletionService(client_provider=self.completion_client, settings=self.settings, parent=self)
        self.status.addPermanentWidget(self.completion.indicator)
        self._build_menus()
        self._sidebar_shown_once = False
        self._connect()
        self._shut_down = False
        self.apply_theme(self.settings.theme)
        self._restore_window_state()
        self._on_engine_state(self.controller.state.value)
        self.tabs.new_file()
        self.completion.watch_tabs(self.tabs)
        self.conversations.open_last()
        if self.store.recovered_from is not None:
            self.status.showMessage(
                f"The conversation history could not be read; it was moved to "
                f"{self.store.recovered_from} and a new one started",
                30_000,
            )
        self._painted = False
        self.firstPainted.connect(start_highlighting_warmup)

    # -- public ------------------------------------------------------------------------------
    def open_files(self, files: list[str]) -> None:
        """Open files from the command line (folders open in the file tree)."""
        for path in files:
            if os.path.isdir(path):
                self.file_tree.set_root(path)
            elif os.path.exists(path):
                self.tabs.open_path(path)
            else:  # a message, not a modal dialog before the window is even shown
                self.status.showMessage(f"There is no file at {os.path.abspath(path)}", 10_000)

    def open_model_file(self) -> None:
        path = self.ask_model_path()
        if path:
            self.load_model(path)

    def load_model(self, path: str) -> None:
        """Remember `path` as the chat model and load it in the background."""
        self.settings.chat_model_path = path
        self._save_settings()
        self.controller.load(load_options_for(self.settings, path))

    def load_model_from_settings(self) -> bool:
        """At start: the chosen remote engine, or the chat model; False when there is neither."""
        if not self.settings.active_engine and not self.settings.chat_model_path:
            return False
        self.reload_engine()
        return True

    def apply_theme(self, choice: str) -> None:
        """ "system", "light" or "dark"; the choice is saved, system follows the desktop."""
        if choice not in THEME_CHOICES:
            choice = "system"
        if choice != self.settings.theme:
            self.settings.theme = choice
            self._save_settings()
        self.theme_name = effective_theme(choice)
        apply_application_palette(self.theme_name)
        self.status.refresh_style()
        self.tabs.set_theme(self.theme_name)
        self.chat.set_theme(self.theme_name)
        self.no_model_banner.apply_theme(self.theme_name)
        self.sidebar.list.viewport().update()
        for action in self._theme_actions.actions():
            action.setChecked(action.data() == choice)

    # -- building ------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        editor = self.tabs.menu_actions
        bar = self.menuBar()

        file_menu = bar.addMenu("&File")
        file_menu.addAction(editor["new"])
        file_menu.addAction(editor["open"])
        self.open_folder_action = self._action("Open &Folder…", self.file_tree.choose_folder, "Ctrl+Shift+O")
        file_menu.addAction(self.open_folder_action)
        self.recent_menu = RecentFilesMenu(self.tabs, self)
        file_menu.addMenu(self.recent_menu)
        file_menu.addSeparator()
        file_menu.addAction(editor["save"])
        file_menu.addAction(editor["save_as"])
        file_menu.addSeparator()
        file_menu.addAction(editor["close"])
        file_menu.addSeparator()
        quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        file_menu.addAction(quit_action)

        edit_menu = bar.addMenu("&Edit")
        for name in ("find", "replace", "find_next", "find_previous"):
            edit_menu.addAction(editor[name])
        edit_menu.addSeparator()
        edit_menu.addAction(editor["go_to_line"])
        edit_menu.addAction(editor["toggle_comment"])
        edit_menu.addSeparator()
        self.fix_error_action = self._action("Fix This &Error…", self.fix_error, "Ctrl+Shift+E")
        edit_menu.addAction(self.fix_error_action)
        edit_menu.addSeparator()
        self.settings_action = self._action("&Settings…", self.open_settings, "Ctrl+,")
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        edit_menu.addAction(self.settings_action)

        view_menu = bar.addMenu("&View")
        self.sidebar_action = self.sidebar_dock.toggleViewAction()
        self.sidebar_action.setText("&Conversations")
        self.sidebar_action.setShortcut(QKeySequence("Ctrl+Shift+H"))
        view_menu.addAction(self.sidebar_action)
        view_menu.addSeparator()
        theme_menu = view_menu.addMenu("&Theme")
        self._theme_actions = QActionGroup(self)
        for choice, label in (("system", "&System"), ("light", "&Light"), ("dark", "&Dark")):
            action = theme_menu.addAction(label)
            action.setCheckable(True)
            action.setData(choice)
            action.triggered.connect(lambda _=False, c=choice: self.apply_theme(c))
            self._theme_actions.addAction(action)
        view_menu.addSeparator()
        for name in ("zoom_in", "zoom_out", "zoom_reset"):
            view_menu.addAction(editor[name])

        model_menu = bar.addMenu("&Model")
        self.model_manager_action = self._action("Model &Manager…", self.show_model_manager, "Ctrl+M")
        model_menu.addAction(self.model_manager_action)
        self.open_model_action = self._action("&Open Model File…", self.open_model_file)
        self.restart_action = self._action("&Restart Engine", self.controller.restart_engine)
        self.cancel_load_action = self._action("&Cancel Loading", self.controller.cancel_load)
        self.unload_action = self._action("&Unload", self.controller.unload)
        for action in (self.open_model_action, self.restart_action, self.cancel_load_action, self.unload_action):
            model_menu.addAction(action)
        model_menu.addSeparator()
        self.engine_menu = EngineMenu(model_menu, self.settings, self)

        help_menu = bar.addMenu("&Help")
        about = self._action(f"&About {APP_NAME}", self._show_about)
        about.setMenuRole(QAction.MenuRole.AboutRole)
        help_menu.addAction(about)

    def _action(
        self, text: str, slot: Callable[[], object], shortcut: str | QKeySequence.StandardKey | None = None
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _=False: slot())
        return action

    def _connect(self) -> None:
        tabs, c, status = self.tabs, self.controller, self.status
        tabs.currentEditorChanged.connect(lambda _editor: self._on_current_file())
        tabs.currentFileChanged.connect(lambda _path: self._on_current_file())
        tabs.modificationChanged.connect(self.setWindowModified)
        tabs.cursorPositionChanged.connect(status.set_cursor)
        tabs.askAboutSelection.connect(c.ask_about_selection)
        self.file_tree.rootChanged.connect(lambda _root: self._show_file_tree())
        self.no_model_banner.open_button.clicked.connect(self.open_model_file)
        self.no_model_banner.download_button.clicked.connect(lambda: self.show_model_manager(MACHINE_TAB))
        self.engine_menu.engineChosen.connect(self.choose_engine)
        c.engineStateChanged.connect(self._on_engine_changed_for_completion)
        c.busyChanged.connect(self._on_busy_for_completion)
        c.modelLoaded.connect(lambda info: self.engine_menu.show_serving(self.local_server_url()))
        c.engineStateChanged.connect(lambda _s: self.engine_menu.show_serving(self.local_server_url()))
        self.conversations.conversationChanged.connect(lambda _cid: self._show_sidebar_once())
        apply_requested = getattr(self.chat, "applyRequested", None)
        if apply_requested is not None:
            apply_requested.connect(self.apply_code)
        status.cancelLoadRequested.connect(c.cancel_load)
        c.openModelRequested.connect(self.open_model_file)
        c.engineStateChanged.connect(self._on_engine_state)
        c.modelLoading.connect(status.show_loading)
        c.modelLoaded.connect(status.show_model)
        c.contextUsageChanged.connect(status.set_context)
        c.answerFinished.connect(lambda stats: status.set_speed(stats.tokens_per_s))
        hints = QGuiApplication.styleHints()
        if hints is not None:
            hints.colorSchemeChanged.connect(self._on_system_scheme_changed)

    # -- reactions -----------------------------------------------------------------------------
    def _on_current_file(self) -> None:
        editor = self.tabs.current_editor()
        name = self.tabs.display_name(editor) if editor is not None else None
        self.chat.input.set_current_file_name(name)
        self.setWindowTitle(f"{name}[*] — {APP_NAME}" if name else f"[*]{APP_NAME}")
        self.setWindowModified(editor is not None and editor.is_modified())

    def _on_engine_state(self, value: str) -> None:
        state = EngineState(value)
        has_model = self.controller.options is not None or bool(self.settings.chat_model_path)
        self.no_model_banner.setVisible(state is EngineState.NONE and self.controller.options is None)
        self.restart_action.setEnabled(has_model and state is not EngineState.LOADING)
        self.cancel_load_action.setEnabled(state is EngineState.LOADING)
        self.unload_action.setEnabled(state in (EngineState.READY, EngineState.DEAD, EngineState.LOADING))
        if state is EngineState.NONE:
            self.status.show_no_model()
            self.chat.view.set_empty_hint(
                "No model is loaded yet.\nOpen a model file, or download one in Model ▸ Model Manager…"
                if not has_model
                else "No model is loaded. Model ▸ Restart Engine loads it again."
            )
        elif state is EngineState.READY:
            self.chat.view.set_empty_hint("Ask about your code.\nCtrl+Enter sends, Esc stops the answer.")
        elif state is EngineState.FAILED:
            self.status.show_problem("The model failed to load")
        elif state is EngineState.DEAD:
            self.status.show_problem("The engine stopped")
        elif state is EngineState.LOADING:
            self.chat.view.set_empty_hint("Loading the model…\nYou can type your question meanwhile.")

    def _show_sidebar_once(self) -> None:
        """The history appears with the first saved conversation (the View menu hides it again)."""
        if not self._sidebar_shown_once and self.conversations.current_id is not None:
            self._sidebar_shown_once = True
            self.sidebar_dock.show()

    def _show_file_tree(self) -> None:
        if not self.file_tree.isHidden():
            return
        self.file_tree.show()
        if not self._splitter_restored:
            width = max(self.width(), 900)
            tree = min(240, width // 6)
            chat = int(width * 0.38)
            self.splitter.setSizes([tree, width - tree - chat, chat])

    def _on_system_scheme_changed(self, _scheme: object) -> None:
        if self.settings.theme == "system":
            self.apply_theme("system")

    # -- dialogs -------------------------------------------------------------------------------
    def _model_dialog(self) -> str | None:
        start = os.path.dirname(self.settings.chat_model_path) or str(self.settings.resolved_models_dir())
        path, _ = QFileDialog.getOpenFileName(self, "Open Model File", start, "GGUF models (*.gguf);;All files (*)")
        return path or None

    def _show_about(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<h3>{APP_NAME} {__version__}</h3>"
            "<p>A code editor with a chat that runs DeepSeek-Coder on this computer, "
            "through llama.cpp, with no network needed.</p>"
            f"<p>Settings and logs: <code>{paths.config_dir()}</code></p>",
        )

    # -- window state and closing --------------------------------------------------------------
    def _window_state(self) -> QSettings:
        return QSettings(str(paths.config_dir() / WINDOW_STATE_FILE), QSettings.Format.IniFormat)

    def _restore_window_state(self) -> None:
        stored = self._window_state()
        geometry = stored.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        state = stored.value("state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
            self._sidebar_shown_once = True  # the user's own layout: the sidebar as they left it
        splitter = stored.value("splitter")
        self._splitter_restored = isinstance(splitter, QByteArray) and self.splitter.restoreState(splitter)
        if self.settings.last_folder and os.path.isdir(self.settings.last_folder):
            self.file_tree.set_root(self.settings.last_folder)

    def _save_window_state(self) -> None:
        stored = self._window_state()
        stored.setValue("geometry", self.saveGeometry())
        stored.setValue("state", self.saveState())
        stored.setValue("splitter", self.splitter.saveState())
        stored.sync()

    def _save_settings(self) -> None:
        try:
            save_settings(self.settings)
        except OSError as exc:
            log.warning("could not save settings: %s", exc)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            QTimer.singleShot(0, self.firstPainted.emit)  # once this frame is finished

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._shut_down:
            for editor in self.tabs.editors():
                if not editor.is_modified():
                    continue
                self.tabs.setCurrentWidget(editor)
                choice = self.tabs.ask_unsaved(editor)
                if choice is SaveChoice.CANCEL or (choice is SaveChoice.SAVE and not self.tabs.save(editor)):
                    event.ignore()
                    return
            self._save_window_state()
            self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop the answer and the engine (idempotent; closing the window calls it)."""
        if not self._shut_down:
            self._shut_down = True
            self.controller.shutdown()
            self._shutdown_features()
