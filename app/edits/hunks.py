"""Hunks: the unit of review of a change to one file, and applying any subset of them.

A hunk replaces a run of a file's lines with new lines. Lines are compared without
their endings and written back with the file's own (most common) line ending, so a
CRLF file stays CRLF. Both Apply (one code block into one editor, app.chat.apply) and
multi-file edits (app.edits.changeset) review and apply changes as these hunks.

Qt-free.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.editor.textfile import detect_line_endings

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LINE_WITH_END = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_LINE_END = re.compile(r"(?:\r\n|\r|\n)\Z")


@dataclass(frozen=True)
class Hunk:
    """Replace file lines [start, end) (0-based) with `new_lines`; end == start inserts.

    `what` and `why` say, for the dialog, what the change does ("Replaces function
    area") and why it goes there ("the file defines area at line 4"); `selected` is
    whether the dialog ticks it at first."""

    start: int
    end: int
    old_lines: tuple[str, ...]
    new_lines: tuple[str, ...]
    what: str = ""
    why: str = ""
    selected: bool = True

    @property
    def header(self) -> str:
        return f"@@ -{self.start + 1},{self.end - self.start} +{self.start + 1},{len(self.new_lines)} @@"

    def unified(self) -> str:
        """The hunk as unified-diff lines (for display)."""
        return "\n".join(
            [self.header, *("-" + line for line in self.old_lines), *("+" + line for line in self.new_lines)]
        )


def split_lines(text: str) -> list[str]:
    """Lines without their endings; a final line break adds no empty line."""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "" and len(lines) > 1:
        lines.pop()
    return [] if text == "" else lines


def line_hunks(old: Sequence[str], new: Sequence[str], offset: int) -> list[Hunk]:
    matcher = difflib.SequenceMatcher(None, list(old), list(new), autojunk=False)
    hunks: list[Hunk] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        hunk = Hunk(offset + i1, offset + i2, tuple(old[i1:i2]), tuple(new[j1:j2]))
        previous = hunks[-1] if hunks else None
        if previous is not None and previous.end == hunk.start:  # adjacent: one change
            hunks[-1] = Hunk(
                previous.start, hunk.end, previous.old_lines + hunk.old_lines, previous.new_lines + hunk.new_lines
            )
        else:
            hunks.append(hunk)
    return hunks


def apply_hunks(current: str, hunks: Iterable[Hunk]) -> str:
    """`current` with `hunks` applied (any subset of one plan's hunks).

    Lines the hunks do not touch keep their own line endings (a file with mixed endings
    changes only where it was edited); new lines get the file's most common one.
    """
    eol, _ = detect_line_endings(current)
    lines = _LINE_WITH_END.findall(current)
    ends_with_break = current.endswith(("\n", "\r"))
    if lines and not ends_with_break:
        lines[-1] += eol  # every line ends with a break while lines move; the last one's goes at the end
    # Bottom up, so earlier hunks keep their line numbers; hunks inserting at the same
    # line go in reverse of their order, which leaves them in order.
    ordered = sorted(enumerate(hunks), key=lambda item: (item[1].start, item[1].end, item[0]), reverse=True)
    for _, hunk in ordered:
        lines[hunk.start : hunk.end] = [line + eol for line in hunk.new_lines]
    result = "".join(lines)
    if current and not ends_with_break and result:
        result = _LINE_END.sub("", result)
    return result


def changed_span(old: str, new: str) -> tuple[int, int, str]:
    """(start, end, replacement): the smallest slice of `old` to replace to get `new`,
    so an editor can apply the change as one edit without touching the rest."""
    limit = min(len(old), len(new))
    start = 0
    while start < limit and old[start] == new[start]:
        start += 1
    end_old, end_new = len(old), len(new)
    while end_old > start and end_new > start and old[end_old - 1] == new[end_new - 1]:
        end_old -= 1
        end_new -= 1
    return start, end_old, new[start:end_new]
