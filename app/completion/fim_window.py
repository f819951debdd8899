"""What inline completion sends the model: the windows around the cursor, other open
files in DeepSeek-Coder's repository-level format (whether the loaded model may
complete at all is app/completion/support.py).

Qt-free and pure: the editor side gathers the text, this module decides the prompt.

Two things shape the windows besides the token budget:

- **Reuse.** The engine's completion KV context keeps what it evaluated last time: the
  tokens before the first difference stay, and the unchanged run after an edit is moved
  to its new positions instead of being evaluated again (app/engine/slots.py). Both need
  the window's edges to stay put from one keystroke to the next: the windows are cut at
  line boundaries snapped to a coarse grid (`SNAP_LINES`), not at "the last N
  characters", which would shift the whole prompt with every character typed. When the
  grid step moves the window's start, the cells of the lines that stay are moved too.
- **Other files.** Other open files go first, each introduced by a comment line
  with its path (`# utils.py`), most related first: files this one imports, then the
  most recently edited, then the rest; the file being completed comes last with its own
  path line. They share the one budget with the windows.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.config import sampling
from app.editor import textfile
from app.protocol.repository import path_comment as path_comment
from app.utils.tokens import CHARS_PER_TOKEN, approx_tokens

DEFAULT_BUDGET_TOKENS = 1500
PREFIX_SHARE = 0.75  # of the current file's part of the budget; the suffix gets the rest
OTHER_FILES_SHARE = 0.3  # at most this much of the budget goes to other files
MIN_OTHER_FILE_TOKENS = 48  # a smaller leftover is not worth a file header
SNAP_LINES = 16  # window edges move in steps of this many lines (prefix reuse)

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class OpenFile:
    """Another open document: its path ("" when untitled), text, language and how
    recently it was edited (any increasing number; 0: not edited in this session)."""

    path: str
    text: str
    language: str = textfile.PLAIN_TEXT
    last_edit: float = 0.0


@dataclass(frozen=True)
class CompletionPrompt:
    """The FIM request: `prefix` and `suffix` for /v1/completions, and what went in."""

    prefix: str
    suffix: str
    multiline: bool  # the cursor is at the end of its line: a block may be suggested
    other_files_shown: tuple[str, ...] = ()  # display paths of the other files included
    prefix_tokens: int = 0
    suffix_tokens: int = 0
    other_files_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prefix_tokens + self.suffix_tokens + self.other_files_tokens


# --- windows ------------------------------------------------------------------------


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(m.end() for m in re.finditer(r"\r\n|\r|\n", text))
    return starts


def _prefix_window(text: str, cursor: int, budget: int, count: TokenCounter) -> str:
    """The end of text[:cursor], starting at a snapped line boundary, within budget."""
    prefix = text[:cursor]
    if count(prefix) <= budget:
        return prefix
    starts = [s for s in _line_starts(prefix) if s <= cursor]
    cursor_line = len(starts) - 1
    # Smallest line index whose window fits, found by bisection (count is monotonic).
    lo, hi = 0, cursor_line
    while lo < hi:
        mid = (lo + hi) // 2
        if count(prefix[starts[mid] :]) <= budget:
            hi = mid
        else:
            lo = mid + 1
    # Snap up to the grid so the start stays put while the cursor moves.
    snapped = -(-lo // SNAP_LINES) * SNAP_LINES
    first = min(snapped, cursor_line)
    window = prefix[starts[first] :]
    if count(window) > budget:  # one huge line: keep its end
        window = window[-max(1, int(budget * CHARS_PER_TOKEN)) :]
    return window


def _suffix_window(text: str, cursor: int, budget: int, count: TokenCounter) -> str:
    """The start of text[cursor:], ending at a snapped line boundary, within budget."""
    suffix = text[cursor:]
    if count(suffix) <= budget:
        return suffix
    line_ends = [m.end() for m in re.finditer(r"\r\n|\r|\n", suffix)]
    # The absolute line index of the cursor fixes the grid, so the end does not move
    # with the cursor inside a stretch of SNAP_LINES lines.
    cursor_line = len(_line_starts(text[:cursor])) - 1
    lo, hi, best = 0, len(line_ends) - 1, -1
    while lo <= hi:
        mid = (lo + hi) // 2
        if count(suffix[: line_ends[mid]]) <= budget:
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    if best < 0:
        return suffix[: max(1, int(budget * CHARS_PER_TOKEN))]
    last_abs = cursor_line + best
    snapped_abs = (last_abs + 1) // SNAP_LINES * SNAP_LINES - 1
    keep = snapped_abs - cursor_line if snapped_abs >= cursor_line else best
    return suffix[: line_ends[keep]]


def is_end_of_line(text: str, cursor: int) -> bool:
    """True when only whitespace follows the cursor on its line."""
    rest = text[cursor:]
    end = len(rest)
    for sep in ("\n", "\r"):
        found = rest.find(sep)
        if found >= 0:
            end = min(end, found)
    return not rest[:end].strip()


# --- other files in the repository format ---------------------------------------------

_IMPORT_PATTERNS = (
    re.compile(r"^\s*from\s+(\.*[\w.]*)\s+import\s+([\w, ]+)", re.MULTILINE),  # python
    re.compile(r"^\s*import\s+([\w.]+(?:\s*,\s*[\w.]+)*)", re.MULTILINE),  # python, java, go single
    re.compile(r"""(?:from|import|require\(|import\()\s*['"]([^'"]+)['"]"""),  # js / ts
    re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE),  # c / c++
    re.compile(r"^\s*(?:pub\s+)?mod\s+(\w+)\s*;", re.MULTILINE),  # rust
    re.compile(r"^\s*use\s+(?:crate|super|self)::([\w:]+)", re.MULTILINE),  # rust
    re.compile(r"""^\s*(?:require_relative|require|source|\.)\s+['"]?([\w./-]+)""", re.MULTILINE),  # ruby, sh
)


_SOURCE_EXTENSION = re.compile(r"\.(py|js|jsx|ts|tsx|mjs|cjs|h|hh|hpp|c|cc|cpp|rb|sh|rs|go)$")


def imported_names(text: str) -> set[str]:
    """Module paths a file imports, as slash-separated paths without extensions."""
    names: set[str] = set()
    for pattern in _IMPORT_PATTERNS:
        for match in pattern.finditer(text):
            groups = [g for g in match.groups() if g]
            if pattern is _IMPORT_PATTERNS[0] and len(groups) == 2:
                base = groups[0].lstrip(".").replace(".", "/")
                names.add(base)
                for member in groups[1].split(","):
                    member = member.strip().split(" ")[0]
                    if member:
                        names.add(f"{base}/{member}" if base else member)
                continue
            for group in groups:
                for item in group.split(","):
                    item = item.strip()
                    if not item:
                        continue
                    item = _SOURCE_EXTENSION.sub("", item.replace("::", "/"))
                    if not item.startswith((".", "/")):
                        item = item.replace(".", "/") if "/" not in item else item
                    names.add(item)
    cleaned = set()
    for name in names:
        name = _SOURCE_EXTENSION.sub("", name)
        name = posixpath.normpath(name.replace("\\", "/")).lstrip("./")
        if name and name != ".":
            cleaned.add(name)
    return cleaned


def _module_path(path: str) -> str:
    stem, _ = os.path.splitext(path.replace("\\", "/"))
    return stem


def _is_imported(display_path: str, imports: set[str]) -> bool:
    module = _module_path(display_path)
    parts = module.split("/")
    if parts[-1] in ("__init__", "index", "mod"):
        parts = parts[:-1] or parts
        module = "/".join(parts)
    for name in imports:
        if module == name or module.endswith("/" + name) or name.endswith("/" + module):
            return True
        if name.split("/")[-1] == parts[-1] and len(parts[-1]) > 2:
            return True
    return False


def display_paths(current: str, others: Sequence[str]) -> tuple[str, list[str]]:
    """Paths as the prompt shows them: relative to the folder that holds them all."""
    real = [p for p in (current, *others) if p]
    root = ""
    if len(real) > 1:
        try:
            root = os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in real])
        except ValueError:  # different drives
            root = ""

    def show(path: str) -> str:
        if not path:
            return "untitled"
        if root:
            return os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
        return os.path.basename(path)

    return show(current), [show(p) for p in others]


