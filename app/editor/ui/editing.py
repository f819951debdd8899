"""Editing commands that work on a ScintillaEdit: comment toggle, auto-indent, braces.

Scintilla positions are byte offsets into the UTF-8 document. Comment markers are
ASCII, so their byte and character lengths agree; everything else goes through
Scintilla's own position functions.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray
from pyside6_scintilla import ScintillaEdit

from app.editor.textfile import Language

BRACES = frozenset(b"()[]{}")
_OPENERS = ("{", "(", "[")


def decoded(raw: QByteArray) -> str:
    """Scintilla's text (a QByteArray of UTF-8) as str; a broken byte becomes U+FFFD."""
    return bytes(raw.data()).decode("utf-8", errors="replace")


def line_text(sci: ScintillaEdit, line: int) -> str:
    """A line's text without its line ending."""
    start = sci.positionFromLine(line)
    end = sci.lineEndPosition(line)
    return decoded(sci.textRange(start, end))


def selected_line_range(sci: ScintillaEdit) -> tuple[int, int]:
    """First and last line the selection touches; a selection that ends at column 0
    leaves that line out, as every editor does."""
    start, end = sci.selectionStart(), sci.selectionEnd()
    first, last = sci.lineFromPosition(start), sci.lineFromPosition(end)
    if last > first and end == sci.positionFromLine(last):
        last -= 1
    return first, last


def _delete(sci: ScintillaEdit, start: int, end: int) -> None:
    sci.setTargetRange(start, end)
    sci.replaceTarget(0, "")


def toggle_comment(sci: ScintillaEdit, language: Language) -> bool:
    """Comment or uncomment the selected lines (or the caret's line).

    Line comments go at the smallest indentation of the block, so the comment markers
    line up; if every non-blank line is already commented, they are removed instead.
    Languages without line comments get the block wrapped in block-comment markers.
    Returns False when the language has no comments at all (JSON, plain text).
    """
    first, last = selected_line_range(sci)
    had_selection = not sci.selectionEmpty()
    sci.beginUndoAction()
    try:
        if language.line_comment:
            _toggle_line_comments(sci, language.line_comment, first, last)
        elif language.block_comment:
            _toggle_block_comment(sci, language.block_comment, first, last)
        else:
            return False
    finally:
        sci.endUndoAction()
    if had_selection:
        sci.setSel(sci.positionFromLine(first), sci.lineEndPosition(last))
    return True


def _toggle_line_comments(sci: ScintillaEdit, prefix: str, first: int, last: int) -> None:
    lines = [n for n in range(first, last + 1) if line_text(sci, n).strip()]
    if not lines:
        return
    commented = all(line_text(sci, n).lstrip().startswith(prefix) for n in lines)
    if commented:
        for n in lines:
            start = sci.lineIndentPosition(n)
            end = start + len(prefix)
            if sci.textRange(end, end + 1).data() == b" ":
                end += 1
            _delete(sci, start, end)
        return
    column = min(sci.lineIndentation(n) for n in lines)
    for n in lines:
        sci.insertText(sci.findColumn(n, column), prefix + " ")


def _toggle_block_comment(sci: ScintillaEdit, markers: tuple[str, str], first: int, last: int) -> None:
    opener, closer = markers
    start = sci.lineIndentPosition(first)
    end = sci.lineEndPosition(last)
    body = decoded(sci.textRange(start, end))
    stripped = body.rstrip()
    if stripped.startswith(opener) and stripped.endswith(closer) and len(stripped) >= len(opener) + len(closer):
        close_at = start + len(stripped.encode()) - len(closer)
        if sci.textRange(close_at - 1, close_at).data() == b" ":
            close_at -= 1
        _delete(sci, close_at, start + len(stripped.encode()))
        open_end = start + len(opener)
        if sci.textRange(open_end, open_end + 1).data() == b" ":
            open_end += 1
        _delete(sci, start, open_end)
        return
    sci.insertText(end, " " + closer)
    sci.insertText(start, opener + " ")


def auto_indent(sci: ScintillaEdit, language_id: str, indent_width: int) -> None:
    """After Enter: give the new line the previous line's indentation, one level more
    after a line that opens a block (a Python colon, an open brace or bracket)."""
    line = sci.lineFromPosition(sci.currentPos())
    if line == 0:
        return
    previous = line_text(sci, line - 1)
    indent = sci.lineIndentation(line - 1)
    code = previous.rstrip()
    if (language_id == "python" and code.endswith(":")) or code.endswith(_OPENERS):
        indent += indent_width
    if indent > sci.lineIndentation(line):
        sci.setLineIndentation(line, indent)
        sci.gotoPos(sci.lineIndentPosition(line))


def highlight_braces(sci: ScintillaEdit) -> None:
    """Highlight the brace at or before the caret and its partner; a lone one in red."""
    caret = sci.currentPos()
    for pos in (caret, caret - 1):
        if 0 <= pos < sci.length() and sci.charAt(pos) in BRACES:
            match = sci.braceMatch(pos, 0)
            if match >= 0:
                sci.braceHighlight(pos, match)
                sci.setHighlightGuide(min(sci.column(pos), sci.column(match)))
            else:
                sci.braceBadLight(pos)
                sci.setHighlightGuide(0)
            return
    sci.braceHighlight(-1, -1)
    sci.setHighlightGuide(0)
