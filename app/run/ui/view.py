"""The Run panel's output: ANSI colours, file locations as links, painted in batches.

The view takes what arrived from an `OutputFeed` on a timer (about 30 times a second, not
once per line), so a chatty run cannot flood the event loop. The feed is capped; so is the
view: past its head, it shows a marker and a tail that is replaced a few times a second.
"""

from __future__ import annotations

import dataclasses
import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from app.run.ansi import AnsiParser, TextStyle
from app.run.locations import OutputLocation, find_locations
from app.run.output import OutputFeed, omitted_marker

PAINT_INTERVAL_MS = 33
PAINT_CHARS_PER_TICK = 16 * 1024
TAIL_REPAINT_S = 0.25


def _normalized(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _utf16_length(text: str) -> int:
    """A document position counts UTF-16 units: a character outside the BMP takes two."""
    return len(text.encode("utf-16-le")) // 2


class RunOutputView(QPlainTextEdit):
    locationActivated = Signal(str, int, int)  # file, 1-based line, 1-based column (0: none)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setUndoRedoEnabled(False)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFont("Monospace"))
        self.setObjectName("RunOutput")
        self.viewport().setMouseTracking(True)
        self._timer = QTimer(self)
        self._timer.setInterval(PAINT_INTERVAL_MS)
        self._timer.timeout.connect(self.paint_pending)
        self._feed: OutputFeed | None = None
        self._folders: tuple[str, ...] = ()
        self.locations: list[OutputLocation] = []
        self._reset_state()

    def _reset_state(self) -> None:
        self._parser = AnsiParser()
        self._scanned = 0  # document position up to which lines were searched for locations
        self._unscanned = ""  # the text appended after that position
        self._tail_start: int | None = None  # where the marker and tail begin, once past the head
        self._tail_painted = 0.0
        self._pending_tail: tuple[str, int] | None = None
        self._backlog = ""  # taken from the feed, not painted yet

    # -- a run ------------------------------------------------------------------------
    def begin(self, feed: OutputFeed, folders: tuple[str, ...], header: str = "") -> None:
        """Clear and show `feed`'s output as it arrives; locations resolve against `folders`, in order."""
        self.clear()
        self.locations = []
        self._reset_state()
        self._feed, self._folders = feed, folders
        if header:
            self._append(header + "\n", TextStyle(foreground="#7f7f7f"))
        self._timer.start()

    def end(self, footer: str = "", style: TextStyle | None = None) -> None:
        """The run is over: the rest of its output, then `footer`."""
        self.paint_pending(final=True)
        self._timer.stop()
        self._feed = None
        if footer:
            document = self.document()
            last = document.characterAt(document.characterCount() - 2) if document.characterCount() > 1 else "\u2029"
            newline = "" if last == "\u2029" else "\n"  # a block separator: the text ends with a line break
            self._append(newline + footer + "\n", style or TextStyle())

    def paint_pending(self, final: bool = False) -> None:
        if self._feed is None:
            return
        bar = self.verticalScrollBar()
        following = bar.value() >= bar.maximum() - 2  # at the bottom: stay there as text arrives
        edit = QTextCursor(self.document())
        edit.beginEditBlock()  # one layout pass for the whole batch, not one per coloured piece
        try:
            self._paint_batch(final)
        finally:
            edit.endEditBlock()
        if following:
            bar.setValue(bar.maximum())

    def _paint_batch(self, final: bool) -> None:
        assert self._feed is not None
        batch = self._feed.take()
        if batch is not None:
            self._backlog += batch.head
            if batch.tail is not None:
                self._pending_tail = (batch.tail, batch.omitted_chars)
        if self._backlog:  # a slice per tick: a burst of output never holds the event loop long
            cut = len(self._backlog) if final else PAINT_CHARS_PER_TICK
            if not final and self._backlog[:cut].endswith("\r"):
                cut -= 1  # its "\n" may come next
            piece, self._backlog = self._backlog[:cut], self._backlog[cut:]
            for text, style in self._parser.feed(_normalized(piece)):
                self._append(text, style)
        self._link_new_lines(final or self._tail_start is not None)
        now = time.monotonic()
        ready = not self._backlog  # the head is all painted: the tail goes after it
        if ready and self._pending_tail is not None and (final or now - self._tail_painted >= TAIL_REPAINT_S):
            self._paint_tail(*self._pending_tail)
            self._pending_tail = None
            self._tail_painted = now

    def _paint_tail(self, tail: str, omitted: int) -> None:
        document = self.document()
        cursor = QTextCursor(document)
        if self._tail_start is None:
            self._link_new_lines(True)
            self._tail_start = document.characterCount() - 1
        cursor.setPosition(self._tail_start)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        self.locations = [loc for loc in self.locations if loc.start < self._tail_start]
        self._append(omitted_marker(omitted, "characters").lstrip("\n"), TextStyle(foreground="#7f7f7f", italic=True))
        self._scanned, self._unscanned = document.characterCount() - 1, ""
        parser = AnsiParser()  # the tail starts anywhere: in plain style
        for text, style in parser.feed(_normalized(tail), final=True):
            self._append(text, style)
        self._link_new_lines(True)

    # -- painting ---------------------------------------------------------------------
    def _append(self, text: str, style: TextStyle) -> None:
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        char_format = QTextCharFormat()
        if style.foreground:
            char_format.setForeground(QColor(style.foreground))
        if style.background:
            char_format.setBackground(QColor(style.background))
        if style.bold:
            char_format.setFontWeight(QFont.Weight.Bold)
        char_format.setFontItalic(style.italic)
        char_format.setFontUnderline(style.underline)
        cursor.insertText(text, char_format)
        self._unscanned += text

    def _link_new_lines(self, to_end: bool) -> None:
        """Locations in the lines added since the last search (a line still growing waits)."""
        text = self._unscanned
        cut = len(text) if to_end else text.rfind("\n") + 1
        if cut <= 0:
            return
        chunk, base = text[:cut], self._scanned
        self._unscanned = text[cut:]
        self._scanned += _utf16_length(chunk)
        for location in find_locations(chunk, None, self._folders):
            start = base + _utf16_length(chunk[: location.start])
            self._link(location, start, start + _utf16_length(chunk[location.start : location.end]))

    def _link(self, location: OutputLocation, start: int, end: int) -> None:
        """Underline the location's text (document positions `start`-`end`) as link number N."""
        index = len(self.locations)
        shifted = dataclasses.replace(location, start=start, end=end)
        self.locations.append(shifted)
        cursor = QTextCursor(self.document())
        cursor.setPosition(shifted.start)
        cursor.setPosition(shifted.end, QTextCursor.MoveMode.KeepAnchor)
        link = QTextCharFormat()
        link.setAnchor(True)
        link.setAnchorHref(str(index))
        link.setFontUnderline(True)
        link.setForeground(QColor("#3d7fd6"))
        cursor.mergeCharFormat(link)

    # -- clicks -----------------------------------------------------------------------
    def location_at(self, position: object) -> OutputLocation | None:
        href = self.anchorAt(position)  # type: ignore[arg-type]
        if href.isdigit() and int(href) < len(self.locations):
            return self.locations[int(href)]
        return None

    def activate(self, location: OutputLocation) -> None:
        self.locationActivated.emit(location.resolved, location.line, location.column or 0)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        over_link = self.location_at(event.position().toPoint()) is not None
        self.viewport().setCursor(Qt.CursorShape.PointingHandCursor if over_link else Qt.CursorShape.IBeamCursor)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        if event.button() is Qt.MouseButton.LeftButton and not self.textCursor().hasSelection():
            location = self.location_at(event.position().toPoint())
            if location is not None:
                self.activate(location)
