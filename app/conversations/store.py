"""The conversation store: chats and their messages in SQLite, searchable, crash-safe.

One SQLite file in the app's data dir, in WAL mode with `synchronous=NORMAL`: a
commit reaches the operating system before `commit()` returns, so killing the app
(even with SIGKILL) keeps every committed row and never corrupts the file; only a
power cut can lose the last commits. Each write is one short transaction.

A complete message is written in one go (`add_message`). An answer that is still
streaming goes through a `StreamingMessageWriter`, which inserts the row at once
(`complete = 0`) and rewrites its text at most every `interval` seconds, plus on
`flush()` (its owner's timer, `interval` after the last delta), so a crash loses less
than a second of it.

FTS5 indexes message texts and conversation titles; triggers (schema.py) keep the
indexes in step with the tables, so nothing here has to update them.

Opening a file applies the migrations it lacks (migrations.py). A file from a newer
release is opened read-only: `read_only_reason` says so, and every write raises it.

Threads: the store holds one connection (`check_same_thread=False`) behind a lock.
Every query here is a few milliseconds on a personal history, and the streaming
writer's timer thread needs to write too; one locked connection is simpler than a
connection per thread and serialises writers, which SQLite does anyway.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from app.conversations.export import conversation_markdown
from app.conversations.migrations import (
    LATEST_VERSION,
    NEWER_VERSION_TODO,
    migrate,
    newer_version_message,
    schema_version,
)
from app.conversations.records import ConversationInfo, SearchHit, StoredMessage
from app.conversations.streaming import StreamingMessageWriter
from app.utils import paths
from app.utils.atomic import WriteFailures
from app.utils.errors import DscoderError

log = logging.getLogger(__name__)
RecordT = TypeVar("RecordT", ConversationInfo, StoredMessage)  # the records read from rows

DB_FILE = "conversations.sqlite3"
DEFAULT_TITLE = "New conversation"
ROLES = ("system", "user", "assistant")
TITLE_LENGTH = 60


def default_db_path() -> Path:
    return paths.data_dir() / DB_FILE


def fts_query(text: str) -> str:
    """A user's search text as an FTS5 query: every word must appear, as a word prefix.

    Quoting each word keeps FTS5 syntax (AND, NEAR, quotes, '-') from turning a search
    for code into a syntax error.
    """
    words = re.findall(r"\w+", text)
    return " ".join('"' + word.replace('"', '""') + '"*' for word in words)


def title_from(text: str) -> str:
    """A conversation title from its first question: the first non-empty line, shortened."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = line.lstrip("#>*- ").strip() or DEFAULT_TITLE
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"


class StoreWriteError(DscoderError):
    """A write the store could not make (a full disk); nothing saved before is lost, since
    each write is one transaction. `repeated`: a failure already reported since the last
    write that worked (an answer saves many times while it streams: say it once)."""

    def __init__(self, what: str, todo: str, *, repeated: bool) -> None:
        super().__init__(what, todo)
        self.repeated = repeated


