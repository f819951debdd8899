"""The project map: built off the calling thread and cancellable, .gitignore honoured,
one file's update changing only its entries, the rendering trimmed to a budget by
relevance, and the decision whether a question is about the project."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.project.files import is_ignored, source_files
from app.project.outline_map import build_map
from app.project.relevance import is_project_question, render_map, strip_project_mention
from app.utils.errors import CancelledError
from app.utils.jobs import JobControl
from app.utils.tokens import approx_tokens

FILES = 300


def make_project(root: Path, files: int = FILES) -> Path:
    for i in range(files):
        folder = root / f"pkg{i % 10}"
        folder.mkdir(exist_ok=True)
        (folder / f"mod{i}.py").write_text(
            f"import os\n\n\nclass Model{i}:\n    def save_{i}(self, path: str) -> None:\n        pass\n\n\n"
            f"def helper_{i}(x: int, y: int = {i}) -> int:\n    return x + y\n"
        )
    (root / "web").mkdir()
    (root / "web" / "cart.ts").write_text("export function cartTotal(items: number[]): number { return 0; }\n")
    (root / "build").mkdir()
    (root / "build" / "generated.py").write_text("def generated():\n    pass\n")
    (root / "pkg0" / "notes.gen.py").write_text("def gen():\n    pass\n")
    (root / "pkg0" / "keep.gen.py").write_text("def kept():\n    pass\n")
    (root / "README.md").write_text("# not source\n")
    (root / ".gitignore").write_text("build/\n*.gen.py\n")
    (root / "pkg0" / ".gitignore").write_text("!keep.gen.py\n")
    return root


def test_the_map_is_built_on_another_thread_and_honours_gitignore(tmp_path):
    root = make_project(tmp_path)
    threads: set[str] = set()
    result: dict[str, object] = {}

    def run() -> None:
        result["map"] = build_map(root, JobControl(), on_file=lambda _f: threads.add(threading.current_thread().name))

    worker = threading.Thread(target=run, name="map-builder")
    worker.start()
    worker.join(60)
    project = result["map"]
    assert threads == {"map-builder"}
    paths = {f.path for f in project.files()}  # type: ignore[attr-defined]
    assert len(paths) == FILES + 2  # the generated .py files, cart.ts and the re-included keep.gen.py
    assert "web/cart.ts" in paths and "pkg0/keep.gen.py" in paths
    assert not {"build/generated.py", "pkg0/notes.gen.py", "README.md"} & paths
    outline = project.get("pkg3/mod13.py")  # type: ignore[attr-defined]
    assert [(s.name, s.kind, s.signature, s.depth) for s in outline.symbols] == [
        ("Model13", "type", "class Model13:", 0),
        ("Model13.save_13", "function", "def save_13(self, path: str) -> None:", 1),
        ("helper_13", "function", "def helper_13(x: int, y: int = 13) -> int:", 0),
    ]
    assert is_ignored(root, root / "build" / "generated.py") and not is_ignored(root, root / "pkg0" / "keep.gen.py")


def test_a_build_can_be_cancelled_midway(tmp_path):
    root = make_project(tmp_path)
    control = JobControl()
    seen: list[str] = []

    def on_file(outline) -> None:
        seen.append(outline.path)
        if len(seen) == 20:
            control.cancel()

    with pytest.raises(CancelledError):
        build_map(root, control, on_file=on_file)
    assert len(seen) == 20
    control = JobControl()
    control.cancel()
    with pytest.raises(CancelledError):
        list(source_files(root, control))


def test_updating_one_file_changes_only_its_entries(tmp_path):
    root = make_project(tmp_path, files=30)
    project = build_map(root)
    before = {f.path: f for f in project.files()}
    target = root / "pkg2" / "mod12.py"
    target.write_text("def renamed(a):\n    return a\n")
    assert project.update_file(target)
    after = {f.path: f for f in project.files()}
    assert [s.name for s in after["pkg2/mod12.py"].symbols] == ["renamed"]
    assert {p: f for p, f in after.items() if p != "pkg2/mod12.py"} == {
        p: f for p, f in before.items() if p != "pkg2/mod12.py"
    }
    assert not project.update_file(target)  # unchanged: nothing to report
    target.unlink()
    assert project.update_file(target) and project.get("pkg2/mod12.py") is None
    ignored = root / "build" / "new.py"
    ignored.write_text("def x():\n    pass\n")
    assert not project.update_file(ignored) and project.get("build/new.py") is None


def test_the_rendering_fits_the_budget_and_puts_the_relevant_file_first(tmp_path):
    root = make_project(tmp_path)
    project = build_map(root)
    text = render_map(project, "Where is cartTotal computed?", budget_tokens=300)
    assert approx_tokens(text) <= 300
    assert text.startswith("web/cart.ts:\n  export function cartTotal(items: number[]): number\n") or text.startswith(
        "web/cart.ts:\n  function cartTotal(items: number[]): number\n"
    )
    text = render_map(project, "how does helper_42 work", budget_tokens=120)
    assert text.splitlines()[0] == "pkg2/mod42.py:" and approx_tokens(text) <= 120
    assert "def helper_42(x: int, y: int = 42) -> int:" in text
    assert render_map(project, "anything", budget_tokens=0) == ""


@pytest.mark.parametrize(
    ("question", "about_project"),
    [
        ("Where is the config loaded?", True),
        ("How does the download queue work?", True),
        ("@project list the entry points", True),
        ("Which file defines Settings?", True),
        ("Where are errors shown to the user?", True),
        ("Write the body of average_total for this file", False),
        ("Explain this function", False),
        ("Fix the bug in line 3", False),
    ],
)
def test_which_questions_are_about_the_project(question, about_project):
    assert is_project_question(question) is about_project


def test_the_mention_is_removed_from_the_question():
    assert strip_project_mention("@project where is main?") == "where is main?"
