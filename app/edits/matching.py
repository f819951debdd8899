"""Finding a SEARCH block's lines in a file.

Exact first; then tolerant of what small models change when they copy lines: trailing
spaces, and the indentation of the whole block (a block copied out of a class body
often loses its first level). A block found with other indentation has its REPLACE
lines shifted by the same amount. A block found nowhere gives the closest lines of the
file, so the model can be shown what it should have copied; a block found in more than
one place is refused with every place, since guessing would change the wrong one.

Works on lines without their endings (app.edits.hunks.split_lines). Qt-free.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.edits.indentation import common_indent

CLOSEST_CONTEXT_LINES = 2  # lines shown around the closest match, above and below
_QUICK_SCORE = 0.3  # windows whose characters overlap less than this are not scored in full


@dataclass(frozen=True)
class Found:
    """The block is file lines [start, end) (0-based); `replace` is re-indented to fit."""

    start: int
    end: int
    replace: tuple[str, ...]
    exact: bool = True


@dataclass(frozen=True)
class Mismatch:
    """The block matched nowhere; `closest` are the file lines most like it (from line
    `closest_start`, 0-based), with `score` 0..1 for how alike."""

    search: tuple[str, ...]
    closest: tuple[str, ...]
    closest_start: int
    score: float


@dataclass(frozen=True)
class Ambiguous:
    """The block matched at each of `starts` (0-based first lines)."""

    search: tuple[str, ...]
    starts: tuple[int, ...]


MatchResult = Found | Mismatch | Ambiguous


def _places(file_lines: Sequence[str], search: Sequence[str], key: Callable[[str], str]) -> list[int]:
    wanted = [key(line) for line in search]
    keyed = [key(line) for line in file_lines]
    size = len(wanted)
    first = wanted[0]
    return [i for i in range(len(keyed) - size + 1) if keyed[i] == first and keyed[i : i + size] == wanted]


def _shift(replace: Sequence[str], found_indent: str, search_indent: str) -> tuple[str, ...]:
    """REPLACE lines moved from the block's indentation to the file's."""
    if found_indent == search_indent:
        return tuple(replace)
    shifted: list[str] = []
    for line in replace:
        if not line.strip():
            shifted.append(line)
        elif line.startswith(search_indent):
            shifted.append(found_indent + line[len(search_indent) :])
        else:  # less indented than the SEARCH block: keep its own indentation
            shifted.append(line)
    return tuple(shifted)


def _closest(file_lines: Sequence[str], search: Sequence[str]) -> Mismatch:
    size = max(1, len(search))
    wanted = "\n".join(line.strip() for line in search)
    best_start, best_score = 0, 0.0
    for start in range(max(1, len(file_lines) - size + 1)):
        window = "\n".join(line.strip() for line in file_lines[start : start + size])
        matcher = difflib.SequenceMatcher(None, window, wanted, autojunk=False)
        if matcher.real_quick_ratio() < max(best_score, _QUICK_SCORE) or matcher.quick_ratio() < best_score:
            continue
        score = matcher.ratio()
        if score > best_score:
            best_start, best_score = start, score
    begin = max(0, best_start - CLOSEST_CONTEXT_LINES)
    end = min(len(file_lines), best_start + size + CLOSEST_CONTEXT_LINES)
    return Mismatch(tuple(search), tuple(file_lines[begin:end]), begin, best_score)


def find_block(file_lines: Sequence[str], search: Sequence[str], replace: Sequence[str]) -> MatchResult:
    """Where `search` is in `file_lines`, and `replace` as it should be written there."""
    while search and not search[-1].strip() and (not file_lines or file_lines[-1].strip()):
        search = search[:-1]  # a trailing blank line the model added after the block
    if not search:
        return Mismatch((), (), 0, 0.0)
    keys: tuple[Callable[[str], str], ...] = (lambda line: line, str.rstrip, str.strip)
    for exact, key in zip((True, False, False), keys, strict=True):
        starts = _places(file_lines, search, key)
        if len(starts) > 1:
            return Ambiguous(tuple(search), tuple(starts))
        if starts:
            start = starts[0]
            region = file_lines[start : start + len(search)]
            shifted = _shift(replace, common_indent(region), common_indent(search))
            return Found(start, start + len(search), shifted, exact)
    return _closest(file_lines, search)