class ConversationStore:
    """All conversations of this user. Safe to share between threads."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self.write_failures = WriteFailures("the conversation")
        # The file that was moved aside because SQLite could not read it (shown to the user).
        self.recovered_from: Path | None = None
        # Why writes are refused (a file from a newer release); None while the store is writable.
        self._read_only: DscoderError | None = None
        try:
            self._conn = self._open()
        except sqlite3.DatabaseError as exc:
            self.recovered_from = self._move_aside(exc)
            self._conn = self._open()

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None, check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            found = schema_version(conn)
            if found > LATEST_VERSION:
                conn.close()
                return self._open_read_only(found)
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("SQLite refused WAL mode for %s (got %s)", self.path, mode)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_read_only(self, found: int) -> sqlite3.Connection:
        self._read_only = DscoderError(newer_version_message(found), NEWER_VERSION_TODO)
        log.warning("%s: %s", self.path, self._read_only)
        uri = f"{self.path.as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=5.0, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        return conn

    def _move_aside(self, exc: sqlite3.DatabaseError) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.unreadable-{stamp}")
        log.error("conversation database %s is unreadable (%s); moved to %s", self.path, exc, target)
        self.path.replace(target)
        for extra in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + extra)
            if side.exists():
                side.replace(target.with_name(target.name + extra))
        return target

    @property
    def read_only_reason(self) -> str | None:
        """Why the history cannot be added to (shown to the user), or None when it can."""
        return None if self._read_only is None else str(self._read_only)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> ConversationStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; SQLite failures become a message for the user."""
        if self._read_only is not None:
            raise DscoderError(self._read_only.what, self._read_only.todo)
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                raise DscoderError(
                    "That conversation no longer exists", "It was deleted (perhaps in another window); start a new one"
                ) from exc
            except sqlite3.Error as exc:
                first = self.write_failures.failed(self.path, exc) is not None
                raise StoreWriteError(
                    f"Could not save the conversation history: {exc}",
                    f"Check free disk space and that {self.path.parent} is writable",
                    repeated=not first,
                ) from exc
            self.write_failures.succeeded()

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def journal_mode(self) -> str:
        return str(self._read("PRAGMA journal_mode")[0][0])

    def integrity_check(self) -> list[str]:
        """SQLite's own check of the whole file (FTS indexes included): ['ok'] when sound."""
        problems = [str(row[0]) for row in self._read("PRAGMA integrity_check")]
        for table in ("messages_fts", "titles_fts"):
            try:
                with self._lock:
                    self._conn.execute(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)")
            except sqlite3.DatabaseError as exc:
                problems = [p for p in problems if p != "ok"] + [f"{table}: {exc}"]
        return problems

    # -- conversations ------------------------------------------------------------------
    def create(self, title: str = DEFAULT_TITLE, model: str = "", system_prompt: str | None = None) -> int:
        now = time.time()
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO conversations(title, created, updated, model, system_prompt) VALUES (?, ?, ?, ?, ?)",
                (title.strip() or DEFAULT_TITLE, now, now, model, system_prompt),
            )
        return int(cursor.lastrowid or 0)

    def get(self, conversation_id: int) -> ConversationInfo:
        rows = self._read("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
        if not rows:
            raise DscoderError(f"Conversation {conversation_id} no longer exists", "Pick another one from the list")
        return _conversation(rows[0])

    def list(self, limit: int | None = None) -> list[ConversationInfo]:
        """Pinned conversations first, then the most recently active."""
        sql = "SELECT * FROM conversations ORDER BY pinned DESC, updated DESC, id DESC"
        rows = self._read(sql + " LIMIT ?", (limit,)) if limit else self._read(sql)
        return [_conversation(row) for row in rows]

    def rename(self, conversation_id: int, title: str) -> None:
        title = " ".join(title.split())
        if not title:
            raise DscoderError("A conversation needs a title", "Type a title, or press Escape to keep the old one")
        self._update(conversation_id, "title", title)

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        self._update(conversation_id, "pinned", int(pinned))

    def set_model(self, conversation_id: int, model: str) -> None:
        self._update(conversation_id, "model", model)

    def set_system_prompt(self, conversation_id: int, system_prompt: str | None) -> None:
        self._update(conversation_id, "system_prompt", system_prompt)

    def _update(self, conversation_id: int, column: str, value: Any) -> None:
        with self._write() as conn:
            cursor = conn.execute(f"UPDATE conversations SET {column} = ? WHERE id = ?", (value, conversation_id))
        if cursor.rowcount == 0:
            raise DscoderError(f"Conversation {conversation_id} no longer exists", "Pick another one from the list")

    def delete(self, conversation_id: int) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM messages WHERE conversation_id = ?", (conversation_id,))
            conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    # -- messages -----------------------------------------------------------------------
    def messages(self, conversation_id: int) -> builtins.list[StoredMessage]:  # `list` is a method here
        rows = self._read("SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,))
        return [_message(row) for row in rows]

    def add_message(self, conversation_id: int, role: str, content: str, stats: dict[str, Any] | None = None) -> int:
        """Save one complete message; the first question also names an untitled conversation."""
        return self._insert_message(conversation_id, role, content, True, stats)

    def _insert_message(
        self, conversation_id: int, role: str, content: str, complete: bool, stats: dict[str, Any] | None
    ) -> int:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        now = time.time()
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO messages(conversation_id, role, content, complete, created, stats) VALUES (?, ?, ?, ?, ?, ?)",
                (conversation_id, role, content, int(complete), now, json.dumps(stats or {})),
            )
            conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))
            if role == "user" and content.strip():
                conn.execute(
                    "UPDATE conversations SET title = ? WHERE id = ? AND title = ?",
                    (title_from(content), conversation_id, DEFAULT_TITLE),
                )
        return int(cursor.lastrowid or 0)

    def save_partial(self, message_id: int, content: str, complete: bool, stats: dict[str, Any] | None) -> None:
        """Rewrite a streaming answer's text (and, once `complete`, its stats)."""
        with self._write() as conn:
            if stats is None:
                conn.execute(
                    "UPDATE messages SET content = ?, complete = ? WHERE id = ?", (content, int(complete), message_id)
                )
            else:
                conn.execute(
                    "UPDATE messages SET content = ?, complete = ?, stats = ? WHERE id = ?",
                    (content, int(complete), json.dumps(stats), message_id),
                )
            conn.execute(
                "UPDATE conversations SET updated = ? WHERE id = (SELECT conversation_id FROM messages WHERE id = ?)",
                (time.time(), message_id),
            )

    def delete_messages_from(self, message_id: int) -> None:
        """Drop a message and every later one in its conversation (regenerate, edit and resend)."""
        with self._write() as conn:
            conn.execute(
                "DELETE FROM messages WHERE conversation_id = "
                "(SELECT conversation_id FROM messages WHERE id = ?) AND id >= ?",
                (message_id, message_id),
            )

    def start_answer(
        self,
        conversation_id: int,
        role: str = "assistant",
        *,
        interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        stats: dict[str, Any] | None = None,
    ) -> StreamingMessageWriter:
        """A writer for an answer that is about to stream in; its row exists from now on.
        `stats` are known from the start (the model that answers) and kept when it finishes."""
        message_id = self._insert_message(conversation_id, role, "", False, stats)
        return StreamingMessageWriter(self.save_partial, message_id, interval=interval, clock=clock, stats=stats)

    # -- search -------------------------------------------------------------------------
    def search(self, text: str, limit: int = 50, marks: tuple[str, str] = ("[", "]")) -> builtins.list[SearchHit]:
        """Conversations whose title or messages contain every word of `text` (as prefixes).

        One hit per conversation: a title match first, else its best-ranked message.
        """
        query = fts_query(text)
        if not query:
            return []
        start, end = marks
        title_rows = self._read(
            "SELECT c.id, c.title, c.pinned, c.updated, snippet(titles_fts, 0, ?, ?, '…', 12) AS snip "
            "FROM titles_fts JOIN conversations c ON c.id = titles_fts.rowid "
            "WHERE titles_fts MATCH ? ORDER BY rank LIMIT ?",
            (start, end, query, limit),
        )
        message_rows = self._read(
            "SELECT c.id, c.title, c.pinned, c.updated, m.id AS message_id, "
            "snippet(messages_fts, 0, ?, ?, '…', 12) AS snip "
            "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
            "JOIN conversations c ON c.id = m.conversation_id "
            "WHERE messages_fts MATCH ? ORDER BY rank LIMIT ?",
            (start, end, query, limit * 4),
        )
        hits: dict[int, SearchHit] = {}
        for row in title_rows:
            hits[row["id"]] = SearchHit(row["id"], row["title"], row["snip"], None, bool(row["pinned"]), row["updated"])
        for row in message_rows:
            known = hits.get(row["id"])
            if known is None or known.message_id is None:  # a message snippet says more than the title
                hits[row["id"]] = SearchHit(
                    row["id"],
                    row["title"],
                    " ".join(row["snip"].split()),
                    row["message_id"],
                    bool(row["pinned"]),
                    row["updated"],
                )
        return list(hits.values())[:limit]

    # -- export -------------------------------------------------------------------------
    def export_markdown(self, conversation_id: int) -> str:
        return conversation_markdown(self.get(conversation_id), self.messages(conversation_id))


def _record(record_type: type[RecordT], row: sqlite3.Row, **converted: Any) -> RecordT:
    """A record from a row whose columns are named as its fields; `converted` gives the
    fields whose column needs more than reading (an INTEGER flag, a JSON text)."""
    read = {f.name: row[f.name] for f in dataclasses.fields(record_type) if f.name not in converted}
    return record_type(**read, **converted)


def _conversation(row: sqlite3.Row) -> ConversationInfo:
    return _record(ConversationInfo, row, pinned=bool(row["pinned"]))


def _message(row: sqlite3.Row) -> StoredMessage:
    try:
        stats = json.loads(row["stats"] or "{}")
    except ValueError:
        stats = {}
    return _record(StoredMessage, row, complete=bool(row["complete"]), stats=stats if isinstance(stats, dict) else {})
