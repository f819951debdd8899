"""Applying a chat answer's code block to the file it was meant for, as reviewable hunks.

A block is either the whole file rewritten, or a fragment (one function, a few lines)
that replaces the region of the file it corresponds to. The region is found by fuzzy
matching, because the answer usually changes the very lines that would anchor an exact
match (a new parameter in the signature, a fixed return line). A fragment that matches
nothing is offered as an insertion at the cursor.

The result is a list of hunks (difflib opcodes grouped) that a dialog shows with accept
or reject each; `apply_hunks` builds the new text from the accepted ones. Lines are
compared without their endings and written back with the file's own line ending.

Qt-free; the dialog is app/chat/ui/apply_dialog.py.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from app.edits.hunks import Hunk, apply_hunks, changed_span, line_hunks, split_lines
from app.edits.indentation import common_indent

# The hunk primitives live in app.edits.hunks, shared with multi-file edits; Apply's
# callers keep importing them from here.
__all__ = [
    "ApplyPlan",
    "Hunk",
    "apply_hunks",
    "changed_span",
    "line_hunks",
    "locate_region",
    "plan_apply",
    "split_lines",
]

Kind = Literal["whole", "region", "insert", "syntax"]

WHOLE_FILE_COVERAGE = 0.7  # a block matching this much of the file replaces all of it
MIN_REGION_SCORE = 0.45  # below this, a fragment is not taken to be any region of the file
FUZZY_LINE = 0.6


@dataclass(frozen=True)
class ApplyPlan:
    kind: Kind
    region: tuple[int, int]  # the file lines [start, end) the block replaces
    hunks: tuple[Hunk, ...]
    score: float = 1.0  # how well the region matched (1.0 for whole files)
    # Why the plan could not place the block by syntax ("" when it did, or did not try).
    fallback_reason: str = ""
    notes: tuple[str, ...] = ()  # what else the dialog should say (code left out, duplicates)
    grammar: str | None = None  # the tree-sitter grammar that checks the result

    @property
    def unchanged(self) -> bool:
        return not self.hunks


def _significant(line: str) -> bool:
    stripped = line.strip()
    return len(stripped) > 3 and bool(re.search(r"\w", stripped))


def _similar(a: str, b: str) -> float:
    a, b = a.strip(), b.strip()
    if a == b:
        return 1.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < FUZZY_LINE or matcher.quick_ratio() < FUZZY_LINE:
        return 0.0
    return matcher.ratio()


def _reindent(block: list[str], target: str) -> list[str]:
    """Shift a fragment that lost its indentation (chat answers often do) to `target`."""
    current = common_indent(block)
    if len(target) <= len(current):
        return block
    extra = target[len(current) :]
    return [extra + line if line.strip() else line for line in block]


_DEFINITION = re.compile(r"\b(?:def|class|function|fn|func|struct|enum|impl|interface|trait|type|module)\s+(\w+)")


def _defined_name(line: str) -> str | None:
    match = _DEFINITION.search(line)
    return match.group(1) if match else None


def _window_score(file_lines: Sequence[str], block: Sequence[str], start: int, end: int) -> float:
    window = "\n".join(line.strip() for line in file_lines[start:end])
    wanted = "\n".join(line.strip() for line in block)
    return difflib.SequenceMatcher(None, window, wanted, autojunk=False).ratio()


def locate_region(file_lines: Sequence[str], block: Sequence[str]) -> tuple[int, int, float] | None:
    """The file lines [start, end) that `block` most likely rewrites, with a 0..1 score."""
    marks = [i for i, line in enumerate(block) if _significant(line)]
    if not marks or not file_lines:
        return None
    first, last = marks[0], marks[-1]
    starts: dict[int, float] = {}
    wanted_name = _defined_name(block[first])
    for i, line in enumerate(file_lines):
        name = _defined_name(line)
        if wanted_name and name and name != wanted_name:
            continue  # `def volume` is a new function, not a rewrite of `def area`
        score = _similar(line, block[first])
        if score >= FUZZY_LINE:
            starts[max(0, i - first)] = max(score, starts.get(max(0, i - first), 0.0))
    # An exact run of lines anchors the region even when the first line was rewritten.
    stripped_file = [line.strip() for line in file_lines]
    stripped_block = [line.strip() for line in block]
    matcher = difflib.SequenceMatcher(None, stripped_file, stripped_block, autojunk=False)
    longest = matcher.find_longest_match(0, len(stripped_file), 0, len(stripped_block))
    if longest.size and any(_significant(b) for b in block[longest.b : longest.b + longest.size]):
        starts.setdefault(max(0, longest.a - longest.b), 0.5)
    best: tuple[int, int, float] | None = None
    for start in sorted(starts, key=lambda s: -starts[s])[:8]:
        ends = {min(len(file_lines), start + len(block))}
        horizon = min(len(file_lines), start + 2 * len(block) + 10)
        for e in range(start + first + 1, horizon + 1):
            if _similar(file_lines[e - 1], block[last]) >= FUZZY_LINE:
                ends.add(e + (len(block) - 1 - last))
        for end in ends:
            end = min(end, len(file_lines))
            if end <= start:
                continue
            score = _window_score(file_lines, block, start, end)
            if best is None or score > best[2]:
                best = (start, end, score)
    return best


def plan_apply(current: str, block: str, cursor_line: int | None = None) -> ApplyPlan:
    """How `block` applies to `current` by matching lines: whole file, a matched region,
    or an insertion, at the cursor when the user placed it in this file (`cursor_line`),
    otherwise at the end of the file."""
    file_lines = split_lines(current)
    block_lines = split_lines(block.strip("\n"))
    if not block_lines:
        return ApplyPlan("region", (0, 0), ())
    significant_file = [line.strip() for line in file_lines if _significant(line)]
    if not significant_file:
        return ApplyPlan("whole", (0, len(file_lines)), tuple(line_hunks(file_lines, block_lines, 0)))
    matcher = difflib.SequenceMatcher(
        None, [line.strip() for line in file_lines], [line.strip() for line in block_lines], autojunk=False
    )
    matched = sum(
        size for a, _, size in matcher.get_matching_blocks() for line in file_lines[a : a + size] if _significant(line)
    )
    if (
        matched >= WHOLE_FILE_COVERAGE * len(significant_file)
        and len(block_lines) >= WHOLE_FILE_COVERAGE * len(file_lines)
    ) or (len(block_lines) >= len(file_lines) and matcher.ratio() >= 0.5):
        return ApplyPlan("whole", (0, len(file_lines)), tuple(line_hunks(file_lines, block_lines, 0)))
    found = locate_region(file_lines, block_lines)
    if found is None or found[2] < MIN_REGION_SCORE:
        at = len(file_lines) if cursor_line is None else max(0, min(cursor_line, len(file_lines)))
        return ApplyPlan("insert", (at, at), (Hunk(at, at, (), tuple(block_lines)),), found[2] if found else 0.0)
    start, end, score = found
    region = file_lines[start:end]
    block_lines = _reindent(block_lines, common_indent(region))
    return ApplyPlan("region", (start, end), tuple(line_hunks(region, block_lines, start)), score)
