"""Migrations of the conversation database: a file of each earlier version opens at the latest,
with its conversations; a file from a newer release opens read-only and says so."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.conversations.migrations import LATEST_VERSION, STEPS, migrate, schema_version
from app.conversations.store import ConversationStore, default_db_path
from app.utils.errors import DscoderError
from tests.helpers.history import write_newer_database, write_v1_database


def version_of(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return schema_version(conn)
    finally:
        conn.close()


def test_a_version_1_history_opens_at_the_latest_version_with_everything_in_it():
    path = default_db_path()
    write_v1_database(path)
    with ConversationStore() as store:
        assert store.read_only_reason is None
        [conversation] = store.list()
        assert (conversation.id, conversation.title, conversation.pinned) == (7, "Sorting", True)
        assert [(m.role, m.content) for m in store.messages(7)] == [
            ("user", "sort a dict by value"),
            ("assistant", "Use sorted(d.items(), key=...)"),
        ]
        assert store.messages(7)[1].stats == {"model": "tiny"}
        assert [hit.conversation_id for hit in store.search("dict")] == [7]  # the FTS index came along
        store.add_message(7, "user", "and in reverse?")  # writable
        assert store.integrity_check() == ["ok"]
    assert version_of(path) == LATEST_VERSION


def test_a_new_file_goes_through_every_step():
    with ConversationStore() as store:
        cid = store.create("Fresh")
        assert store.get(cid).title == "Fresh"
    assert version_of(default_db_path()) == LATEST_VERSION


@pytest.mark.parametrize("previous", range(LATEST_VERSION))
def test_each_step_applies_to_a_database_of_the_version_before(tmp_path, previous):
    conn = sqlite3.connect(tmp_path / "history.sqlite3", isolation_level=None)
    migrate(conn, STEPS[:previous])
    assert schema_version(conn) == previous
    assert migrate(conn) == previous  # what it had
    assert schema_version(conn) == LATEST_VERSION
    conn.close()


def next_step_adding_a_column(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE conversations ADD COLUMN folder TEXT NOT NULL DEFAULT ''")


def test_a_later_step_runs_on_a_v1_file_and_keeps_its_rows(tmp_path):
    path = tmp_path / "history.sqlite3"
    write_v1_database(path)
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, (*STEPS, next_step_adding_a_column)) == 1
    assert schema_version(conn) == LATEST_VERSION + 1
    assert conn.execute("SELECT title, folder FROM conversations").fetchall() == [("Sorting", "")]
    conn.close()


def test_a_failing_step_leaves_the_file_as_it_was(tmp_path):
    path = tmp_path / "history.sqlite3"
    write_v1_database(path)

    def broken_step(conn: sqlite3.Connection) -> None:
        next_step_adding_a_column(conn)
        raise sqlite3.OperationalError("disk I/O error")

    conn = sqlite3.connect(path, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, (*STEPS, broken_step))
    assert schema_version(conn) == 1
    columns = [row[1] for row in conn.execute("PRAGMA table_info(conversations)")]
    assert "folder" not in columns  # the half-done step was rolled back with the version
    conn.close()


def test_a_history_from_a_newer_release_is_read_only_and_says_so():
    path = default_db_path()
    write_newer_database(path)
    with ConversationStore() as store:
        reason = store.read_only_reason
        assert reason is not None and "newer version" in reason and "read-only" in reason
        assert [c.title for c in store.list()] == ["Sorting"]  # still readable
        assert store.search("dict")[0].conversation_id == 7
        with pytest.raises(DscoderError, match="newer version"):
            store.create("Another")
        with pytest.raises(DscoderError, match="newer version"):
            store.add_message(7, "user", "more")
    assert version_of(path) == LATEST_VERSION + 1
    with ConversationStore() as store:  # nothing was written: still the newer file, still one conversation
        assert len(store.list()) == 1 and len(store.messages(7)) == 2
