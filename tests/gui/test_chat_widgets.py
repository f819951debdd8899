"""The chat pane's widgets, driven offscreen like a person would: keys, clicks, pastes."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, QElapsedTimer, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QTextBrowser

from app.chat.markdown.render import CodeBlock, extract_code_blocks, render_markdown
from app.chat.ui import ChatPanel
from app.chat.ui.input import MAX_PASTE_CHARS
from app.chat.ui.message_widgets import (
    AssistantMessageWidget,
    MarkdownMessageWidget,
    MessageBody,
    MessageBrowser,
    UserMessageWidget,
)
from app.chat.ui.style import palette_for
from app.chat.ui.view import RENDER_INTERVAL_MS
from tests.helpers.chat import click_anchor, click_label_link, settle

ANSWER = """Two ways to do it:

1. a **list** item
2. another with `inline code`

```python
def square(x: int) -> int:
    return x * x
```

```bash
echo "done"
```
"""


@pytest.fixture
def panel(qtbot) -> ChatPanel:
    widget = ChatPanel()
    qtbot.addWidget(widget)
    widget.resize(520, 700)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def stream(panel: ChatPanel, text: str, piece: int = 3) -> int:
    index = panel.view.begin_assistant_message()
    for start in range(0, len(text), piece):
        panel.view.append_to_message(index, text[start : start + piece])
    return index


def wait_coloured(qtbot, view) -> None:
    """Wait until every code block got its colours from the highlighter thread."""

    def coloured() -> bool:
        widgets = [view.message_widget(i) for i in range(len(view.messages()))]
        browsers = [w.body for w in widgets if isinstance(w, MarkdownMessageWidget)]
        return not any(b.is_colouring() for b in browsers)

    qtbot.waitUntil(coloured, timeout=10_000)


def test_many_deltas_are_painted_in_a_few_batches_and_the_text_is_exact(qtbot, panel) -> None:
    view = panel.view
    index = stream(panel, ANSWER, piece=1)  # ~200 deltas in one event-loop turn
    assert view.render_count == 0, "appending must only buffer; the timer paints"
    assert view.messages()[index].text == ANSWER
    qtbot.waitUntil(lambda: view.render_count >= 1)
    view.finish_message(index, "42 tokens · 12.3 tok/s")
    assert view.render_count <= 3
    message = view.messages()[index]
    assert (message.role, message.text, message.finished) == ("assistant", ANSWER, True)
    widget = view.message_widget(index)
    assert isinstance(widget, AssistantMessageWidget)
    assert widget.code_blocks == extract_code_blocks(ANSWER)
    assert "return x * x" in widget.body.toPlainText()
    assert widget.footer_label.text() == "42 tokens · 12.3 tok/s"


def test_a_paced_stream_renders_at_most_once_per_render_interval(qtbot, panel) -> None:
    # Tokens arrive one per event-loop turn, as the worker's queued signals deliver them;
    # however fast or slow this machine is, the view re-renders at most once per interval.
    view = panel.view
    index = view.begin_assistant_message()
    pieces = [ANSWER[i : i + 2] for i in range(0, len(ANSWER), 2)] * 3
    clock = QElapsedTimer()
    clock.start()
    for piece in pieces:
        view.append_to_message(index, piece)
        QCoreApplication.processEvents()
    qtbot.waitUntil(lambda: view.render_count >= 1)
    elapsed_ms = clock.elapsed()
    assert 1 <= view.render_count <= elapsed_ms // RENDER_INTERVAL_MS + 1 < len(pieces)
    view.finish_message(index)
    assert view.messages()[index].text == ANSWER * 3


def test_only_the_streaming_message_is_re_rendered(qtbot, panel) -> None:
    view = panel.view
    for n in range(5):
        view.add_user_message(f"question {n}")
        view.add_assistant_message(f"answer {n}\n\n```py\nx = {n}\n```")
    wait_coloured(qtbot, view)
    renders_before = view.render_count
    earlier = view.message_widget(1)
    assert isinstance(earlier, AssistantMessageWidget)
    earlier_html = earlier.body.toHtml()
    index = stream(panel, ANSWER)
    qtbot.waitUntil(lambda: view.render_count > renders_before)
    view.finish_message(index)
    assert view.render_count - renders_before <= 3
    assert earlier.body.toHtml() == earlier_html


def block_layout(browser: QTextBrowser) -> list[tuple[str, float, float, float]]:
    layout = []
    block = browser.document().begin()
    while block.isValid():
        fmt = block.blockFormat()
        layout.append((block.text(), fmt.topMargin(), fmt.bottomMargin(), fmt.leftMargin()))
        block = block.next()
    return layout


def test_a_streamed_answer_looks_exactly_like_one_rendered_whole(qtbot, panel) -> None:
    text = ANSWER + "\n# Heading\n\n> a quote\n\n---\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nEnd.\n"
    view = panel.view
    index = view.begin_assistant_message()
    widget = view.message_widget(index)
    assert isinstance(widget, AssistantMessageWidget)
    for start in range(0, len(text), 5):
        view.append_to_message(index, text[start : start + 5])
        widget.render_text()  # paint after every delta: the incremental path at its busiest
    view.finish_message(index)
    qtbot.waitUntil(lambda: all(b.isVisible() for b in widget.body.browsers()))
    qtbot.wait(20)  # the pieces added last are laid out at the body's width
    whole = MessageBody()
    qtbot.addWidget(whole)
    whole.setFixedWidth(widget.body.width())
    whole.set_code_style(palette_for("light").render, code_actions=True)
    rendered = render_markdown(text, palette_for("light").render)
    whole.show_segments(rendered.segments, rendered.segment_code)
    whole.show()
    qtbot.waitUntil(lambda: all(b.isVisible() for b in whole.browsers()))
    assert widget.body.toPlainText() == whole.toPlainText()
    streamed_pieces, whole_pieces = widget.body.browsers(), whole.browsers()
    assert (
        [b.code_only for b in streamed_pieces]
        == [b.code_only for b in whole_pieces]
        == [
            False,  # the prose and the list
            True,  # each top-level code block on its own
            True,
            False,  # the heading, quote, rule, table and the end
        ]
    )
    for streamed, at_once in zip(streamed_pieces, whole_pieces, strict=True):
        assert block_layout(streamed) == block_layout(at_once)
        assert streamed.document().size() == at_once.document().size()


def test_copy_puts_the_blocks_code_on_the_clipboard(qtbot, panel) -> None:
    index = panel.view.add_assistant_message(ANSWER)
    widget = panel.view.message_widget(index)
    assert isinstance(widget, AssistantMessageWidget)
    QGuiApplication.clipboard().clear()
    click_anchor(qtbot, widget.body, "dscoder:copy/0")
    expected = "def square(x: int) -> int:\n    return x * x"
    assert QGuiApplication.clipboard().text() == expected


def test_insert_and_replace_carry_the_clicked_blocks_code(qtbot, panel) -> None:
    panel.view.add_user_message("how?")
    index = panel.view.add_assistant_message(ANSWER)
    widget = panel.view.message_widget(index)
    assert isinstance(widget, AssistantMessageWidget)
    with qtbot.waitSignal(panel.insertRequested) as inserted:
        click_anchor(qtbot, widget.body, "dscoder:insert/1")
    assert inserted.args == ['echo "done"']
    with qtbot.waitSignal(panel.replaceRequested) as replaced:
        click_anchor(qtbot, widget.body, "dscoder:replace/0")
    assert replaced.args == ["def square(x: int) -> int:\n    return x * x"]


def test_apply_carries_the_clicked_blocks_code(qtbot, panel) -> None:
    index = panel.view.add_assistant_message(ANSWER)
    widget = panel.view.message_widget(index)
    assert isinstance(widget, AssistantMessageWidget)
    with qtbot.waitSignal(panel.applyRequested) as applied:
        click_anchor(qtbot, widget.body, "dscoder:apply/1")
    assert applied.args == ['echo "done"']


def test_the_model_cannot_fake_an_apply_link(qtbot, panel) -> None:
    forged = 'See [Apply](dscoder:apply/0) and <a href="dscoder:apply/0">Apply</a>\n\n```py\nx\n```'
    index = panel.view.add_assistant_message(forged)
    widget = panel.view.message_widget(index)
    assert isinstance(widget, AssistantMessageWidget)
    hrefs = []
    for browser in widget.body.browsers():
        block = browser.document().begin()
        while block.isValid():
            it = block.begin()
            while not it.atEnd():
                if it.fragment().charFormat().isAnchor():
                    hrefs.append((it.fragment().text(), it.fragment().charFormat().anchorHref()))
                it += 1
            block = block.next()
    # Only the links under the real code block, each exactly once.
    assert [h for _t, h in hrefs if h.startswith("dscoder:")] == [
        "dscoder:copy/0",
        "dscoder:insert/0",
        "dscoder:replace/0",
        "dscoder:apply/0",
    ]


LONG_CODE = "\n".join(
    f"def function_{n}(value: int) -> int:  # line {n}\n    return value * {n} + len('x')" for n in range(150)
)
LONG_ANSWER = (
    "Here is the design, explained before the code. " * 30
    + "\n\n1. books\n2. members\n3. loans\n\n```python\n"
    + LONG_CODE
    + "\n```\n\nAnd a closing remark.\n"
)


def test_a_long_streamed_code_answer_ends_complete_and_coloured(qtbot, panel) -> None:
    """Streams ~300 lines of code in small pieces and finishes (the stall a user would feel
    meanwhile is measured by tests/bench/ui.py)."""
    view = panel.view
    index = view.begin_assistant_message()
    pieces = [LONG_ANSWER[i : i + 12] for i in range(0, len(LONG_ANSWER), 12)]
    piece_count = len(pieces)
    feeder = QTimer()
    feeder.setInterval(2)

    def feed() -> None:
        if pieces:
            view.append_to_message(index, pieces.pop(0))
        else:
            feeder.stop()
            view.finish_message(index, "done")

    feeder.timeout.connect(feed)
    feeder.start()
    qtbot.waitUntil(lambda: view.messages()[index].finished, timeout=60_000)
    wait_coloured(qtbot, view)
    widget = view.message_widget(index)
    assert isinstance(widget, AssistantMessageWidget)
    assert widget.code_blocks[0].code == LONG_CODE
    assert widget.body.toPlainText().count("def function_") == 150
    assert view.render_count < piece_count  # painted in batches, not once per piece


def test_ctrl_enter_sends_and_enter_adds_a_line(qtbot, panel) -> None:
    editor = panel.input.editor
    editor.setFocus()
    qtbot.keyClicks(editor, "first line")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, "second line")
    assert panel.input.text() == "first line\nsecond line"
    with qtbot.waitSignal(panel.sendRequested) as sent:
        qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert sent.args == ["first line\nsecond line"]
    assert panel.input.text() == ""
    # The keypad's Enter with Ctrl sends too.
    qtbot.keyClicks(editor, "again")
    with qtbot.waitSignal(panel.sendRequested) as sent:
        qtbot.keyClick(
            editor,
            Qt.Key.Key_Enter,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.KeypadModifier,
        )
    assert sent.args == ["again"]


def test_nothing_is_sent_while_busy_or_empty(qtbot, panel) -> None:
    sent: list[str] = []
    panel.sendRequested.connect(sent.append)
    editor = panel.input.editor
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    panel.set_busy(True)
    assert panel.input.stop_button.isEnabled() and not panel.input.send_button.isEnabled()
    qtbot.keyClicks(editor, "wait for it")
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert sent == [] and panel.input.text() == "wait for it"
    panel.set_busy(False)
    assert not panel.input.stop_button.isEnabled() and panel.input.send_button.isEnabled()
    qtbot.mouseClick(panel.input.send_button, Qt.MouseButton.LeftButton)
    assert sent == ["wait for it"]


def test_escape_and_the_stop_button_request_stop(qtbot, panel) -> None:
    panel.set_busy(True)
    with qtbot.waitSignal(panel.stopRequested):
        qtbot.keyClick(panel.input.editor, Qt.Key.Key_Escape)
    with qtbot.waitSignal(panel.stopRequested):
        qtbot.mouseClick(panel.input.stop_button, Qt.MouseButton.LeftButton)


def test_edit_link_reports_the_message_index_and_input_takes_the_text(qtbot, panel) -> None:
    view = panel.view
    view.add_user_message("first question", turn_id=1)
    view.add_assistant_message("first answer", turn_id=2)
    second = view.add_user_message("second question", turn_id=3)
    view.add_assistant_message("second answer", turn_id=4)
    widget = view.message_widget(second)
    assert isinstance(widget, UserMessageWidget)
    with qtbot.waitSignal(panel.editRequested) as edit:
        click_label_link(qtbot, widget.edit_link)
    assert edit.args == [3]  # the turn the message shows
    panel.input.set_text_for_edit(view.messages()[second].text)
    assert panel.input.text() == "second question" and panel.input.is_editing()
    view.truncate(second)
    assert [m.text for m in view.messages()] == ["first question", "first answer"]
    with qtbot.waitSignal(panel.editCancelled):
        panel.input.cancel_edit()
    assert panel.input.text() == "" and not panel.input.is_editing()


def test_regenerate_is_offered_on_the_last_finished_answer_only(qtbot, panel) -> None:
    view = panel.view
    view.add_user_message("q1")
    first = view.message_widget(view.add_assistant_message("a1"))
    view.add_user_message("q2")
    index = stream(panel, "a2 streaming")
    last = view.message_widget(index)
    assert isinstance(first, AssistantMessageWidget) and isinstance(last, AssistantMessageWidget)
    settle(qtbot, last)
    assert not first.regenerate_link.isVisible() and not last.regenerate_link.isVisible()
    view.finish_message(index)
    assert last.regenerate_link.isVisible() and not first.regenerate_link.isVisible()
    with qtbot.waitSignal(panel.regenerateRequested):
        click_label_link(qtbot, last.regenerate_link)


def test_error_card_buttons_call_back_and_notes_show(qtbot, panel) -> None:
    restarted: list[bool] = []
    index = stream(panel, "partial answer")
    error = panel.view.show_error(
        "The engine stopped unexpectedly. Restart it to go on",
        [("Restart", lambda: restarted.append(True))],
        detail="ggml: out of memory",
    )
    panel.view.show_note("2 oldest turns dropped to fit the context")
    messages = panel.view.messages()
    assert messages[index].text == "partial answer"
    assert [m.role for m in messages] == ["assistant", "error", "note"]
    card = panel.view.message_widget(error)
    qtbot.mouseClick(card.buttons[0], Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert restarted == [True]
    # A token that arrives for a removed answer is dropped, not shown somewhere else.
    panel.view.clear()
    panel.view.append_to_message(index, "late")
    assert panel.view.messages() == []


def test_the_view_follows_the_answer_unless_the_user_scrolled_up(qtbot, panel) -> None:
    view = panel.view
    bar = view.verticalScrollBar()
    for n in range(6):
        view.add_user_message(f"question {n}\n" * 4)
        view.add_assistant_message(ANSWER)
    index = stream(panel, ANSWER)
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
    bar.setValue(0)  # the user scrolls up to read
    assert not view.is_following_output()
    renders = view.render_count
    view.append_to_message(index, "\n\nmore text\n\nand more\n\n" * 10)
    qtbot.waitUntil(lambda: view.render_count > renders)
    qtbot.wait(10)
    assert bar.value() == 0
    view.add_user_message("next question")  # sending brings the view back down
    qtbot.waitUntil(lambda: bar.value() == bar.maximum())
    assert view.is_following_output()


def test_a_10_mb_paste_is_cut_to_the_cap_with_a_notice_and_typing_goes_on(qtbot, panel) -> None:
    # How long the paste blocks the event loop is measured by tests/bench/ui.py.
    line = "x = compute(value) + 1  # some pasted code\n"
    huge = line * (10 * 1024 * 1024 // len(line))
    QGuiApplication.clipboard().setText(huge)
    editor = panel.input.editor
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(editor, "!")
    assert editor.document().characterCount() - 1 == MAX_PASTE_CHARS + 1
    assert editor.toPlainText().endswith("!")
    assert panel.input.paste_notice.isVisible()
    assert "10,485" in panel.input.paste_notice.text()


def test_context_window_meter_warns_before_the_context_overflows(panel) -> None:
    meter = panel.meter
    panel.set_context_usage(1_000, 16_384)
    assert not meter.is_warning()
    assert "1,000 / 16,384" in meter.label.text()
    panel.set_context_usage(15_000, 16_384)
    assert meter.is_warning()
    assert "oldest turns are dropped" in meter.toolTip()
    panel.set_context_usage(0, 0)
    assert not meter.is_warning() and meter.label.text() == "no model"


def test_new_chat_and_themes(qtbot, panel) -> None:
    index = panel.view.add_assistant_message(ANSWER)
    widget = panel.view.message_widget(index)
    assert isinstance(widget, AssistantMessageWidget)
    light_html = widget.body.toHtml()
    panel.set_theme("dark")
    assert panel.theme() == "dark"
    assert widget.body.toHtml() != light_html
    assert "#0d1117" in widget.body.toHtml().lower()
    panel.set_theme("light")
    with qtbot.waitSignal(panel.newChatRequested):
        qtbot.mouseClick(panel.new_chat_button, Qt.MouseButton.LeftButton)
    with pytest.raises(ValueError):
        panel.set_theme("sepia")
    QApplication.processEvents()


def test_long_code_lines_scroll_inside_their_block_and_messages_stay_inside_the_pane(qtbot) -> None:
    panel = ChatPanel()
    qtbot.addWidget(panel)
    panel.resize(360, 700)  # a narrow chat pane
    panel.show()
    qtbot.waitExposed(panel)
    view = panel.view
    long_lines = "\n".join(f"row_{n} = '" + "x" * 300 + "'" for n in range(3))
    view.add_user_message("Why is `" + "y" * 120 + "` so long?", 1)
    answer = f"Like this:\n\n```python\n{long_lines}\n```\n\n| a | b |\n|---|---|\n| {'z' * 120} | 1 |\n\nDone."
    index = view.add_assistant_message(answer, "1,234 tokens · 9.9 tokens/s · first token after 0.4 s", 2, "q" * 80)
    widget = view.message_widget(index)
    assert isinstance(widget, AssistantMessageWidget)
    qtbot.waitUntil(lambda: all(b.isVisible() for b in widget.body.browsers()))
    qtbot.wait(50)

    pane = view.viewport()
    assert view.widget().width() <= pane.width()
    assert view.horizontalScrollBar().maximum() == 0
    for row in range(len(view.messages())):
        message = view.message_widget(row)
        assert message.mapTo(pane, message.rect().topRight()).x() < pane.width()
    edit = view.message_widget(0).edit_link  # type: ignore[attr-defined]
    for link in (edit, widget.regenerate_link):
        right = link.mapTo(pane, link.rect().topRight()).x()
        assert link.isVisible() and 0 < right < pane.width(), (link.objectName(), right, pane.width())

    code = next(b for b in widget.body.browsers() if b.code_only)
    assert code.scrolls_sideways() and code.horizontalScrollBar().maximum() > 1000  # 300 characters
    assert code.width() < pane.width()
    block, rows = code.document().begin(), []
    while block.isValid():
        if block.text().startswith("row_"):
            rows.append(block.layout().lineCount())
        block = block.next()
    assert rows == [1, 1, 1]  # each 300-character line stays one line: it scrolls, it does not wrap


def test_a_code_block_redrawn_while_on_screen_stays_whole(qtbot) -> None:
    """A streaming block's language changes ("py", then "python"), so its browser, on screen
    and sized to its frame, is drawn again from scratch; the old frame is gone by then."""
    browser = MessageBrowser(code_only=True)
    qtbot.addWidget(browser)
    browser.set_code_style(palette_for("light").render, code_actions=True)
    browser.resize(300, 100)
    browser.show()
    qtbot.waitExposed(browser)
    browser.show_segments([""], [CodeBlock(0, "py", "x = 1\n" * 30 + "y" * 200, False)])
    tall = browser.height()
    browser.show_segments([""], [CodeBlock(0, "python", "x = 1\n", False)])
    assert browser.height() < tall and "python\nx = 1\n" in browser.toPlainText()
    browser.show_segments([""], [CodeBlock(1, "rust", "fn main() {}\n" * 50, True)])
    assert browser.height() > tall and "fn main() {}" in browser.toPlainText()


def test_a_palette_carries_its_render_theme_with_the_system_code_font(qapp):
    dark = palette_for("dark")
    assert (dark.name, dark.render.name, dark.render.text) == ("dark", "dark", dark.text)
    assert dark.render.code_font_family.endswith("monospace")
    with pytest.raises(ValueError, match="unknown theme 'solarized'"):
        palette_for("solarized")
