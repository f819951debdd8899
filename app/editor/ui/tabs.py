"""Tabs of open files: new, open, save, save as, close with an unsaved-changes prompt,
recent files and drag and drop.

The dialogs (unsaved-changes prompt, file pickers, error box) are attributes holding
callables, so a test or another front end can answer them without a modal dialog.
Files larger than ASYNC_READ_BYTES are read and decoded on a worker thread and fed to
the editor in slices, so opening a 10 MB file never stalls the window.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QTabWidget, QWidget

from app.config.ui.store import SettingsStore
from app.editor.textfile import TextFile, read_text_file, write_text_file
from app.editor.ui import dialogs
from app.editor.ui.actions import editor_actions
from app.editor.ui.code_editor import CodeEditor
from app.editor.ui.dialogs import SaveChoice
from app.editor.ui.file_reads import ASYNC_READ_BYTES, BackgroundFileReads
from app.utils.errors import DscoderError

log = logging.getLogger(__name__)

MAX_RECENT_FILES = 12


def _local_files(event: QDragEnterEvent | QDropEvent) -> list[str]:
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]


class EditorTabs(QTabWidget):
    currentEditorChanged = Signal(object)  # CodeEditor or None
    currentFileChanged = Signal(str)  # the current tab's path; "" when untitled or none
    modificationChanged = Signal(bool)  # the current editor's unsaved state
    cursorPositionChanged = Signal(int, int)  # the current editor's 1-based line, column
    fileOpened = Signal(str)  # a file's text is fully loaded
    fileSaved = Signal(str)
    folderDropped = Signal(str)  # a folder was dropped on the tabs
    recentFilesChanged = Signal()
    askAboutSelection = Signal(str, str)  # from any editor's context menu: action, code

    def __init__(
        self,
        store: SettingsStore | None = None,
        parent: QWidget | None = None,
        *,
        theme_name: str = "light",
    ) -> None:
        super().__init__(parent)
        # The window's settings store: recent files and the last folder are saved through it,
        # and a font change in the settings reaches every open editor.
        self.store = store if store is not None else SettingsStore()
        self.settings = self.store.settings
        self.store.changed.connect(self._on_settings_changed)
        self._theme_name = theme_name
        self._untitled_count = 0
        self._reads = BackgroundFileReads(self)
        self._reads.finished.connect(self._on_read_finished)

        # Replaceable dialogs.
        self.ask_unsaved: Callable[[CodeEditor], SaveChoice] = lambda editor: dialogs.ask_unsaved(
            self, self.display_name(editor)
        )
        self.ask_open_paths: Callable[[], list[str]] = lambda: dialogs.ask_open_paths(self, self._start_folder())
        self.ask_save_path: Callable[[CodeEditor], str | None] = lambda editor: dialogs.ask_save_path(
            self, editor.path or os.path.join(self._start_folder(), self.display_name(editor))
        )
        self.show_error: Callable[[DscoderError], None] = lambda error: dialogs.show_error(self, error)

        self.setDocumentMode(True)
        self.setTabsClosable(True)
        self.setMovable(True)
        self.setUsesScrollButtons(True)
        self.setElideMode(Qt.TextElideMode.ElideMiddle)
        self.setAcceptDrops(True)
        self.tabCloseRequested.connect(self.close_tab)
        self.currentChanged.connect(self._on_current_changed)
        self.editor_actions = editor_actions(self, self)  # the shortcuts work before a window puts them in menus

    # --- access -------------------------------------------------------------------

    def current_editor(self) -> CodeEditor | None:
        widget = self.currentWidget()
        return widget if isinstance(widget, CodeEditor) else None

    def editors(self) -> list[CodeEditor]:
        return [w for i in range(self.count()) if isinstance(w := self.widget(i), CodeEditor)]

    def editor_for_path(self, path: str | os.PathLike[str]) -> CodeEditor | None:
        wanted = os.path.realpath(path)
        for editor in self.editors():
            if editor.path and os.path.realpath(editor.path) == wanted:
                return editor
        return None

    def has_unsaved(self) -> bool:
        return any(editor.is_modified() for editor in self.editors())

    def display_name(self, editor: CodeEditor) -> str:
        return Path(editor.path).name if editor.path else editor.property("untitled_name") or "Untitled"

    # --- creating and opening -----------------------------------------------------

    def _add_editor(self, path: str | None) -> CodeEditor:
        editor = CodeEditor(
            self,
            theme_name=self._theme_name,
            font_family=self.settings.editor_font_family,
            font_size=self.settings.editor_font_size,
            path=path,
        )
        if path is None:
            self._untitled_count += 1
            editor.setProperty("untitled_name", f"Untitled-{self._untitled_count}")
        editor.modificationChanged.connect(lambda _=False, e=editor: self._on_editor_modified(e))
        editor.cursorPositionChanged.connect(lambda line, col, e=editor: self._on_cursor_moved(e, line, col))
        editor.askAboutSelection.connect(self.askAboutSelection)
        editor.sci.viewport().installEventFilter(self)
        index = self.addTab(editor, "")
        self._refresh_title(editor)
        self.setCurrentIndex(index)
        return editor

    def new_file(self) -> CodeEditor:
        editor = self._add_editor(None)
        editor.setFocus()
        return editor

    def open_dialog(self) -> list[CodeEditor]:
        return self.open_paths(self.ask_open_paths())

    def open_paths(self, paths: Iterable[str | os.PathLike[str]]) -> list[CodeEditor]:
        """Open files (or switch to them when already open); folders are skipped."""
        opened = []
        for path in paths:
            editor = self.open_path(path)
            if editor is not None:
                opened.append(editor)
        return opened

    def open_path(self, path: str | os.PathLike[str]) -> CodeEditor | None:
        path = os.path.abspath(os.fspath(path))
        existing = self.editor_for_path(path)
        if existing is not None:
            self.setCurrentWidget(existing)
            return existing
        if os.path.isdir(path):
            self.folderDropped.emit(path)
            return None
        try:
            size = os.path.getsize(path)
        except OSError:
            size = 0  # read_text_file reports what is wrong
        if size <= ASYNC_READ_BYTES:
            try:
                loaded = read_text_file(path)
            except DscoderError as error:
                self.show_error(error)
                return None
            editor = self._editor_for_new_file(path)
            editor.load_text_file(loaded)
            self._opened(editor, path)
            return editor
        editor = self._editor_for_new_file(path)
        editor.sci.setReadOnly(True)
        editor.setProperty("loading", True)
        self._refresh_title(editor)
        self._reads.start(editor, path)
        return editor

    def _on_cursor_moved(self, editor: CodeEditor, line: int, column: int) -> None:
        if editor is self.current_editor():  # a background tab's caret is not the window's
            self.cursorPositionChanged.emit(line, column)

    def _editor_for_new_file(self, path: str) -> CodeEditor:
        """A tab for the file: the current one when it is an untouched empty Untitled."""
        current = self.current_editor()
        if current is not None and current.path is None and not current.is_modified() and not current.text():
            editor = current
        else:
            editor = self._add_editor(path)
        editor.set_path(path)
        self._refresh_title(editor)
        return editor

    def _on_read_finished(self, editor: CodeEditor, path: str, result: object) -> None:
        if self.indexOf(editor) < 0:  # the tab was closed while reading
            return
        if not isinstance(result, TextFile):
            self._close_editor(editor)
            if isinstance(result, DscoderError):
                self.show_error(result)
            else:
                log.error("reading %s failed", path, exc_info=result)  # type: ignore[arg-type]
                self.show_error(DscoderError(f"{path} could not be read ({result})", "Try again"))
            return

        def finished() -> None:
            editor.setProperty("loading", False)
            editor.sci.setReadOnly(False)
            self._opened(editor, path)

        editor.loadFinished.connect(finished, Qt.ConnectionType.SingleShotConnection)
        editor.load_text_file(result, chunked=True)

    def _opened(self, editor: CodeEditor, path: str) -> None:
        self._refresh_title(editor)
        self.add_recent_file(path)
        if editor is self.current_editor():
            self.currentFileChanged.emit(path)
        self.fileOpened.emit(path)

    # --- saving -------------------------------------------------------------------

    def save(self, editor: CodeEditor | None = None) -> bool:
        """Save to the editor's file, asking for a name when it has none."""
        editor = editor or self.current_editor()
        if editor is None or editor.is_loading():
            return False
        if editor.path is None:
            return self.save_as(editor)
        return self._write(editor, editor.path)

    def save_as(self, editor: CodeEditor | None = None) -> bool:
        editor = editor or self.current_editor()
        if editor is None or editor.is_loading():
            return False
        chosen = self.ask_save_path(editor)
        if not chosen:
            return False
        path = os.path.abspath(chosen)
        if not self._write(editor, path):
            return False
        editor.set_path(path)
        self._refresh_title(editor)
        self.add_recent_file(path)
        if editor is self.current_editor():
            self.currentFileChanged.emit(path)
        return True

    def _write(self, editor: CodeEditor, path: str) -> bool:
        try:
            write_text_file(path, editor.text(), editor.has_bom)
        except DscoderError as error:
            self.show_error(error)
            return False
        editor.mark_saved()
        self._refresh_title(editor)
        self.fileSaved.emit(path)
        return True

    # --- closing ------------------------------------------------------------------

    def close_tab(self, index: int) -> bool:
        """Close a tab, asking first when it has unsaved changes; False if kept."""
        editor = self.widget(index)
        if not isinstance(editor, CodeEditor):
            return False
        if editor.is_modified():
            choice = self.ask_unsaved(editor)
            if choice is SaveChoice.CANCEL:
                return False
            if choice is SaveChoice.SAVE and not self.save(editor):
                return False
        self._close_editor(editor)
        return True

    def close_current(self) -> bool:
        index = self.currentIndex()
        return index >= 0 and self.close_tab(index)

    def close_all(self) -> bool:
        """Close every tab (for quitting); stops at the first Cancel and returns False."""
        for editor in list(self.editors()):
            self.setCurrentWidget(editor)
            if not self.close_tab(self.indexOf(editor)):
                return False
        return True

    def _close_editor(self, editor: CodeEditor) -> None:
        self.removeTab(self.indexOf(editor))
        editor.deleteLater()

    # --- recent files -------------------------------------------------------------

    def recent_files(self) -> list[str]:
        return list(self.settings.recent_files)

    def add_recent_file(self, path: str) -> None:
        recent = [p for p in self.settings.recent_files if p != path]
        self.store.update(recent_files=[path, *recent][:MAX_RECENT_FILES])  # a failed save only logs
        self.recentFilesChanged.emit()

    def clear_recent_files(self) -> None:
        self.store.update(recent_files=[])
        self.recentFilesChanged.emit()

    def remember_folder(self, folder: str) -> None:
        """The folder the file tree shows: where file dialogs start, and what opens next time."""
        if self.settings.last_folder != folder:
            self.store.update(last_folder=folder)

    def _on_settings_changed(self, names: frozenset[str]) -> None:
        if names & {"editor_font_family", "editor_font_size"}:
            self.set_editor_font(self.settings.editor_font_family, self.settings.editor_font_size)

    # --- appearance ---------------------------------------------------------------

    def set_theme(self, name: str) -> None:
        self._theme_name = name
        for editor in self.editors():
            editor.set_theme(name)

    def set_editor_font(self, family: str, size: int) -> None:
        for editor in self.editors():
            editor.set_editor_font(family, size)

    def _refresh_title(self, editor: CodeEditor) -> None:
        index = self.indexOf(editor)
        if index < 0:
            return
        name = self.display_name(editor)
        if editor.property("loading"):
            name += " (loading…)"
        elif editor.is_modified():
            name += " *"
        self.setTabText(index, name)
        self.setTabToolTip(index, editor.path or name)

    def _on_editor_modified(self, editor: CodeEditor) -> None:
        self._refresh_title(editor)
        if editor is self.current_editor():
            self.modificationChanged.emit(editor.is_modified())

    def _on_current_changed(self, _index: int) -> None:
        editor = self.current_editor()
        self.currentEditorChanged.emit(editor)
        self.currentFileChanged.emit((editor.path or "") if editor else "")
        if editor is not None:
            self.modificationChanged.emit(editor.is_modified())
            self.cursorPositionChanged.emit(*editor.line_and_column())

    # --- drag and drop ------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _local_files(event):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        if _local_files(event):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _local_files(event)
        if not paths:
            super().dropEvent(event)
            return
        event.acceptProposedAction()
        self.open_paths(paths)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Files dropped on the text open in tabs instead of pasting their path.
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop):
            if _local_files(event):  # type: ignore[arg-type]
                event.acceptProposedAction()  # type: ignore[attr-defined]
                if kind == QEvent.Type.Drop:
                    self.open_paths(_local_files(event))  # type: ignore[arg-type]
                return True
        return super().eventFilter(watched, event)

    def _start_folder(self) -> str:
        editor = self.current_editor()
        if editor is not None and editor.path:
            return str(Path(editor.path).parent)
        return self.settings.last_folder or str(Path.home())
