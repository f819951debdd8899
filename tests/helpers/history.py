"""Conversation databases as earlier and later releases wrote them (migration tests)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from app.conversations.migrations import LATEST_VERSION
from app.conversations.schema import SCHEMA_V1


def write_v1_database(path: Path) -> None:
    """A history as release 1 wrote it: the v1 schema, WAL mode, one conversation of two messages."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(SCHEMA_V1)
    conn.execute("INSERT INTO conversations(id, title, created, updated, pinned) VALUES (7, 'Sorting', 1.0, 2.0, 1)")
    conn.execute(
        "INSERT INTO messages(conversation_id, role, content, created) VALUES (7, 'user', 'sort a dict by value', 1.0)"
    )
    conn.execute(
        "INSERT INTO messages(conversation_id, role, content, created, stats) "
        "VALUES (7, 'assistant', 'Use sorted(d.items(), key=...)', 2.0, '{\"model\": \"tiny\"}')"
    )
    conn.execute("PRAGMA user_version=1")
    conn.close()


def write_newer_database(path: Path) -> None:
    """A history from a release that knows one more step than this one."""
    write_v1_database(path)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={LATEST_VERSION + 1}")
    conn.commit()
    conn.close()
