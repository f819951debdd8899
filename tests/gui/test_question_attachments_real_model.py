"""Issue 13's report, replayed with the real small code model: the question about the open
file goes out with the file, the answer uses it, and its Apply fills the stub at line 29
(the screenshots of the same run come from tests/bench/context_demo.py)."""

from __future__ import annotations

import pytest

from app.chat.apply.hunks import apply_hunks
from app.chat.apply.plan import plan_code_block
from app.chat.ui.apply_dialog import cursor_line_if_placed
from app.config.settings import Settings
from tests.helpers.orders_sample import QUESTION, SAMPLE, STUB_LINE
from tests.helpers.window import OFFSCREEN_SIZE_HINTS, last_answer, open_window, type_and_send, wait_ready

pytestmark = [pytest.mark.realmodel, pytest.mark.qt_log_ignore(OFFSCREEN_SIZE_HINTS)]


def test_the_question_carries_the_file_and_apply_fills_the_stub(qtbot, real_model_path, tmp_path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(SAMPLE)
    window = open_window(qtbot, Settings(temperature=0.0, max_tokens=300))
    window.open_files([str(tmp_path), str(sample)])
    window.engine.load_model(real_model_path)
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: [c.label for c in window.chat.input.chips.chips()] == ["sample.py"], timeout=10_000)

    type_and_send(qtbot, window, QUESTION)
    qtbot.waitUntil(lambda: bool(window.controller.turns) and not window.controller.is_busy(), timeout=120_000)
    question = window.controller.turns[0].content
    assert question.startswith("Here is the file `sample.py` (Python):") and SAMPLE in question
    answer = last_answer(window)
    assert answer.code_blocks, answer.text
    code = answer.code_blocks[0].code
    # The answer uses what only the file says: the Order fields or the paid_orders helper.
    assert "def average_total(" in code and (".total" in code or "paid_orders" in code), code

    editor = window.tabs.current_editor()
    assert editor is not None and cursor_line_if_placed(editor) is None  # the cursor sits at 1:1
    plan = plan_code_block(editor.text(), code, language_id="python", path=str(sample), cursor_line=None)
    assert plan.kind == "syntax", plan
    result = apply_hunks(SAMPLE, plan.hunks).splitlines()
    assert result[:6] == SAMPLE.splitlines()[:6]  # the imports stay where they are, first
    assert result[STUB_LINE - 1].startswith("def average_total(")
    assert result[STUB_LINE].strip() != "pass"
    assert sum(line.startswith("def average_total(") for line in result) == 1  # replaced, not added
