"""The edit formats the model answers in, and their parser.

Each edit starts with the file's path on its own line, then a fenced block:

- **whole file**: the block is the file's complete new content (a path that does not
  exist yet makes a new file);
- **search/replace**: the block holds one or more
  `<<<<<<< SEARCH` / `=======` / `>>>>>>> REPLACE` sections, each replacing lines copied
  exactly from the file (the format Aider made common; small models have seen it);
- **deletion**: a line `DELETE FILE: path` (the user confirms it in the review).

The parser is forgiving about what surrounds the path (`**x.py**`, `` `x.py` ``,
`# x.py`, `File: x.py`, `x.py:`, or the path after the fence's language) because small
models decorate it; it is strict about the markers, so prose is never taken for an edit.

Qt-free.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

# Files up to this many lines are asked for whole; longer ones as search/replace blocks.
# Why lines and why 200: rewriting a file costs about its own length in generated
# tokens (on a CPU, 200 lines is ~2,000 tokens, a minute at 30 tokens/s), while a
# search/replace answer costs the changed region twice, but small models copy SEARCH
# lines inexactly. Below this size the whole file is cheap and never mismatches.
# A first guess, to be measured on the test model (pass rate and tokens per format at
# 50/100/200/400 lines).
WHOLE_FILE_MAX_LINES = 200

SEARCH_MARK = "<<<<<<< SEARCH"
DIVIDER_MARK = "======="
REPLACE_MARK = ">>>>>>> REPLACE"
DELETE_MARK = "DELETE FILE:"

_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_SEARCH = re.compile(r"^<{5,9} ?SEARCH\s*$")
_DIVIDER = re.compile(r"^={5,9}\s*$")
_REPLACE = re.compile(r"^>{5,9} ?REPLACE\s*$")
_DELETE = re.compile(r"^\W*DELETE FILE:\s*(?P<path>\S+?)\W*$")
# A path: no spaces; it needs a dot or a slash between word characters ("Makefile" alone
# counts only when it is one of the known files).
_PATH = re.compile(r"^[\w.\-/\\]+$")
_PATH_DECORATION = re.compile(r"^(?:#+\s*|//\s*|(?:file(?:name)?|path)\s*:\s*|[-*]\s+)", re.IGNORECASE)

EditKind = Literal["whole", "search_replace", "delete"]


@dataclass(frozen=True)
class Edit:
    """One edit as the answer wrote it; `path` is the name as written, not yet checked.

    For "whole", `replace` is the new content; for "search_replace", `search` is the
    text to find and `replace` what goes there; "delete" has neither. `line` is the
    answer's line (1-based) where the edit starts, for messages.
    """

    kind: EditKind
    path: str
    search: str = ""
    replace: str = ""
    line: int = 0


@dataclass(frozen=True)
class ParsedAnswer:
    edits: tuple[Edit, ...]
    problems: tuple[str, ...] = ()  # what could not be read, each a sentence for the user and the model

    @property
    def empty(self) -> bool:
        return not self.edits


def path_from_line(line: str, known: Sequence[str] = ()) -> str | None:
    """The path a line names when it is a path line (decorations stripped), else None."""
    text = line.strip().strip("*`").strip()
    text = _PATH_DECORATION.sub("", text).strip().strip("*`'\"").rstrip(":").strip()
    if not _PATH.match(text) or not re.search(r"[A-Za-z]", text):
        return None
    if text in known or any(k.endswith("/" + text) for k in known):
        return text
    return text if re.search(r"\w[./]\w", text) else None


def _path_from_info(info: str, known: Sequence[str]) -> str | None:
    """A path given in the fence's info string: "python x.py", "python:x.py", "x.py"."""
    words = info.strip().replace(":", " ").split()
    for word in reversed(words):
        found = path_from_line(word, known)
        if found is not None and ("." in found or "/" in found or found in known):
            return found
    return None


def _preceding_path(lines: Sequence[str], index: int, known: Sequence[str]) -> str | None:
    """The path on the nearest non-blank line above `index` (at most one blank between)."""
    for back in (1, 2):
        at = index - back
        if at < 0:
            return None
        if lines[at].strip():
            return path_from_line(lines[at], known)
    return None


def _closing_fence(lines: Sequence[str], start: int, fence: str) -> int:
    """The index of the line that closes a block opened with `fence`, or len(lines)."""
    char = fence[0]
    for i in range(start, len(lines)):
        stripped = lines[i].strip()
        if len(stripped) >= len(fence) and set(stripped) == {char}:
            return i
    return len(lines)


def _search_replace(body: Sequence[str], path: str, first_line: int) -> tuple[list[Edit], list[str]]:
    """The SEARCH/REPLACE sections of a block's lines."""
    edits: list[Edit] = []
    problems: list[str] = []
    i = 0
    while i < len(body):
        if not _SEARCH.match(body[i]):
            i += 1
            continue
        start = i
        divider = next((j for j in range(i + 1, len(body)) if _DIVIDER.match(body[j])), None)
        end = (
            None
            if divider is None
            else next((j for j in range(divider + 1, len(body)) if _REPLACE.match(body[j])), None)
        )
        if divider is None or end is None:
            missing = DIVIDER_MARK if divider is None else REPLACE_MARK
            problems.append(f"The SEARCH block for {path} at line {first_line + start} has no {missing} line")
            break
        search = "\n".join(body[start + 1 : divider])
        replace = "\n".join(body[divider + 1 : end])
        edits.append(Edit("search_replace", path, search, replace, first_line + start))
        i = end + 1
    return edits, problems


def parse_answer(answer: str, known_paths: Sequence[str] = ()) -> ParsedAnswer:
    """The edits in a model's answer, in order, and what could not be read.

    `known_paths` (the files the question attached) lets a bare name without a dot
    ("Makefile") count as a path line.
    """
    lines = answer.splitlines()
    edits: list[Edit] = []
    problems: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        deletion = _DELETE.match(line.strip())
        if deletion:
            edits.append(Edit("delete", deletion.group("path").strip("`*'\""), line=i + 1))
            i += 1
            continue
        fence = _FENCE.match(line.strip())
        bare_search = _SEARCH.match(line)
        if not fence and not bare_search:
            i += 1
            continue
        if fence:
            end = _closing_fence(lines, i + 1, fence.group("fence"))
            body = lines[i + 1 : end]
            path = _path_from_info(fence.group("info"), known_paths) or _preceding_path(lines, i, known_paths)
            body_start = i + 2
            next_i = end + 1
        else:  # SEARCH blocks without a fence around them
            end = next((j for j in range(i, len(lines)) if _REPLACE.match(lines[j])), len(lines) - 1)
            body = lines[i : end + 1]
            path = _preceding_path(lines, i, known_paths)
            body_start = i + 1
            next_i = end + 1
        has_markers = any(_SEARCH.match(b) for b in body)
        if path is None:
            if has_markers:
                problems.append(f"The SEARCH block at line {body_start} has no file path on the line before it")
            i = next_i
            continue  # a code block without a path is an example, not an edit
        if has_markers:
            found, trouble = _search_replace(body, path, body_start)
            edits.extend(found)
            problems.extend(trouble)
        else:
            content = "\n".join(body)
            edits.append(Edit("whole", path, replace=content + "\n" if content else "", line=body_start - 1))
        i = next_i
    return ParsedAnswer(tuple(edits), tuple(problems))


NO_EDIT_MESSAGE = (
    "The answer has no edit the app can read (a file's path on its own line, then a fenced block); no file was changed"
)
