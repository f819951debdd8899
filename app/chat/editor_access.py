"""What the chat reads from the editor and writes into it.

`EditorSnapshot` is the current tab as the chat sees it, taken on the GUI thread: the
attachments are cut from it (app/chat/attachments/rules.py) and the editor's
right-click questions name its file and language (app/chat/code_prompts.py).
`EditorAccess` is what the chat asks of the editor; the main window adapts its tabs to
it (app/mainwindow/parts.py `TabsEditorAccess`). Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class EditorSnapshot:
    """The current editor tab as the chat sees it, taken on the GUI thread."""

    name: str  # as the tab shows it: "sample.py", "Untitled-1"
    path: str  # "" for a file never saved
    language_id: str  # app.editor.textfile language id: "python", "cpp", "text"...
    text: str
    cursor_line: int = 0  # 0-based
    selection: tuple[int, int] | None = None  # character offsets; None without a selection


class EditorAccess(Protocol):
    """What the chat needs from the editor: the current tab, the open files' text, and
    where an answer's code goes."""

    def snapshot(self) -> EditorSnapshot | None: ...  # None: no tab, or its file is still loading

    def open_files(self) -> list[str]: ...  # paths of the tabs that hold a saved file

    def open_text(self, path: str) -> str | None: ...  # the text of the tab holding `path`, if any

    def insert_at_cursor(self, code: str) -> bool: ...

    def replace_selection(self, code: str) -> bool: ...
