"""The edit benchmark's tasks (tests/bench/edit_tasks/*): loading them, copying one into a
work folder, and checking that each is sound (its tests fail on the stub and pass with
its reference solution).

A task is a folder with `task.json` ({"instruction", "files": the editable files,
"read": context files, "test": "pytest" | "unittest" | "node"}), the stub files, their
tests, and `solution/` (the reference files; never copied into a work folder, so the
model never sees them). The tests are copied, but the model is not shown them: only the
editable and read files go into the prompt, and the failures of a test run in feedback.

    python tests/bench/edit_task_set.py --check     # every task fails as given and passes when solved
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

TASKS = Path(__file__).resolve().parent / "edit_tasks"
SOLUTION = "solution"

# -B and no cache provider: a test run leaves no files behind in the folder (the diffs
# and --dry-run's copy stay clean).
TEST_COMMANDS = {
    "pytest": "{python} -B -m pytest -q -p no:cacheprovider",
    "unittest": "{python} -B -m unittest",
    "node": "node --test",
}


@dataclass(frozen=True)
class EditTask:
    name: str
    folder: Path
    instruction: str
    files: tuple[str, ...]  # editable
    read: tuple[str, ...]  # context only
    test: str  # a key of TEST_COMMANDS

    @property
    def language(self) -> str:
        return "javascript" if self.test == "node" else "python"

    def test_command(self, python: str = sys.executable) -> str:
        return TEST_COMMANDS[self.test].format(python=shlex.quote(python))

    def copy_to(self, destination: Path, *, solved: bool = False) -> Path:
        """The task's files (not its solution) in `destination`; with `solved`, the solution over them."""
        shutil.copytree(self.folder, destination, ignore=shutil.ignore_patterns(SOLUTION, "__pycache__"))
        if solved:
            for path in (self.folder / SOLUTION).iterdir():
                shutil.copy2(path, destination / path.name)
        return destination


def load_tasks(names: list[str] | None = None) -> list[EditTask]:
    tasks: list[EditTask] = []
    for folder in sorted(p for p in TASKS.iterdir() if (p / "task.json").is_file()):
        if names and folder.name not in names:
            continue
        spec = json.loads((folder / "task.json").read_text(encoding="utf-8"))
        tasks.append(
            EditTask(
                name=folder.name,
                folder=folder,
                instruction=spec["instruction"],
                files=tuple(spec["files"]),
                read=tuple(spec.get("read", ())),
                test=spec["test"],
            )
        )
    return tasks


def _tests_pass(task: EditTask, folder: Path) -> bool:
    done = subprocess.run(task.test_command(), shell=True, cwd=folder, capture_output=True, timeout=60)
    return done.returncode == 0


def check(tasks: list[EditTask]) -> int:
    """0 when every task's tests fail on the stub and pass with the solution."""
    bad = 0
    with tempfile.TemporaryDirectory(prefix="edit-tasks-") as work:
        for task in tasks:
            stub = _tests_pass(task, task.copy_to(Path(work) / task.name))
            solved = _tests_pass(task, task.copy_to(Path(work) / f"{task.name}-solved", solved=True))
            verdict = "ok" if not stub and solved else "BROKEN"
            bad += verdict != "ok"
            print(
                f"{verdict:6} {task.name}: stub {'passes' if stub else 'fails'}, solution {'passes' if solved else 'fails'}"
            )
    print(
        f"{len(tasks)} tasks, {sum(t.test != 'node' for t in tasks)} Python, {sum(t.test == 'node' for t in tasks)} JavaScript"
    )
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="check that every task is sound")
    parser.add_argument("names", nargs="*", help="only these tasks")
    args = parser.parse_args()
    tasks = load_tasks(args.names)
    if args.check:
        return check(tasks)
    for task in tasks:
        print(f"{task.name:28} {task.test:9} {', '.join(task.files)}  {task.instruction}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
