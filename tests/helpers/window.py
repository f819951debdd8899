"""The main window in tests: made with isolated settings, driven through its chat like a person."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from app.chat.ui.message_widgets import AssistantMessageWidget
from app.config.settings import Settings
from app.editor.ui.tabs import SaveChoice
from app.llm.info import EngineState
from app.llm.ui.worker import EngineWorker
from app.mainwindow.window import MainWindow

LOAD_TIMEOUT_MS = 60_000
ANSWER_TIMEOUT_MS = 60_000
# The offscreen platform cannot pass a top-level window's size limits on (xcb, Wayland,
# Windows and macOS can); the main window's layout updates them as panes appear.
OFFSCREEN_SIZE_HINTS = r"This plugin does not support propagateSizeHints\(\)"


def open_window(qtbot, settings: Settings | None = None, worker: EngineWorker | None = None) -> MainWindow:
    """A shown window; unsaved files are discarded when it closes (qtbot closes it at teardown,
    which stops its engine)."""
    window = MainWindow(settings if settings is not None else Settings(), worker)
    window.tabs.ask_unsaved = lambda _editor: SaveChoice.DISCARD
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    return window


def wait_ready(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.engine.state is not EngineState.LOADING, timeout=LOAD_TIMEOUT_MS)
    assert window.engine.state is EngineState.READY, window.chat.view.messages()


def type_and_send(qtbot, window: MainWindow, text: str) -> None:
    editor = window.chat.input.editor
    editor.setFocus()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def wait_answer_done(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.controller.is_busy(), timeout=ANSWER_TIMEOUT_MS)


def last_answer(window: MainWindow) -> AssistantMessageWidget:
    view = window.chat.view
    widgets = [view.message_widget(row) for row in range(len(view.messages()))]
    return [w for w in widgets if isinstance(w, AssistantMessageWidget)][-1]


def roles(window: MainWindow) -> list[str]:
    return [m.role for m in window.chat.view.messages()]


def menu_action(window: MainWindow, text: str) -> QAction:
    """The menu bar's item called `text` (without its & mnemonic)."""
    for top in window.menuBar().actions():
        menu = top.menu()
        for action in menu.actions() if menu is not None else []:
            if action.text().replace("&", "") == text:
                return action
    raise AssertionError(f"no menu item {text!r}")
