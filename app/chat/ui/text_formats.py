"""Text formats and HTML insertion for the chat's message browsers."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QTextBlockFormat, QTextCharFormat, QTextCursor, QTextDocument, QTextFormat

from app.chat.markdown.highlight import HighlightRun


def spacer() -> QTextBlockFormat:
    """An empty block that takes no height (next to a frame, where Qt insists on one)."""
    block_format = QTextBlockFormat()
    block_format.setLineHeight(0, QTextBlockFormat.LineHeightTypes.FixedHeight.value)
    return block_format


def small(colour: str) -> QTextCharFormat:
    char_format = QTextCharFormat()
    char_format.setForeground(QColor(colour))
    char_format.setProperty(QTextFormat.Property.FontSizeAdjustment, -1)
    return char_format


def run_format(formats: dict[tuple[str, bool, bool], QTextCharFormat], run: HighlightRun) -> QTextCharFormat:
    """The character format of a highlight run, made once per look and kept in `formats`."""
    look = (run.colour, run.bold, run.italic)
    char_format = formats.get(look)
    if char_format is None:
        char_format = QTextCharFormat()
        if run.colour:
            char_format.setForeground(QColor(run.colour))
        if run.bold:
            char_format.setFontWeight(QFont.Weight.Bold)
        if run.italic:
            char_format.setFontItalic(True)
        formats[look] = char_format
    return char_format


# Lists and tables open their own blocks; anything else needs a fresh block to start in.
_OWN_BLOCK_STARTS = ("<ul", "<ol", "<table")


def insert_segment(cursor: QTextCursor, html: str, *, first: bool) -> None:
    """Append one top-level block's HTML where `cursor` is (the end of the document)."""
    if not first and not html.startswith(_OWN_BLOCK_STARTS):
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
    block_number = cursor.blockNumber()
    cursor.insertHtml(html)
    if not html.startswith(_OWN_BLOCK_STARTS):
        # insertHtml merges the fragment's first block into the current one and drops
        # its block format (margins, indent, heading level); put that format back.
        parsed = QTextDocument()
        parsed.setHtml(html)
        target = QTextCursor(cursor.document().findBlockByNumber(block_number))
        target.setBlockFormat(parsed.begin().blockFormat())
