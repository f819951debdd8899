"""What a streaming request gives and takes, without the HTTP client: its cancel handle
(`CancelToken`), its events (`StreamEvent`) and how it went (`StreamStats`).

Apart from client.py so that code which only holds these (the completion worker's jobs,
the chat's stats line) does not import httpx before the window's first paint.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx


class CancelToken:
    """Cancels one request from any thread."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._response: httpx.Response | None = None

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        self._event.set()
        with self._lock:
            response = self._response
        if response is not None:
            _shutdown_socket(response)

    def attach(self, response: httpx.Response | None) -> None:
        """The client hands over the response it reads (None when done): cancel closes its socket."""
        with self._lock:
            self._response = response
        if response is not None and self._event.is_set():
            _shutdown_socket(response)


def _shutdown_socket(response: httpx.Response) -> None:
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


@dataclass
class StreamStats:
    """How a stream went: what the CLI's --json prints and the status bar shows."""

    finish_reason: str | None = None  # stop, length, cancelled
    prompt_tokens: int = 0
    completion_tokens: int = 0
    time_to_first_token_s: float | None = None
    tokens_per_s: float | None = None
    total_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)


@dataclass
class StreamEvent:
    """A text delta, a note (for example turns dropped to fit), a queue position while the
    request waits for the engine (`waiting`: requests ahead), or the end (`stats` set)."""

    text: str = ""
    note: str | None = None
    stats: StreamStats | None = None
    waiting: int | None = None
