"""Who may call the engine, in which API's words it answers them, and how many it serves.

- The key: every request but /health needs `Authorization: Bearer <key>`, except that
  an engine serving other programs on a loopback address lets every request in: Ollama's
  clients send no key, and some (Continue's) send a placeholder, so on loopback a key
  proves nothing more than its absence. Listening on any other address needs the key
  (app/engine/main.py refuses to start otherwise).
- Error shapes: OpenAI's (`{"error": {"message", "type", "code"}}`), Ollama's
  (`{"error": "..."}`) and llama-server's (`{"error": {"code", "message", "type"}}`),
  chosen by the path, so each client reads errors as its own server would write them.
- Counting: open requests per API, and the distinct programs (address and user agent)
  seen in the last minute, for the window's status bar. The window's own requests
  (user agent `dscoder/...`) are not counted.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from typing import Any

from fastapi.responses import JSONResponse

OPENAI, OLLAMA, LLAMA_SERVER = "openai", "ollama", "llama_server"
LLAMA_SERVER_PATHS = frozenset({"/infill", "/completion", "/completions", "/props", "/tokenize", "/detokenize"})
OWN_USER_AGENT = "dscoder/"
RECENT_S = 60.0


def api_of(path: str) -> str | None:
    """The API a path belongs to; None for the engine's own routes (/dscoder/..., /health)."""
    if path.startswith("/api/") or path == "/":
        return OLLAMA
    if path in LLAMA_SERVER_PATHS:
        return LLAMA_SERVER
    if path.startswith("/v1/") or path in ("/chat/completions", "/models"):
        return OPENAI
    return None


def error_body(path: str, status: int, message: str) -> dict[str, Any]:
    """An error in the words of the API that `path` belongs to."""
    api = api_of(path)
    if api == OLLAMA:
        return {"error": message}
    kind = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error"}.get(
        status, "invalid_request_error" if status < 500 else "server_error"
    )
    if api == LLAMA_SERVER:
        return {"error": {"code": status, "message": message, "type": kind}}
    return {"error": {"message": message, "type": kind, "code": "invalid_api_key" if status == 401 else None}}


def error_response(path: str, status: int, message: str) -> JSONResponse:
    return JSONResponse(error_body(path, status, message), status_code=status)


class ApiKeyMiddleware:
    """Requires the key on every request but /health; `keyless` lets every request through
    (a loopback engine that serves other programs)."""

    def __init__(self, app: Any, api_key: str | None, keyless: bool = False) -> None:
        self.app = app
        self.expected = f"Bearer {api_key}".encode() if api_key else None
        self.keyless = keyless

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.expected and scope["path"] != "/health":
            given = dict(scope.get("headers") or []).get(b"authorization")
            allowed = self.keyless or (given is not None and hmac.compare_digest(given, self.expected))
            if not allowed:
                message = "Missing or wrong API key" if given is None else "Wrong API key"
                await error_response(scope["path"], 401, message)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class ClientCounter:
    """Open requests per API and the programs seen lately (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.open = {OPENAI: 0, OLLAMA: 0, LLAMA_SERVER: 0}
        self.served = {OPENAI: 0, OLLAMA: 0, LLAMA_SERVER: 0}
        self._seen: dict[tuple[str, str], float] = {}

    def enter(self, api: str, client: tuple[str, str]) -> None:
        with self._lock:
            self.open[api] += 1
            self._seen[client] = time.monotonic()

    def leave(self, api: str, client: tuple[str, str]) -> None:
        with self._lock:
            self.open[api] -= 1
            self.served[api] += 1
            self._seen[client] = time.monotonic()

    def status(self) -> dict[str, object]:
        now = time.monotonic()
        with self._lock:
            self._seen = {k: t for k, t in self._seen.items() if now - t <= RECENT_S}
            return {
                "open": dict(self.open),
                "served": dict(self.served),
                "recent_clients": len(self._seen),
                "open_requests": sum(self.open.values()),
            }


class ClientCountMiddleware:
    """Counts each request of another program while it is open (streams included)."""

    def __init__(self, app: Any, counter: ClientCounter) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        api = api_of(scope["path"]) if scope["type"] == "http" else None
        agent = dict(scope.get("headers") or []).get(b"user-agent", b"").decode("latin-1")
        if api is None or agent.startswith(OWN_USER_AGENT):
            await self.app(scope, receive, send)
            return
        client = ((scope.get("client") or ("?", 0))[0], agent)
        self.counter.enter(api, client)
        try:
            await self.app(scope, receive, send)
        finally:
            self.counter.leave(api, client)


def public_info(info: dict[str, object]) -> dict[str, object]:
    """The engine's info as clients may see it: file names, never paths (a path names the
    user's home folder; the window that started the engine knows it already)."""
    shown = dict(info)
    path = str(shown.pop("model_path", "") or "")
    shown["model_file"] = os.path.basename(path)
    options = shown.get("load_options")
    if isinstance(options, dict):
        shown["load_options"] = {
            key: os.path.basename(value) if key.endswith("_path") and isinstance(value, str) else value
            for key, value in options.items()
        }
    return shown
