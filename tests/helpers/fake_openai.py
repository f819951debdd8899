"""A loopback OpenAI-compatible server that records what it is sent: the engine's door, for
tests that check what a request carries without a model.

The app connects to it as a remote engine (Settings ▸ Remote engines does the same): it
lists one model, answers the probe, streams `answer` for every chat request, and answers
the app's context-meter count (`/dscoder/count`, which the local engine also serves).
Every request's path and JSON body are kept in `requests`, in order.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from app.config.remotes import RemoteEngine
from app.llm.targets import RemoteTarget

MODEL = "fake-coder"
N_CTX = 8192


class RecordingOpenAIServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        answer: str = "Here it is.",
        respond: Callable[[str, dict[str, Any]], str] | None = None,
        piece_delay_s: float = 0.0,
    ) -> None:
        """`respond(path, body)` scripts each chat and completion answer (default: `answer`
        for chat, "a + b" for completions); `piece_delay_s` slows the stream (a stuck model)."""
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.respond = respond
        self.piece_delay_s = piece_delay_s
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def target(self) -> RemoteTarget:
        """What the app's engine session loads to chat with this server."""
        return RemoteTarget(RemoteEngine("Fake coder", self.url, MODEL, "other", "fake"), "test-key")

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a cancelled stream, a closed keep-alive connection) is not an error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def record(self, path: str, body: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append((path, body))

    def bodies(self, path_end: str) -> list[dict[str, Any]]:
        with self._lock:
            return [body for path, body in self.requests if path.endswith(path_end)]

    def questions(self) -> list[list[dict[str, str]]]:
        """The messages of each chat request the app sent for a question (not the probe's)."""
        chats = self.bodies("/chat/completions")
        return [body["messages"] for body in chats if body.get("max_tokens") != 1]

    def counts(self) -> list[list[dict[str, str]]]:
        """The messages of each context-meter count."""
        return [body["messages"] for body in self.bodies("/dscoder/count")]

    def __enter__(self) -> RecordingOpenAIServer:
        self._thread = threading.Thread(target=self.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RecordingOpenAIServer

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _json(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _stream(self, chat: bool, text: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        pieces = [text[i : i + 16] for i in range(0, len(text), 16)] or [""]
        for piece in pieces:
            choice = {"index": 0, "finish_reason": None}
            choice.update({"delta": {"content": piece}} if chat else {"text": piece})
            try:
                self._chunk(f"data: {json.dumps({'choices': [choice]})}\n\n")
            except OSError:  # the client hung up (cancelled, or it stopped at a stop rule)
                return
            time.sleep(self.server.piece_delay_s)
        done = {"index": 0, "finish_reason": "stop", **({"delta": {}} if chat else {"text": ""})}
        usage = {"prompt_tokens": 10, "completion_tokens": len(pieces), "total_tokens": 10 + len(pieces)}
        try:
            self._chunk(f"data: {json.dumps({'choices': [done], 'usage': usage})}\n\n")
            self._chunk("data: [DONE]\n\n")
            self._chunk("")
        except OSError:
            return

    def _route(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else {}
        self.server.record(self.path, body)
        if self.path.endswith("/models"):
            self._json({"object": "list", "data": [{"id": MODEL}]})
        elif self.path.endswith("/dscoder/count"):
            text = "".join(m.get("content", "") for m in body.get("messages", []))
            self._json({"prompt_tokens": len(text) // 4 + 1, "n_ctx": N_CTX})
        elif self.path.endswith("/dscoder/info"):  # the local engine's own endpoint: not a remote's
            self.send_error(404)
        elif self.path.endswith("/chat/completions"):
            respond = self.server.respond
            probe = body.get("max_tokens") == 1
            self._stream(True, "OK" if probe else respond(self.path, body) if respond else self.server.answer)
        else:  # /completions: the fill-in-the-middle probe, or a scripted middle
            self._stream(False, self.server.respond(self.path, body) if self.server.respond else "a + b")

    do_GET = _route
    do_POST = _route
