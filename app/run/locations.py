"""File locations in a run's output (plain text, escapes stripped): each becomes a link.

Understood: Python tracebacks (`File "x.py", line 3`), pytest (`tests/t.py:12: AssertionError`
and `tests/t.py::test_name`), gcc/clang (`x.c:3:5: error:`), rustc/cargo (`--> src/x.rs:3:5`,
`panicked at src/x.rs:3:5:`), go (`./x.go:3:5:`, `x_test.go:12:` in test output), node
stacks (`at f (/p/x.js:3:5)`, `file:///p/x.mjs:3:5`), tsc (`x.ts(3,5): error` and
`x.ts:3:5 - error`), javac (`X.java:3: error:`). The last five share one form, path:line[:col].

Relative paths are resolved against the run's folder (and the project's); only files that
exist become links.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

# A file name with an extension, not glued to a word or path character on its left.
_PATH = r"(?P<path>(?:[A-Za-z]:[\\/])?[\w.~+@\\/-]*?[\w-]\.[A-Za-z][\w+]{0,9})"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("python", re.compile(r'File "(?P<path>[^"\n]+)", line (?P<line>\d+)')),
    ("tsc", re.compile(r"(?<![\w./\\-])" + _PATH + r"\((?P<line>\d+),(?P<col>\d+)\)")),
    ("pytest-id", re.compile(r"(?<![\w./\\-])" + _PATH + r"::(?P<test>[\w\[\]./:-]+)")),
    (
        "file:line",
        re.compile(r"(?<![\w./\\-])(?:file://)?" + _PATH + r":(?P<line>\d+)(?::(?P<col>\d+))?(?![\d.])"),
    ),
)


@dataclass(frozen=True)
class OutputLocation:
    start: int  # the span of the reference in the text, for the link
    end: int
    path: str  # as printed
    resolved: str  # the existing file it names
    line: int  # 1-based
    column: int | None
    kind: str  # python, tsc, pytest-id, file:line


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
    """Every reference to an existing file in `text`, in order, none overlapping another.

    Relative paths resolve against `folder` (where the run ran), then the folders in `also`
    (the project's, for a file run in its own folder whose tool prints project paths).
    """
    folders = [f for f in (folder, *also) if f]
    found: list[OutputLocation] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(s < end and start < e for s, e in taken):
                continue  # an earlier, more specific form already read this text
            path = match.group("path")
            resolved = resolve_path(path, folders)
            if resolved is None:
                continue
            groups = match.groupdict()
            if kind == "pytest-id":
                line, column = _test_line(resolved, groups["test"]), None
            else:
                line, column = int(groups["line"]), int(groups["col"]) if groups.get("col") else None
            found.append(OutputLocation(start, end, path, resolved, max(1, line), column, kind))
            taken.append((start, end))
    return sorted(found, key=lambda location: location.start)
