"""File locations in a run's output (plain text, escapes stripped): each becomes a link.

Understood: Python tracebacks (`File "x.py", line 3`), pytest (`tests/t.py:12: AssertionError`
and `tests/t.py::test_name`), gcc/clang (`x.c:3:5: error:`), rustc/cargo (`--> src/x.rs:3:5`,
`panicked at src/x.rs:3:5:`), go (`./x.go:3:5:`, `x_test.go:12:` in test output), node
stacks (`at f (/p/x.js:3:5)`, `file:///p/x.mjs:3:5`), tsc (`x.ts(3,5): error` and
`x.ts:3:5 - error`), javac (`X.java:3: error:`). Most share one form, path:line[:col].

Relative paths are resolved against the run's folder (and the project's); only files that
exist become links.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

# A file name with an extension, not glued to a word or path character on its left.
_PATH = r"(?P<path>(?:[A-Za-z]:[\\/])?[\w.~+@\\/-]*?[\w-]\.[A-Za-z][\w+]{0,9})"
_LEFT = r"(?<![\w./\\-])"
_LINE_COL = r":(?P<line>\d+):(?P<col>\d+)"
# Tried in order; a later form never reads text an earlier one already read.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("python", re.compile(r'File "(?P<path>[^"\n]+)", line (?P<line>\d+)(?:, in (?P<where>[^\n]+))?')),
    ("rustc", re.compile(r"-->\s+" + _PATH + _LINE_COL)),
    ("node", re.compile(r"\bat (?:(?P<where>[^\s(]+(?: \[as \w+\])?) \()?(?:file://)?" + _PATH + _LINE_COL + r"\)?")),
    ("tsc", re.compile(_LEFT + _PATH + r"\((?P<line>\d+),(?P<col>\d+)\)")),
    ("pytest-id", re.compile(_LEFT + _PATH + r"::(?P<test>[\w\[\]./:-]+)")),
    ("compiler", re.compile(_LEFT + r"(?:file://)?" + _PATH + r":(?P<line>\d+)(?::(?P<col>\d+))?(?![\d.])")),
)


@dataclass(frozen=True)
class PrintedLocation:
    """A reference as the output prints it, before it is looked for on disk."""

    start: int  # its span in the text
    end: int
    path: str
    line: int | None  # None for a pytest id (`t.py::test_x`): the line is where the test is defined
    column: int | None
    kind: str  # python, rustc, node, tsc, pytest-id, compiler (gcc, clang, go, javac, cargo's panics, ...)
    where: str = ""  # the function, when the format names it
    test: str = ""  # the test's id, for pytest-id


def parse_locations(text: str) -> list[PrintedLocation]:
    """Every file reference in `text` (escapes stripped), in order, none overlapping another.

    The chat's "Fix this error" reads a pasted error with it; the Run panel keeps those that exist.
    """
    found: list[PrintedLocation] = []
    starts: list[int] = []  # the spans read so far, sorted and never overlapping
    ends: list[int] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            at = bisect.bisect_right(starts, start)
            if (at > 0 and ends[at - 1] > start) or (at < len(starts) and starts[at] < end):
                continue  # an earlier, more specific form already read this text
            starts.insert(at, start)
            ends.insert(at, end)
            groups = match.groupdict()
            line, column = groups.get("line"), groups.get("col")
            found.append(
                PrintedLocation(
                    start,
                    end,
                    groups["path"],
                    int(line) if line else None,
                    int(column) if column else None,
                    kind,
                    (groups.get("where") or "").strip(),
                    groups.get("test") or "",
                )
            )
    return sorted(found, key=lambda location: location.start)


@dataclass(frozen=True)
class OutputLocation:
    start: int  # the span of the reference in the text, for the link
    end: int
    path: str  # as printed
    resolved: str  # the existing file it names
    line: int  # 1-based
    column: int | None
    kind: str  # as in PrintedLocation


def resolve_path(path: str, folders: Sequence[str]) -> str | None:
    """The existing file `path` names, relative to the first of `folders` that has it; None when none does."""
    if os.path.isabs(path):
        return os.path.normpath(path) if os.path.isfile(path) else None
    for folder in folders:
        candidate = os.path.normpath(os.path.join(folder, path))
        if os.path.isfile(candidate):
            return candidate
    return None


def _test_line(resolved: str, test_id: str) -> int:
    """The line where a pytest id's test is defined (`t.py::Class::test_x[param]`); 1 when not found."""
    name = test_id.split("[", 1)[0].split("::")[-1]
    pattern = re.compile(rf"^\s*(?:async\s+)?def {re.escape(name)}\b")
    try:
        with open(resolved, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if pattern.match(line):
                    return number
    except OSError:
        pass
    return 1


def find_locations(text: str, folder: str | None = None, also: Sequence[str] = ()) -> list[OutputLocation]:
    """The references in `text` to files that exist, in order.

    Relative paths resolve against `folder` (where the run ran), then the folders in `also`
    (the project's, for a file run in its own folder whose tool prints project paths).
    """
    folders = [f for f in (folder, *also) if f]
    found: list[OutputLocation] = []
    for printed in parse_locations(text):
        resolved = resolve_path(printed.path, folders)
        if resolved is None:
            continue
        line = printed.line if printed.line is not None else _test_line(resolved, printed.test)
        found.append(
            OutputLocation(
                printed.start, printed.end, printed.path, resolved, max(1, line), printed.column, printed.kind
            )
        )
    return found
