"""The chat's Edit Files with the scripted engine: the edit prompt, the automatic retry
after a mismatch, and the ChangeSet handed to the review."""

from __future__ import annotations

from pathlib import Path

from app.chat.ui import ChatPanel
from app.chat.ui.controller import ChatController
from app.chat.ui.edit_request import NO_FILES, EditRequests
from app.config.settings import Settings
from app.config.ui.store import SettingsStore
from app.edits.changeset import ChangeSet
from app.edits.formats import NO_EDIT_MESSAGE
from app.edits.prompt import EDIT_RULES
from app.llm.info import EngineState
from app.llm.ui.session import EngineSession
from app.protocol.options import LoadOptions
from tests.gui.test_chat_controller import NoEditor
from tests.helpers.fake_engine import ScriptedAnswer, ScriptedEngineWorker

WAIT_MS = 5_000
CALC = "def add(a, b):\n    return a - b\n"


class Attached:
    def __init__(self, paths: list[str]) -> None:
        self.paths = paths

    def attached_paths(self, question: str) -> list[str]:
        return self.paths


def _chat(qtbot, folder: Path, paths: list[str]):
    panel = ChatPanel()
    qtbot.addWidget(panel)
    worker = ScriptedEngineWorker()
    engine = EngineSession(SettingsStore(Settings()), lambda options: options, worker)
    controller = ChatController(panel, NoEditor(), Settings(), engine)
    saved: list[list[str]] = []
    requests = EditRequests(controller, Attached(paths), lambda: str(folder), lambda p: saved.append(p) or True)
    engine.load(LoadOptions("/models/scripted.gguf"))
    qtbot.waitUntil(lambda: engine.state is EngineState.READY, timeout=WAIT_MS)
    return panel, worker, controller, requests, saved


def test_a_mismatch_is_shown_to_the_model_once_and_both_answers_make_one_change(qtbot, tmp_path: Path) -> None:
    (tmp_path / "calc.py").write_text(CALC)
    (tmp_path / "util.py").write_text("X = 1\n")
    panel, worker, controller, requests, saved = _chat(
        qtbot, tmp_path, [str(tmp_path / "calc.py"), str(tmp_path / "util.py")]
    )
    worker.script_answer(
        ScriptedAnswer(
            deltas=[
                "util.py\n```python\nX = 2\n```\n\ncalc.py\n```python\n<<<<<<< SEARCH\n",
                "    return a-b\n=======\n    return a + b\n>>>>>>> REPLACE\n```\n",
            ]
        )
    )
    worker.script_answer(
        ScriptedAnswer(
            deltas=[
                "calc.py\n```python\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n>>>>>>> REPLACE\n```\n"
            ]
        )
    )
    ready: list[ChangeSet] = []
    requests.changesReady.connect(ready.append)
    panel.input.set_text("Fix add")
    panel.input.edit_files_button.click()
    qtbot.waitUntil(lambda: bool(ready), timeout=WAIT_MS)

    assert saved == [[str(tmp_path / "calc.py"), str(tmp_path / "util.py")]]
    first, retry = worker.requests
    assert EDIT_RULES in first.messages[-1]["content"] and "Fix add" in first.messages[-1]["content"]
    assert retry.messages[-1]["content"].startswith("Your SEARCH block for calc.py did not match:")
    (changeset,) = ready
    assert changeset.problems == []
    assert [(c.path, c.new_text) for c in changeset.changes] == [
        ("util.py", "X = 2\n"),
        ("calc.py", "def add(a, b):\n    return a + b\n"),
    ]
    shown = controller.conversation.turns[0].shown
    assert shown == "Fix add\n\nEdit files: calc.py, util.py"
    assert (tmp_path / "calc.py").read_text() == CALC  # nothing written before the review


def test_without_attached_files_it_says_what_to_do(qtbot, tmp_path: Path) -> None:
    panel, worker, _controller, requests, _saved = _chat(qtbot, tmp_path, [])
    notes: list[str] = []
    panel.show_note = notes.append  # type: ignore[method-assign]
    requests.request("Fix add")
    assert notes == [NO_FILES] and worker.requests == []


def test_an_answer_without_edits_is_a_note_and_no_review(qtbot, tmp_path: Path) -> None:
    (tmp_path / "calc.py").write_text(CALC)
    panel, worker, controller, requests, _saved = _chat(qtbot, tmp_path, [str(tmp_path / "calc.py")])
    notes: list[str] = []
    panel.show_note = notes.append  # type: ignore[method-assign]
    ready: list[ChangeSet] = []
    requests.changesReady.connect(ready.append)
    worker.script_answer(ScriptedAnswer(deltas=["The code looks correct to me."]))
    requests.request("Fix add")
    qtbot.waitUntil(lambda: bool(notes), timeout=WAIT_MS)
    assert notes == [f"{NO_EDIT_MESSAGE}."]
    assert ready == [] and (tmp_path / "calc.py").read_text() == CALC
