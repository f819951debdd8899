"""The editor's menu actions with their standard shortcuts, for the main window to place.

EditorTabs makes its actions once (`tabs.editor_actions`) with `editor_actions` and adds them
to itself, so the shortcuts work even before the window puts them in menus. File actions are
window-wide; editing actions (find, go to line, zoom...) act when the focus is in the
editor area, so they do not take keys from the chat pane.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from app.editor.ui.code_editor import CodeEditor

_WINDOW = Qt.ShortcutContext.WindowShortcut
_EDITOR_AREA = Qt.ShortcutContext.WidgetWithChildrenShortcut
_Key = QKeySequence.StandardKey


class EditorCommands(Protocol):
    """What the actions drive: the tabs' file commands and their current editor."""

    def current_editor(self) -> CodeEditor | None: ...
    def new_file(self) -> object: ...
    def open_dialog(self) -> object: ...
    def save(self) -> object: ...
    def save_as(self) -> object: ...
    def close_current(self) -> object: ...


def editor_actions(host: QWidget, tabs: EditorCommands) -> dict[str, QAction]:
    """Actions by name, added to `host`: new, open, save, save_as, close, find, replace,
    find_next, find_previous, go_to_line, toggle_comment, zoom_in, zoom_out, zoom_reset."""

    def with_editor(command: Callable[[CodeEditor], object]) -> Callable[[], None]:
        def run() -> None:
            editor = tabs.current_editor()
            if editor is not None:
                command(editor)

        return run

    def find_again(backwards: bool) -> Callable[[CodeEditor], object]:
        def run(editor: CodeEditor) -> object:
            bar = editor.find_bar
            if not bar.find_field.text():
                editor.show_find()
                return None
            return bar.find_previous() if backwards else bar.find_next()

        return run

    specs: list[tuple[str, str, list[QKeySequence], Qt.ShortcutContext, Callable[[], object]]] = [
        ("new", "&New", [QKeySequence(_Key.New)], _WINDOW, tabs.new_file),
        ("open", "&Open…", [QKeySequence(_Key.Open)], _WINDOW, tabs.open_dialog),
        ("save", "&Save", [QKeySequence(_Key.Save)], _WINDOW, tabs.save),
        ("save_as", "Save &As…", [QKeySequence("Ctrl+Shift+S")], _WINDOW, tabs.save_as),
        ("close", "&Close Tab", [QKeySequence("Ctrl+W")], _WINDOW, tabs.close_current),
        ("find", "&Find…", [QKeySequence("Ctrl+F")], _EDITOR_AREA, with_editor(lambda e: e.show_find())),
        (
            "replace",
            "&Replace…",
            [QKeySequence("Ctrl+H")],
            _EDITOR_AREA,
            with_editor(lambda e: e.show_find(replace=True)),
        ),
        ("find_next", "Find &Next", [QKeySequence("F3")], _EDITOR_AREA, with_editor(find_again(False))),
        ("find_previous", "Find &Previous", [QKeySequence("Shift+F3")], _EDITOR_AREA, with_editor(find_again(True))),
        (
            "go_to_line",
            "&Go to Line…",
            [QKeySequence("Ctrl+G")],
            _EDITOR_AREA,
            with_editor(lambda e: e.ask_go_to_line()),
        ),
        (
            "toggle_comment",
            "Toggle &Comment",
            [QKeySequence("Ctrl+/")],
            _EDITOR_AREA,
            with_editor(lambda e: e.toggle_comment()),
        ),
        (
            "zoom_in",
            "Zoom &In",
            [QKeySequence("Ctrl+="), QKeySequence("Ctrl++")],
            _EDITOR_AREA,
            with_editor(lambda e: e.zoom_in()),
        ),
        ("zoom_out", "Zoom &Out", [QKeySequence("Ctrl+-")], _EDITOR_AREA, with_editor(lambda e: e.zoom_out())),
        ("zoom_reset", "&Reset Zoom", [QKeySequence("Ctrl+0")], _EDITOR_AREA, with_editor(lambda e: e.zoom_reset())),
    ]
    actions: dict[str, QAction] = {}
    for name, text, keys, context, slot in specs:
        action = QAction(text, host)
        action.setObjectName(name)
        action.setShortcuts(keys)
        action.setShortcutContext(context)
        action.triggered.connect(lambda _=False, run=slot: run())
        host.addAction(action)
        actions[name] = action
    return actions
