"""The conversation sidebar: pinned first, search, rename, pin, delete, export, signals."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.conversations.store import ConversationStore
from app.conversations.ui.sidebar import ConversationSidebar, file_name_for, when


@pytest.fixture
def store():
    with ConversationStore() as s:
        yield s


@pytest.fixture
def filled(store):
    ids = {}
    for title, question in [
        ("Sorting", "How do I sort a dict by value?"),
        ("Rust", "Explain the borrow checker"),
        ("Docker", "Write a Dockerfile for FastAPI"),
    ]:
        ids[title] = store.create(title)
        store.add_message(ids[title], "user", question)
    return ids


def make_sidebar(qtbot, store, **options) -> ConversationSidebar:
    sidebar = ConversationSidebar(store, **options)
    qtbot.addWidget(sidebar)
    return sidebar


def titles(sidebar: ConversationSidebar) -> list[str]:
    return [sidebar.list.item(i).text() for i in range(sidebar.list.count())]


def test_lists_pinned_first_then_recent(qtbot, store, filled):
    store.set_pinned(filled["Sorting"], True)
    sidebar = make_sidebar(qtbot, store)
    assert titles(sidebar) == ["Pinned", "Sorting", "Recent", "Docker", "Rust"]
    assert sidebar.ids_shown() == [filled["Sorting"], filled["Docker"], filled["Rust"]]
    headers = [sidebar.list.item(0), sidebar.list.item(2)]
    assert all(h.flags() == Qt.ItemFlag.NoItemFlags for h in headers)  # not selectable


def test_clicking_selects_and_new_chat_asks_for_one(qtbot, store, filled):
    sidebar = make_sidebar(qtbot, store)
    item = sidebar.list.item(sidebar.ids_shown().index(filled["Rust"]))
    with qtbot.waitSignal(sidebar.conversationSelected) as signal:
        sidebar.list.itemClicked.emit(item)
    assert signal.args == [filled["Rust"]] and sidebar.current_id() == filled["Rust"]
    with qtbot.waitSignal(sidebar.newConversationRequested):
        qtbot.mouseClick(sidebar.new_button, Qt.MouseButton.LeftButton)
    # A refresh after a new message keeps the highlight and emits nothing.
    with qtbot.assertNotEmitted(sidebar.conversationSelected):
        store.add_message(filled["Sorting"], "user", "more")
        sidebar.refresh()
    assert sidebar.list.currentItem().text() == "Rust"


def test_search_shows_matching_conversations_with_snippets(qtbot, store, filled):
    sidebar = make_sidebar(qtbot, store)
    qtbot.keyClicks(sidebar.search_box, "dockerf")
    qtbot.waitUntil(lambda: sidebar.ids_shown() == [filled["Docker"]])
    from app.conversations.ui.sidebar import DETAIL_ROLE

    assert "Dockerfile for FastAPI" in sidebar.list.item(0).data(DETAIL_ROLE)
    sidebar.search_box.setText("nothing-like-this")
    qtbot.waitUntil(lambda: titles(sidebar) == ["No conversation contains “nothing-like-this”"])
    sidebar.search_box.clear()
    qtbot.waitUntil(lambda: len(sidebar.ids_shown()) == 3)


def test_rename_pin_and_delete(qtbot, store, filled):
    answers = iter(["Rust ownership", "   "])
    confirmations = iter([False, True])
    sidebar = make_sidebar(qtbot, store, ask_new_title=lambda *_: next(answers), confirm=lambda *_: next(confirmations))
    sidebar.rename(filled["Rust"])
    assert store.get(filled["Rust"]).title == "Rust ownership" and "Rust ownership" in titles(sidebar)
    sidebar.rename(filled["Rust"])  # an empty title is refused with a message
    assert "needs a title" in sidebar.status.text() and not sidebar.status.isHidden()

    sidebar.set_pinned(filled["Docker"], True)
    assert titles(sidebar)[:2] == ["Pinned", "Docker"]
    menu = sidebar.context_menu_for(filled["Docker"])
    assert [a.text() for a in menu.actions() if a.text()] == ["Rename…", "Unpin", "Export to Markdown…", "Delete…"]

    sidebar.set_current(filled["Sorting"])
    sidebar.delete(filled["Sorting"])  # not confirmed
    assert filled["Sorting"] in sidebar.ids_shown()
    with qtbot.waitSignal(sidebar.conversationDeleted) as signal:
        sidebar.delete(filled["Sorting"])
    assert signal.args == [filled["Sorting"]]
    assert filled["Sorting"] not in sidebar.ids_shown() and sidebar.current_id() is None
    assert [c.id for c in store.list()] == [filled["Docker"], filled["Rust"]]


def test_export_writes_markdown(qtbot, store, filled, tmp_path):
    target = tmp_path / "out" / "sorting.md"
    target.parent.mkdir()
    suggested = []
    sidebar = make_sidebar(
        qtbot, store, export_folder=tmp_path, choose_path=lambda _parent, name: suggested.append(name) or str(target)
    )
    store.add_message(filled["Sorting"], "assistant", "Use `sorted(d.items(), key=lambda kv: kv[1])`.")
    assert sidebar.export(filled["Sorting"]) == target
    assert suggested == [str(tmp_path / "sorting.md")]
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Sorting\n") and "## You\n\nHow do I sort a dict by value?" in text
    assert f"Exported to {target}" in sidebar.status.text()
    sidebar.choose_path = lambda *_: str(tmp_path / "missing-folder" / "x.md")
    assert sidebar.export(filled["Sorting"]) is None
    assert "Could not write" in sidebar.status.text()


def test_helpers():
    assert file_name_for("Sort a dict / by value?") == "sort-a-dict-by-value.md"
    assert file_name_for("???") == "conversation.md"
    import time

    now = time.mktime((2027, 1, 15, 12, 0, 0, 0, 0, -1))  # local noon: no midnight nearby
    assert when(now - 60, now).count(":") == 1
    assert when(now - 86400, now) == "Yesterday"
