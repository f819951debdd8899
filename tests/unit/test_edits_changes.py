"""A model's answer turned into file changes on a real folder: limits, encodings, writing, Undo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.edits.changeset import build_changeset
from app.edits.workspace import EditRefused, EditScope, StaleFileError, Workspace
from app.edits.writing import FilesChangedSinceApply, undo_change, write_changeset

CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a + b\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "calc.py").write_text(CALC)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "util.py").write_text("X = 1\n")
    return tmp_path


def _fix(path: str, old: str, new: str) -> str:
    return f"{path}\n```python\n<<<<<<< SEARCH\n{old}\n=======\n{new}\n>>>>>>> REPLACE\n```\n"


def test_whole_file_search_replace_and_a_new_file_in_one_answer(folder: Path) -> None:
    scope = EditScope.read(folder, ["calc.py", "pkg/util.py"])
    answer = (
        _fix("calc.py", "    return a - b", "    return a + b")
        + "\nutil.py\n```python\nX = 2\n```\n"  # the folder left out: the unique editable file of that name
        + "\npkg/new_mod.py\n```python\nY = 3\n```\n"
        + _fix("path/to/calc.py", "def mul(a, b):", "def multiply(a, b):")  # the rules' placeholder copied
    )
    changeset = build_changeset(scope, answer)
    assert changeset.problems == []
    assert [(c.path, c.kind) for c in changeset.changes] == [
        ("calc.py", "changed"),
        ("pkg/util.py", "changed"),
        ("pkg/new_mod.py", "new"),
    ]
    undo = write_changeset(changeset)
    assert (folder / "calc.py").read_text() == CALC.replace("a - b", "a + b").replace("mul", "multiply")
    assert (folder / "pkg/util.py").read_text() == "X = 2\n"
    assert (folder / "pkg/new_mod.py").read_text() == "Y = 3\n"
    assert undo_change(undo) == ["calc.py", "pkg/util.py", "pkg/new_mod.py"]
    assert (folder / "calc.py").read_text() == CALC
    assert (folder / "pkg/util.py").read_text() == "X = 1\n"
    assert not (folder / "pkg/new_mod.py").exists()


def test_only_the_accepted_hunks_are_written(folder: Path) -> None:
    scope = EditScope.read(folder, ["calc.py"])
    answer = _fix("calc.py", "    return a - b", "    return a + b") + _fix(
        "calc.py", "def mul(a, b):\n    return a + b", "def mul(a, b):\n    return a * b"
    )
    changeset = build_changeset(scope, answer)
    assert changeset.problems == []
    (change,) = changeset.changes
    assert len(change.hunks) == 2
    change.accepted = [False, True]
    write_changeset(changeset)
    assert (folder / "calc.py").read_text() == CALC.replace("a + b", "a * b")


def test_deletion_happens_only_when_confirmed(folder: Path) -> None:
    scope = EditScope.read(folder, ["pkg/util.py"])
    changeset = build_changeset(scope, "It is unused.\n\nDELETE FILE: pkg/util.py\n")
    (change,) = changeset.changes
    assert change.kind == "deleted" and not change.will_write
    assert write_changeset(changeset).files == ()
    assert (folder / "pkg/util.py").exists()
    change.confirmed = True
    undo = write_changeset(changeset)
    assert not (folder / "pkg/util.py").exists()
    undo_change(undo)
    assert (folder / "pkg/util.py").read_text() == "X = 1\n"


def test_a_mismatch_is_named_with_the_closest_lines_and_the_retry_prompt(folder: Path) -> None:
    scope = EditScope.read(folder, ["calc.py"])
    changeset = build_changeset(scope, _fix("calc.py", "def add(a, b, c):\n    return a - b", "x"))
    assert changeset.empty
    (problem,) = changeset.problems
    assert problem.kind == "mismatch" and problem.path == "calc.py"
    assert "closest are lines 1–4" in problem.message
    retry = changeset.retry_prompt()
    assert retry.startswith("Your SEARCH block for calc.py did not match:\n```\ndef add(a, b, c):")
    assert "The closest lines in calc.py (lines 1–4) are:\n```\ndef add(a, b):\n    return a - b\n" in retry


def test_an_ambiguous_block_is_refused_with_both_places(folder: Path) -> None:
    (folder / "calc.py").write_text(CALC.replace("a + b", "a - b"))
    scope = EditScope.read(folder, ["calc.py"])
    changeset = build_changeset(scope, _fix("calc.py", "    return a - b", "    return a + b"))
    assert changeset.empty
    (problem,) = changeset.problems
    assert problem.kind == "ambiguous"
    assert "matches in 2 places (line 2 and line 6)" in problem.message
    assert "line 2 and line 6" in changeset.retry_prompt()


def test_an_answer_without_edits_touches_nothing(folder: Path) -> None:
    changeset = build_changeset(EditScope.read(folder, ["calc.py"]), "I think the code is fine.")
    assert changeset.empty
    assert [p.kind for p in changeset.problems] == ["unparsed"]
    assert "no file was changed" in changeset.problems[0].message


def test_utf8_bom_and_crlf_line_endings_are_kept(folder: Path) -> None:
    (folder / "win.py").write_bytes(b"\xef\xbb\xbfname = 'caf\xc3\xa9'\r\nx = 1\r\n")
    scope = EditScope.read(folder, ["win.py"])
    write_changeset(build_changeset(scope, _fix("win.py", "x = 1", "x = 2\ny = 3")))
    assert (folder / "win.py").read_bytes() == b"\xef\xbb\xbfname = 'caf\xc3\xa9'\r\nx = 2\r\ny = 3\r\n"


@pytest.mark.parametrize(
    ("name", "data"),
    [("latin1.py", b"name = 'caf\xe9'\n"), ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00")],
)
def test_files_that_are_not_utf8_text_are_read_only(folder: Path, name: str, data: bytes) -> None:
    (folder / name).write_bytes(data)
    scope = EditScope.read(folder, [name])
    assert scope.editable == () and [f.path for f in scope.read_only] == [name]
    assert f"{name} is read-only" in scope.notes[0]
    changeset = build_changeset(scope, f"{name}\n```\nother\n```\n")
    assert changeset.empty and f"{name} is read-only" in changeset.problems[0].message
    assert (folder / name).read_bytes() == data


def test_paths_outside_the_folder_are_refused(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.py").write_text("S = 1\n")
    (folder / "link").symlink_to(outside)
    scope = EditScope.read(folder, ["calc.py"])
    for name in ("../outside/secret.py", str(outside / "secret.py"), "link/secret.py", "pkg/../../x.py"):
        changeset = build_changeset(scope, f"{name}\n```python\nS = 2\n```\n")
        assert changeset.empty, name
        assert "outside the opened folder" in changeset.problems[0].message
    assert (outside / "secret.py").read_text() == "S = 1\n"
    with pytest.raises(EditRefused):
        Workspace(folder).relative_name("/etc/passwd")


def test_a_file_that_was_not_attached_is_refused(folder: Path) -> None:
    (folder / "pkg" / "data.d").mkdir()
    scope = EditScope.read(folder, ["calc.py"], read_only=["pkg/util.py"])
    changeset = build_changeset(scope, "pkg/util.py\n```python\nX = 9\n```\npkg/data.d\n```\nx\n```\n")
    assert changeset.empty
    assert "pkg/util.py, which was not attached as editable" in changeset.problems[0].message
    assert changeset.problems[1].message.startswith("pkg/data.d is a folder, not a file")
    assert (folder / "pkg/util.py").read_text() == "X = 1\n"


def test_a_file_changed_on_disk_since_it_was_read_is_refused(folder: Path) -> None:
    scope = EditScope.read(folder, ["calc.py", "pkg/util.py"])
    changeset = build_changeset(scope, "calc.py\n```python\nA = 1\n```\npkg/util.py\n```python\nX = 2\n```\n")
    (folder / "pkg/util.py").write_text("X = 5\n")  # same size, other bytes
    with pytest.raises(StaleFileError) as raised:
        write_changeset(changeset)
    assert raised.value.paths == ("pkg/util.py",) and "Reload" in str(raised.value)
    assert (folder / "calc.py").read_text() == CALC  # nothing written


def test_undo_refuses_a_file_changed_since_unless_told_to_overwrite(folder: Path) -> None:
    os.chmod(folder / "calc.py", 0o755)
    scope = EditScope.read(folder, ["calc.py", "pkg/util.py"])
    undo = write_changeset(
        build_changeset(scope, "calc.py\n```python\nA = 1\n```\npkg/util.py\n```python\nX = 2\n```\n")
    )
    assert os.stat(folder / "calc.py").st_mode & 0o777 == 0o755  # a script stays executable
    (folder / "calc.py").write_text("A = 1\nB = 2\n")  # saved again from the editor after the change
    with pytest.raises(FilesChangedSinceApply) as raised:
        undo_change(undo)
    assert raised.value.paths == ("calc.py",)
    assert (folder / "pkg/util.py").read_text() == "X = 2\n"  # nothing undone
    undo_change(undo, overwrite=True)
    assert (folder / "calc.py").read_text() == CALC and (folder / "pkg/util.py").read_text() == "X = 1\n"


def test_lines_an_edit_does_not_touch_keep_their_own_line_endings(folder: Path) -> None:
    (folder / "mixed.py").write_bytes(b"a = 1\r\nb = 2\nc = 3\r\nd = 4")  # mixed, no final break
    scope = EditScope.read(folder, ["mixed.py"])
    write_changeset(build_changeset(scope, _fix("mixed.py", "c = 3", "c = 30")))
    assert (folder / "mixed.py").read_bytes() == b"a = 1\r\nb = 2\nc = 30\r\nd = 4"
    scope = EditScope.read(folder, ["mixed.py"])
    write_changeset(build_changeset(scope, _fix("mixed.py", "d = 4", "d = 4\ne = 5")))
    assert (folder / "mixed.py").read_bytes() == b"a = 1\r\nb = 2\nc = 30\r\nd = 4\r\ne = 5"


def test_the_accepted_change_as_a_unified_diff(folder: Path) -> None:
    scope = EditScope.read(folder, ["calc.py"])
    changeset = build_changeset(
        scope, _fix("calc.py", "    return a - b", "    return a + b") + "new.txt\n```\nhi\n```\n"
    )
    assert changeset.unified_diff() == (
        "--- a/calc.py\n+++ b/calc.py\n@@ -1,5 +1,5 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n"
        " \n \n def mul(a, b):\n"
        "--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+hi\n"
    )
