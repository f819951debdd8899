"""The conversation store: CRUD, ordering, FTS search, export, WAL, and surviving SIGKILL."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.conversations.store import (
    DEFAULT_TITLE,
    ConversationStore,
    fts_query,
    title_from,
)
from app.utils import paths
from app.utils.atomic import is_disk_full
from app.utils.errors import DscoderError
from tests.helpers.waiting import wait_until


@pytest.fixture
def store():
    with ConversationStore() as s:
        yield s


# -- storage basics -------------------------------------------------------------------------
def test_database_lives_in_the_data_dir_in_wal_mode(store):
    assert store.path.parent == paths.data_dir()
    assert store.journal_mode() == "wal"
    assert store.integrity_check() == ["ok"]


def test_create_rename_pin_delete_and_list_order(store):
    first = store.create("First")
    second = store.create("Second")
    third = store.create("Third")
    assert [c.id for c in store.list()] == [third, second, first]  # most recent first

    store.set_pinned(first, True)
    store.add_message(second, "user", "bump")  # activity moves a conversation up
    assert [c.id for c in store.list()] == [first, second, third]  # pinned first, then recent

    store.rename(third, "  A   better\nname ")
    assert store.get(third).title == "A better name"
    with pytest.raises(DscoderError, match="needs a title"):
        store.rename(third, "   ")

    store.delete(second)
    assert [c.id for c in store.list()] == [first, third]
    with pytest.raises(DscoderError, match="no longer exists"):
        store.get(second)
    with pytest.raises(DscoderError, match="no longer exists"):
        store.rename(second, "ghost")


def test_messages_keep_order_role_stats_and_completeness(store):
    cid = store.create()
    store.add_message(cid, "user", "How do I reverse a list?")
    store.add_message(cid, "assistant", "Use `reversed()`.", stats={"tokens_per_s": 12.5})
    messages = store.messages(cid)
    assert [(m.role, m.content, m.complete) for m in messages] == [
        ("user", "How do I reverse a list?", True),
        ("assistant", "Use `reversed()`.", True),
    ]
    assert messages[1].stats == {"tokens_per_s": 12.5}
    with pytest.raises(ValueError):
        store.add_message(cid, "robot", "beep")


def test_first_question_names_an_untitled_conversation(store):
    cid = store.create()
    assert store.get(cid).title == DEFAULT_TITLE
    store.add_message(
        cid, "user", "\n\n## Explain the borrow checker in Rust, with an example of a lifetime error\nplease"
    )
    title = store.get(cid).title
    assert title.startswith("Explain the borrow checker") and len(title) <= 60
    store.add_message(cid, "user", "Another question")
    assert store.get(cid).title == title  # only the first question names it
    named = store.create("Kept")
    store.add_message(named, "user", "question")
    assert store.get(named).title == "Kept"
    assert title_from("   ") == DEFAULT_TITLE


def test_per_conversation_model_and_system_prompt(store):
    a = store.create(model="/models/deepseek-coder-6.7b.gguf", system_prompt="Answer in French.")
    b = store.create()
    assert store.get(b).model == "" and store.get(b).system_prompt is None
    store.set_model(b, "deepseek-coder-v2:236b")
    store.set_system_prompt(b, "Be terse.")
    store.set_system_prompt(a, None)
    assert (store.get(a).model, store.get(a).system_prompt) == ("/models/deepseek-coder-6.7b.gguf", None)
    assert (store.get(b).model, store.get(b).system_prompt) == ("deepseek-coder-v2:236b", "Be terse.")


def test_delete_messages_from_for_regenerate(store):
    cid = store.create()
    ids = [
        store.add_message(cid, role, text)
        for role, text in [("user", "q1"), ("assistant", "a1"), ("user", "q2"), ("assistant", "a2")]
    ]
    store.delete_messages_from(ids[2])
    assert [m.content for m in store.messages(cid)] == ["q1", "a1"]
    assert store.search("q2") == []


def test_data_survives_reopening():
    with ConversationStore() as store:
        cid = store.create("Persistent")
        store.add_message(cid, "user", "still here?")
    with ConversationStore() as store:
        assert store.get(cid).title == "Persistent"
        assert store.messages(cid)[0].content == "still here?"


def test_an_unreadable_file_is_moved_aside_not_lost():
    path = paths.data_dir() / "conversations.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with ConversationStore() as store:
        assert store.recovered_from is not None and store.recovered_from.read_bytes().startswith(b"this is not")
        assert store.list() == []
        assert store.integrity_check() == ["ok"]


# -- streaming answers ----------------------------------------------------------------------
def test_streaming_writer_saves_partial_then_complete(store):
    ticks = [0]
    cid = store.create()
    writer = store.start_answer(cid, interval=0.5, clock=lambda: ticks[0] / 10)
    partial = store.messages(cid)[0]
    assert (partial.content, partial.complete) == ("", False)  # the row exists from the start
    for word in ["def ", "add", "(a, b)", ":"]:
        ticks[0] += 2
        writer.append(word)
    # 0.8 s (simulated) have passed: at least the text up to 0.5 s is saved.
    saved = store.messages(cid)[0]
    assert saved.complete is False and "def add" in saved.content
    writer.finish({"finish_reason": "stop"})
    done = store.messages(cid)[0]
    assert (done.content, done.complete, done.stats) == ("def add(a, b):", True, {"finish_reason": "stop"})
    with pytest.raises(RuntimeError):
        writer.append("more")


def test_streaming_writer_saves_the_tail_on_flush_and_starts_no_thread(store):
    ticks = [0]
    cid = store.create()
    threads_before = threading.active_count()
    writer = store.start_answer(cid, interval=0.5, clock=lambda: ticks[0] / 10)
    writer.append("first words")
    # Within the interval nothing is rewritten, and no timer thread waits to do it: the
    # owner's one timer calls flush() when deltas pause (app.conversations.ui.binding).
    assert store.messages(cid)[0].content == ""
    assert threading.active_count() == threads_before
    writer.flush()
    assert (store.messages(cid)[0].content, store.messages(cid)[0].complete) == ("first words", False)
    writer.finish()


def test_search_finds_messages_and_titles_with_snippets(store):
    py = store.create("Python packaging")
    rust = store.create("Rust lifetimes")
    store.add_message(py, "user", "How do I build a wheel with setuptools?")
    store.add_message(py, "assistant", "Run `python -m build`; it calls read_file_contents in the backend.")
    store.add_message(rust, "user", "Why does the borrow checker reject this?")

    hits = store.search("setuptools")
    assert [h.conversation_id for h in hits] == [py]
    assert "[setuptools]" in hits[0].snippet and hits[0].message_id is not None

    assert [h.conversation_id for h in store.search("lifetimes")] == [rust]  # title match
    assert store.search("lifetimes")[0].message_id is None  # only the title has it
    store.add_message(rust, "assistant", "Lifetimes tie references to scopes.")
    assert store.search("lifetimes")[0].message_id is not None  # the message's snippet is shown
    assert [h.conversation_id for h in store.search("borr")] == [rust]  # prefix, as you type
    assert [h.conversation_id for h in store.search("read_file_contents")] == [py]  # identifiers whole
    assert store.search("wheel borrow") == []  # every word must match
    # FTS5 syntax in user text is not an error.
    for odd in ['"unclosed', "a AND", "NEAR(", "-x", "***", "", "   "]:
        store.search(odd)

    # The index follows renames, edits of streaming rows and deletes.
    store.rename(rust, "Ownership questions")
    assert store.search("ownership")[0].title == "Ownership questions"
    assert store.search("rust") == []  # the old title is gone from the index
    writer = store.start_answer(rust)
    writer.append("Because of the quixotic aliasing rule.")
    writer.finish()
    assert [h.conversation_id for h in store.search("quixotic")] == [rust]
    store.delete(rust)
    assert store.search("quixotic") == [] and store.search("ownership") == []
    assert store.integrity_check() == ["ok"]


def test_fts_query_quotes_words():
    assert fts_query('foo "bar" -baz') == '"foo"* "bar"* "baz"*'
    assert fts_query("!!") == ""


def test_export_markdown(store):
    cid = store.create("Sorting", model="deepseek-coder-6.7b-instruct", system_prompt="Use ``` fences.")
    store.add_message(cid, "user", "Sort a list in Python")
    store.add_message(cid, "assistant", "Use `sorted`:\n\n```python\nsorted([3, 1, 2])\n```")
    writer = store.start_answer(cid)
    writer.append("Half an ans")
    writer.flush()
    text = store.export_markdown(cid)
    assert text.startswith("# Sorting\n")
    assert "model: `deepseek-coder-6.7b-instruct`" in text
    assert "## System prompt\n\n````text\nUse ``` fences.\n````" in text  # the fence outgrows the prompt's
    assert (
        "## You\n\nSort a list in Python\n\n## Assistant\n\nUse `sorted`:\n\n```python\nsorted([3, 1, 2])\n```" in text
    )
    assert text.rstrip().endswith("Half an ans\n\n_(this answer was interrupted)_")
    writer.finish()


# -- crash safety ---------------------------------------------------------------------------
CHILD = r"""
import os, sys, time
from pathlib import Path
from app.conversations.store import ConversationStore