def rank_related(current_text: str, current_display: str, files: Sequence[OpenFile], shown: Sequence[str]) -> list[int]:
    """Indexes of `files`, most related first: imported, then by recent edit, then open order."""
    imports = imported_names(current_text)

    def key(i: int) -> tuple[int, float, int]:
        imported = _is_imported(shown[i], imports) if shown[i] != current_display else False
        return (0 if imported else 1, -files[i].last_edit, i)

    return sorted(range(len(files)), key=key)


def _head_within(text: str, budget: int, count: TokenCounter) -> str:
    """The first lines of `text` that fit in `budget` tokens."""
    if count(text) <= budget:
        return text
    kept: list[str] = []
    used = 0
    for line in text.splitlines(keepends=True):
        cost = count(line)
        if used + cost > budget:
            break
        kept.append(line)
        used += cost
    return "".join(kept)


# --- the prompt ---------------------------------------------------------------------


def _window_budgets(
    text: str, cursor: int, file_budget: int, prefix_share: float, count_tokens: TokenCounter
) -> tuple[int, int]:
    """The prefix's and the suffix's tokens: a short side lends what it does not use to the other."""
    prefix_budget = int(file_budget * prefix_share)
    suffix_budget = file_budget - prefix_budget
    suffix_needed = count_tokens(text[cursor:])
    prefix_needed = count_tokens(text[:cursor])
    if suffix_needed < suffix_budget:
        return prefix_budget + suffix_budget - suffix_needed, suffix_needed
    if prefix_needed < prefix_budget:
        return prefix_needed, suffix_budget + prefix_budget - prefix_needed
    return prefix_budget, suffix_budget


