"""Line-level helpers Apply and multi-file edits share: indentation, and whether lines already stand in a file."""

from __future__ import annotations

from collections.abc import Sequence


def indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def common_indent(lines: Sequence[str]) -> str:
    indents = [indent_of(line) for line in lines if line.strip()]
    return min(indents, key=len) if indents else ""


def indent_unit(lines: Sequence[str]) -> str:
    """One level of indentation in these lines: a tab, or the narrowest run of spaces (4 if none)."""
    if any(line.startswith("\t") for line in lines):
        return "\t"
    widths = [len(indent_of(line)) for line in lines if line.strip() and line.startswith(" ")]
    return " " * (min(widths) if widths else 4)


def shift_to(lines: Sequence[str], target: str) -> list[str]:
    """The lines moved as one block so that their common indentation becomes `target`."""
    base = common_indent(lines)
    return [target + line[len(base) :] if line.strip() else "" for line in lines]


def already_in(lines: Sequence[str], file_lines: Sequence[str]) -> bool:
    """Whether these lines (blank ones and trailing spaces aside) stand in the file, in a row:
    an answer that repeats the whole file repeats its top-level statements too."""
    wanted = [line.rstrip() for line in lines if line.strip()]
    have = [line.rstrip() for line in file_lines if line.strip()]
    if not wanted:
        return True
    return any(have[i : i + len(wanted)] == wanted for i in range(len(have) - len(wanted) + 1))
