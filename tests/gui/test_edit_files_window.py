"""Edit Files in the real window (scripted engine): the chat asks, the review accepts, the
open editor reloads, and Edit > Undo Change to Files puts the file back."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog

from app.edits.ui.review_dialog import ReviewDialog
from app.llm.info import EngineState
from app.protocol.options import LoadOptions
from tests.helpers.fake_engine import ScriptedAnswer, ScriptedEngineWorker
from tests.helpers.window import open_window

WAIT_MS = 10_000
CALC = "def add(a, b):\n    return a - b\n"


def test_edit_files_reviews_writes_reloads_and_undoes(qtbot, tmp_path: Path, monkeypatch) -> None:
    reviewed: list[str] = []

    def accept_review(dialog: ReviewDialog) -> int:  # the user reads the diff and presses Accept
        # The list is read now: the dialog is deleted once it closes.
        reviewed.extend(dialog.file_list.item(row).text() for row in range(dialog.file_list.count()))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(ReviewDialog, "exec", accept_review)
    (tmp_path / "calc.py").write_text(CALC)
    worker = ScriptedEngineWorker()
    window = open_window(qtbot, worker=worker)
    window.engine.load(LoadOptions("/models/scripted.gguf"))
    qtbot.waitUntil(lambda: window.engine.state is EngineState.READY, timeout=WAIT_MS)
    window.file_tree.set_root(str(tmp_path))
    editor = window.tabs.open_path(tmp_path / "calc.py")
    assert editor is not None
    worker.script_answer(ScriptedAnswer(deltas=["calc.py\n```python\ndef add(a, b):\n    return a + b\n```\n"]))
    assert not window.edit_files.undo_action.isEnabled()

    window.chat.input.set_text("Fix add")
    window.chat.input.edit_files_button.click()
    qtbot.waitUntil(lambda: (tmp_path / "calc.py").read_text() != CALC, timeout=WAIT_MS)

    assert reviewed == ["calc.py  CHANGED  +1 −1"]
    assert "calc.py" in worker.requests[0].messages[-1]["content"]
    assert editor.text() == "def add(a, b):\n    return a + b\n" and not editor.is_modified()
    assert window.edit_files.undo_action.isEnabled()
    window.edit_files.undo_action.trigger()
    assert (tmp_path / "calc.py").read_text() == CALC and editor.text() == CALC
    assert not window.edit_files.undo_action.isEnabled()