def _other_files_part(
    ranked: Sequence[tuple[str, OpenFile]], room: int, count_tokens: TokenCounter
) -> tuple[list[str], list[str], int]:
    """Other files' heads, most related first, each under its path line, within `room` tokens:
    (the parts, their shown paths, their tokens)."""
    parts: list[str] = []
    included: list[str] = []
    used = 0
    for shown_path, file in ranked:
        intro = path_comment(shown_path, file.language) + "\n"
        left = room - used - count_tokens(intro)
        if left < MIN_OTHER_FILE_TOKENS:
            break
        body = _head_within(file.text, left, count_tokens)
        if not body.strip():
            continue
        if not body.endswith("\n"):
            body += "\n"
        parts.append(intro + body + "\n")
        included.append(shown_path)
        used += count_tokens(parts[-1])
    return parts, included, used


def build_completion_prompt(
    text: str,
    cursor: int,
    *,
    path: str = "",
    language: str = textfile.PLAIN_TEXT,
    other_files: Sequence[OpenFile] = (),
    budget_tokens: int = DEFAULT_BUDGET_TOKENS,
    count_tokens: TokenCounter = approx_tokens,
    prefix_share: float = PREFIX_SHARE,
    other_files_share: float = OTHER_FILES_SHARE,
    repository_prefix: str = "",
    repository_paths: Sequence[str] = (),
) -> CompletionPrompt:
    """The prefix and suffix to send for a completion at `cursor` (a character offset).

    `repository_prefix` is other files' chunks in the repository format, already within
    their own budget (app.completion.ring): it goes first, where it stays the same from
    one keystroke to the next; `repository_paths` are their paths, so that the current
    file's path line is relative to the same folder."""
    cursor = max(0, min(cursor, len(text)))
    others = [f for f in other_files if f.text.strip() and (not path or f.path != path)]
    current_shown, shown = display_paths(path, [f.path for f in others] + list(repository_paths))
    shown = shown[: len(others)]
    other_files_available = sum(count_tokens(f.text) for f in others)
    reserve = min(int(budget_tokens * other_files_share), other_files_available) if others else 0
    file_budget = budget_tokens - reserve

    prefix_budget, suffix_budget = _window_budgets(text, cursor, file_budget, prefix_share, count_tokens)
    prefix = _prefix_window(text, cursor, prefix_budget, count_tokens)
    suffix = _suffix_window(text, cursor, suffix_budget, count_tokens)
    prefix_tokens, suffix_tokens = count_tokens(prefix), count_tokens(suffix)

    other_parts: list[str] = []
    included: list[str] = []
    other_files_tokens = 0
    if others:
        header = path_comment(current_shown, language) + "\n"
        room = budget_tokens - prefix_tokens - suffix_tokens - count_tokens(header)
        ranked = [(shown[i], others[i]) for i in rank_related(text, current_shown, others, shown)]
        other_parts, included, other_files_tokens = _other_files_part(ranked, room, count_tokens)
    if other_parts or repository_prefix:
        other_parts.append(path_comment(current_shown, language) + "\n")
        other_files_tokens += count_tokens(other_parts[-1]) + count_tokens(repository_prefix)
    return CompletionPrompt(
        prefix=repository_prefix + "".join(other_parts) + prefix,
        suffix=suffix,
        multiline=is_end_of_line(text, cursor),
        other_files_shown=tuple(included),
        prefix_tokens=prefix_tokens,
        suffix_tokens=suffix_tokens,
        other_files_tokens=other_files_tokens,
    )


def max_tokens_for(prompt: CompletionPrompt) -> int:
    """How long a suggestion may run: a block at the end of a line, else the line's rest."""
    return sampling.INLINE_BLOCK_MAX_TOKENS if prompt.multiline else sampling.INLINE_LINE_MAX_TOKENS
