"""An answer saved while it streams: its row exists from the first delta, its text is
rewritten at least every `interval` seconds (and once more `interval` after the last
delta, by a timer), so a crash loses less than a second of it; `finish` marks it complete.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

from app.utils.errors import DscoderError

log = logging.getLogger(__name__)

# (message id, text so far, complete, stats to keep or None) -> None: the store's save_partial
SavePartial = Callable[[int, str, bool, "dict[str, Any] | None"], None]


class StreamingMessageWriter:
    """Saves one answer while it streams: at least every `interval` seconds, and when done."""

    def __init__(
        self,
        save: SavePartial,
        message_id: int,
        *,
        interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        stats: dict[str, Any] | None = None,
    ) -> None:
        self._save = save
        self.message_id = message_id
        self._stats = dict(stats or {})  # what finish() keeps beside its own
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._parts: list[str] = []
        self._dirty = False
        self._finished = False
        self._saved_at = clock()
        self._timer: threading.Timer | None = None

    @property
    def text(self) -> str:
        with self._lock:
            return "".join(self._parts)

    def append(self, delta: str) -> None:
        if not delta:
            return
        with self._lock:
            if self._finished:
                raise RuntimeError("append() after finish()")
            self._parts.append(delta)
            self._dirty = True
            if self._clock() - self._saved_at >= self._interval:
                self._flush_locked()
            elif self._timer is None:
                # Deltas may stop for a while (a slow model): save the tail anyway.
                self._timer = threading.Timer(self._interval, self._flush_from_timer)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        with self._lock:
            if self._dirty and not self._finished:
                self._flush_locked()

    def finish(self, stats: dict[str, Any] | None = None) -> int:
        """Save the whole answer as complete (a cancelled answer too: it is what the user saw)."""
        with self._lock:
            self._cancel_timer()
            if not self._finished:
                self._save(self.message_id, "".join(self._parts), True, {**self._stats, **(stats or {})})
                self._finished = True
                self._dirty = False
        return self.message_id

    def _flush_locked(self) -> None:
        self._cancel_timer()
        self._save(self.message_id, "".join(self._parts), False, None)
        self._dirty = False
        self._saved_at = self._clock()

    def _flush_from_timer(self) -> None:
        with self._lock:
            self._timer = None
            if self._dirty and not self._finished:
                try:
                    self._flush_locked()
                except (DscoderError, sqlite3.ProgrammingError) as exc:  # store closed, disk full
                    log.warning("could not save the streaming answer: %s", exc)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