db, progress, tag = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
log = os.open(progress, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
ticks = [0]
store = ConversationStore(db)
os.write(log, b"R\n")
k = 0
while True:
    cid = store.create()
    uid = store.add_message(cid, "user", f"question {tag} {k}")
    os.write(log, f"C {uid} {tag} {k}\n".encode())
    writer = store.start_answer(cid, interval=0.5, clock=lambda: ticks[0] / 10)
    for j in range(40):
        ticks[0] += 1  # every delta is 0.1 s of (simulated) streaming
        writer.append(f"{tag}.{k}.{j} ")
        os.write(log, f"A {writer.message_id} {j + 1} {tag} {k}\n".encode())
        time.sleep(0.002)
    writer.finish({"deltas": 40})
    os.write(log, f"F {writer.message_id} {tag} {k}\n".encode())
    k += 1
"""
DELTAS_PER_SECOND = 10


def expected_answer(tag: str, k: int, n: int = 40) -> str:
    return "".join(f"{tag}.{k}.{j} " for j in range(n))


@pytest.mark.slow
def test_sigkill_at_random_points_never_corrupts_or_loses_more_than_a_second(tmp_path):
    db = tmp_path / "conversations.sqlite3"
    root = Path(__file__).resolve().parents[2]
    rng = random.Random(7)
    completed_questions: dict[int, str] = {}
    completed_answers: dict[int, str] = {}
    cut_mid_answer = 0
    for run in range(20):
        progress = tmp_path / f"progress-{run}.log"
        tag = f"r{run}"
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(db), str(progress), tag],
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_until(lambda p=progress: p.exists() and p.read_text().startswith("R\n"), timeout=60)
            time.sleep(rng.uniform(0.0, 0.4))
        finally:
            child.send_signal(signal.SIGKILL)
            _, err = child.communicate()
        assert child.returncode == -signal.SIGKILL, err.decode()

        streaming: tuple[int, int, int] | None = None  # (message id, deltas appended, k)
        for line in progress.read_text().splitlines()[1:]:
            kind, *rest = line.split()
            if kind == "C":
                completed_questions[int(rest[0])] = f"question {tag} {rest[2]}"
            elif kind == "A":
                streaming = (int(rest[0]), int(rest[1]), int(rest[3]))
            elif kind == "F":
                completed_answers[int(rest[0])] = expected_answer(tag, int(rest[2]))
                streaming = None

        with ConversationStore(db) as store:
            assert store.integrity_check() == ["ok"], f"run {run}"
            rows = {row[0]: (row[1], bool(row[2])) for row in store._read("SELECT id, content, complete FROM messages")}
        for mid, text in {**completed_questions, **completed_answers}.items():
            assert rows.get(mid) == (text, True), f"run {run}: completed message {mid} lost or damaged"
        if streaming is not None:
            mid, appended, k = streaming
            content, complete = rows[mid]
            full = expected_answer(tag, k)
            assert full.startswith(content)
            saved = content.count(" ")
            if not complete:
                cut_mid_answer += 1
                assert appended - saved <= DELTAS_PER_SECOND, f"run {run}: lost {appended - saved} deltas"
    assert len(completed_answers) >= 1
    assert cut_mid_answer >= 1  # some kills did land in the middle of an answer
    print(f"{cut_mid_answer} of 20 kills landed mid-answer; {len(completed_answers)} answers completed")
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_store_is_usable_from_several_threads(store):
    import threading

    cid = store.create()
    errors: list[BaseException] = []

    def add(n: int) -> None:
        try:
            for i in range(20):
                store.add_message(cid, "user", f"thread {n} message {i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(store.messages(cid)) == 80
    assert os.path.exists(str(store.path) + "-wal")


def test_a_full_disk_loses_nothing_already_saved(small_disk):
    if not small_disk.mounted:
        pytest.skip("SQLite writes with its own calls: this needs the small filesystem (root)")
    path = small_disk.folder / "conversations.db"
    with ConversationStore(path) as store:
        cid = store.create("kept")
        store.add_message(cid, "user", "a question")
        store.add_message(cid, "assistant", "an answer")
        small_disk.fill()
        with pytest.raises(DscoderError, match="full") as failed:
            for _ in range(50):
                store.add_message(cid, "user", "x" * 100_000)
        assert is_disk_full(failed.value)
    small_disk.free()
    with ConversationStore(path) as store:
        kept = [(m.role, m.content) for m in store.messages(cid)]
        assert kept[:2] == [("user", "a question"), ("assistant", "an answer")]
        assert store.integrity_check() == ["ok"]
