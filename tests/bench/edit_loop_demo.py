"""The edit loop in the real window, as a new user meets it: a folder with failing tests,
"make the failing test pass" asked with Edit Files, the review, the tests in the Run
panel, "Fix with these failures", round after round. It prints what the user sees at
each step and saves screenshots.

Usage:
    QT_QPA_PLATFORM=offscreen python tests/bench/edit_loop_demo.py [--out docs]
        scripted answers (deterministic): writes run-panel.png, multi-file-review.png and
        edit-round.png
    QT_QPA_PLATFORM=offscreen python tests/bench/edit_loop_demo.py --model MODEL.gguf [--out /tmp/demo]
        the same steps with a real model answering (whatever it answers), up to 2 fixes

The test command is confirmed as the user would confirm the detected one; each review is
accepted as shown.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

STATS = """def median(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def mean(values):
    return sum(values) / len(values)
"""
REPORT = """from stats import mean, median


def summary(values):
    return f"median {median(values)}, mean {mean(values)}"
"""
TESTS = """from report import summary
from stats import mean, median


def test_median_odd():
    assert median([3, 1, 2]) == 2


def test_median_even():
    assert median([4, 1, 3, 2]) == 2.5


def test_mean_of_nothing():
    assert mean([]) == 0.0


def test_summary():
    assert summary([1, 2]) == "median 1.5, mean 1.5"
"""
PYTEST_INI = "[pytest]\naddopts = -p no:cacheprovider\n"

# Round 1 changes both files and fixes nothing; round 2 fixes median; round 3 fixes mean.
ROUND_1 = '''stats.py
```python
def median(values):
    """The middle value."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle]


def mean(values):
    return sum(values) / len(values)
```

report.py
```python
from stats import mean, median


def summary(values):
    """One line: the median and the mean."""
    return f"median {median(values)}, mean {mean(values)}"
```
'''
ROUND_2 = '''stats.py
```python
def median(values):
    """The middle value."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def mean(values):
    return sum(values) / len(values)
```
'''
ROUND_3 = '''stats.py
```python
def median(values):
    """The middle value."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def mean(values):
    return sum(values) / len(values) if values else 0.0
```
'''
QUESTION = "make the failing test pass"


def say(text: str) -> None:
    print(f"· {text}", flush=True)


def run(out: Path, model: str | None) -> int:
    from PySide6.QtWidgets import QDialog

    from app.chat.ui.message_widgets import ErrorCard
    from app.config.settings import Settings
    from app.editor.ui.tabs import SaveChoice
    from app.edits.ui.review_dialog import ReviewDialog
    from app.llm.info import EngineState
    from app.mainwindow.app import create_application
    from app.mainwindow.edit_loop import FIX_BUTTON
    from app.mainwindow.window import MainWindow
    from app.protocol.options import LoadOptions
    from tests.helpers.event_loop import run_events_for, wait_for
    from tests.helpers.fake_engine import ScriptedAnswer, ScriptedEngineWorker

    create_application()
    worker = None
    if model is None:
        worker = ScriptedEngineWorker()
        for answer in (ROUND_1, ROUND_2, ROUND_3):
            worker.script_answer(ScriptedAnswer(deltas=[answer[i : i + 40] for i in range(0, len(answer), 40)]))
    window = MainWindow(Settings(temperature=0.0, max_tokens=700), worker)
    window.tabs.ask_unsaved = lambda _editor: SaveChoice.DISCARD
    window.resize(1400, 900)
    window.show()
    reviews: list[int] = []

    def review(dialog: ReviewDialog) -> int:
        reviews.append(len(reviews) + 1)
        files = [dialog.file_list.item(i).text() for i in range(dialog.file_list.count())]
        say(
            f"the review opens: {dialog.summary.text()} | files: {'; '.join(files)} | problems: {dialog.problems.text()}"
        )
        if len(reviews) == 1:
            dialog.resize(900, 460)
            dialog.show()
            run_events_for(0.6)
            dialog.grab().save(str(out / "multi-file-review.png"))
            dialog.hide()
        say("the user presses Accept")
        return QDialog.DialogCode.Accepted

    ReviewDialog.exec = review  # type: ignore[method-assign]  # the user reads the change and accepts it

    def confirm(_parent: object, folder: str, detected: object, current: str) -> str:
        say(
            f"Run Tests asks once for {folder}: the detected command `{current}` ({getattr(detected, 'reason', '')}); OK"
        )
        return current

    window.run.ask_test_command = confirm  # type: ignore[assignment]

    def cards() -> list[ErrorCard]:
        view = window.chat.view
        return [w for w in (view.message_widget(i) for i in range(len(view.messages()))) if isinstance(w, ErrorCard)]

    def shoot(name: str) -> None:
        run_events_for(0.8)
        window.grab().save(str(out / name))

    with tempfile.TemporaryDirectory(prefix="loop-demo-") as work:
        folder = Path(work) / "stats-project"
        folder.mkdir()
        for name, text in (
            ("stats.py", STATS),
            ("report.py", REPORT),
            ("test_stats.py", TESTS),
            ("pytest.ini", PYTEST_INI),
        ):
            (folder / name).write_text(text)
        say(f"the folder {folder.name} opens: stats.py, report.py, test_stats.py (3 of its 4 tests fail)")
        # Scripted: both files go (report.py open, @stats.py named) for a two-file review; a real
        # model gets what a new user most often sends: the open file, stats.py, alone.
        opened = ["stats.py", "report.py"] if model is None else ["stats.py"]
        window.open_files([str(folder), *(str(folder / name) for name in opened)])
        window.splitter.setSizes([170, 640, 590])
        if model is None:
            window.engine.load(LoadOptions("/models/scripted.gguf"))
        else:
            window.engine.load_model(model)
        wait_for(lambda: window.engine.state is not EngineState.LOADING, 300)
        if window.engine.state is not EngineState.READY:
            print("the model did not load", file=sys.stderr)
            return 1
        question = QUESTION + " @stats.py" if model is None else QUESTION
        say(f"the user types in the chat: {question} (open: {', '.join(opened)})")
        window.chat.input.set_text(question)
        run_events_for(0.5)
        say("the user presses Edit Files")
        window.chat.input.edit_files_button.click()

        shots: dict[int, Callable[[], None]] = {
            1: lambda: shoot("run-panel.png"),
            2: lambda: shoot("edit-round.png"),
        }
        seen = 0
        while True:
            wait_for(lambda: len(cards()) > seen or window.edit_loop.progress is None, 900)  # noqa: B023
            run_events_for(0.5)
            result = window.run.last_result
            if result is not None:
                say(f"the Run panel shows `{result.command}`: {result.message or 'Passed'} ({result.seconds:.1f} s)")
            if model is not None:
                answers = [m.text for m in window.chat.view.messages() if m.role == "assistant"]
                say("the model's last answer begins: " + (answers[-1][:600] if answers else "(none)"))
            if len(cards()) <= seen:
                say(f"the status bar says: {window.status.currentMessage()}")
                break
            seen = len(cards())
            say(f"the chat shows: {cards()[-1].text}  [{FIX_BUTTON}]")
            if model is None and seen in shots:
                shots[seen]()
            say(f"the user clicks {FIX_BUTTON}")
            next(b for b in cards()[-1].buttons if b.text() == FIX_BUTTON).click()
        ok = (folder / "stats.py").read_text().endswith("if values else 0.0\n") if model is None else True
        window.close()
    print("RESULT", "the loop ran to its end" if ok else "FAILED")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a GGUF model to answer (default: scripted answers)")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "docs"), help="screenshots folder")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("DSCODER_HOME", tempfile.mkdtemp(prefix="dscoder-demo-"))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    return run(Path(args.out), args.model)


if __name__ == "__main__":
    sys.exit(main())
