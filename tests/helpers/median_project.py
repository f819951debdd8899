"""A one-module project whose test fails, and answers that edit it: what the loop's tests
(the loop itself, `dscoder edit`, the window) work on."""

from __future__ import annotations

import sys
from pathlib import Path

BUGGY = "def median(values):\n    ordered = sorted(values)\n    return ordered[len(ordered) // 2]\n"
STILL_WRONG = (  # the same behaviour as BUGGY in other words: test_even still fails
    "def median(values):\n    ordered = sorted(values)\n    middle = len(ordered) // 2\n    return ordered[middle]\n"
)
ALSO_WRONG = "def median(values):\n    return sorted(values)[len(values) // 2]\n"
FIXED = (
    "def median(values):\n"
    "    ordered = sorted(values)\n"
    "    middle = len(ordered) // 2\n"
    "    if len(ordered) % 2:\n"
    "        return ordered[middle]\n"
    "    return (ordered[middle - 1] + ordered[middle]) / 2\n"
)
TESTS = (
    "from stats import median\n\n\n"
    "def test_odd():\n    assert median([3, 1, 2]) == 2\n\n\n"
    "def test_even():\n    assert median([4, 1, 3, 2]) == 2.5\n"
)
TEST_COMMAND = f"{sys.executable} -B -m pytest -q -p no:cacheprovider"  # leaves no cache in the folder


def whole(text: str) -> str:
    """An answer that rewrites stats.py whole."""
    return f"stats.py\n```python\n{text}```\n"


def write_project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stats.py").write_text(BUGGY)
    (folder / "test_stats.py").write_text(TESTS)
    return folder
