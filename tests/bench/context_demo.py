"""Issue 13's two failures, replayed as a person would with the real model, with screenshots.

Usage (needs an X server; the screenshots are of the whole screen):

    xvfb-run -s "-screen 0 1400x900x24" python tests/bench/context_demo.py [MODEL.gguf] [--out docs]

A folder with sample.py (imports at the top, the stub `def average_total(orders):` at
line 29) opens in the window with sample.py in the editor, cursor at 1:1. The question
"Write the body of average_total for this file" is typed into the chat and sent; the
answer streams from the model. Then the answer's Apply is clicked. It writes
context-attached.png (the chat with the file's chip and the answer) and apply-stub.png
(the Apply dialog), and prints what was sent, the answer, and the file after Apply.
Exit status 0 when the question carried the file and Apply replaced the stub at line 29.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.bench._util import REPO, test_model_path  # noqa: E402
from tests.helpers.orders_sample import QUESTION, SAMPLE, STUB_LINE  # noqa: E402


def screenshot(path: Path) -> None:
    subprocess.run(["import", "-window", "root", str(path)], check=True)


def run(model: str, out: Path) -> int:
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from app.chat.markdown.render import action_url
    from app.chat.ui.apply_dialog import ApplyDialog
    from app.chat.ui.message_widgets import AssistantMessageWidget
    from app.config.settings import Settings
    from app.mainwindow.app import create_application
    from app.mainwindow.window import MainWindow
    from tests.helpers.chat import click_anchor
    from tests.helpers.event_loop import run_events_for, wait_for

    assert SAMPLE.splitlines()[STUB_LINE - 1] == "def average_total(orders):"
    create_application()
    window = MainWindow(Settings(temperature=0.0, max_tokens=400))
    window.resize(1400, 860)
    window.move(0, 0)
    window.show()

    class Bot:  # qtbot's two calls that click_anchor uses
        @staticmethod
        def waitUntil(condition, timeout: int = 5000) -> None:  # noqa: N802
            wait_for(condition, timeout / 1000)

        @staticmethod
        def wait(ms: int) -> None:
            run_events_for(ms / 1000)

        @staticmethod
        def mouseClick(widget, button, pos) -> None:  # noqa: N802
            QTest.mouseClick(widget, button, Qt.KeyboardModifier.NoModifier, pos)

    with tempfile.TemporaryDirectory(prefix="orders-") as folder:
        sample = Path(folder) / "sample.py"
        sample.write_text(SAMPLE)
        window.open_files([folder, str(sample)])
        window.splitter.setSizes([180, 700, 520])
        window.engine.load_model(model)
        wait_for(lambda: window.engine.state.value != "loading")
        if window.engine.state.value != "ready":
            print("the model did not load:", window.chat.view.messages(), file=sys.stderr)
            return 1
        editor = window.chat.input.editor
        editor.setFocus()
        QTest.keyClicks(editor, QUESTION)
        wait_for(lambda: [c.label for c in window.chat.input.chips.chips()] == ["sample.py"])
        run_events_for(0.5)
        QTest.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        wait_for(lambda: bool(window.controller.turns))
        wait_for(lambda: not window.controller.is_busy())
        run_events_for(1.0)
        screenshot(out / "context-attached.png")
        sent = window.controller.turns[0].content
        answer_widget = [
            w
            for w in (window.chat.view.message_widget(i) for i in range(len(window.chat.view.messages())))
            if isinstance(w, AssistantMessageWidget)
        ][-1]
        print("=== sent ===\n" + sent + "\n=== answer ===\n" + answer_widget.text)
        if not answer_widget.code_blocks:
            print("the answer has no code block to apply", file=sys.stderr)
            return 1

        def shoot_and_apply() -> None:
            dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, ApplyDialog) and w.isVisible())
            dialog.move(320, 120)
            run_events_for(0.8)
            screenshot(out / "apply-stub.png")
            print("=== Apply says ===\n" + dialog.summary.text())
            dialog.apply_button.click()

        QTimer.singleShot(1500, shoot_and_apply)
        click_anchor(Bot, answer_widget.body, action_url("apply", 0))
        run_events_for(0.5)
        applied = window.tabs.current_editor().text()  # type: ignore[union-attr]
        print("=== sample.py after Apply ===\n" + applied)
        lines = applied.splitlines()
        filled = lines[STUB_LINE - 1].startswith("def average_total(") and "pass" not in lines[STUB_LINE]
        imports_kept = lines[2] == "import csv"
        window.tabs.ask_unsaved = lambda _editor: __import__("app.editor.ui.tabs").editor.ui.tabs.SaveChoice.DISCARD
        window.close()
        ok = "def average_total(orders):\n    pass" in sent and filled and imports_kept
        print("RESULT", "the file went with the question, Apply filled the stub at line 29" if ok else "FAILED")
        return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="a GGUF model (default: the shared real test model)")
    parser.add_argument("--out", default=str(REPO / "docs"), help="where the screenshots go")
    args = parser.parse_args()
    os.environ.setdefault("DSCODER_HOME", tempfile.mkdtemp(prefix="dscoder-demo-"))
    return run(args.model or test_model_path(), Path(args.out))


if __name__ == "__main__":
    sys.exit(main())
