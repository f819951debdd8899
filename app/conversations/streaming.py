"""An answer saved while it streams: its row exists from the first delta, its text is
rewritten at least every `interval` seconds while deltas arrive, so a crash loses less
than a second of it; `finish` marks it complete.

When deltas stop for a while (a slow model) the owner saves the tail with `flush()`:
the chat's binding (app.conversations.ui.binding) has one timer for that, which queues
the flush on its writer thread. The writer makes no thread or timer of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

# (message id, text so far, complete, stats to keep or None) -> None: the store's save_partial
SavePartial = Callable[[int, str, bool, "dict[str, Any] | None"], None]


class StreamingMessageWriter:
    """Saves one answer while it streams: at least every `interval` seconds while deltas
    arrive, on `flush()`, and when done."""

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

    def flush(self) -> None:
        """Save the text so far, if anything arrived since the last save."""
        with self._lock:
            if self._dirty and not self._finished:
                self._flush_locked()

    def finish(self, stats: dict[str, Any] | None = None) -> int:
        """Save the whole answer as complete (a cancelled answer too: it is what the user saw)."""
        with self._lock:
            if not self._finished:
                self._save(self.message_id, "".join(self._parts), True, {**self._stats, **(stats or {})})
                self._finished = True
                self._dirty = False
        return self.message_id

    def _flush_locked(self) -> None:
        self._save(self.message_id, "".join(self._parts), False, None)
        self._dirty = False
        self._saved_at = self._clock()
