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

_ROLE_NOTE = re.compile(r"\s+\(.*\)$")

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
    text = _ROLE_NOTE.sub("", text)  # "x.py (editable: ...)" copied from the prompt's file header
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
            deletion = _DELETE.match(lines[at].strip())  # "DELETE FILE: x.py" then x.py's content: a rewrite
            return path_from_line(deletion.group("path") if deletion else lines[at], known)
    return None


def _block_follows(lines: Sequence[str], index: int) -> bool:
    """Whether a fenced block starts on the next non-blank line: small models copy the
    DELETE line from the instructions and then write the file, which is no deletion."""
    following = next((line for line in lines[index + 1 : index + 3] if line.strip()), "")
    return bool(_FENCE.match(following.strip()))


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


def _block_edits(body: Sequence[str], path: str, body_start: int) -> tuple[list[Edit], list[str]]:
    """The edits of one block for `path`: its SEARCH/REPLACE sections, or its whole content."""
    if any(_SEARCH.match(b) for b in body):
        return _search_replace(body, path, body_start)
    content = "\n".join(body)
    return [Edit("whole", path, replace=content + "\n" if content else "", line=body_start - 1)], []


def parse_answer(answer: str, known_paths: Sequence[str] = (), sole_file: str | None = None) -> ParsedAnswer:
    """The edits in a model's answer, in order, and what could not be read.

    `known_paths` (the files the question attached) lets a bare name without a dot
    ("Makefile") count as a path line. `sole_file` is the one editable file, when there
    is one: an answer whose only block has no path is taken as that file's edit (small
    models leave the path out when only one file is in play).
    """
    lines = answer.splitlines()
    edits: list[Edit] = []
    problems: list[str] = []
    unnamed: list[tuple[list[str], int]] = []  # blocks without a path: (lines, first line)
    i = 0
    while i < len(lines):
        line = lines[i]
        deletion = _DELETE.match(line.strip())
        if deletion and not _block_follows(lines, i):
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
            if end == len(lines):  # the answer stopped inside the block (the token limit, Stop)
                name = path or sole_file or "a file"
                problems.append(f"The block for {name} at line {i + 1} is cut short (its closing fence is missing)")
                break
            body_start = i + 2
        else:  # SEARCH blocks without a fence around them
            end = next((j for j in range(i, len(lines)) if _REPLACE.match(lines[j])), len(lines) - 1)
            body = lines[i : end + 1]
            path = _preceding_path(lines, i, known_paths)
            body_start = i + 1
        i = end + 1
        if path is None:
            unnamed.append((body, body_start))  # an example, unless it is all the answer has
            continue
        found, trouble = _block_edits(body, path, body_start)
        edits.extend(found)
        problems.extend(trouble)
    if not edits and sole_file is not None and len(unnamed) == 1:
        found, trouble = _block_edits(unnamed[0][0], sole_file, unnamed[0][1])
        return ParsedAnswer(tuple(found), (*problems, *trouble))
    for body, body_start in unnamed:
        if any(_SEARCH.match(b) for b in body):
            problems.append(f"The SEARCH block at line {body_start} has no file path on the line before it")
    return ParsedAnswer(tuple(edits), tuple(problems))


NO_EDIT_MESSAGE = (
    "The answer has no edit the app can read (a file's path on its own line, then a fenced block); "
    "no file was changed. Regenerate the answer, or ask again naming the change to make"
)
