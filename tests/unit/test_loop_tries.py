"""A feedback round's tries (app.loop.tries): which one the tests keep, and a fresh try's
change, made on the files as the first request showed them, carried onto the files as
they are now."""

from __future__ import annotations

from pathlib import Path

from app.edits.changeset import build_changeset, parse_for
from app.edits.workspace import EditScope
from app.loop.rounds import TestRun
from app.loop.tries import Try, best_try, rebased, run_rank
from app.run.summary import TestCounts


def _run(passed: int | None, failed: int, *, timed_out: bool = False, counted: bool = True) -> TestRun:
    counts = TestCounts(passed=passed, failed=failed) if counted else None
    ok = failed == 0 and counted and not timed_out
    return TestRun("pytest", ok, 0 if ok else 1, counts, "", "", 0.1, timed_out=timed_out)


def _scope(tmp_path: Path, **files: str) -> EditScope:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return EditScope.read(tmp_path, sorted(files))


def test_the_kept_try_passes_else_passes_the_most_tests_and_comes_first_among_equals(tmp_path: Path) -> None:
    scope = _scope(tmp_path, **{"a.py": "x = 1\n"})
    change = build_changeset(scope, parse_for(scope, "a.py\n```python\nx = 2\n```\n"))
    nothing = build_changeset(scope, parse_for(scope, "no edit here"))
    one_passing, two_passing, two_passing_later = (Try([], change, _run(p, 3 - p)) for p in (1, 2, 2))
    # The module no longer imports: pytest counts one collection error where three tests ran.
    broken = Try([], change, _run(0, 1))
    none_passing = Try([], change, _run(0, 3))
    uncounted, timeout = Try([], change, _run(None, 0, counted=False)), Try([], change, _run(2, 1, timed_out=True))
    passing, empty = Try([], change, _run(3, 0)), Try([], nothing)

    assert best_try([one_passing, two_passing, two_passing_later]) is two_passing
    assert best_try([broken, none_passing]) is none_passing  # fewer failures only because fewer tests ran
    assert best_try([empty, uncounted, timeout, one_passing]) is one_passing
    assert best_try([uncounted, empty]) is uncounted  # a change, even without counts, before none
    assert best_try([two_passing, passing, one_passing]) is passing
    assert run_rank(_run(0, 1)) > run_rank(_run(0, 3))


def test_a_fresh_try_is_carried_onto_the_files_as_they_are_now(tmp_path: Path) -> None:
    first = _scope(tmp_path, **{"a.py": "def f():\n    return 1\n", "b.py": "B = 1\n"})
    # Earlier rounds changed both files; the fresh try saw them as they were.
    (tmp_path / "a.py").write_text("def f():\n    return 10\n")
    (tmp_path / "b.py").write_text("B = 10\n")
    now = EditScope.read(tmp_path, ["a.py", "b.py"])
    answer = "a.py\n```python\n<<<<<<< SEARCH\n    return 1\n=======\n    return 2\n>>>>>>> REPLACE\n```\n"
    made_on_first = build_changeset(first, parse_for(first, answer))
    assert not made_on_first.problems  # its block matches the file it was shown ...
    assert build_changeset(now, parse_for(now, answer)).problems  # ... and not the file as it is now

    carried = rebased(made_on_first, now)

    assert not carried.problems
    results = {c.path: c.result_text() for c in carried.changes}
    assert results == {"a.py": "def f():\n    return 2\n", "b.py": "B = 1\n"}  # b.py as the try saw it


def test_a_fresh_try_that_leaves_the_files_as_they_are_is_no_change(tmp_path: Path) -> None:
    first = _scope(tmp_path, **{"a.py": "x = 1\n"})
    carried = rebased(build_changeset(first, parse_for(first, "a.py\n```python\nx = 1\n```\n")), first)
    assert carried.empty and not carried.problems
