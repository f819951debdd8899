"""`dscoder --self-test`: prove that this installation (or bundle) works, end to end.

It starts the GUI offscreen, writes a tiny real GGUF model, starts the engine child
process on it, streams an answer into the chat, checks the editor (a Python file
round trip with highlighting), prints each check, and exits 0 only when all pass.
User data goes to a temporary folder, so nothing of the user's is read or changed.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the window and Qt load inside the self-test, after its set-up
    from PySide6.QtWidgets import QApplication

    from app.mainwindow.window import MainWindow

TIMEOUT_S = 120.0


class SelfTest:
    def __init__(self) -> None:
        self.failures = 0

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        mark = "ok  " if ok else "FAIL"
        print(f"[{mark}] {name}" + (f": {detail}" if detail else ""), flush=True)
        self.failures += 0 if ok else 1
        return ok


def _wait(app: object, done: Callable[[], bool], timeout: float = TIMEOUT_S) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)
    return True


def check_syntax_parsers(test: SelfTest) -> None:
    """Every tree-sitter grammar the app uses loads (a bundle must carry each one)."""
    from app.syntax.languages import grammars, parse

    grammar_names = grammars()
    missing = [g for g in grammar_names if parse("x = 1\n", g) is None]
    test.check(
        "syntax parsers load (Apply places code by syntax)",
        not missing,
        f"missing {', '.join(missing)}" if missing else f"{len(grammar_names)} languages",
    )


def check_editor_round_trip(test: SelfTest, app: QApplication, window: MainWindow, home: Path) -> None:
    """A CRLF Python file opens with its lexer and saves with its line endings."""
    sample = home / "sample.py"
    sample.write_bytes(b"def add(a, b):\r\n    return a + b\r\n")
    window.open_files([str(sample)])
    editor = window.tabs.current_editor()
    loaded = _wait(app, lambda: editor is not None and not editor.is_loading(), 10)
    test.check(
        "editor opened a Python file",
        loaded and editor is not None and editor.language == "python",
        f"language {getattr(editor, 'language', None)}, lexer {editor.lexer_name() if editor else None}",
    )
    if editor is not None:
        editor.insert_at_cursor("# checked\n")
        window.tabs.save(editor)
        test.check(
            "editor saved it keeping CRLF line endings",
            b"\r\n" in sample.read_bytes() and sample.read_bytes().endswith(b"return a + b\r\n"),
        )


def check_engine_and_chat(test: SelfTest, app: QApplication, window: MainWindow, model: Path) -> None:
    """The engine process loads the tiny model, and a question's answer streams into the chat."""
    from app.llm.info import EngineInfo

    state: dict[str, object] = {}
    window.engine.loaded.connect(lambda info: state.setdefault("info", info))
    window.engine.loadFailed.connect(lambda message, _detail: state.setdefault("error", message))
    window.engine.load_model(str(model))
    _wait(app, lambda: "info" in state or "error" in state)
    info = state.get("info")
    test.check(
        "engine process started and loaded the model",
        isinstance(info, EngineInfo),
        f"{info.model_name} ({info.architecture}), context {info.n_ctx}"
        if isinstance(info, EngineInfo)
        else str(state.get("error")),
    )
    if "info" not in state:
        return
    window.controller.answerFinished.connect(lambda stats: state.setdefault("stats", stats))
    window.controller.send("Write a function that adds two numbers.")
    _wait(app, lambda: "stats" in state)
    messages = window.chat.view.messages()
    answer = messages[-1] if messages else None
    stats = state.get("stats")
    test.check(
        "an answer streamed into the chat",
        answer is not None and answer.role == "assistant" and bool(answer.text),
        f"{getattr(stats, 'completion_tokens', 0)} tokens, {(getattr(stats, 'tokens_per_s', None) or 0):.0f} tokens/s",
    )


def run_self_test() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = tempfile.mkdtemp(prefix="dscoder-selftest-")
    os.environ["DSCODER_HOME"] = home
    test = SelfTest()
    started = time.monotonic()
    try:
        from app.config.settings import Settings
        from app.mainwindow.app import create_application
        from app.models.synthetic.tiny import write_tiny_gguf

        app = create_application([sys.argv[0]])
        from app.mainwindow.window import MainWindow

        check_syntax_parsers(test)
        model = write_tiny_gguf(Path(home) / "selftest-tiny.gguf")
        test.check("tiny GGUF model written", model.stat().st_size > 0, f"{model.stat().st_size} bytes")

        window = MainWindow(Settings())
        window.show()
        test.check("main window shown offscreen", _wait(app, window.isVisible, 10))
        check_editor_round_trip(test, app, window, Path(home))
        check_engine_and_chat(test, app, window, model)
        window.shutdown()
        window.close()
    except Exception as exc:  # noqa: BLE001 - a self-test reports every failure and exits 1
        test.check("self-test ran without an exception", False, f"{type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    verdict = "passed" if test.failures == 0 else f"FAILED ({test.failures} check(s))"
    print(f"self-test {verdict} in {time.monotonic() - started:.1f} s", flush=True)
    return 0 if test.failures == 0 else 1
