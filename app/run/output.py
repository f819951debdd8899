"""A run's output, capped: the first and the last bytes are kept, the middle counted.

A test that prints without end must not eat the app's memory: whatever it writes,
at most `head_bytes + tail_bytes` are held.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

HEAD_BYTES = 256 * 1024
TAIL_BYTES = 256 * 1024


def omitted_marker(count: int, unit: str = "bytes") -> str:
    return f"\n… {count:,} {unit} left out …\n"


class CappedOutput:
    """Bytes in, in order; keeps the head and a rolling tail."""

    def __init__(self, head_bytes: int = HEAD_BYTES, tail_bytes: int = TAIL_BYTES) -> None:
        self.head_bytes = head_bytes
        self.tail_bytes = tail_bytes
        self._head = bytearray()
        self._tail = bytearray()
        self.total_bytes = 0

    def add(self, data: bytes) -> None:
        self.total_bytes += len(data)
        room = self.head_bytes - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if not data or self.tail_bytes <= 0:
            return
        self._tail += data
        if len(self._tail) > 2 * self.tail_bytes:  # trimmed in batches: a copy per chunk would be quadratic
            del self._tail[: len(self._tail) - self.tail_bytes]

    @property
    def omitted_bytes(self) -> int:
        return max(0, self.total_bytes - len(self._head) - min(len(self._tail), self.tail_bytes))

    def text(self) -> str:
        """The kept output as text (UTF-8, bad bytes replaced), with a marker where bytes were left out."""
        tail = bytes(self._tail[-self.tail_bytes :]) if self.tail_bytes > 0 else b""
        head = bytes(self._head).decode("utf-8", errors="replace")
        omitted = self.omitted_bytes
        if not omitted:
            return head + tail.decode("utf-8", errors="replace")
        return head + omitted_marker(omitted) + tail.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class FeedBatch:
    """What arrived since the last `take`: new head text, and the tail as it stands now."""

    head: str  # append to what was shown
    tail: str | None  # None: the tail has not changed; else the whole tail to show
    omitted_chars: int  # between the head and the tail


class OutputFeed:
    """Text from a run's reader thread, taken by the window's paint timer in batches.

    Thread-safe and capped like `CappedOutput` (in characters): whatever the run prints,
    this holds at most `head_chars` + about twice `tail_chars`, however slow the window is.
    """

    def __init__(self, head_chars: int = HEAD_BYTES, tail_chars: int = TAIL_BYTES // 4) -> None:
        self.head_chars = head_chars
        self.tail_chars = tail_chars
        self._lock = threading.Lock()
        self._head: list[str] = []
        self._head_total = 0
        self._tail = ""
        self._tail_changed = False
        self._past_head = 0  # characters written after the head was full

    def write(self, text: str) -> None:
        with self._lock:
            room = self.head_chars - self._head_total
            if room > 0:
                piece = text[:room]
                self._head.append(piece)
                self._head_total += len(piece)
                text = text[room:]
            if not text:
                return
            self._past_head += len(text)
            self._tail += text
            if len(self._tail) > 2 * self.tail_chars:
                self._tail = self._tail[-self.tail_chars :]
            self._tail_changed = True

    def take(self) -> FeedBatch | None:
        """The batch to paint, or None when nothing arrived."""
        with self._lock:
            if not self._head and not self._tail_changed:
                return None
            head = "".join(self._head)
            self._head.clear()
            tail = None
            if self._tail_changed:
                self._tail = self._tail[-self.tail_chars :]
                tail = self._tail
                self._tail_changed = False
            return FeedBatch(head, tail, self._past_head - len(self._tail))
