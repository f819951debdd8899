"""The rich-text view of one message, updated in place while the message streams.

A message arrives as top-level segments (app.chat.markdown.render): HTML for prose,
lists and tables, and code blocks as data. Prose goes through Qt's HTML importer. A
top-level code block is built with a QTextCursor in a QTextFrame instead of an HTML
table: Qt lays a table out again whole on every change, so a 300-line block cost tens
of milliseconds a paint, while in a frame only the lines that changed are laid out.
So a streaming block only gets its new text appended, and its colours come later from
the shared CodeHighlighter, applied a few milliseconds' worth per event-loop turn.

A message shows each top-level code block in a browser of its own (app/chat/ui/
message_body.py) made with `code_only`: its lines never wrap, its frame is as wide as the
pane or as its longest line, and a long line scrolls sideways inside the block. Nothing
makes a browser wider than the pane: wider content (a table, a long word) scrolls too.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFontMetricsF,
    QResizeEvent,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextFrame,
    QTextFrameFormat,
    QTextLength,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser, QTextEdit, QWidget

from app.chat.markdown.highlight import HighlightRun
from app.chat.markdown.render import (
    CODE_ACTIONS,
    LIGHT_THEME,
    CodeBlock,
    RenderTheme,
    action_url,
    style_background,
)
from app.chat.ui.code_highlighter import HighlightKey, shared_highlighter
from app.chat.ui.text_formats import insert_segment, run_format, small, spacer

_COLOUR_BUDGET_S = 0.002  # colouring work per event-loop turn, well inside a frame
_CODE_SIDES_PX = 24  # a code frame's left and right margins and borders, beside its longest line


@dataclass(eq=False)
class _Shown:
    """One segment as it is in the document."""

    key: object  # the HTML, or the CodeBlock of a code frame
    start: int  # the position the segment was inserted at
    block_format: QTextBlockFormat  # of the block it was inserted in (see removal)
    code: CodeBlock | None = None
    frame: QTextFrame | None = None
    coloured: bool = False
    code_width: float = 0.0  # the frame's longest line, in pixels


@dataclass(eq=False)
class _Colouring:
    shown: _Shown
    runs: list[HighlightRun]
    next_run: int = 0
    formats: dict[tuple[str, bool, bool], QTextCharFormat] = field(default_factory=dict)


class MessageBrowser(QTextBrowser):
    """Read-only rich text as tall as its content; the chat's scroll area scrolls, not it."""

    linkClicked = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, code_only: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("MessageBrowser")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.code_only = code_only
        if code_only:
            self.setLineWrapMode(QTextEdit.LineWrapMode.NoWrap)
            self.setContentsMargins(0, 0, 0, 10)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.viewport().setAutoFillBackground(False)
        self.document().setDocumentMargin(0)
        self.document().setUndoRedoEnabled(False)  # streamed edits would pile up in it
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self.anchorClicked.connect(lambda url: self.linkClicked.emit(url.toString()))
        self.setFixedHeight(0)
        self._theme: RenderTheme = LIGHT_THEME
        self._code_actions = True
        self._shown: list[_Shown] = []
        self._colouring: list[_Colouring] = []
        self._colour_timer = QTimer(self)
        self._colour_timer.setSingleShot(True)
        self._colour_timer.setInterval(0)
        self._colour_timer.timeout.connect(self._colour_some)
        self._highlighter = shared_highlighter()
        self._highlighter.ready.connect(self._on_highlighted)

    def set_code_style(self, theme: RenderTheme, *, code_actions: bool) -> None:
        """How code frames look and whether they get action links; redraws from scratch."""
        self._theme, self._code_actions = theme, code_actions
        self._shown = []

    def show_segments(self, segments: list[str], segment_code: list[CodeBlock | None] | None = None) -> None:
        """Show top-level blocks, re-laying out only from the first that changed.

        A streaming answer changes at its end, so a paint costs the size of the last
        paragraph, or the new lines of the last code block, not of the whole answer.
        The last HTML segment shown may have been incomplete, so it is always replaced.
        """
        codes = segment_code if segment_code is not None else [None] * len(segments)
        keys: list[object] = [s if c is None else c for s, c in zip(segments, codes, strict=False)]
        old = self._shown
        keep = 0
        limit = min(len(old), len(keys))
        while keep < limit and keys[keep] == old[keep].key and (old[keep].frame is not None or keep < len(old) - 1):
            keep += 1
        document = self.document()
        grows = keep < limit and _can_grow(old[keep], codes[keep])
        # Frames after `keep` go away in this edit: nothing may reach them meanwhile (a resize
        # that the edit's new height causes stretches frames; it waits for the end).
        self._shown = old[: keep + 1] if grows else old[:keep]
        if keep == 0 and not grows:
            document.clear()
        cursor = QTextCursor(document)
        cursor.beginEditBlock()
        shown = old[:keep]
        if grows:
            grown, record = codes[keep], old[keep]
            assert grown is not None and record.frame is not None
            self._grow_frame(cursor, record, grown)
            shown.append(record)
            keep += 1
            # What followed the frame moved with its edit: remove from just after it.
            if keep < len(old):
                old[keep].start = record.frame.lastPosition() + 1
        if 0 < keep < len(old):
            cursor.setPosition(old[keep].start)
            cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
            cursor.setBlockFormat(old[keep].block_format)
        cursor.movePosition(QTextCursor.MoveOperation.End)
        for index in range(keep, len(segments)):
            record = _Shown(keys[index], cursor.position(), cursor.blockFormat())
            code = codes[index]
            if code is None:
                after_frame = index > 0 and shown[index - 1].frame is not None
                if after_frame:
                    cursor.setBlockFormat(QTextBlockFormat())  # no longer a spacer
                insert_segment(cursor, segments[index], first=index == 0 or after_frame)
            else:
                record.code = code
                record.frame = self._insert_frame(cursor, code)
                record.code_width = self._longest_line(code.code)
            shown.append(record)
        cursor.endEditBlock()
        self._shown = shown
        self._stretch_frames()
        self._colouring = [c for c in self._colouring if c.shown in shown]
        being_coloured = {id(c.shown) for c in self._colouring}
        for record in shown:
            if (
                record.code is not None
                and record.code.complete
                and not record.coloured
                and id(record) not in being_coloured
            ):
                self._want_colours(record)

    def is_colouring(self) -> bool:
        """Whether some code block still waits for its colours (for tests)."""
        return any(r.code is not None and r.code.complete and not r.coloured for r in self._shown)

    # -- code frames ------------------------------------------------------------------

    def _insert_frame(self, cursor: QTextCursor, block: CodeBlock) -> QTextFrame:
        theme = self._theme
        frame_format = QTextFrameFormat()
        frame_format.setBorder(1)
        frame_format.setBorderBrush(QBrush(QColor(theme.code_border)))
        frame_format.setBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
        background = style_background(theme.pygments_style) or theme.code_background
        frame_format.setBackground(QColor(background))
        frame_format.setPadding(0)
        frame_format.setTopMargin(4)
        # In a code-only browser the gap below goes under its sideways scroll bar instead.
        frame_format.setBottomMargin(0 if self.code_only else 10)
        if cursor.block().length() == 1:  # an empty block above the frame: no blank line
            cursor.setBlockFormat(spacer())
        frame = cursor.insertFrame(frame_format)
        header = QTextBlockFormat()
        header.setBackground(QColor(theme.code_header))
        header.setLeftMargin(10)
        header.setBottomMargin(6)
        cursor.setBlockFormat(header)
        cursor.insertText(block.language or "code", small(theme.muted))
        code_format = QTextBlockFormat()
        code_format.setLeftMargin(10)
        code_format.setRightMargin(10)
        cursor.insertBlock(code_format, self._code_char_format())
        cursor.insertText(block.code, self._code_char_format())
        if self._has_footer(block):
            footer = QTextBlockFormat()
            footer.setBackground(QColor(theme.code_header))
            footer.setLeftMargin(10)
            footer.setTopMargin(6)
            cursor.insertBlock(footer, QTextCharFormat())
            self._write_footer(cursor, block)
        cursor.setPosition(frame.lastPosition() + 1)
        cursor.setBlockFormat(spacer())  # Qt keeps a block after a frame; it takes no room
        return frame

    def _has_footer(self, block: CodeBlock) -> bool:
        return self._code_actions or not block.complete

    def _write_footer(self, cursor: QTextCursor, block: CodeBlock) -> None:
        if not block.complete:
            cursor.insertText("writing…", small(self._theme.muted))
            return
        for number, (action, title) in enumerate(CODE_ACTIONS):
            if number:
                cursor.insertText("\u00a0\u00a0\u00a0", small(self._theme.muted))
            link = small(self._theme.link)
            link.setAnchor(True)
            link.setAnchorHref(action_url(action, block.index))
            cursor.insertText(title, link)

    def _code_char_format(self) -> QTextCharFormat:
        char_format = QTextCharFormat()
        families = [f.strip().strip("'\"") for f in self._theme.code_font_family.split(",")]
        char_format.setFontFamilies([f for f in families if f])
        char_format.setFontFixedPitch(True)
        char_format.setForeground(QColor(self._theme.text))
        return char_format

    def _code_range(self, record: _Shown) -> tuple[int, QTextBlock | None]:
        """Where the code of a frame starts, and its footer block (None without one)."""
        assert record.frame is not None and record.code is not None
        header = self.document().findBlock(record.frame.firstPosition())
        footer = self.document().findBlock(record.frame.lastPosition()) if self._has_footer(record.code) else None
        return header.position() + header.length(), footer

    def _grow_frame(self, cursor: QTextCursor, record: _Shown, block: CodeBlock) -> None:
        """Make a streaming code frame show `block`: edit only its changed end."""
        assert record.code is not None
        old_code, new_code = record.code.code, block.code
        code_start, footer = self._code_range(record)
        same = len(os.path.commonprefix([old_code, new_code]))
        if same < len(old_code):
            cursor.setPosition(code_start + same)
            cursor.setPosition(code_start + len(old_code), QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
        cursor.setPosition(code_start + same)
        cursor.insertText(new_code[same:], self._code_char_format())
        line_start = new_code.rfind("\n", 0, same) + 1  # the changed part, from its line's start
        record.code_width = max(record.code_width, self._longest_line(new_code[line_start:]))
        if block.complete != record.code.complete and footer is not None:
            footer = self.document().findBlock(record.frame.lastPosition())  # type: ignore[union-attr]
            cursor.setPosition(footer.position())
            cursor.setPosition(footer.position() + footer.length() - 1, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
            self._write_footer(cursor, block)
        record.code = record.key = block

    # -- colours ----------------------------------------------------------------------

    def _want_colours(self, record: _Shown) -> None:
        key = self._key(record)
        runs = self._highlighter.cached(key)
        if runs is None:
            self._highlighter.request(key)
        else:
            self._start_colouring(record, runs)

    def _key(self, record: _Shown) -> HighlightKey:
        assert record.code is not None
        return record.code.code, record.code.language, self._theme.pygments_style

    def _on_highlighted(self, key: object, runs: object) -> None:
        for record in self._shown:
            if (
                record.code is not None
                and record.code.complete
                and not record.coloured
                and self._key(record) == key
                and not any(c.shown is record for c in self._colouring)
            ):
                assert isinstance(runs, list)
                self._start_colouring(record, runs)

    def _start_colouring(self, record: _Shown, runs: list[HighlightRun]) -> None:
        self._colouring.append(_Colouring(record, runs))
        self._colour_timer.start()

    def _colour_some(self) -> None:
        """Apply colours until the turn's budget is spent; the rest comes next turn."""
        deadline = time.perf_counter() + _COLOUR_BUDGET_S
        cursor = QTextCursor(self.document())
        cursor.beginEditBlock()
        while self._colouring and time.perf_counter() < deadline:
            job = self._colouring[0]
            code_start, _footer = self._code_range(job.shown)
            end = min(len(job.runs), job.next_run + 8)
            for run in job.runs[job.next_run : end]:
                cursor.setPosition(code_start + run.start)
                cursor.setPosition(code_start + run.start + run.length, QTextCursor.MoveMode.KeepAnchor)
                cursor.mergeCharFormat(run_format(job.formats, run))
            job.next_run = end
            if end == len(job.runs):
                job.shown.coloured = True
                self._colouring.pop(0)
        cursor.endEditBlock()
        if self._colouring:
            self._colour_timer.start()

    # -- size -------------------------------------------------------------------------

    def _longest_line(self, code: str) -> float:
        metrics = QFontMetricsF(self._code_char_format().font())
        return max((metrics.horizontalAdvance(line.expandtabs(8)) for line in code.split("\n")), default=0.0)

    def _stretch_frames(self) -> None:
        """In a code-only browser, each frame is as wide as the pane or as its longest line."""
        if not self.code_only:
            return
        width = self.viewport().width()
        for record in self._shown:
            if record.frame is None:
                continue
            wanted = max(float(width), record.code_width + _CODE_SIDES_PX)
            frame_format = record.frame.frameFormat()
            if frame_format.width().rawValue() != wanted:
                frame_format.setWidth(QTextLength(QTextLength.Type.FixedLength, wanted))
                record.frame.setFrameFormat(frame_format)

    def scrolls_sideways(self) -> bool:
        """Whether the content is wider than the pane (a long code line, a wide table)."""
        return self.document().size().width() > self.viewport().width() + 0.5

    def _fit_height(self) -> None:
        margins = self.contentsMargins()
        height = math.ceil(self.document().size().height()) + margins.top() + margins.bottom()
        if self.scrolls_sideways():
            height += self.horizontalScrollBar().sizeHint().height()
        if height != self.height():
            self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._stretch_frames()
        self._fit_height()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.angleDelta().x() and self.scrolls_sideways():
            super().wheelEvent(event)  # sideways: this block's own scrolling
        else:
            event.ignore()  # up and down: let the conversation's scroll area scroll


def prepare_code_layout(theme: RenderTheme) -> None:
    """Lay out a small code frame in a throwaway browser, so the first real one is cheap.

    The first frame of a process costs ~25 ms (fonts for code and the small labels are
    resolved then); a view calls this while idle instead of mid-answer.
    """
    browser = MessageBrowser()
    browser.setFixedWidth(400)
    browser.set_code_style(theme, code_actions=True)
    browser.show_segments(
        ["<p>x</p>", "", ""],
        [None, CodeBlock(0, "python", "x = 1", False), CodeBlock(1, "", "y", True)],
    )
    browser.document().size()
    browser.deleteLater()


def _can_grow(record: _Shown, block: CodeBlock | None) -> bool:
    """Whether a shown code frame can be edited into `block` rather than replaced."""
    shown = record.code
    return (
        record.frame is not None
        and shown is not None
        and block is not None
        and not shown.complete
        and (shown.index, shown.language) == (block.index, block.language)
    )
