"""Numbered migrations of the conversation database, applied when the store opens it.

The database's `PRAGMA user_version` is the number of steps it has had. `STEPS[n]` takes a
version-n database to version n + 1; step 0 creates the first schema in an empty file.
Opening a file runs the steps it lacks, in order, in one transaction: a failed step leaves
the file as it was. A file whose version is above `LATEST_VERSION` was written by a newer
release; the store opens it read-only (`newer_version_message` says why) rather than guess.

To change the schema: append a step here (never edit a released one: users' files went
through it), and add a test that builds a database of the previous version with that
version's SQL and opens it with the store.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence

from app.conversations.schema import SCHEMA_V1

log = logging.getLogger(__name__)

Step = Callable[[sqlite3.Connection], None]


def _create_v1(conn: sqlite3.Connection) -> None:
    for statement in _statements(SCHEMA_V1):
        conn.execute(statement)


def _statements(script: str) -> list[str]:
    """A script as separate statements (executescript would commit the open transaction)."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    return [s for s in statements if s]


STEPS: tuple[Step, ...] = (_create_v1,)
LATEST_VERSION = len(STEPS)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def newer_version_message(found: int, latest: int = LATEST_VERSION) -> str:
    """What the user reads when the file is newer than this release (the store is read-only)."""
    return (
        f"The conversation history was written by a newer version of DeepSeek-Coder Desktop "
        f"(database version {found}; this version knows up to {latest}), so it is open read-only"
    )


NEWER_VERSION_TODO = "Update DeepSeek-Coder Desktop to add to it; nothing in it was changed"


def migrate(conn: sqlite3.Connection, steps: Sequence[Step] = STEPS) -> int:
    """Bring the database up to `len(steps)`; the version it had before. A caller checks for a
    newer file first: this leaves one untouched."""
    found = schema_version(conn)
    if found >= len(steps):
        return found
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = schema_version(conn)  # another process may have migrated it meanwhile
        for version in range(found, len(steps)):
            steps[version](conn)
        conn.execute(f"PRAGMA user_version={len(steps)}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    if found:
        log.info("conversation database migrated from version %d to %d", found, len(steps))
    return found
