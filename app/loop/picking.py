"""Which files an edit may change: the names given (`relative_files`), or, when none
were named (`dscoder edit` without --file), the project map's picks for the instruction.

The map ranks files by the instruction's words against their paths and symbols. Test
files are not picked to be changed (asked to make a test pass, a small model would
rather change the test) but go along as read-only context, so the model sees what is
expected. With no file related to the words, a folder with only a few source files has
them all picked.

Qt-free.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.project.outline_map import build_map
from app.project.relevance import ranked_files

MAX_PICKED = 3  # editable files at most: each is in the prompt whole or in part
MAX_CONTEXT = 2  # test files sent along as context
_TEST_FILE = re.compile(r"(^|/)(tests?/|test_[^/]*$|[^/]*_test\.\w+$|[^/]*\.(test|spec)\.\w+$|conftest\.py$)")


@dataclass(frozen=True)
class PickedFiles:
    editable: tuple[str, ...]
    context: tuple[str, ...]  # read-only: the tests that go with them
    reason: str  # one line for the user: how they were chosen


def is_test_file(path: str) -> bool:
    return bool(_TEST_FILE.search(path))


def pick_files(folder: str | Path, instruction: str) -> PickedFiles:
    """The files the project map picks for `instruction` in `folder`."""
    ranked = ranked_files(build_map(folder), instruction)
    sources = [(path, score) for path, score in ranked if not is_test_file(path)]
    tests = [(path, score) for path, score in ranked if is_test_file(path)]
    related = [path for path, score in sources if score > 0][:MAX_PICKED]
    if related:
        reason = "the project map's files most related to the instruction"
    elif 0 < len(sources) <= MAX_PICKED:
        related = [path for path, _score in sources]
        reason = "no file matched the instruction's words; the folder has only these source files"
    else:
        related = []
        reason = "no file matched the instruction's words"
    stems = {Path(path).stem for path in related}
    context = [path for path, score in tests if score > 0 or any(stem in Path(path).stem for stem in stems)]
    return PickedFiles(tuple(related), tuple(context[:MAX_CONTEXT]), reason)


def relative_files(folder: str, names: Sequence[str]) -> list[str]:
    """Names given on the command line, relative to `folder` (checked by EditScope later)."""
    root = Path(folder).resolve()
    out: list[str] = []
    for name in names:
        path = Path(name)
        if path.is_absolute():
            try:
                out.append(path.resolve().relative_to(root).as_posix())
            except ValueError:
                out.append(name)  # EditScope refuses it with the message that says why
        else:
            out.append(name)
    return out
