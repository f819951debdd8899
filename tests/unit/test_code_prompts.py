"""Prompts about code (the editor's questions and the attachments) carry the file name, the language
and the code in a fence."""

from __future__ import annotations

from app.chat.attachments import excerpts
from app.chat.attachments.prompt import attachments_line, attachments_prompt, attachments_prompt_prefix
from app.chat.code_prompts import ASK_INSTRUCTIONS, fenced, selection_prompt
from app.chat.editor_access import EditorSnapshot
from app.chat.markdown.render import extract_code_blocks

PY_CODE = "def add(a, b):\n    return a + b\n"
PY = EditorSnapshot("calc.py", "/work/calc.py", "python", PY_CODE)


def test_a_file_prompt_has_the_name_the_language_and_the_exact_code_before_the_question() -> None:
    attached = excerpts.current_file("calc.py", "python", PY_CODE, 0)
    prompt = attachments_prompt("  Is this right?  ", [attached])
    assert prompt.startswith("Here is the file `calc.py` (Python):")
    assert prompt.endswith("\n\nIs this right?")
    [block] = extract_code_blocks(prompt)
    assert block.language == "python" and block.code == PY_CODE.rstrip("\n")
    assert prompt == attachments_prompt_prefix([attached]) + "Is this right?"
    assert attachments_prompt_prefix([]) == "" and attachments_prompt("Hi ", []) == "Hi"


def test_every_editor_action_has_its_own_instruction() -> None:
    for action in ("Explain", "Find bugs", "Write tests", "Refactor", "Add docstrings"):
        assert action in ASK_INSTRUCTIONS
        prompt = selection_prompt(action, PY_CODE, PY)
        assert "`calc.py` (Python)" in prompt and "```python\n" in prompt
        assert "{framework}" not in prompt
    assert "with pytest" in selection_prompt("Write tests", PY_CODE, PY)
    go = EditorSnapshot("main.go", "", "go", "func f() {}")
    assert "testing package" in selection_prompt("Write tests", "func f() {}", go)
    assert "with" not in selection_prompt("Write tests", "x", EditorSnapshot("a.txt", "", "text", "x"))


def test_a_selection_whose_tab_is_gone_is_named_selection_in_plain_text() -> None:
    prompt = selection_prompt("Explain", "x = 1\n", None)
    assert "The code is from `selection` (Plain text):" in prompt
    assert prompt.endswith("```text\nx = 1\n```")


def test_code_that_contains_fences_gets_a_longer_fence() -> None:
    markdown_source = "Intro\n```python\nprint(1)\n```\n"
    block = fenced(markdown_source, "markdown")
    assert block.startswith("````markdown\n") and block.endswith("\n````")
    [parsed] = extract_code_blocks(block)
    assert parsed.code == markdown_source.rstrip("\n")


def test_the_attachment_line_names_each_attachment() -> None:
    file = excerpts.current_file("calc.py", "python", PY_CODE, 0)
    part = excerpts.current_file("big.py", "python", "x = 1\n" * 4000, 10, budget_tokens=100)
    assert attachments_line([file, part]) == f"*Attached: `calc.py` · `{part.label}`*"
    assert attachments_line([]) == ""
