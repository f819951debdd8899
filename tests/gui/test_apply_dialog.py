"""Applying a chat code block through the diff dialog, and "Fix this error" with open editors."""

from __future__ import annotations

from app.chat.ui.apply_dialog import ApplyDialog, apply_to_editor
from app.chat.ui.fix_error import fix_error_prompt
from app.editor.ui.code_editor import CodeEditor

FILE = """import math


def area(r):
    return 3.14 * r * r


def circumference(r):
    return 2 * 3.14 * r
"""


def make_editor(qtbot, text: str, path: str = "/tmp/geometry.py") -> CodeEditor:
    editor = CodeEditor(path=path)
    qtbot.addWidget(editor)
    editor.set_text(text)
    editor.sci.emptyUndoBuffer()
    return editor


def test_accepting_one_of_two_changes_is_one_undo_step(qtbot):
    editor = make_editor(qtbot, FILE)
    editor.set_cursor_offset(len(FILE))
    block = FILE.replace("3.14 * r * r", "math.pi * r ** 2").replace("2 * 3.14 * r", "2 * math.pi * r")
    dialog = ApplyDialog(editor, block)
    qtbot.addWidget(dialog)
    assert len(dialog.checks) == 2 and "2 change(s)" in dialog.summary.text()
    dialog.checks[1].setChecked(False)
    dialog.apply()
    assert dialog.result() == ApplyDialog.DialogCode.Accepted
    assert editor.text() == FILE.replace("3.14 * r * r", "math.pi * r ** 2")
    assert editor.cursor_offset() == len(editor.text())  # the caret stays on its code
    editor.sci.undo()
    assert editor.text() == FILE
    assert not editor.sci.canUndo()


def test_rejecting_everything_disables_apply_and_a_changed_file_is_not_overwritten(qtbot):
    editor = make_editor(qtbot, FILE)
    dialog = ApplyDialog(editor, "def circumference(r):\n    return 2 * math.pi * r\n")
    qtbot.addWidget(dialog)
    assert dialog.plan.kind == "syntax" and "where it belongs" in dialog.summary.text()
    assert dialog.checks[0].text() == (
        "Change 1 of 1: Replaces function circumference, line 9 (the file defines it at line 8)"
    )
    dialog.set_all(False)
    assert not dialog.apply_button.isEnabled()
    dialog.set_all(True)
    editor.insert_at_cursor("# edited meanwhile\n")
    dialog.apply()
    assert "changed since" in dialog.summary.text()
    assert "math.pi" not in editor.text()


def test_crlf_file_keeps_its_line_endings(qtbot):
    editor = make_editor(qtbot, FILE.replace("\n", "\r\n"))
    dialog = ApplyDialog(editor, "def area(r):\n    return math.pi * r ** 2\n")
    qtbot.addWidget(dialog)
    assert apply_to_editor(editor, dialog.plan.hunks)
    assert editor.text() == FILE.replace("3.14 * r * r", "math.pi * r ** 2").replace("\n", "\r\n")


STUB_FILE = FILE + "\n\ndef average_total(orders):\n    pass\n"


def test_the_stub_is_filled_where_it_is_when_the_cursor_sits_at_the_start(qtbot):
    editor = make_editor(qtbot, STUB_FILE)
    editor.set_cursor_offset(0)  # a freshly opened file: the user has not placed the cursor
    answer = "def average_total(orders):\n    return sum(o.total for o in orders) / len(orders)\n\nprint(average_total([]))\n"
    dialog = ApplyDialog(editor, answer)
    qtbot.addWidget(dialog)
    assert "Replaces function average_total" in dialog.checks[0].text() and "stub" in dialog.checks[0].text()
    assert not dialog.checks[1].isChecked() and "end of the file" in dialog.checks[1].text()
    assert dialog.parse_warning.isHidden()
    dialog.apply()
    assert editor.text() == STUB_FILE.replace("    pass\n", "    return sum(o.total for o in orders) / len(orders)\n")


def test_a_result_that_would_not_parse_is_warned_about_before_applying(qtbot):
    editor = make_editor(qtbot, FILE)
    dialog = ApplyDialog(editor, "def broken(:\n    return [\n")
    qtbot.addWidget(dialog)
    assert "matched line by line" in dialog.summary.text()
    assert not dialog.parse_warning.isHidden() and "would not parse" in dialog.parse_warning.text()
    dialog.set_all(False)
    assert dialog.parse_warning.isHidden()


def test_fix_error_prompt_uses_the_unsaved_editor_text(qtbot, tmp_path):
    path = tmp_path / "calc.py"
    path.write_text("x = 1\n")
    editor = make_editor(qtbot, "def f():\n    return undefined_name\n", str(path))
    error = f"Traceback (most recent call last):\n  File \"{path}\", line 2, in f\nNameError: name 'undefined_name' is not defined\n"
    fix = fix_error_prompt(error, [editor])
    assert "> 2 |     return undefined_name" in fix.prompt
