"""The multi-file review (real widgets, offscreen) and the session that writes, reloads and undoes."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.editor.ui.tabs import EditorTabs
from app.edits.changeset import build_changeset
from app.edits.ui.review_dialog import ReviewDialog
from app.edits.ui.session import EditSession
from app.edits.workspace import EditScope, StaleFileError
from app.edits.writing import FilesChangedSinceApply

CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a + b\n"
ANSWER = """Fixed both, removed the old module, added a test.

calc.py
```python
<<<<<<< SEARCH
    return a - b
=======
    return a + b
>>>>>>> REPLACE
<<<<<<< SEARCH
def mul(a, b):
    return a + b
=======
def mul(a, b):
    return a * b
>>>>>>> REPLACE
```

DELETE FILE: old.py

test_calc.py
```python
from calc import add
assert add(1, 2) == 3
```
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "calc.py").write_bytes(CALC.replace("\n", "\r\n").encode())
    (tmp_path / "old.py").write_text("OLD = 1\n")
    return tmp_path


class Answers:
    """The user's answers to the session's questions, scripted."""

    def __init__(self, session: EditSession) -> None:
        self.reload = True
        self.undo_anyway = True
        self.asked: list[str] = []
        session.ask_reload = self._ask_reload  # type: ignore[method-assign]
        session.ask_undo_anyway = self._ask_undo  # type: ignore[method-assign]

    def _ask_reload(self, stale: StaleFileError) -> bool:
        self.asked.append(str(stale))
        return self.reload

    def _ask_undo(self, changed: FilesChangedSinceApply) -> bool:
        self.asked.append(str(changed))
        return self.undo_anyway


@pytest.fixture
def tabs(qtbot) -> EditorTabs:
    widget = EditorTabs()
    qtbot.addWidget(widget)
    return widget


def test_the_review_lists_files_with_badges_and_a_toggle_per_hunk(qtbot, folder: Path) -> None:
    changeset = build_changeset(EditScope.read(folder, ["calc.py", "old.py"]), ANSWER)
    dialog = ReviewDialog(changeset)
    qtbot.addWidget(dialog)
    rows = [dialog.file_list.item(i).text() for i in range(dialog.file_list.count())]
    assert rows == ["calc.py  CHANGED  +2 −2", "old.py  DELETED  +0 −1", "test_calc.py  NEW  +2 −0"]
    assert [c.text() for c in dialog.hunk_checks["calc.py"]] == ["Change 1 of 2: line 2", "Change 2 of 2: line 6"]
    assert not dialog.delete_checks["old.py"].isChecked()  # a deletion waits for the user's tick
    dialog.hunk_checks["calc.py"][0].setChecked(False)
    assert changeset.change_for("calc.py").accepted == [False, True]  # type: ignore[union-attr]
    for check in (*dialog.hunk_checks["calc.py"], *dialog.hunk_checks["test_calc.py"]):
        check.setChecked(False)
    assert not dialog.accept_button.isEnabled()  # nothing ticked: nothing to accept
    dialog.delete_checks["old.py"].setChecked(True)
    assert dialog.accept_button.isEnabled()


def test_refused_edits_are_listed_above_the_files(qtbot, folder: Path) -> None:
    answer = "../evil.py\n```python\nx = 1\n```\n" + ANSWER
    dialog = ReviewDialog(build_changeset(EditScope.read(folder, ["calc.py"]), answer))
    qtbot.addWidget(dialog)
    text = dialog.problems.text()
    assert "Not applied: ../evil.py is outside the opened folder" in text
    assert "Not applied: The answer changes old.py, which was not attached as editable" in text


def test_accept_reloads_the_editors_and_one_undo_restores_every_file(tabs, folder: Path) -> None:
    session = EditSession(tabs)
    calc = tabs.open_path(folder / "calc.py")
    old = tabs.open_path(folder / "old.py")
    assert calc is not None and old is not None
    changeset = build_changeset(EditScope.read(folder, ["calc.py", "old.py"]), ANSWER)
    changeset.change_for("old.py").confirmed = True  # type: ignore[union-attr]
    assert session.accept(changeset)
    fixed = "def add(a, b):\r\n    return a + b\r\n\r\n\r\ndef mul(a, b):\r\n    return a * b\r\n"
    assert (folder / "calc.py").read_bytes() == fixed.encode()
    assert calc.text() == fixed and not calc.is_modified()  # reloaded, CRLF kept
    assert tabs.indexOf(old) < 0 and not (folder / "old.py").exists()  # the deleted file's tab closed
    assert (folder / "test_calc.py").exists()

    assert session.undo()
    assert (folder / "calc.py").read_bytes() == CALC.replace("\n", "\r\n").encode()
    assert (folder / "old.py").read_text() == "OLD = 1\n"
    assert not (folder / "test_calc.py").exists()
    assert calc.text() == CALC.replace("\n", "\r\n")  # the editor reloaded again
    assert session.last_change is None and not session.undo()


def test_undo_asks_before_overwriting_a_file_saved_after_the_change(tabs, folder: Path) -> None:
    session = EditSession(tabs)
    answers = Answers(session)
    calc = tabs.open_path(folder / "calc.py")
    assert calc is not None
    assert session.accept(build_changeset(EditScope.read(folder, ["calc.py"]), ANSWER))
    calc.set_text(calc.text() + "# later\r\n")
    assert tabs.save(calc)
    answers.undo_anyway = False
    assert not session.undo()
    assert "calc.py changed after the edit was applied" in answers.asked[0]
    assert "# later" in (folder / "calc.py").read_text()
    answers.undo_anyway = True
    assert session.undo()
    assert (folder / "calc.py").read_bytes() == CALC.replace("\n", "\r\n").encode()
    assert calc.text() == CALC.replace("\n", "\r\n")


def test_a_file_changed_on_disk_is_refused_with_an_offer_to_reload(tabs, folder: Path) -> None:
    session = EditSession(tabs)
    answers = Answers(session)
    calc = tabs.open_path(folder / "calc.py")
    assert calc is not None
    changeset = build_changeset(EditScope.read(folder, ["calc.py"]), ANSWER)
    (folder / "calc.py").write_text("def add(a, b):\n    return b + a\n")
    assert not session.accept(changeset)
    assert "calc.py changed on disk since the model read it" in answers.asked[0]
    assert calc.text() == "def add(a, b):\n    return b + a\n"  # reloaded, as the user chose
    assert session.last_change is None
