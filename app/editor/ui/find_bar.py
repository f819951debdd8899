"""Find and replace bar under a code editor, on Scintilla's target search API.

Searching uses SCI_SEARCHINTARGET, so match case, whole word and regular expressions
(C++11 ECMAScript syntax) are Scintilla's own; replacing with a regex uses
SCI_REPLACETARGETRE, where \\1..\\9 insert the groups.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QWidget,
)
from pyside6_scintilla import Scintilla, ScintillaEdit

from app.editor.ui.themes import EditorTheme, bgr

S = Scintilla
MATCH_INDICATOR = 8  # the first indicator number free for containers
# Marking every match costs a pass over the document; past this many, only the
# current match is shown.
MAX_MARKED_MATCHES = 2000


class _FindField(QLineEdit):
    """Enter finds the next match, Shift+Enter the previous, Esc closes the bar."""

    next_requested = Signal()
    previous_requested = Signal()
    close_requested = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.previous_requested.emit()
            else:
                self.next_requested.emit()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.close_requested.emit()
            return
        super().keyPressEvent(event)


class FindBar(QWidget):
    """Searches `sci`; sits in (and gives focus back to) `editor`, the widget around it."""

    def __init__(self, sci: ScintillaEdit, editor: QWidget) -> None:
        super().__init__(editor)
        self._sci = sci
        self._editor = editor
        self._match_starts: list[int] = []
        self.find_field = _FindField(self)
        self.find_field.setPlaceholderText("Find")
        self.replace_field = _FindField(self)
        self.replace_field.setPlaceholderText("Replace")
        self.match_case = QCheckBox("Match case", self)
        self.whole_word = QCheckBox("Whole word", self)
        self.regex = QCheckBox("Regex", self)
        self.status = QLabel(self)
        self.status.setMinimumWidth(90)

        previous_button = self._button("↑", "Previous match (Shift+F3)", self.find_previous)
        next_button = self._button("↓", "Next match (F3)", self.find_next)
        close_button = self._button("✕", "Close (Esc)", self.close_bar)
        self.replace_button = self._button("Replace", "Replace this match and find the next", self.replace_one)
        self.replace_all_button = self._button("Replace all", "Replace every match", self.replace_all)

        layout = QGridLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setHorizontalSpacing(6)
        layout.setVerticalSpacing(4)
        layout.addWidget(self.find_field, 0, 0)
        find_row = QHBoxLayout()
        for widget in (previous_button, next_button, self.match_case, self.whole_word, self.regex, self.status):
            find_row.addWidget(widget)
        find_row.addStretch(1)
        find_row.addWidget(close_button)
        layout.addLayout(find_row, 0, 1)
        layout.addWidget(self.replace_field, 1, 0)
        replace_row = QHBoxLayout()
        replace_row.addWidget(self.replace_button)
        replace_row.addWidget(self.replace_all_button)
        replace_row.addStretch(1)
        self._replace_row = replace_row
        layout.addLayout(replace_row, 1, 1)
        layout.setColumnStretch(0, 2)
        layout.setColumnStretch(1, 3)

        for field in (self.find_field, self.replace_field):
            field.next_requested.connect(self.find_next)
            field.previous_requested.connect(self.find_previous)
            field.close_requested.connect(self.close_bar)
        self.replace_field.next_requested.disconnect(self.find_next)
        self.replace_field.next_requested.connect(self.replace_one)
        self.find_field.textChanged.connect(self._on_query_changed)
        for box in (self.match_case, self.whole_word, self.regex):
            box.toggled.connect(self._on_query_changed)

    def _button(self, text: str, tip: str, slot) -> QToolButton:  # type: ignore[no-untyped-def]
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    def apply_theme(self, palette: EditorTheme) -> None:
        sci = self._sci
        sci.indicSetStyle(MATCH_INDICATOR, int(S.IndicatorStyle.RoundBox))
        sci.indicSetFore(MATCH_INDICATOR, bgr(palette.find_match))
        sci.indicSetAlpha(MATCH_INDICATOR, 110)
        sci.indicSetOutlineAlpha(MATCH_INDICATOR, 200)
        sci.indicSetUnder(MATCH_INDICATOR, True)

    # --- opening and closing -----------------------------------------------------

    def open(self, *, replace: bool = False, initial: str = "") -> None:
        if initial and "\n" not in initial and "\r" not in initial:
            self.find_field.setText(initial)
        self._set_replace_visible(replace)
        self.show()
        self.find_field.setFocus()
        self.find_field.selectAll()
        self._mark_all()

    def _set_replace_visible(self, visible: bool) -> None:
        self.replace_field.setVisible(visible)
        self.replace_button.setVisible(visible)
        self.replace_all_button.setVisible(visible)

    def close_bar(self) -> None:
        self._clear_marks()
        self.hide()
        self._editor.setFocus()  # the editor passes focus on to its ScintillaEdit

    # --- searching ----------------------------------------------------------------

    def flags(self) -> int:
        flags = 0
        if self.match_case.isChecked():
            flags |= int(S.FindOption.MatchCase)
        if self.whole_word.isChecked():
            flags |= int(S.FindOption.WholeWord)
        if self.regex.isChecked():
            flags |= int(S.FindOption.RegExp) | int(S.FindOption.Cxx11RegEx)
        return flags

    def _search(self, start: int, end: int) -> tuple[int, int] | None:
        """The first match between start and end (end < start searches backwards)."""
        query = self.find_field.text()
        if not query:
            return None
        sci = self._sci
        sci.setSearchFlags(self.flags())
        sci.setTargetRange(start, end)
        sci.setStatus(int(S.Status.Ok))
        found = sci.searchInTarget(len(query.encode("utf-8")), query)
        if found == -2 or sci.status() == int(S.Status.RegEx):
            sci.setStatus(int(S.Status.Ok))
            self._set_status("Invalid regular expression", error=True)
            return None
        if found < 0:
            return None
        return sci.targetStart(), sci.targetEnd()

    def find_next(self) -> bool:
        """Select the next match after the selection, wrapping at the end."""
        sci = self._sci
        start, length = sci.selectionEnd(), sci.length()
        match = self._search(start, length) or self._search(0, start)
        return self._select(match)

    def find_previous(self) -> bool:
        sci = self._sci
        start, length = sci.selectionStart(), sci.length()
        match = self._search(start, 0) or self._search(length, start)
        return self._select(match)

    def _select(self, match: tuple[int, int] | None) -> bool:
        sci = self._sci
        if match is None:
            if self.find_field.text() and "Invalid" not in self.status.text():
                self._set_status("No matches", error=True)
            return False
        sci.setSel(match[0], match[1])
        sci.scrollRange(match[1], match[0])
        self._update_count(match[0])
        return True

    def _selection_is_match(self) -> bool:
        sci = self._sci
        start, end = sci.selectionStart(), sci.selectionEnd()
        if start == end:
            return False
        match = self._search(start, end)
        return match == (start, end)

    def replace_one(self) -> bool:
        """Replace the selected match (if it is one), then select the next match."""
        sci = self._sci
        if sci.readOnly():
            return False
        if self._selection_is_match():
            self._replace_target()
            sci.setSel(sci.targetEnd(), sci.targetEnd())
        found = self.find_next()
        self._mark_all()
        return found

    def _replace_target(self) -> None:
        sci = self._sci
        replacement = self.replace_field.text()
        length = len(replacement.encode("utf-8"))
        if self.regex.isChecked():
            sci.replaceTargetRE(length, replacement)
        else:
            sci.replaceTarget(length, replacement)

    def replace_all(self) -> int:
        """Replace every match in one undoable step; returns how many."""
        sci = self._sci
        if sci.readOnly() or not self.find_field.text():
            return 0
        count, pos = 0, 0
        sci.beginUndoAction()
        try:
            while True:
                match = self._search(pos, sci.length())
                if match is None:
                    break
                self._replace_target()
                count += 1
                pos = sci.targetEnd()
                if match[0] == match[1]:  # an empty regex match: step over a character
                    if pos >= sci.length():
                        break
                    pos = sci.positionAfter(pos)
        finally:
            sci.endUndoAction()
        self._clear_marks()
        self._set_status(f"Replaced {count}", error=count == 0)
        return count

    # --- marking matches ----------------------------------------------------------

    def _on_query_changed(self) -> None:
        self._mark_all()
        sci = self._sci
        if self.find_field.text():
            match = self._search(sci.selectionStart(), sci.length()) or self._search(0, sci.length())
            if match:
                sci.setSel(match[0], match[1])
                sci.scrollRange(match[1], match[0])
                self._update_count(match[0])
            elif "Invalid" not in self.status.text():
                self._set_status("No matches", error=True)

    def _clear_marks(self) -> None:
        sci = self._sci
        sci.setIndicatorCurrent(MATCH_INDICATOR)
        sci.indicatorClearRange(0, sci.length())
        self._match_starts = []

    def _mark_all(self) -> None:
        self._clear_marks()
        self._set_status("")
        if not self.isVisible() or not self.find_field.text():
            return
        sci = self._sci
        pos, starts = 0, list[int]()
        while len(starts) < MAX_MARKED_MATCHES:
            match = self._search(pos, sci.length())
            if match is None:
                break
            starts.append(match[0])
            sci.indicatorFillRange(match[0], match[1] - match[0])
            pos = match[1] if match[1] > match[0] else match[1] + 1
            if pos > sci.length():
                break
        self._match_starts = starts

    def _update_count(self, start: int) -> None:
        starts = self._match_starts
        if start in starts:
            more = "+" if len(starts) >= MAX_MARKED_MATCHES else ""
            self._set_status(f"{starts.index(start) + 1} of {len(starts)}{more}")
        else:
            self._set_status("")

    def _set_status(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #d13438;" if error else "")
