"""A loopback stand-in for the Hugging Face hub, for tests and benchmarks.

It answers what `huggingface_hub` asks, so the real library runs against it
through `HF_ENDPOINT`:

- HEAD/GET `/{repo}/resolve/{revision}/{filename}` with ETag, X-Linked-Etag (the
  sha256), X-Linked-Size, X-Repo-Commit, Content-Length, and `Range` (206);
- POST `/api/models/{repo}/paths-info/{revision}` and
  GET `/api/models/{repo}/tree/{revision}[/{path}]` (LFS sha256 and sizes);
- GET `/api/models?search=...` (model search).

Faults are switched per test with `add_fault`: drop the connection after N bytes,
stall for N seconds, serve wrong bytes, or answer 401/404/500. Every request is
recorded, so a test can assert that offline mode made none, or how many file bytes
a resumed download fetched.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"
SEND_BLOCK = 64 * 1024
RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<filename>.+)$")
PATHS_INFO = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/paths-info/(?P<revision>[^/]+)$")
TREE = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/tree/(?P<revision>[^/]+)(?:/(?P<path>.*))?$")


@dataclass
class HubFile:
    data: bytes | None  # in memory, or
    path: Path | None  # served from disk (large benchmark files)
    size: int
    sha256: str
    git_sha1: str
    lfs: bool = True

    def read(self, start: int, end: int) -> bytes:
        if self.data is not None:
            return self.data[start:end]
        assert self.path is not None
        with self.path.open("rb") as handle:
            handle.seek(start)
            return handle.read(end - start)


@dataclass
class Fault:
    """A misbehaviour applied to matching requests.

    kind: "drop" (close the connection once `at_byte` of the file was sent),
    "stall" (stop sending at `at_byte` for `seconds`, then close), "wrong_bytes"
    (same length, other content), or "status" (answer `status` with `error_code`).
    `times` is how many requests it hits (-1: all).
    """

    kind: str
    filename: str | None = None  # None: any file or API call of the repo
    repo: str | None = None
    at_byte: int = 0
    seconds: float = 0.0
    status: int = 500
    error_code: str | None = None
    times: int = 1
    methods: tuple[str, ...] = ("GET",)


@dataclass
class RequestRecord:
    method: str
    path: str
    range: str | None
    authorization: str | None
    served: int = 0  # file body bytes sent in answer to this request


@dataclass
class FakeHub:
    files: dict[tuple[str, str], HubFile] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[RequestRecord] = field(default_factory=list)
    rate_bps: float | None = None  # throttle file bodies (for kill tests)
    send_block: int = SEND_BLOCK  # body bytes per write (benchmarks raise it)
    required_token: dict[str, str] = field(default_factory=dict)  # repo -> token that opens it
    served_bytes: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)

    # Content.
    def add_file(self, repo: str, filename: str, data: bytes | Path, *, lfs: bool = True) -> HubFile:
        if isinstance(data, Path):
            digest = hashlib.sha256()
            with data.open("rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
            size = data.stat().st_size
            entry = HubFile(None, data, size, digest.hexdigest(), hashlib.sha1(str(data).encode()).hexdigest(), lfs)
        else:
            git_sha1 = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            entry = HubFile(data, None, len(data), hashlib.sha256(data).hexdigest(), git_sha1, lfs)
        self.files[(repo, filename)] = entry
        return entry

    def add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    # Observations.
    def file_requests(self, method: str = "GET") -> list[RequestRecord]:
        return [r for r in self.requests if r.method == method and "/resolve/" in r.path]

    def reset_counters(self) -> None:
        with self._lock:
            self.requests.clear()
            self.served_bytes = 0

    # Server.
    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        hub = self

        class Handler(_HubHandler):
            fake = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-hub", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _take_fault(self, method: str, repo: str, filename: str | None) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if method not in fault.methods or fault.times == 0:
                    continue
                if fault.repo not in (None, repo) or fault.filename not in (None, filename):
                    continue
                if fault.times > 0:
                    fault.times -= 1
                return fault
        return None


class _HubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeHub
    _pending_fault: Fault | None = None
    _record: RequestRecord

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        path = unquote(split.path)
        self._record = RequestRecord(method, path, self.headers.get("Range"), self.headers.get("Authorization"))
        with self.fake._lock:
            self.fake.requests.append(self._record)
        body = b""
        if method == "POST":
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if match := RESOLVE.match(path):
            self._resolve(method, match["repo"], unquote(match["filename"]))
        elif match := PATHS_INFO.match(path):
            if self._refused(method, match["repo"], None):
                return
            wanted = parse_qs(body.decode())
            names = wanted.get("paths", [])
            self._json([self._entry(match["repo"], n) for n in names if (match["repo"], n) in self.fake.files])
        elif match := TREE.match(path):
            if self._refused(method, match["repo"], None):
                return
            prefix = (match["path"] or "").strip("/")
            names = [n for (repo, n) in self.fake.files if repo == match["repo"] and n.startswith(prefix)]
            self._json([self._entry(match["repo"], n) for n in sorted(names)])
        elif path == "/api/models":
            query = parse_qs(split.query).get("search", [""])[0].lower()
            repos = sorted({repo for (repo, _) in self.fake.files if query in repo.lower()})
            self._json(
                [
                    {"id": r, "modelId": r, "downloads": 10, "likes": 1, "tags": ["gguf"], "private": False}
                    for r in repos
                ]
            )
        else:
            self._status(404, "RepoNotFound")

    def _entry(self, repo: str, name: str) -> dict[str, Any]:
        entry = self.fake.files[(repo, name)]
        info: dict[str, Any] = {"type": "file", "path": name, "size": entry.size, "oid": entry.git_sha1}
        if entry.lfs:
            info["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": 134}
        return info

    def _refused(self, method: str, repo: str, filename: str | None) -> bool:
        if not any(r == repo for (r, _) in self.fake.files):
            self._status(404, "RepoNotFound", "Repository not found")
            return True
        token = self.fake.required_token.get(repo)
        if token is not None and self.headers.get("Authorization") != f"Bearer {token}":
            self._status(401, "GatedRepo", "Access to this model is restricted. You must be authenticated.")
            return True
        fault = self.fake._take_fault(method, repo, filename)
        if fault is not None and fault.kind == "status":
            self._status(fault.status, fault.error_code)
            return True
        if fault is not None:
            self._pending_fault = fault
        return False

    def _resolve(self, method: str, repo: str, filename: str) -> None:
        self._pending_fault = None
        if self._refused(method, repo, filename):
            return
        entry = self.fake.files.get((repo, filename))
        if entry is None:
            known_repo = any(r == repo for (r, _) in self.fake.files)
            self._status(404, "EntryNotFound" if known_repo else "RepoNotFound")
            return
        start, end = 0, entry.size
        ranged = self.headers.get("Range")
        if ranged:
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", ranged.strip())
            if match is None or int(match[1]) >= entry.size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{entry.size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start = int(match[1])
            end = min(entry.size, int(match[2]) + 1) if match[2] else entry.size
        self.send_response(206 if ranged else 200)
        if entry.lfs:
            self.send_header("X-Linked-Etag", f'"{entry.sha256}"')
            self.send_header("X-Linked-Size", str(entry.size))
        self.send_header("ETag", f'"{entry.sha256 if entry.lfs else entry.git_sha1}"')
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start))
        if ranged:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{entry.size}")
        self.end_headers()
        if method == "GET":
            self._send_body(entry, start, end, self._pending_fault)

    def _send_body(self, entry: HubFile, start: int, end: int, fault: Fault | None) -> None:
        if entry.path is not None and fault is None and not self.fake.rate_bps:
            # Zero-copy for benchmarks: the server should cost its clients as little CPU as possible.
            self.wfile.flush()
            with entry.path.open("rb") as handle:
                sent = self.connection.sendfile(handle, offset=start, count=end - start)
            with self.fake._lock:
                self.fake.served_bytes += sent
                self._record.served += sent
            return
        position = start
        began = time.monotonic()
        try:
            while position < end:
                stop_at = min(end, position + self.fake.send_block)
                if fault is not None and fault.kind in ("drop", "stall") and fault.at_byte < stop_at:
                    if fault.at_byte > position:
                        self._write(entry, position, fault.at_byte, fault)
                    if fault.kind == "stall":
                        self.wfile.flush()
                        self.fake._stopping.wait(fault.seconds)
                    self._abort()
                    return
                self._write(entry, position, stop_at, fault)
                position = stop_at
                if self.fake.rate_bps:
                    ahead = (position - start) / self.fake.rate_bps - (time.monotonic() - began)
                    if ahead > 0 and self.fake._stopping.wait(ahead):
                        return
        except (BrokenPipeError, ConnectionResetError):
            return

    def _write(self, entry: HubFile, start: int, end: int, fault: Fault | None) -> None:
        block = entry.read(start, end)
        if fault is not None and fault.kind == "wrong_bytes":
            block = bytes(b ^ 0x5A for b in block)
        self.wfile.write(block)
        with self.fake._lock:
            self.fake.served_bytes += len(block)
            self._record.served += len(block)

    def _abort(self) -> None:
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _status(self, status: int, error_code: str | None = None, message: str | None = None) -> None:
        body = json.dumps({"error": message or f"fake hub error {status}"}).encode()
        self.send_response(status)
        if error_code:
            self.send_header("X-Error-Code", error_code)
        if message:
            self.send_header("X-Error-Message", message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def random_bytes(size: int, seed: int = 0) -> bytes:
    """Deterministic, incompressible test content."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(b"%d:%d" % (seed, counter)).digest() * 64
        counter += 1
    return bytes(out[:size])


def hub_environment(hub: FakeHub) -> dict[str, str]:
    """Environment for a child process that talks to `hub` (and to nothing else)."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(proxy, None)
    env["HF_ENDPOINT"] = hub.url
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


def point_hub_client_at(hub: FakeHub, monkeypatch: Any) -> None:
    """Let this test's in-process `huggingface_hub` reach `hub` (and only it).

    tests/conftest.py sets HF_HUB_OFFLINE=1 before `huggingface_hub` is imported, and
    `huggingface_hub.constants` copies it at import time, so both are undone here.
    The shared HTTP client is closed so a new one is built with this environment.
    """
    from huggingface_hub import constants
    from huggingface_hub.utils import close_session

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    close_session()
