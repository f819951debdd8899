"""Applying a chat answer's code block to the current file, hunk by hunk."""

from __future__ import annotations

from app.chat.apply.hunks import apply_hunks, changed_span, plan_apply, split_lines

FILE = """import math


def area(r):
    return 3.14 * r * r


def circumference(r):
    return 2 * 3.14 * r


class Shape:
    def __init__(self, name):
        self.name = name

    def describe(self):
        return "shape " + self.name


if __name__ == "__main__":
    print(area(2))
"""


def test_whole_file_rewrite_gives_one_hunk_per_change():
    block = FILE.replace("3.14 * r * r", "math.pi * r ** 2").replace("2 * 3.14 * r", "2 * math.pi * r")
    plan = plan_apply(FILE, block)
    assert plan.kind == "whole"
    assert len(plan.hunks) == 2
    assert apply_hunks(FILE, plan.hunks) == block
    # Accept only the first change.
    assert apply_hunks(FILE, plan.hunks[:1]) == FILE.replace("3.14 * r * r", "math.pi * r ** 2")
    assert apply_hunks(FILE, []) == FILE


def test_a_fragment_replaces_the_region_it_rewrites_even_when_its_first_line_changed():
    block = "def circumference(r, exact=True):\n    pi = math.pi if exact else 3.14\n    return 2 * pi * r\n"
    plan = plan_apply(FILE, block)
    assert plan.kind == "region"
    assert split_lines(FILE)[plan.region[0]] == "def circumference(r):"
    new = apply_hunks(FILE, plan.hunks)
    assert block in new
    assert "def area(r):\n    return 3.14 * r * r" in new and "class Shape:" in new
    assert "2 * 3.14 * r\n" not in new


def test_a_method_shown_without_its_class_indentation_is_reindented():
    block = 'def describe(self):\n    """Say what it is."""\n    return f"shape {self.name}"\n'
    plan = plan_apply(FILE, block)
    assert plan.kind == "region"
    new = apply_hunks(FILE, plan.hunks)
    assert '    def describe(self):\n        """Say what it is."""\n        return f"shape {self.name}"\n' in new
    assert "def __init__(self, name):" in new


def test_a_fragment_that_matches_nothing_is_an_insertion_at_the_cursor():
    block = "def volume(r):\n    return 4 / 3 * math.pi * r ** 3\n"
    plan = plan_apply(FILE, block, cursor_line=10)
    assert plan.kind == "insert" and plan.region == (10, 10)
    new = apply_hunks(FILE, plan.hunks)
    assert split_lines(new)[10:12] == ["def volume(r):", "    return 4 / 3 * math.pi * r ** 3"]
    assert len(split_lines(new)) == len(split_lines(FILE)) + 2


def test_the_files_line_endings_are_kept():
    crlf = FILE.replace("\n", "\r\n")
    block = FILE.replace("print(area(2))", "print(area(3))")
    plan = plan_apply(crlf, block)
    new = apply_hunks(crlf, plan.hunks)
    assert new == crlf.replace("print(area(2))", "print(area(3))")


def test_identical_block_changes_nothing_and_empty_files_take_the_block():
    assert plan_apply(FILE, FILE).unchanged
    plan = plan_apply("", "x = 1\n")
    assert plan.kind == "whole" and apply_hunks("", plan.hunks) == "x = 1\n"


def test_hunk_header_and_unified_view():
    block = FILE.replace("print(area(2))", "print(area(3))")
    hunk = plan_apply(FILE, block).hunks[0]
    assert hunk.header.startswith("@@ -21,1 +21,1 @@")
    assert hunk.unified().splitlines()[1:] == ["-    print(area(2))", "+    print(area(3))"]


def test_changed_span_is_the_smallest_edit():
    old, new = "abc\ndef\nghi\n", "abc\nDEF\nghi\n"
    start, end, text = changed_span(old, new)
    assert (start, end, text) == (4, 7, "DEF")
    assert old[:start] + text + old[end:] == new
