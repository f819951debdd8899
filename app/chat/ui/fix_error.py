""" "Fix this error" in the window: ask for the pasted error, build the chat prompt with
the code it points to, preferring the open editors' unsaved text over the disk."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtWidgets import QInputDialog, QWidget

from app.chat.fix_error_prompt import FixPrompt, build_fix_prompt, disk_reader
from app.editor.ui.code_editor import CodeEditor


def fix_error_prompt(error_text: str, editors: Iterable[CodeEditor], base_dir: str | None = None) -> FixPrompt:
    open_texts = {editor.path: editor.text() for editor in editors if editor.path}
    return build_fix_prompt(error_text, disk_reader(base_dir, open_texts))


def ask_error_text(parent: QWidget | None = None) -> str | None:
    text, ok = QInputDialog.getMultiLineText(parent, "Fix This Error", "Paste the error, traceback or compiler output:")
    return text if ok and text.strip() else None
