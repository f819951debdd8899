"""The code editor widget: a ScintillaEdit with highlighting, themes and the editing
commands a developer expects, plus the find bar beneath it.

The document holds the file's text with its own line endings, so `text()` returns
exactly what was loaded; `insert_at_cursor` and `replace_selection` convert inserted
line endings to the file's style. Offsets in the public API count characters (Python
string indices), not Scintilla's UTF-8 byte positions.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QMenu, QVBoxLayout, QWidget
from pyside6_scintilla import Scintilla, ScintillaEdit

from app.editor import textfile
from app.editor.textfile import TextFile
from app.editor.ui import editing, lexers, styling
from app.editor.ui.find_bar import FindBar
from app.editor.ui.themes import EditorTheme, theme

S = Scintilla
_UTF32 = int(S.LineCharacterIndexType.Utf32)
_EOL_MODES = {textfile.CRLF: int(S.EndOfLine.CrLf), textfile.CR: int(S.EndOfLine.Cr), textfile.LF: int(S.EndOfLine.Lf)}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Large files go into the document in slices, one per event-loop turn, so the window
# keeps painting while a 10 MB file loads.
LOAD_CHUNK_CHARS = 256 * 1024

# Right-click questions for the chat, in menu order; the label is what the signal carries.
ASK_ACTIONS = ("Explain", "Find bugs", "Write tests", "Refactor", "Add docstrings")


class CodeEditor(QWidget):
    """One open document. `sci` is the underlying ScintillaEdit, for features such as
    inline completion that need Scintilla's own API."""

    modificationChanged = Signal(bool)  # True: unsaved changes
    cursorPositionChanged = Signal(int, int)  # 1-based line, 1-based column
    languageChanged = Signal(str)  # language id
    askAboutSelection = Signal(str, str)  # action label from ASK_ACTIONS, selected code
    loadFinished = Signal()  # the text of load_text_file is all in

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        theme_name: str = "light",
        font_family: str = "Monospace",
        font_size: int = 11,
        path: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.sci = ScintillaEdit(self)
        self.find_bar = FindBar(self.sci, self)
        self.find_bar.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.sci, 1)
        layout.addWidget(self.find_bar)
        self.setFocusProxy(self.sci)

        self._path: str | None = path
        self._language = textfile.language_id_for_path(path)
        self._theme: EditorTheme = theme(theme_name)
        self._font_family = font_family
        self._font_size = font_size
        self._roles: dict[int, str] = {}
        self.has_bom = False
        self.eol = textfile.LF
        self.indent_width = 4
        self._loading_text: str | None = None  # a large text being fed in slices
        self._loading_from = 0
        self._load_timer = QTimer(self)
        self._load_timer.setInterval(0)
        self._load_timer.timeout.connect(self._append_next_chunk)

        self._configure_scintilla()
        self._apply_lexer()
        self.sci.savePointChanged.connect(self.modificationChanged)
        self.sci.updateUi.connect(self._on_update_ui)
        self.sci.charAdded.connect(self._on_char_added)
        self.sci.linesAdded.connect(self._update_margin_width)
        # ScintillaEdit's zoom signal shares its name with the zoom() getter, which is all the stubs know.
        self.sci.zoom.connect(self._update_margin_width)  # type: ignore[attr-defined]
        self.sci.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.sci.customContextMenuRequested.connect(self._show_context_menu)

    # --- set-up -------------------------------------------------------------------

    def _configure_scintilla(self) -> None:
        sci = self.sci
        sci.setCodePage(65001)  # UTF-8
        sci.allocateLineCharacterIndex(_UTF32)  # character offsets in O(log n)
        sci.usePopUp(int(S.PopUp.Never))
        sci.setIdleStyling(int(S.IdleStyling.All))  # style big files in the background
        sci.setMarginTypeN(0, int(S.MarginType.Number))
        sci.setMarginTypeN(1, int(S.MarginType.Colour))  # a gap between numbers and text
        sci.setMarginWidthN(1, 6)
        sci.setMarginLeft(4)
        sci.setCaretLineVisible(True)
        sci.setCaretLineVisibleAlways(True)
        sci.setCaretWidth(2)
        sci.setIndentationGuides(int(S.IndentView.LookBoth))
        sci.setTabWidth(4)
        sci.setIndent(4)
        sci.setUseTabs(False)
        sci.setTabIndents(True)
        sci.setBackSpaceUnIndents(True)
        sci.setScrollWidth(1)
        sci.setScrollWidthTracking(True)
        sci.setEndAtLastLine(False)
        sci.setMultipleSelection(True)
        sci.setAdditionalSelectionTyping(True)
        sci.setPasteConvertEndings(True)
        sci.setYCaretPolicy(int(S.CaretPolicy.Slop | S.CaretPolicy.Even), 3)
        sci.setExtraDescent(1)
        # Draw the selection over find-match marks, so the current match stands out.
        sci.setSelectionLayer(int(S.Layer.UnderText))

    def _apply_lexer(self) -> None:
        spec = lexers.spec_for(self._language)
        lexer = lexers.create_lexer(spec) or lexers.create_lexer(lexers.LexerSpec("null"))
        self._roles = lexers.style_roles(lexer, spec) if lexer is not None else {}
        self.sci.setILexer(lexer.detach() if lexer is not None else 0)
        self._apply_theme()

    def _apply_theme(self) -> None:
        styling.apply_palette(self.sci, self._theme, self._roles, self._font_family, self._font_size)
        self.find_bar.apply_theme(self._theme)
        self._update_margin_width()

    def _update_margin_width(self, *_: object) -> None:
        digits = max(3, len(str(self.sci.lineCount())))
        width = self.sci.textWidth(styling.STYLE_LINE_NUMBER, "9" * digits) + 12
        if width != self.sci.marginWidthN(0):
            self.sci.setMarginWidthN(0, width)

    # --- file identity ------------------------------------------------------------

    @property
    def path(self) -> str | None:
        return self._path

    def set_path(self, path: str | None) -> None:
        """Name the document's file; the language follows the new name."""
        self._path = path
        first_line = editing.line_text(self.sci, 0) if self.sci.lineCount() else ""
        self.set_language(textfile.language_id_for_path(path, first_line))

    @property
    def language(self) -> str:
        """The language id (see app.editor.textfile.LANGUAGES)."""
        return self._language

    def set_language(self, language_id: str) -> None:
        language_id = textfile.language(language_id).id
        if language_id == self._language:
            return
        self._language = language_id
        self._apply_lexer()
        self.languageChanged.emit(language_id)

    def lexer_name(self) -> str:
        """The Lexilla lexer in use ("python", "cpp", "null"...)."""
        return editing.decoded(self.sci.lexerLanguage())

    # --- text ---------------------------------------------------------------------

    def text(self) -> str:
        return editing.decoded(self.sci.getText(self.sci.length() + 1))

    def set_text(self, text: str) -> None:
        """Replace the whole text, as one undoable edit."""
        self.sci.setText(text)

    def load_text_file(self, loaded: TextFile, *, chunked: bool = False) -> None:
        """Show a file's text as unmodified, with no undo history.

        `chunked` feeds a large text in slices from the event loop; the editor is
        read-only until `loadFinished`.
        """
        self.has_bom = loaded.has_bom
        self.eol = loaded.eol
        self.sci.setEOLMode(_EOL_MODES[loaded.eol])
        self._guess_indentation(loaded.text[:50_000])
        self.sci.setUndoCollection(False)
        self.sci.setReadOnly(False)
        self.sci.clearAll()
        if chunked and len(loaded.text) > LOAD_CHUNK_CHARS:
            self._loading_text = loaded.text
            self._loading_from = 0
            self.sci.setReadOnly(True)
            self._load_timer.start()
            return
        self.sci.setText(loaded.text)
        self._finish_load()

    def is_loading(self) -> bool:
        return self._loading_text is not None

    def _append_next_chunk(self) -> None:
        text, start = self._loading_text, self._loading_from
        if text is None:
            self._load_timer.stop()
            return
        if start == 0:
            # Reserve the buffer once; growing it slice by slice copies megabytes.
            self.sci.allocate(len(text) + len(text) // 8)
        chunk = text[start : start + LOAD_CHUNK_CHARS]
        self._loading_from = start + len(chunk)
        self.sci.setReadOnly(False)
        self.sci.appendText(len(chunk.encode("utf-8")), chunk)
        if self._loading_from < len(text):
            self.sci.setReadOnly(True)
            return
        self._loading_text = None
        self._load_timer.stop()
        self._finish_load()

    def _finish_load(self) -> None:
        self.sci.setUndoCollection(True)
        self.sci.emptyUndoBuffer()
        self.sci.setSavePoint()
        self.sci.gotoPos(0)
        self._update_margin_width()
        self.loadFinished.emit()

    def _guess_indentation(self, sample: str) -> None:
        """Indent with tabs when the file mostly does (Go, Makefiles, some C)."""
        tabs = len(re.findall(r"^\t", sample, re.MULTILINE))
        spaces = len(re.findall(r"^ {2,}\S", sample, re.MULTILINE))
        use_tabs = tabs > spaces or (not tabs and not spaces and self._language == "go")
        self.sci.setUseTabs(use_tabs)

    def _to_document_eol(self, text: str) -> str:
        return _LINE_BREAK.sub(self.eol, text) if self.eol != textfile.LF or "\r" in text else text

    def selected_text(self) -> str:
        return editing.decoded(self.sci.getSelText())

    def has_selection(self) -> bool:
        return not self.sci.selectionEmpty()

    def insert_at_cursor(self, text: str) -> None:
        """Insert at the caret (replacing nothing) and move the caret after it."""
        text = self._to_document_eol(text)
        pos = self.sci.currentPos()
        self.sci.insertText(pos, text)
        self.sci.gotoPos(pos + len(text.encode("utf-8")))

    def replace_selection(self, text: str) -> None:
        """Replace the selection (or insert at the caret when there is none)."""
        self.sci.replaceSel(self._to_document_eol(text))

    def cursor_offset(self) -> int:
        """The caret as a character offset into text()."""
        return self.offset_of_position(self.sci.currentPos())

    def set_cursor_offset(self, offset: int) -> None:
        self.sci.gotoPos(self.position_of_offset(offset))

    def offset_of_position(self, pos: int) -> int:
        """Scintilla byte position -> character offset."""
        line = self.sci.lineFromPosition(pos)
        line_start = self.sci.positionFromLine(line)
        return self.sci.indexPositionFromLine(line, _UTF32) + self.sci.countCharacters(line_start, pos)

    def position_of_offset(self, offset: int) -> int:
        """Character offset -> Scintilla byte position (clamped to the document)."""
        if offset <= 0:
            return 0
        line = self.sci.lineFromIndexPosition(offset, _UTF32)
        start = self.sci.positionFromLine(line)
        rest = offset - self.sci.indexPositionFromLine(line, _UTF32)
        pos = self.sci.positionRelative(start, rest) if rest else start
        return pos if pos or not rest else self.sci.length()

    def line_and_column(self) -> tuple[int, int]:
        pos = self.sci.currentPos()
        return self.sci.lineFromPosition(pos) + 1, self.sci.column(pos) + 1

    # --- state --------------------------------------------------------------------

    def is_modified(self) -> bool:
        return bool(self.sci.modify())

    def mark_saved(self) -> None:
        self.sci.setSavePoint()

    def set_theme(self, name: str) -> None:
        """ "light" or "dark"."""
        self._theme = theme(name)
        self._apply_theme()

    @property
    def theme_name(self) -> str:
        return self._theme.name

    def set_editor_font(self, family: str, size: int) -> None:
        self._font_family, self._font_size = family, size
        self._apply_theme()

    # --- commands -----------------------------------------------------------------

    def toggle_comment(self) -> bool:
        return editing.toggle_comment(self.sci, textfile.language(self._language))

    def go_to_line(self, line: int) -> None:
        """Put the caret at the start of a 1-based line, scrolled into the middle."""
        line = min(max(line, 1), self.sci.lineCount()) - 1
        self.sci.gotoLine(line)
        self.sci.setFirstVisibleLine(max(0, line - self.sci.linesOnScreen() // 2))
        self.setFocus()  # ScintillaEdit.setFocus is SCI_SETFOCUS; the proxy gives real focus

    def ask_go_to_line(self) -> None:
        current, _ = self.line_and_column()
        count = self.sci.lineCount()
        line, ok = QInputDialog.getInt(self, "Go to Line", f"Line (1–{count}):", current, 1, count)
        if ok:
            self.go_to_line(line)

    def zoom_in(self) -> None:
        self.sci.zoomIn()

    def zoom_out(self) -> None:
        self.sci.zoomOut()

    def zoom_reset(self) -> None:
        self.sci.setZoom(0)

    def show_find(self, *, replace: bool = False) -> None:
        self.find_bar.open(replace=replace, initial=self.selected_text())

    # --- notifications ------------------------------------------------------------

    def _on_update_ui(self, updated: int) -> None:
        if updated & (int(S.Update.Selection) | int(S.Update.Content)):
            editing.highlight_braces(self.sci)
            self.cursorPositionChanged.emit(*self.line_and_column())

    def _on_char_added(self, ch: int) -> None:
        if ch == 10 or (ch == 13 and self.eol == textfile.CR):
            editing.auto_indent(self.sci, self._language, self.indent_width)

    # --- context menu -------------------------------------------------------------

    def build_context_menu(self) -> QMenu:
        """The right-click menu: editing actions, then questions for the chat."""
        menu = QMenu(self)
        sci = self.sci
        selected = self.has_selection()
        entries: list[tuple[str, object, bool]] = [
            ("Undo", sci.undo, sci.canUndo()),
            ("Redo", sci.redo, sci.canRedo()),
            ("", None, False),
            ("Cut", sci.cut, selected and not sci.readOnly()),
            ("Copy", sci.copy, selected),
            ("Paste", sci.paste, sci.canPaste()),
            ("Select All", sci.selectAll, True),
            ("", None, False),
            ("Toggle Comment", self.toggle_comment, not sci.readOnly()),
            ("", None, False),
        ]
        for label, slot, enabled in entries:
            if not label:
                menu.addSeparator()
                continue
            action = menu.addAction(label)
            action.setEnabled(enabled)
            action.triggered.connect(slot)
        for label in ASK_ACTIONS:
            action = QAction(label, menu)
            action.setObjectName("ask:" + label)
            action.setEnabled(selected)
            action.triggered.connect(lambda _=False, name=label: self.ask_about_selection(name))
            menu.addAction(action)
        return menu

    def ask_about_selection(self, action: str) -> None:
        code = self.selected_text()
        if code.strip():
            self.askAboutSelection.emit(action, code)

    def _show_context_menu(self, pos) -> None:  # type: ignore[no-untyped-def]
        menu = self.build_context_menu()
        menu.exec(self.sci.mapToGlobal(pos))
        menu.deleteLater()
