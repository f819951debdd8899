"""The edit formats' parser, SEARCH matching, and the edit prompt through the DeepSeek template."""

from __future__ import annotations

from pathlib import Path

from app.edits.formats import parse_answer
from app.edits.matching import Ambiguous, Found, Mismatch, find_block
from app.edits.prompt import DELETE_RULE, EDIT_RULES, edit_messages, file_format
from app.edits.workspace import EditScope
from app.engine.prompts import family_template, render_template

WHOLE = """Here is the fixed file.

**calc.py**
```python
def add(a, b):
    return a + b
```
"""

SEARCH_REPLACE = """I changed one line.

src/big.py
```python
<<<<<<< SEARCH
    total -= price
=======
    total += price
>>>>>>> REPLACE
<<<<<<< SEARCH
x = 1
=======
x = 2
>>>>>>> REPLACE
```
"""


def test_whole_file_after_a_decorated_path_line() -> None:
    parsed = parse_answer(WHOLE)
    assert [(e.kind, e.path) for e in parsed.edits] == [("whole", "calc.py")]
    assert parsed.edits[0].replace == "def add(a, b):\n    return a + b\n"


def test_search_replace_blocks_each_become_an_edit() -> None:
    parsed = parse_answer(SEARCH_REPLACE)
    assert [(e.kind, e.path, e.search, e.replace) for e in parsed.edits] == [
        ("search_replace", "src/big.py", "    total -= price", "    total += price"),
        ("search_replace", "src/big.py", "x = 1", "x = 2"),
    ]


def test_path_in_the_fence_info_and_a_deletion_marker() -> None:
    answer = "```python:util.py\nX = 1\n```\n\nDELETE FILE: old/legacy.py\n"
    parsed = parse_answer(answer)
    assert [(e.kind, e.path) for e in parsed.edits] == [("whole", "util.py"), ("delete", "old/legacy.py")]


def test_a_block_without_a_path_and_prose_are_not_edits() -> None:
    parsed = parse_answer("You could write:\n\n```python\nprint(1)\n```\nand run it with python 3.12.\n")
    assert parsed.empty and parsed.problems == ()


def test_a_known_file_without_a_dot_counts_as_a_path() -> None:
    parsed = parse_answer("Makefile\n```make\nall:\n\ttrue\n```\n", known_paths=["Makefile"])
    assert [(e.kind, e.path) for e in parsed.edits] == [("whole", "Makefile")]


def test_an_unterminated_search_block_is_named() -> None:
    parsed = parse_answer("a.py\n```\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n```\n")
    assert parsed.empty
    assert parsed.problems == ("The SEARCH block for a.py at line 3 has no >>>>>>> REPLACE line",)


FILE = ["class A:", "    def f(self):  ", "        return 1", "", "    def g(self):", "        return 1"]


def test_exact_match_first() -> None:
    result = find_block(FILE, ["    def g(self):", "        return 1"], ["    def g(self):", "        return 2"])
    assert result == Found(4, 6, ("    def g(self):", "        return 2"), exact=True)


def test_trailing_spaces_and_lost_indentation_still_match_and_replace_is_reindented() -> None:
    result = find_block(FILE, ["def f(self):", "    return 1"], ["def f(self):", "    return 3"])
    assert result == Found(1, 3, ("    def f(self):", "        return 3"), exact=False)


def test_a_block_that_matches_twice_names_both_places() -> None:
    result = find_block(FILE, ["        return 1"], ["        return 0"])
    assert result == Ambiguous(("        return 1",), (2, 5))


def test_a_block_that_matches_nowhere_gives_the_closest_lines() -> None:
    result = find_block(FILE, ["    def g(self, x):", "        return 1"], [])
    assert isinstance(result, Mismatch)
    assert "    def g(self):" in result.closest and result.score > 0.8


def test_the_prompt_renders_through_the_deepseek_template_in_the_sandbox(tmp_path: Path) -> None:
    (tmp_path / "small.py").write_text("def f():\n    return 1\n")
    (tmp_path / "large.py").write_text("".join(f"x{i} = {i}\n" for i in range(400)))
    (tmp_path / "notes.md").write_text("# Notes\n")
    scope = EditScope.read(tmp_path, ["small.py", "large.py"], ["notes.md"])
    assert [file_format(f) for f in scope.editable] == ["whole", "search_replace"]
    messages = edit_messages("Make f return 2", scope)
    for family in ("deepseek-v1", "deepseek-v2"):
        prompt = render_template(family_template(family), messages, bos_token="<BOS>", eos_token="<EOS>")
        assert EDIT_RULES in prompt
        assert "small.py (editable: answer with the whole file)\n```python\ndef f():\n    return 1\n```" in prompt
        assert "large.py (editable, 400 lines: answer with SEARCH/REPLACE blocks)" in prompt
        assert "notes.md (read-only, context only: do not edit)" in prompt
        assert prompt.index(EDIT_RULES) < prompt.index("Make f return 2")


def test_a_copied_delete_line_followed_by_the_file_is_a_rewrite() -> None:
    """What Qwen2.5-Coder-0.5B answered: the DELETE line of the instructions, then the file."""
    parsed = parse_answer("DELETE FILE: calc.py\n```python\ndef add(a, b):\n    return a + b\n```\n")
    assert [(e.kind, e.path) for e in parsed.edits] == [("whole", "calc.py")]


def test_a_copied_file_header_still_names_the_file() -> None:
    parsed = parse_answer("geo.py (editable: answer with the whole file)\n```python\nX = 1\n```\n")
    assert [(e.kind, e.path) for e in parsed.edits] == [("whole", "geo.py")]


def test_an_answer_cut_short_inside_a_block_is_no_edit() -> None:
    """A whole file cut off by the token limit would delete the rest of the file."""
    parsed = parse_answer("calc.py\n```python\ndef add(a, b):\n    return a")
    assert parsed.empty
    assert parsed.problems == ("The block for calc.py at line 2 is cut short (its closing fence is missing)",)


def test_the_only_unnamed_block_is_the_sole_editable_file() -> None:
    """Qwen2.5-Coder-0.5B answered a one-file request with the block alone, no path line."""
    answer = "```python\nX = 2\n```\n"
    assert parse_answer(answer).empty
    parsed = parse_answer(answer, ["pkg/x.py"], sole_file="pkg/x.py")
    assert [(e.kind, e.path, e.replace) for e in parsed.edits] == [("whole", "pkg/x.py", "X = 2\n")]
    two_blocks = parse_answer(answer + "or\n```python\nX = 3\n```\n", ["pkg/x.py"], sole_file="pkg/x.py")
    assert two_blocks.empty  # which one? neither is guessed


def test_the_deletion_rule_is_given_only_when_the_instruction_asks_to_delete(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("A = 1\n")
    scope = EditScope.read(tmp_path, ["a.py"])
    assert "DELETE FILE:" not in edit_messages("Rename A to B", scope)[0]["content"]
    assert DELETE_RULE in edit_messages("Remove a.py, it is unused", scope)[0]["content"]
