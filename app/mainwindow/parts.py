"""Small pieces of the main window: the chat's access to the editor tabs, and the
first-run banner above the chat."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.chat.editor_access import EditorSnapshot
from app.editor.ui.code_editor import CodeEditor
from app.editor.ui.tabs import EditorTabs


class TabsEditorAccess:
    """The chat's view of the editor tabs (app.chat.editor_access.EditorAccess), for the
    controller and for the next question's attachments."""

    def __init__(self, tabs: EditorTabs) -> None:
        self.tabs = tabs

    def snapshot(self) -> EditorSnapshot | None:
        editor = self.tabs.current_editor()
        if editor is None or editor.is_loading():
            return None
        sci = editor.sci
        line = sci.lineFromPosition(sci.currentPos())
        selection = None
        if editor.has_selection():
            selection = (editor.offset_of_position(sci.selectionStart()), editor.offset_of_position(sci.selectionEnd()))
        name = self.tabs.display_name(editor)
        return EditorSnapshot(name, editor.path or "", editor.language, editor.text(), line, selection)

    def open_files(self) -> list[str]:
        return [editor.path for editor in self.tabs.editors() if editor.path is not None]

    def open_text(self, path: str) -> str | None:
        editor = self.tabs.editor_for_path(path)
        return editor.text() if editor is not None and not editor.is_loading() else None

    def _target(self) -> CodeEditor | None:
        editor = self.tabs.current_editor() or self.tabs.new_file()
        return None if editor.is_loading() else editor

    def insert_at_cursor(self, code: str) -> bool:
        editor = self._target()
        if editor is None:
            return False
        sci = editor.sci
        pos = sci.currentPos()
        at_line_start = sci.column(pos) == 0
        line_continues = sci.lineEndPosition(sci.lineFromPosition(pos)) > pos
        if at_line_start and line_continues and not code.endswith("\n"):
            code += "\n"  # a block put before a line's text stays on lines of its own
        editor.insert_at_cursor(code)
        editor.setFocus()
        return True

    def replace_selection(self, code: str) -> bool:
        editor = self._target()
        if editor is None:
            return False
        editor.replace_selection(code)
        editor.setFocus()
        return True


class NoModelBanner(QFrame):
    """Above the chat at first run: no model yet, and the button that picks one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NoModelBanner")
        self.label = QLabel(
            "<b>No model is loaded.</b><br>The chat needs a DeepSeek-Coder (or other GGUF) "
            "model file on this computer. Open one you have, or download the one that suits this "
            "computer; it runs locally, offline."
        )
        self.label.setWordWrap(True)
        self.open_button = QPushButton("Open model file…")
        self.open_button.setObjectName("OpenModelButton")
        self.download_button = QPushButton("Download the recommended model…")
        self.download_button.setObjectName("DownloadModelButton")
        self.download_button.setToolTip("Opens the model manager: what fits this computer, and its download")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(10)
        layout.addWidget(self.label)
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addWidget(self.download_button)
        row.addStretch(1)
        layout.addLayout(row)

    def apply_theme(self, theme_name: str) -> None:
        background, border = ("#2b2d31", "#3d4148") if theme_name == "dark" else ("#f3f6fb", "#d0d7de")
        self.setStyleSheet(f"#NoModelBanner {{ background: {background}; border-bottom: 1px solid {border}; }}")
