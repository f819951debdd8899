"""A loopback OpenAI-compatible server that records what it is sent: the engine's door, for
tests that check what a request carries without a model.

The app connects to it as a remote engine (Settings ▸ Remote engines does the same): it
lists one model, answers the probe, streams `answer` for every chat request, and answers
the app's context-meter count (`/dscoder/count`, which the local engine also serves).
Every request's path and JSON body are kept in `requests`, in order.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from app.config.remotes import RemoteEngine
from app.llm.targets import RemoteTarget

MODEL = "fake-coder"
N_CTX = 8192


class RecordingOpenAIServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer: str = "Here it is.", answers: Sequence[str] = ()) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.answers = list(answers)  # answered in turn, one per question; then `answer`
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def target(self) -> RemoteTarget:
        """What the app's engine session loads to chat with this server."""
        return RemoteTarget(RemoteEngine("Fake coder", self.url, MODEL, "other", "fake"), "test-key")

    def record(self, path: str, body: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append((path, body))

    def next_answer(self) -> str:
        with self._lock:
            return self.answers.pop(0) if self.answers else self.answer

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
            self._chunk(f"data: {json.dumps({'choices': [choice]})}\n\n")
        done = {"index": 0, "finish_reason": "stop", **({"delta": {}} if chat else {"text": ""})}
        usage = {"prompt_tokens": 10, "completion_tokens": len(pieces), "total_tokens": 10 + len(pieces)}
        self._chunk(f"data: {json.dumps({'choices': [done], 'usage': usage})}\n\n")
        self._chunk("data: [DONE]\n\n")
        self._chunk("")

    def _route(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else {}
        self.server.record(self.path, body)
        if self.path.endswith("/models"):
            self._json({"object": "list", "data": [{"id": MODEL}]})
        elif self.path.endswith("/dscoder/count"):
            text = "".join(m.get("content", "") for m in body.get("messages", []))
            self._json({"prompt_tokens": len(text) // 4 + 1, "n_ctx": N_CTX})
        elif self.path.endswith("/chat/completions"):
            self._stream(True, "OK" if body.get("max_tokens") == 1 else self.server.next_answer())
        else:  # /completions: the fill-in-the-middle probe
            self._stream(False, "a + b")

    do_GET = _route
    do_POST = _route
