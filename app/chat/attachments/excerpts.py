"""What a question carries from the editor: the current file when it fits the budget,
otherwise the part around the cursor; a selection with its file name, line numbers and
the definition around it; other files named with `@file`; the project map.

Pure functions: the chat's chips show `Attachment.label` and `tokens`, and the prompt
is `prompt.attachments_prompt(question, attachments)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from app.editor import textfile
from app.syntax.definitions import Definition, enclosing, outline
from app.syntax.languages import parse_language
from app.utils.tokens import approx_tokens

DEFAULT_FILE_BUDGET = 3000  # tokens for the current file before only the part around the cursor goes
MAX_ENCLOSING_LINES = 120  # a longer enclosing definition is named, not quoted

AttachmentKind = Literal["file", "part", "selection", "project"]


@dataclass(frozen=True)
class Attachment:
    kind: AttachmentKind
    name: str  # the file's name as shown ("sample.py"), or "project map"
    language_id: str
    code: str
    first_line: int = 1  # 1-based line numbers of `code` in the file
    last_line: int = 0
    enclosing: str = ""  # the definition around a selection ("" when none, or the selection is it)
    enclosing_lines: tuple[int, int] = (0, 0)
    enclosing_name: str = ""
    key: str = ""  # which chip shows it (app.chat.attachments.rules: "editor", "@utils.py", "project")

    @property
    def tokens(self) -> int:
        return approx_tokens(self.code) + approx_tokens(self.enclosing)

    @property
    def label(self) -> str:
        """What the chip says: "sample.py", "sample.py:40–120", "sample.py:12–18 (selection)"."""
        if self.kind == "file" or self.kind == "project":
            return self.name
        span = f"{self.first_line}–{self.last_line}" if self.last_line > self.first_line else f"{self.first_line}"
        return f"{self.name}:{span}" + (" (selection)" if self.kind == "selection" else "")


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _count(lines: Sequence[str]) -> int:
    return approx_tokens("".join(lines))


def around_cursor(lines: Sequence[str], cursor_line: int, budget: int) -> tuple[int, int]:
    """[start, end) lines around `cursor_line` that fit `budget` tokens: a third before, the rest after,
    the side that runs out lending to the other."""
    cursor_line = max(0, min(cursor_line, max(0, len(lines) - 1)))
    start, end = cursor_line, cursor_line + 1
    used = _count(lines[start:end])
    while True:
        grew = False
        for direction in (-1, 1, 1):
            if direction < 0 and start > 0 and used + _count([lines[start - 1]]) <= budget:
                start -= 1
                used += _count([lines[start]])
                grew = True
            elif direction > 0 and end < len(lines) and used + _count([lines[end]]) <= budget:
                used += _count([lines[end]])
                end += 1
                grew = True
        if not grew:
            return start, end


def current_file(
    name: str, language_id: str, text: str, cursor_line: int, budget_tokens: int = DEFAULT_FILE_BUDGET
) -> Attachment:
    """The whole file when it fits `budget_tokens`, else the part around the cursor (0-based line)."""
    if approx_tokens(text) <= budget_tokens:
        lines = _lines(text)
        return Attachment("file", name, language_id, text, 1, max(1, len(lines)))
    lines = _lines(text)
    start, end = around_cursor(lines, cursor_line, budget_tokens)
    return Attachment("part", name, language_id, "".join(lines[start:end]), start + 1, end)


def _enclosing_definition(text: str, language_id: str, path: str, first: int, last: int) -> Definition | None:
    source = parse_language(text, language_id, path)
    if source is None:
        return None
    around = enclosing(outline(source), first)
    while around is not None and not (around.start_line <= first and last < around.end_line):
        around = None  # the selection runs out of it: no single definition encloses it
    return around


def selection(name: str, language_id: str, text: str, start_offset: int, end_offset: int, path: str = "") -> Attachment:
    """The selected text with its lines, plus the definition it sits in (tree-sitter)."""
    first = text.count("\n", 0, start_offset)
    chosen = text[start_offset:end_offset]
    last = first + chosen.rstrip("\n").count("\n")
    around = _enclosing_definition(text, language_id, path, first, last)
    enclosing_text, lines, label = "", (0, 0), ""
    if around is not None and around.end_line - around.start_line <= MAX_ENCLOSING_LINES:
        whole = _lines(text)[around.start_line : around.end_line]
        if "".join(whole).strip() != chosen.strip():
            enclosing_text = "".join(whole)
            lines = (around.start_line + 1, around.end_line)
            label = around.qualified_name
    return Attachment("selection", name, language_id, chosen, first + 1, last + 1, enclosing_text, lines, label)


def other_file(display_path: str, text: str, budget_tokens: int = DEFAULT_FILE_BUDGET) -> Attachment:
    """A file named with `@file`: whole when it fits, else its beginning (the chip says which lines)."""
    language_id = textfile.language_id_for_path(display_path, text.split("\n", 1)[0])
    return current_file(display_path, language_id, text, 0, budget_tokens)


def project_map(text: str) -> Attachment:
    return Attachment("project", "project map", "text", text)


def total_tokens(attachments: Sequence[Attachment]) -> int:
    return sum(a.tokens for a in attachments)
