"""A run's output, capped: the first and the last bytes are kept, the middle counted.

A test that prints without end must not eat the app's memory: whatever it writes,
at most `head_bytes + tail_bytes` are held.
"""

from __future__ import annotations

HEAD_BYTES = 256 * 1024
TAIL_BYTES = 256 * 1024


def omitted_marker(count: int) -> str:
    return f"\n… {count:,} bytes left out …\n"


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
