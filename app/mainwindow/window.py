"""The main window: file tree | editor tabs | chat, the menus, and the engine's status bar.

The window is layout and menus. It composes the owners and decides nothing itself:
- `SettingsStore` (settings_store): the one Settings object, saved and announced on change;
- `EngineSession` (engine): the engine's state, info, loading and the local server;
- `ChatController` (controller): the conversation; `ConversationBinding`: its storage;
- `QuestionAttachments` (question_attachments): what the next question carries (the chips), from the tabs
  and `ProjectMapService` (project_map), the opened folder's map, built in the background;
- `CompletionService` (completion): inline completion, following the engine and settings;
- `ModelManagerLauncher`, `SettingsEditor`, `CodeActions` (launchers.py): the dialogs' glue.
Window geometry and the splitter's sizes live in a QSettings file next to settings.json,
so tests (DSCODER_HOME) stay isolated.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices, QGuiApplication, QPaintEvent
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMessageBox, QSplitter, QVBoxLayout, QWidget

from app import APP_NAME, __version__
from app.chat.ui import ChatPanel
from app.chat.ui.controller import ChatController
from app.chat.ui.prefill import IdlePrefill
from app.chat.ui.question_attachments import QuestionAttachments
from app.chat.ui.warmup import HighlightingWarmup
from app.completion.ui.service import CompletionService
from app.config.settings import THEME_CHOICES, Settings, load_settings
from app.config.ui.store import SettingsStore
from app.config.validation import SettingsProblem, sanitized
from app.conversations.store import ConversationStore
from app.conversations.ui.binding import ConversationBinding
from app.conversations.ui.sidebar import ConversationSidebar
from app.editor.ui.file_tree import FileTree
from app.editor.ui.tabs import EditorTabs, SaveChoice
from app.llm.info import EngineState
from app.llm.ui.session import EngineSession
from app.llm.ui.worker import EngineWorker
from app.mainwindow.edit_files import EditFiles
from app.mainwindow.launchers import MACHINE_TAB, CodeActions, ModelManagerLauncher, SettingsEditor
from app.mainwindow.measurements import LoadMeasurements
from app.mainwindow.menus import WindowCommands, WindowMenus
from app.mainwindow.parts import NoModelBanner, TabsEditorAccess
from app.mainwindow.serving import ServingMonitor
from app.mainwindow.status_bar import EngineStatusBar
from app.mainwindow.theme import apply_application_palette, effective_theme
from app.project.ui.service import ProjectMapService
from app.protocol.options import LoadOptions
from app.run.ui.dock import RunDock
from app.utils import paths

log = logging.getLogger(__name__)

WINDOW_STATE_FILE = "window.ini"
MESSAGE_MS = 15_000

NO_MODEL_HINT = "No model is loaded yet.\nOpen a model file, or download one in Model ▸ Model Manager…"
UNLOADED_HINT = "No model is loaded. Model ▸ Restart Engine loads it again."
READY_HINT = "Ask about your code.\nCtrl+Enter sends, Esc stops the answer."
LOADING_HINT = "Loading the model…\nYou can type your question meanwhile."


class MainWindow(QMainWindow):
    firstPainted = Signal()  # the first frame is on screen: time for work that can wait

    def __init__(
        self,
        settings: Settings | None = None,
        worker: EngineWorker | None = None,
        parent: QWidget | None = None,
        store: ConversationStore | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings_store = SettingsStore(settings if settings is not None else sanitized(load_settings())[0])
        self.settings = self.settings_store.settings
        self.setWindowTitle(f"[*]{APP_NAME}")
        self.ask_model_path: Callable[[], str | None] = self._model_dialog  # replaceable in tests
        self.open_url: Callable[[QUrl], object] = QDesktopServices.openUrl  # replaceable in tests
        self.theme_name = effective_theme(self.settings.theme)
        apply_application_palette(self.theme_name)  # before the widgets: they start in the right colours
        self._build_layout(store)

        self._build_owners(worker)
        self._build_menus()
        self._sidebar_shown_once = False
        self._connect()
        self._shut_down = False
        self._show_theme()
        self._restore_window_state()
        self._on_engine_state(self.engine.state)
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
        self.highlighting_warmup = HighlightingWarmup(self)
        self.firstPainted.connect(self.highlighting_warmup.start)

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
            self.engine.load_model(path)

    def apply_theme(self, choice: str) -> None:
        """ "system", "light" or "dark"; the choice is saved, system follows the desktop."""
        if choice not in dict(THEME_CHOICES):
            choice = "system"
        if not self.settings_store.update(theme=choice):
            self._show_theme()  # the same choice: "system" may mean another scheme now

    def show_settings_problems(self, problems: list[SettingsProblem]) -> None:
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            self.status.showMessage(
                f"Settings: {problems[0].message}; the default is used{more}. Edit ▸ Settings… to check.", 30_000
            )

    def open_log_folder(self) -> None:
        self.open_url(QUrl.fromLocalFile(str(paths.log_dir())))

    # -- building ------------------------------------------------------------------------------
    def _build_layout(self, store: ConversationStore | None) -> None:
        self.tabs = EditorTabs(self.settings_store, theme_name=self.theme_name)
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

    def _build_owners(self, worker: EngineWorker | None) -> None:
        # GPU layers planned and the load checked against the memory free now, before the engine starts.
        self.engine = EngineSession(self.settings_store, _plan_and_check_load, worker, self)
        self.measurements = LoadMeasurements(self.engine, self)
        access = TabsEditorAccess(self.tabs)
        self.project_map = ProjectMapService(self)
        self.question_attachments = QuestionAttachments(self.chat, access, self.settings, self.project_map, self)
        self.controller = ChatController(self.chat, access, self.settings, self.engine, self, self.question_attachments)
        self.prefill = IdlePrefill(
            self.engine, self.question_attachments, self.controller.next_request_prefix, self.settings, self
        )
        self.conversations = ConversationBinding(self.store, self.controller, self.sidebar, self.engine, self)
        self.completion = CompletionService(self.engine.completion_client, self.settings_store, self)
        self.completion.follow(self.engine)
        self.status.addPermanentWidget(self.completion.indicator)
        self.serving = ServingMonitor(self.engine, self.status.serving_label, self)
        self.models = ModelManagerLauncher(self.settings_store, self.engine, self.status, self)
        self.settings_editor = SettingsEditor(self.settings_store, self.engine, self)
        self.code_actions = CodeActions(self.tabs, self.file_tree, self.controller, self.status, self)
        self.edit_files = EditFiles(
            self.tabs, self.file_tree, self.controller, self.question_attachments, self.status, self
        )
        self.run = RunDock(self.tabs, self.settings_store, self.code_actions.project_folder, self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.run.dock_widget)
        self.run.fixRequested.connect(self.code_actions.fix_output)

    def _build_menus(self) -> None:
        commands = WindowCommands(
            self.open_model_file,
            self.controller.restart_engine,
            self.apply_theme,
            self.show_about,
            self.open_log_folder,
        )
        self.menus = WindowMenus(
            self,
            tabs=self.tabs,
            file_tree=self.file_tree,
            sidebar_dock=self.sidebar_dock,
            run=self.run,
            store=self.settings_store,
            engine=self.engine,
            models=self.models,
            settings_editor=self.settings_editor,
            code_actions=self.code_actions,
            undo_change=self.edit_files.undo_action,
            commands=commands,
        )

    def _connect(self) -> None:
        tabs, c, engine, status = self.tabs, self.controller, self.engine, self.status
        tabs.currentEditorChanged.connect(lambda _editor: self._on_current_file())
        tabs.currentFileChanged.connect(lambda _path: self._on_current_file())
        tabs.modificationChanged.connect(self.setWindowModified)
        tabs.cursorPositionChanged.connect(status.set_cursor)
        tabs.askAboutSelection.connect(c.ask_about_selection)
        self.file_tree.rootChanged.connect(lambda _root: self._show_file_tree())
        self._connect_attachments()
        self.no_model_banner.open_button.clicked.connect(self.open_model_file)
        self.no_model_banner.download_button.clicked.connect(lambda: self.models.show(MACHINE_TAB))
        self.conversations.conversationChanged.connect(lambda _cid: self._show_sidebar_once())
        self.chat.applyRequested.connect(self.code_actions.apply_code)
        status.cancelLoadRequested.connect(engine.cancel_load)
        c.openModelRequested.connect(self.open_model_file)
        engine.stateChanged.connect(self._on_engine_state)
        engine.loadStarted.connect(status.show_loading)
        engine.loaded.connect(status.show_model)
        engine.message.connect(lambda text: status.showMessage(text, MESSAGE_MS))
        c.contextUsageChanged.connect(status.set_context)
        c.answerFinished.connect(lambda stats: status.set_speed(stats.tokens_per_s))
        self.settings_store.changed.connect(self._on_settings_changed)
        self.settings_store.saveFailed.connect(lambda text: status.showMessage(text, MESSAGE_MS))
        hints = QGuiApplication.styleHints()
        if hints is not None:
            hints.colorSchemeChanged.connect(self._on_system_scheme_changed)

    def _connect_attachments(self) -> None:
        """The next question's attachments follow the tabs, the cursor, the opened folder and its settings."""
        tabs, attachments, project = self.tabs, self.question_attachments, self.project_map
        self.file_tree.rootChanged.connect(project.open_folder)
        self.file_tree.rootChanged.connect(lambda _root: attachments.files_changed())
        tabs.fileSaved.connect(project.file_saved)
        for files_changed in (tabs.currentEditorChanged, tabs.fileOpened, tabs.fileSaved):
            files_changed.connect(lambda *_args: attachments.files_changed())
        tabs.cursorPositionChanged.connect(lambda _line, _column: attachments.schedule())
        self.settings_store.changed.connect(
            lambda names: attachments.schedule() if _changes_chat_settings(names) else None
        )

    # -- reactions -----------------------------------------------------------------------------
    def _on_current_file(self) -> None:
        editor = self.tabs.current_editor()
        name = self.tabs.display_name(editor) if editor is not None else None
        self.setWindowTitle(f"{name}[*] — {APP_NAME}" if name else f"[*]{APP_NAME}")
        self.setWindowModified(editor is not None and editor.is_modified())

    def _on_engine_state(self, state: EngineState) -> None:
        has_model = self.engine.has_model()
        self.no_model_banner.setVisible(state is EngineState.NONE and self.engine.target is None)
        self.menus.show_engine_state(state)
        if state is EngineState.NONE:
            self.status.show_no_model()
            self.chat.set_empty_hint(UNLOADED_HINT if has_model else NO_MODEL_HINT)
        elif state is EngineState.READY:
            self.chat.set_empty_hint(READY_HINT)
        elif state is EngineState.FAILED:
            self.status.show_problem("The model failed to load")
        elif state is EngineState.DEAD:
            self.status.show_problem("The engine stopped")
        elif state is EngineState.LOADING:
            self.chat.set_empty_hint(LOADING_HINT)

    def _on_settings_changed(self, names: frozenset[str]) -> None:
        if "theme" in names:
            self._show_theme()

    def _show_theme(self) -> None:
        choice = self.settings.theme
        self.theme_name = effective_theme(choice)
        apply_application_palette(self.theme_name)
        self.status.refresh_style()
        self.tabs.set_theme(self.theme_name)
        self.chat.set_theme(self.theme_name)
        self.no_model_banner.apply_theme(self.theme_name)
        self.sidebar.list.viewport().update()
        self.menus.show_theme(choice)

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
            self._show_theme()

    # -- dialogs -------------------------------------------------------------------------------
    def _model_dialog(self) -> str | None:
        start = os.path.dirname(self.settings.chat_model_path) or str(self.settings.resolved_models_dir())
        path, _ = QFileDialog.getOpenFileName(self, "Open Model File", start, "GGUF models (*.gguf);;All files (*)")
        return path or None

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<h3>{APP_NAME} {__version__}</h3>"
            "<p>A code editor with a chat that runs DeepSeek-Coder on this computer, "
            "through llama.cpp, with no network needed.</p>"
            f"<p>Settings: <code>{paths.config_dir()}</code><br>Logs: <code>{paths.log_dir()}</code></p>",
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
            self.controller.stop()
            self.run.shutdown()  # the runs' processes die with the window
            self.question_attachments.shutdown()
            self.project_map.shutdown()
            self.completion.shutdown()  # first: its thread may be using the engine's client
            self.serving.shutdown()
            self.engine.shutdown()
            self.models.shutdown()
            self.measurements.shutdown()
            self.highlighting_warmup.shutdown()
            self.conversations.close()
            self.store.close()


def _changes_chat_settings(names: frozenset[str]) -> bool:
    return any(name.startswith("chat_") for name in names)


def _plan_and_check_load(options: LoadOptions) -> LoadOptions:
    """The planner's GPU layers and memory check, run on the engine worker's thread as a load
    starts; imported there and then, since the planner is not needed for the first paint."""
    from app.models.planning.preflight import plan_and_check_load

    return plan_and_check_load(options)
