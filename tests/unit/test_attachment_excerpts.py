"""What a question carries from the editor, and the prompt text it becomes."""

from __future__ import annotations

from app.chat.attachments import excerpts
from app.chat.attachments.prompt import attachments_prompt
from app.utils.tokens import approx_tokens

SAMPLE = """import json


def load(path):
    with open(path) as f:
        return json.load(f)


def average_total(orders):
    totals = [o["total"] for o in orders]
    return sum(totals) / len(totals)
"""


def test_a_file_that_fits_is_attached_whole():
    attached = excerpts.current_file("sample.py", "python", SAMPLE, cursor_line=3)
    assert attached.kind == "file" and attached.code == SAMPLE
    assert attached.label == "sample.py" and attached.tokens == approx_tokens(SAMPLE)
    prompt = attachments_prompt("Write the body of average_total", [attached])
    assert (
        prompt == f"Here is the file `sample.py` (Python):\n\n```python\n{SAMPLE}```\n\nWrite the body of average_total"
    )


def test_a_large_file_attaches_the_part_around_the_cursor_and_says_which_lines():
    text = "".join(f"value_{i} = {i}  # a line of padding to make the file large\n" for i in range(2000))
    attached = excerpts.current_file("big.py", "python", text, cursor_line=1000, budget_tokens=400)
    assert attached.kind == "part" and attached.tokens <= 400
    assert attached.first_line <= 1001 <= attached.last_line
    lines = text.splitlines(keepends=True)
    assert attached.code == "".join(lines[attached.first_line - 1 : attached.last_line])
    assert attached.label == f"big.py:{attached.first_line}–{attached.last_line}"
    assert attached.last_line - 1001 > 1001 - attached.first_line  # more after the cursor than before
    prompt = attachments_prompt("what is value_1000?", [attached])
    assert prompt.startswith(f"Here are lines {attached.first_line}–{attached.last_line} of the file `big.py` (Python)")


def test_a_selection_comes_with_its_lines_and_enclosing_definition():
    start = SAMPLE.index("    totals =")
    end = SAMPLE.index("\n", start) + 1
    attached = excerpts.selection("sample.py", "python", SAMPLE, start, end)
    assert (attached.first_line, attached.last_line) == (10, 10)
    assert attached.label == "sample.py:10 (selection)"
    assert attached.enclosing_name == "average_total" and attached.enclosing_lines == (9, 11)
    assert attached.enclosing == SAMPLE[SAMPLE.index("def average_total") :]
    prompt = attachments_prompt("Why can this fail?", [attached])
    assert "The selected code is lines 10–10 of `sample.py` (Python), inside `average_total` (lines 9–11):" in prompt
    assert prompt.endswith('```python\n    totals = [o["total"] for o in orders]\n```\n\nWhy can this fail?')


def test_a_selection_that_is_the_whole_definition_is_not_repeated():
    start = SAMPLE.index("def load")
    end = SAMPLE.index("\n\n\ndef average_total") + 1
    attached = excerpts.selection("sample.py", "python", SAMPLE, start, end)
    assert attached.enclosing == "" and (attached.first_line, attached.last_line) == (4, 6)


def test_at_file_attaches_another_file_and_several_add_up():
    helper = "export const TAX = 0.2;\n"
    other = excerpts.other_file("web/tax.ts", helper)
    assert other.kind == "file" and other.language_id == "typescript" and other.label == "web/tax.ts"
    current = excerpts.current_file("sample.py", "python", SAMPLE, 0)
    both = [current, other]
    assert excerpts.total_tokens(both) == current.tokens + other.tokens
    prompt = attachments_prompt("use TAX", both)
    assert "Here is the file `web/tax.ts` (TypeScript):\n\n```typescript\nexport const TAX = 0.2;\n```" in prompt
    assert prompt.index("sample.py") < prompt.index("web/tax.ts")


def test_the_project_map_goes_first():
    project = excerpts.project_map("app/main.py:\n  def main():\n")
    current = excerpts.current_file("sample.py", "python", SAMPLE, 0)
    prompt = attachments_prompt("where is main?", [current, project])
    assert prompt.startswith("Here is a map of the project (its files and their definitions):\n\n```text\napp/main.py:")
