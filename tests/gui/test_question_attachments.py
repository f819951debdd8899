"""What a question carries, as a person uses it and as the engine receives it.

The window is real and so is its engine worker; the engine is a loopback OpenAI-compatible
server that records every request (tests/helpers/fake_openai.py), connected the way a
remote engine is. So each test checks the chips a person sees and the messages that
reach the engine's door, not what a widget holds.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.chat.attachments.rules import EDITOR_KEY, PROJECT_KEY
from app.chat.ui.chips import ChipWidget
from app.config.settings import Settings
from app.llm.info import EngineState
from app.mainwindow.window import MainWindow
from tests.helpers.fake_openai import RecordingOpenAIServer
from tests.helpers.window import OFFSCREEN_SIZE_HINTS, open_window, type_and_send, wait_answer_done

# The offscreen platform cannot give the @ completer's popup the keyboard (a real one can).
pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_SIZE_HINTS, "This plugin does not support grabbing the keyboard")
WAIT_MS = 10_000
SAMPLE = '''"""Orders from a CSV export."""

import csv
from pathlib import Path


def load_orders(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def average_total(orders):
    totals = [float(order["total"]) for order in orders]
    return sum(totals) / len(totals)
'''
QUESTION = "Write the body of average_total for this file"


@pytest.fixture
def server():
    with RecordingOpenAIServer(answer="Use `sum` and `len`.") as fake:
        yield fake


def connected_window(qtbot, server: RecordingOpenAIServer, **settings) -> MainWindow:
    window = open_window(qtbot, Settings(**settings))
    window.engine.load(server.target())
    qtbot.waitUntil(lambda: window.engine.state is not EngineState.LOADING, timeout=WAIT_MS)
    assert window.engine.state is EngineState.READY, window.chat.view.messages()
    return window


def chips(window: MainWindow) -> list[tuple[str, str, bool]]:
    return [(c.key, c.label, c.attached) for c in window.chat.input.chips.chips()]


def wait_chips(qtbot, window: MainWindow, expected: list[tuple[str, str, bool]]) -> None:
    qtbot.waitUntil(lambda: chips(window) == expected, timeout=WAIT_MS)


def ask(qtbot, window: MainWindow, server: RecordingOpenAIServer, text: str) -> list[dict[str, str]]:
    """Type and send a question; returns the messages the engine received for it."""
    before = len(server.questions())
    type_and_send(qtbot, window, text)
    qtbot.waitUntil(lambda: len(server.questions()) > before, timeout=WAIT_MS)
    wait_answer_done(qtbot, window)
    return server.questions()[-1]


def click_remove(qtbot, window: MainWindow, key: str) -> None:
    chip = window.chat.input.chips.widget_for(key)
    assert isinstance(chip, ChipWidget)
    qtbot.mouseClick(chip.remove_button, Qt.MouseButton.LeftButton)


def test_the_current_file_goes_with_the_question_by_default(qtbot, server, tmp_path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(SAMPLE)
    window = connected_window(qtbot, server)
    window.open_files([str(sample)])
    wait_chips(qtbot, window, [(EDITOR_KEY, "sample.py", True)])
    assert window.chat.input.chips.chips()[0].tokens > 50
    # The meter counts the file before anything is sent: the count request carries it.
    qtbot.waitUntil(lambda: any("def average_total" in str(m) for m in server.counts()), timeout=WAIT_MS)

    messages = ask(qtbot, window, server, QUESTION)
    expected = f"Here is the file `sample.py` (Python):\n\n```python\n{SAMPLE}```\n\n{QUESTION}"
    assert messages[-1] == {"role": "user", "content": expected}
    question = window.controller.turns[0]
    assert question.typed == QUESTION
    assert question.display_text == f"{QUESTION}\n\n*Attached: `sample.py`*"
    wait_chips(qtbot, window, [(EDITOR_KEY, "sample.py", True)])  # the next question carries it too


def test_a_large_file_sends_the_part_around_the_cursor(qtbot, server, tmp_path) -> None:
    big = tmp_path / "big.py"
    big.write_text("".join(f"value_{n} = {n}  # a line of a file too large to send whole\n" for n in range(4000)))
    window = connected_window(qtbot, server)
    window.open_files([str(big)])
    qtbot.waitUntil(lambda: window.tabs.current_editor() is not None and not window.tabs.current_editor().is_loading())
    window.tabs.current_editor().go_to_line(2500)
    qtbot.waitUntil(lambda: bool(chips(window)) and chips(window)[0][1].startswith("big.py:"), timeout=WAIT_MS)
    first, last = (int(n) for n in chips(window)[0][1].removeprefix("big.py:").split("–"))
    assert first <= 2500 <= last and last - first < 1000

    content = ask(qtbot, window, server, "what is value_2499?")[-1]["content"]
    assert content.startswith(f"Here are lines {first}–{last} of the file `big.py` (Python), around the cursor:")
    assert "value_2499 = 2499" in content and "value_10 = 10 " not in content


def test_a_selection_goes_with_its_lines_and_enclosing_definition(qtbot, server, tmp_path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(SAMPLE)
    window = connected_window(qtbot, server)
    window.open_files([str(sample)])
    qtbot.waitUntil(lambda: chips(window) == [(EDITOR_KEY, "sample.py", True)], timeout=WAIT_MS)
    editor = window.tabs.current_editor()
    start = SAMPLE.index("    return sum")
    end = start + len("    return sum(totals) / len(totals)")
    editor.sci.setSel(editor.position_of_offset(start), editor.position_of_offset(end))  # as a drag would
    editor.sci.repaint()  # Scintilla reports a selection as it paints it
    wait_chips(qtbot, window, [(EDITOR_KEY, "sample.py:14 (selection)", True)])

    content = ask(qtbot, window, server, "Why can this fail?")[-1]["content"]
    assert content.startswith(
        "The selected code is lines 14–14 of `sample.py` (Python), inside `average_total` (lines 12–14):"
    )
    assert "def average_total(orders):\n    totals =" in content  # the definition around it
    assert content.endswith(
        "The selection:\n\n```python\n    return sum(totals) / len(totals)\n```\n\nWhy can this fail?"
    )
    assert "def load_orders" not in content  # not the whole file


def test_at_file_attaches_other_files_from_the_folder(qtbot, server, tmp_path) -> None:
    (tmp_path / "sample.py").write_text(SAMPLE)
    (tmp_path / "utils.py").write_text("def mean(values):\n    return sum(values) / len(values)\n")
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "tax.py").write_text("RATE = 0.2\n")
    window = connected_window(qtbot, server)
    window.open_files([str(tmp_path), str(tmp_path / "sample.py")])
    names = window.chat.input.editor.mentions.names
    qtbot.waitUntil(lambda: {"project", "utils.py", "shop/tax.py"} <= set(names()), timeout=WAIT_MS)

    editor = window.chat.input.editor
    editor.setFocus()
    qtbot.keyClicks(editor, "Use @uti")
    completer = editor.mentions.completer
    assert editor.mentions.is_open() and completer.currentCompletion() == "utils.py"
    qtbot.keyClick(completer.popup(), Qt.Key.Key_Return)  # Enter takes the completion
    assert window.chat.input.text() == "Use @utils.py "
    qtbot.keyClicks(editor, "and @shop/tax.py in average_total")
    wait_chips(
        qtbot,
        window,
        [(EDITOR_KEY, "sample.py", True), ("@utils.py", "utils.py", True), ("@shop/tax.py", "shop/tax.py", True)],
    )
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(server.questions()), timeout=WAIT_MS)
    content = server.questions()[-1][-1]["content"]
    assert "Here is the file `utils.py` (Python):\n\n```python\ndef mean(values):" in content
    assert "Here is the file `shop/tax.py` (Python):\n\n```python\nRATE = 0.2\n```" in content
    assert content.index("`sample.py`") < content.index("`utils.py`") < content.index("`shop/tax.py`")
    assert content.endswith("Use @utils.py and @shop/tax.py in average_total")

    # × on a mention's chip takes the mention out of the text.
    wait_answer_done(qtbot, window)
    qtbot.keyClicks(editor, "compare @utils.py with @shop/tax.py")
    qtbot.waitUntil(lambda: len(chips(window)) == 3, timeout=WAIT_MS)
    click_remove(qtbot, window, "@utils.py")
    assert window.chat.input.text() == "compare with @shop/tax.py"
    wait_chips(qtbot, window, [(EDITOR_KEY, "sample.py", True), ("@shop/tax.py", "shop/tax.py", True)])


def test_a_removed_chip_is_left_out_of_that_message_only(qtbot, server, tmp_path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(SAMPLE)
    window = connected_window(qtbot, server)
    window.open_files([str(sample)])
    wait_chips(qtbot, window, [(EDITOR_KEY, "sample.py", True)])
    click_remove(qtbot, window, EDITOR_KEY)
    wait_chips(qtbot, window, [(EDITOR_KEY, "sample.py", False)])  # offered back, one click away
    assert ask(qtbot, window, server, "What is a CSV file?")[-1]["content"] == "What is a CSV file?"
    wait_chips(qtbot, window, [(EDITOR_KEY, "sample.py", True)])  # the next message has it again
    assert "def average_total" in ask(qtbot, window, server, QUESTION)[-1]["content"]


def test_the_setting_turns_the_default_off_and_a_click_attaches(qtbot, server, tmp_path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(SAMPLE)
    window = connected_window(qtbot, server, chat_attach_current_file=False)
    window.open_files([str(sample)])
    wait_chips(qtbot, window, [(EDITOR_KEY, "sample.py", False)])
    assert ask(qtbot, window, server, "Hello?")[-1]["content"] == "Hello?"
    suggestion = window.chat.input.chips.widget_for(EDITOR_KEY)
    assert suggestion is not None
    qtbot.mouseClick(suggestion, Qt.MouseButton.LeftButton)
    wait_chips(qtbot, window, [(EDITOR_KEY, "sample.py", True)])
    assert "def average_total" in ask(qtbot, window, server, QUESTION)[-1]["content"]
    wait_chips(qtbot, window, [(EDITOR_KEY, "sample.py", False)])
    window.settings_store.update(chat_attach_current_file=True)  # Settings ▸ Attachments
    wait_chips(qtbot, window, [(EDITOR_KEY, "sample.py", True)])


def test_the_project_map_goes_with_project_questions_and_follows_saves(qtbot, server, tmp_path) -> None:
    (tmp_path / "sample.py").write_text(SAMPLE)
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "tax.py").write_text("def compute_tax(amount: float) -> float:\n    return amount * 0.2\n")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "generated.py").write_text("def compute_generated():\n    pass\n")
    (tmp_path / ".gitignore").write_text("build/\n")
    window = connected_window(qtbot, server)
    window.open_files([str(tmp_path), str(tmp_path / "sample.py")])
    qtbot.waitUntil(lambda: window.project_map.project_map is not None, timeout=WAIT_MS)

    editor = window.chat.input.editor
    editor.setFocus()
    qtbot.keyClicks(editor, "where is compute_tax defined?")
    wait_chips(qtbot, window, [(EDITOR_KEY, "sample.py", True), (PROJECT_KEY, "project map", True)])
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(server.questions()), timeout=WAIT_MS)
    content = server.questions()[-1][-1]["content"]
    assert content.startswith("Here is a map of the project (its files and their definitions):\n\n```text\n")
    assert "shop/tax.py:\n  def compute_tax(amount: float) -> float" in content
    assert "generated" not in content  # .gitignore'd
    wait_answer_done(qtbot, window)

    # A save updates the map; "@project" asks for it by name.
    code = window.tabs.current_editor()
    code.set_text(SAMPLE + "\n\ndef refund_order(order):\n    pass\n")
    assert window.tabs.save(code)
    qtbot.waitUntil(
        lambda: any(s.name == "refund_order" for s in window.project_map.project_map.get("sample.py").symbols),
        timeout=WAIT_MS,
    )
    click_remove(qtbot, window, EDITOR_KEY)
    content = ask(qtbot, window, server, "@project add tests for the orders")[-1]["content"]
    assert "sample.py:\n" in content and "def refund_order(order)" in content
    assert content.endswith("```\n\nadd tests for the orders")  # the map says what "@project" meant

    # × on the map leaves it out of a question about the project.
    qtbot.keyClicks(editor, "how does compute_tax work?")
    qtbot.waitUntil(lambda: (PROJECT_KEY, "project map", True) in chips(window), timeout=WAIT_MS)
    click_remove(qtbot, window, PROJECT_KEY)
    qtbot.waitUntil(lambda: PROJECT_KEY not in [key for key, _l, _a in chips(window)], timeout=WAIT_MS)
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(server.questions()) == 3, timeout=WAIT_MS)
    assert "map of the project" not in server.questions()[-1][-1]["content"]


def test_the_next_request_prefix_is_what_the_engine_then_receives(qtbot, server, tmp_path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(SAMPLE)
    window = connected_window(qtbot, server)
    window.open_files([str(sample)])
    ask(qtbot, window, server, "Hello")
    wait_chips(qtbot, window, [(EDITOR_KEY, "sample.py", True)])
    prefix = window.controller.next_request_prefix()
    messages = ask(qtbot, window, server, QUESTION)
    assert messages[:-1] == prefix[:-1]
    assert messages[-1]["content"] == prefix[-1]["content"] + QUESTION
