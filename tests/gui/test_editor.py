"""The code editor through its real widgets: files, prompts, highlighting, commands."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from pyside6_scintilla import Scintilla

from app.config.settings import load_settings
from app.editor.textfile import LANGUAGES, PLAIN_TEXT
from app.editor.ui.code_editor import ASK_ACTIONS, CodeEditor
from app.editor.ui.file_tree import FileTree
from app.editor.ui.recent_menu import RecentFilesMenu
from app.editor.ui.tabs import EditorTabs, SaveChoice
from app.editor.ui.themes import DARK, LIGHT, bgr
from app.utils.errors import DscoderError

STYLE_DEFAULT = int(Scintilla.StylesCommon.Default)


class Answers:
    """Stands in for the dialogs: records each question and gives a set answer."""

    def __init__(self, tabs: EditorTabs) -> None:
        self.unsaved: list[str] = []
        self.errors: list[DscoderError] = []
        self.choice = SaveChoice.CANCEL
        self.save_path: str | None = None
        tabs.ask_unsaved = self._ask_unsaved
        tabs.show_error = self.errors.append
        tabs.ask_save_path = lambda editor: self.save_path

    def _ask_unsaved(self, editor: CodeEditor) -> SaveChoice:
        self.unsaved.append(editor.path or "")
        return self.choice


@pytest.fixture
def tabs(qtbot):
    widget = EditorTabs()
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    return widget


@pytest.fixture
def answers(tabs):
    return Answers(tabs)


def styled(editor: CodeEditor) -> CodeEditor:
    editor.sci.colourise(0, -1)
    return editor


# --- files --------------------------------------------------------------------------

ROUND_TRIP = {
    "lf.py": b"def f():\n    return 1\n",
    "crlf.py": b"def f():\r\n    return 1\r\n",
    "mixed.c": b"int a;\r\nint b;\nint c;\rint d;\r\n",
    "bom.cs": b"\xef\xbb\xbfclass A {}\r\n",
    "no_newline.js": b"let x = 1;\nlet y = 2;",
    "unicode.md": "# Überschrift 🙂\n".encode(),
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIP))
def test_open_and_save_keep_the_bytes(tabs, answers, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(ROUND_TRIP[name])
    editor = tabs.open_paths([path])[0]
    assert not editor.is_modified()
    editor.insert_at_cursor("x")  # make it dirty, then undo back to the original
    editor.sci.undo()
    path.write_bytes(b"")  # prove the bytes come from the editor
    assert tabs.save(editor)
    assert path.read_bytes() == ROUND_TRIP[name]
    assert answers.errors == []


def test_inserted_lines_take_the_files_line_ending(tabs, tmp_path):
    path = tmp_path / "crlf.py"
    path.write_bytes(b"a = 1\r\n")
    editor = tabs.open_paths([path])[0]
    editor.insert_at_cursor("# one\n# two\n")
    assert tabs.save(editor)
    assert path.read_bytes() == b"# one\r\n# two\r\na = 1\r\n"


def test_title_shows_a_star_while_modified(tabs, tmp_path):
    path = tmp_path / "a.py"
    path.write_bytes(b"x = 1\n")
    editor = tabs.open_paths([path])[0]
    assert tabs.tabText(0) == "a.py"
    editor.insert_at_cursor("y")
    assert tabs.tabText(0) == "a.py *"
    tabs.save(editor)
    assert tabs.tabText(0) == "a.py"


def test_non_utf8_file_is_refused_with_a_clear_message(tabs, answers, tmp_path):
    path = tmp_path / "legacy.txt"
    path.write_bytes("caf\u00e9\n".encode("latin-1"))
    assert tabs.open_paths([path]) == []
    assert tabs.count() == 0
    assert "not UTF-8" in str(answers.errors[0])
    assert "Convert it to UTF-8" in str(answers.errors[0])


def test_opening_an_open_file_switches_to_its_tab(tabs, tmp_path):
    first, second = tmp_path / "a.py", tmp_path / "b.py"
    first.write_text("a\n")
    second.write_text("b\n")
    editor_a, _ = tabs.open_paths([first, second])
    assert tabs.open_paths([first]) == [editor_a]
    assert tabs.count() == 2
    assert tabs.current_editor() is editor_a


def test_an_untouched_untitled_tab_gives_way_to_an_opened_file(tabs, tmp_path):
    tabs.new_file()
    path = tmp_path / "a.py"
    path.write_text("a\n")
    tabs.open_paths([path])
    assert tabs.count() == 1
    assert tabs.current_editor().path == str(path)


def test_save_as_names_an_untitled_file_and_sets_its_language(tabs, answers, tmp_path):
    editor = tabs.new_file()
    assert tabs.tabText(0) == "Untitled-1"
    assert editor.lexer_name() == "null"
    editor.set_text("fn main() {}\n")
    answers.save_path = str(tmp_path / "main.rs")
    assert tabs.save(editor)
    assert (tmp_path / "main.rs").read_bytes() == b"fn main() {}\n"
    assert editor.language == "rust"
    assert editor.lexer_name() == "rust"
    assert tabs.tabText(0) == "main.rs"


def test_save_as_cancelled_saves_nothing(tabs, answers):
    editor = tabs.new_file()
    editor.set_text("x")
    answers.save_path = None
    assert not tabs.save(editor)
    assert editor.is_modified()


# --- the unsaved-changes prompt -------------------------------------------------------


@pytest.fixture
def dirty(tabs, tmp_path):
    path = tmp_path / "work.py"
    path.write_bytes(b"old\n")
    editor = tabs.open_paths([path])[0]
    editor.set_cursor_offset(3)
    editor.insert_at_cursor(" new")
    return editor, path


def test_closing_an_unmodified_tab_asks_nothing(tabs, answers, tmp_path):
    path = tmp_path / "a.py"
    path.write_text("a\n")
    tabs.open_paths([path])
    assert tabs.close_current()
    assert answers.unsaved == []
    assert tabs.count() == 0


def test_cancel_keeps_the_tab_and_its_text(tabs, answers, dirty):
    editor, path = dirty
    answers.choice = SaveChoice.CANCEL
    assert not tabs.close_current()
    assert answers.unsaved == [str(path)]
    assert tabs.count() == 1
    assert editor.text() == "old new\n"
    assert path.read_bytes() == b"old\n"


def test_discard_closes_without_saving(tabs, answers, dirty):
    _, path = dirty
    answers.choice = SaveChoice.DISCARD
    assert tabs.close_current()
    assert answers.unsaved == [str(path)]
    assert tabs.count() == 0
    assert path.read_bytes() == b"old\n"


def test_save_writes_then_closes(tabs, answers, dirty):
    _, path = dirty
    answers.choice = SaveChoice.SAVE
    assert tabs.close_current()
    assert tabs.count() == 0
    assert path.read_bytes() == b"old new\n"


def test_close_all_stops_at_cancel(tabs, answers, dirty, tmp_path):
    clean = tmp_path / "clean.py"
    clean.write_text("c\n")
    tabs.open_paths([clean])
    answers.choice = SaveChoice.CANCEL
    assert tabs.has_unsaved()
    assert not tabs.close_all()
    assert tabs.count() >= 1


# --- highlighting ---------------------------------------------------------------------

SOURCE = "def main():\n    return 1\n"


def test_highlighting_follows_the_extension(tabs, tmp_path):
    python_file, text_file = tmp_path / "code.py", tmp_path / "code.txt"
    python_file.write_text(SOURCE)
    text_file.write_text(SOURCE)
    python_editor, text_editor = (styled(e) for e in tabs.open_paths([python_file, text_file]))
    assert python_editor.lexer_name() == "python"
    assert text_editor.lexer_name() == "null"
    keyword_style = python_editor.sci.styleAt(0)  # "def"
    assert keyword_style != text_editor.sci.styleAt(0)
    assert python_editor.sci.styleFore(keyword_style) == bgr(LIGHT.roles["keyword"].fore)
    assert text_editor.sci.styleFore(text_editor.sci.styleAt(0)) == bgr(LIGHT.foreground)


@pytest.mark.parametrize("language_id", sorted(set(LANGUAGES) - {PLAIN_TEXT}))
def test_every_language_gets_a_lexer_and_colours(qtbot, language_id):
    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.set_path("file" + LANGUAGES[language_id].extensions[0])
    assert editor.language == language_id
    assert editor.lexer_name() not in ("", "null")
    editor.set_text("x = 'a string' # words 42 <b>\n")
    styled(editor)
    styles = {editor.sci.styleAt(i) for i in range(editor.sci.length())}
    assert len(styles) > 1, "the lexer styled nothing"


def test_dark_theme_recolours_the_editor(qtbot):
    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.set_path("a.py")
    assert editor.sci.styleBack(STYLE_DEFAULT) == bgr(LIGHT.background)
    editor.set_theme("dark")
    assert editor.theme_name == "dark"
    assert editor.sci.styleBack(STYLE_DEFAULT) == bgr(DARK.background)
    editor.set_text("def f(): pass\n")
    styled(editor)
    assert editor.sci.styleFore(editor.sci.styleAt(0)) == bgr(DARK.roles["keyword"].fore)


# --- editing commands -----------------------------------------------------------------


@pytest.fixture
def editor(qtbot):
    widget = CodeEditor()
    qtbot.addWidget(widget)
    widget.resize(800, 500)
    widget.show()
    return widget


def test_toggle_comment_python_block(editor):
    editor.set_path("a.py")
    editor.set_text("def f():\n    x = 1\n\n    return x\n")
    editor.sci.setSel(0, editor.sci.positionFromLine(4))
    assert editor.toggle_comment()
    assert editor.text() == "# def f():\n#     x = 1\n\n#     return x\n"
    editor.sci.setSel(0, editor.sci.positionFromLine(4))
    editor.toggle_comment()
    assert editor.text() == "def f():\n    x = 1\n\n    return x\n"


def test_toggle_comment_indented_c_line_and_undo(editor):
    editor.set_path("a.c")
    editor.set_text("int f() {\n    return 1;\n}\n")
    editor.go_to_line(2)
    editor.toggle_comment()
    assert editor.text() == "int f() {\n    // return 1;\n}\n"
    editor.sci.undo()
    assert editor.text() == "int f() {\n    return 1;\n}\n"


def test_toggle_comment_wraps_css_in_a_block_comment(editor):
    editor.set_path("a.css")
    editor.set_text("body { color: red; }\n")
    editor.toggle_comment()
    assert editor.text() == "/* body { color: red; } */\n"
    editor.toggle_comment()
    assert editor.text() == "body { color: red; }\n"


def test_toggle_comment_does_nothing_for_json(editor):
    editor.set_path("a.json")
    editor.set_text('{"a": 1}\n')
    assert not editor.toggle_comment()
    assert editor.text() == '{"a": 1}\n'


def test_auto_indent_after_a_block_opener(editor, qtbot):
    editor.set_path("a.py")
    editor.set_text("def f():")
    editor.sci.gotoPos(editor.sci.length())
    editor.setFocus()
    qtbot.keyClick(editor.sci, Qt.Key.Key_Return)
    qtbot.keyClicks(editor.sci, "pass")
    assert editor.text() == "def f():\n    pass"


def test_go_to_line(editor):
    editor.set_text("".join(f"line {n}\n" for n in range(1, 201)))
    editor.go_to_line(150)
    assert editor.line_and_column() == (150, 1)
    editor.go_to_line(10_000)  # past the end: the last line
    assert editor.line_and_column()[0] == editor.sci.lineCount()


def test_zoom(editor):
    editor.zoom_in()
    editor.zoom_in()
    assert editor.sci.zoom() == 2
    editor.zoom_out()
    assert editor.sci.zoom() == 1
    editor.zoom_reset()
    assert editor.sci.zoom() == 0


def test_offsets_count_characters_not_bytes(editor):
    editor.set_text("héllo\r\n🙂 wörld\n")
    text = editor.text()
    for offset in (0, 2, 7, 8, 10, len(text)):
        editor.set_cursor_offset(offset)
        assert editor.cursor_offset() == offset
    editor.set_cursor_offset(8)
    editor.insert_at_cursor("X")
    assert editor.text() == text[:8] + "X" + text[8:]
    assert editor.cursor_offset() == 9


def test_replace_selection_and_selected_text(editor):
    editor.set_text("alpha beta gamma\n")
    editor.sci.setSel(6, 10)
    assert editor.selected_text() == "beta"
    editor.replace_selection("BETA")
    assert editor.text() == "alpha BETA gamma\n"


def test_cursor_position_signal(editor, qtbot):
    editor.set_text("one\ntwo\nthree\n")
    with qtbot.waitSignal(editor.cursorPositionChanged) as blocker:
        editor.sci.gotoPos(editor.sci.positionFromLine(2) + 3)
        editor.sci.repaint()
    assert blocker.args == [3, 4]


# --- find and replace -----------------------------------------------------------------


def test_find_next_wraps_and_counts(editor):
    editor.set_text("cat dog cat bird CAT\n")
    bar = editor.find_bar
    editor.show_find()
    bar.find_field.setText("cat")
    assert editor.selected_text().lower() == "cat"
    assert (editor.sci.selectionStart(), bar.status.text()) == (0, "1 of 3")
    assert bar.find_next() and editor.sci.selectionStart() == 8
    assert bar.find_next() and editor.sci.selectionStart() == 17
    assert bar.find_next() and editor.sci.selectionStart() == 0  # wrapped
    assert bar.find_previous() and editor.sci.selectionStart() == 17


def test_find_match_case_and_whole_word(editor):
    editor.set_text("Cat cat concat\n")
    bar = editor.find_bar
    editor.show_find()
    bar.match_case.setChecked(True)
    bar.whole_word.setChecked(True)
    bar.find_field.setText("cat")
    assert editor.sci.selectionStart() == 4
    assert bar.find_next() and editor.sci.selectionStart() == 4  # the only whole-word match


def test_no_match_says_so(editor):
    editor.set_text("abc\n")
    editor.show_find()
    editor.find_bar.find_field.setText("xyz")
    assert not editor.find_bar.find_next()
    assert editor.find_bar.status.text() == "No matches"


def test_replace_one_then_all_with_regex_groups_in_one_undo(editor):
    editor.set_text("foo(1) foo(2) foo(3)\n")
    bar = editor.find_bar
    editor.show_find(replace=True)
    assert bar.replace_field.isVisible()
    bar.find_field.setText("foo")
    bar.replace_field.setText("bar")
    assert bar.replace_one()
    assert editor.text() == "bar(1) foo(2) foo(3)\n"
    bar.regex.setChecked(True)
    bar.find_field.setText(r"foo\((\d)\)")
    bar.replace_field.setText(r"baz[\1]")
    assert bar.replace_all() == 2
    assert editor.text() == "bar(1) baz[2] baz[3]\n"
    editor.sci.undo()
    assert editor.text() == "bar(1) foo(2) foo(3)\n"


def test_invalid_regex_is_reported(editor):
    editor.set_text("abc\n")
    bar = editor.find_bar
    editor.show_find()
    bar.regex.setChecked(True)
    bar.find_field.setText("(")
    assert not bar.find_next()
    assert "Invalid" in bar.status.text()


def test_shortcut_actions_open_the_find_bar(tabs):
    editor = tabs.new_file()
    actions = tabs.editor_actions
    assert set(actions) >= {"new", "open", "save", "save_as", "close", "find", "replace", "go_to_line"}
    assert actions["save"].shortcut().toString() == "Ctrl+S"
    assert actions["find"].shortcut().toString() == "Ctrl+F"
    assert actions["replace"].shortcut().toString() == "Ctrl+H"
    assert actions["go_to_line"].shortcut().toString() == "Ctrl+G"
    assert actions["toggle_comment"].shortcut().toString() == "Ctrl+/"
    actions["replace"].trigger()
    assert editor.find_bar.isVisible() and editor.find_bar.replace_field.isVisible()
    actions["new"].trigger()
    assert tabs.count() == 2


# --- asking the chat about a selection ------------------------------------------------


def test_context_menu_asks_about_the_selection(tabs, qtbot):
    editor = tabs.new_file()
    editor.set_text("def f():\n    return 1\n")
    menu = editor.build_context_menu()
    ask = {a.text(): a for a in menu.actions() if a.objectName().startswith("ask:")}
    assert list(ask) == list(ASK_ACTIONS)
    assert not any(a.isEnabled() for a in ask.values())  # nothing selected
    editor.sci.setSel(0, 8)
    menu = editor.build_context_menu()
    ask = {a.text(): a for a in menu.actions() if a.objectName().startswith("ask:")}
    assert all(a.isEnabled() for a in ask.values())
    with qtbot.waitSignal(tabs.askAboutSelection) as blocker:
        ask["Find bugs"].trigger()
    assert blocker.args == ["Find bugs", "def f():"]


# --- recent files, drag and drop, file tree -------------------------------------------


def test_recent_files_are_remembered(tabs, tmp_path):
    paths = [tmp_path / f"f{n}.py" for n in range(3)]
    for path in paths:
        path.write_text("x\n")
    tabs.open_paths(paths)
    expected = [str(p) for p in reversed(paths)]
    assert tabs.recent_files() == expected
    assert load_settings().recent_files == expected
    menu = RecentFilesMenu(tabs)
    labels = [a.text() for a in menu.actions() if a.text()]
    assert labels[:3] == ["&1 f2.py", "&2 f1.py", "&3 f0.py"]


def test_dropping_files_opens_them(tabs, tmp_path):
    path = tmp_path / "dropped.go"
    path.write_text("package main\n")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    tabs.dropEvent(event)
    assert tabs.current_editor().path == str(path)
    assert tabs.current_editor().language == "go"


def test_file_tree_activation_opens_the_file(tabs, qtbot, tmp_path):
    (tmp_path / "pkg").mkdir()
    target = tmp_path / "pkg" / "mod.rb"
    target.write_text("puts 1\n")
    tree = FileTree(tabs)
    qtbot.addWidget(tree)
    tree.set_root(tmp_path)
    assert tree.root() == str(tmp_path)
    assert load_settings().last_folder == str(tmp_path)
    index = tree.model.index(str(target))
    assert index.isValid()
    tree.view.activated.emit(index)
    assert tabs.current_editor().path == str(target)


# --- a large file ---------------------------------------------------------------------


def test_a_10_mb_file_opens_while_the_event_loop_keeps_running(tabs, qtbot, tmp_path):
    # The largest stall while it loads is measured by tests/bench/ui.py; here: the load
    # leaves the event loop free (timers fire between its slices), and the text is exact.
    line = "def handler(event):  # é\n    return event.get('x', 42) * 2\n"
    text = line * (10_000_000 // len(line) + 1)
    path = tmp_path / "big.py"
    path.write_bytes(text.encode())

    ticks_while_loading: list[int] = []
    ticker = QTimer()
    ticker.setInterval(0)
    ticker.timeout.connect(lambda: ticks_while_loading.append(1))
    with qtbot.waitSignal(tabs.fileOpened, timeout=60_000):
        editor = tabs.open_paths([path])[0]
        assert "loading" in tabs.tabText(tabs.indexOf(editor))
        assert editor.sci.readOnly()  # no typing into a half-loaded file
        ticker.start()
    ticker.stop()
    assert len(ticks_while_loading) > 1, "the file went into the editor in one blocking step"
    assert editor.sci.length() == path.stat().st_size
    assert editor.text() == text
    assert not editor.is_modified()
    assert tabs.tabText(tabs.indexOf(editor)) == "big.py"
