"""Starts, watches, restarts and stops the engine child process (Qt-free).

The model never runs in the GUI process: llama.cpp aborts the whole process on some
errors, and the editor's unsaved text must survive that. The supervisor starts
`python -m app.engine.main` (or the bundled executable in engine mode), waits for
its READY line, and turns every way it can die into an EngineError whose message
names the cause found in the last lines of its log.

No orphan engine: the child gets a stdin pipe and exits when it closes (the parent
died, however it died), and on Linux also PR_SET_PDEATHSIG.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.protocol.options import LoadOptions
from app.protocol.startup_marks import FAILED_MARK, READY_MARK
from app.utils import paths
from app.utils.allocator import engine_malloc_env
from app.utils.errors import CancelledError, EngineError, ModelFileError

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"

# Known llama.cpp log lines and what they mean for the user, most specific first.
_LOG_CAUSES: list[tuple[re.Pattern[str], str, str]] = [
    (
        re.compile(r"unknown model architecture: '([^']+)'"),
        "The model's architecture '{0}' is not supported by this llama.cpp build",
        "Use a model that llama.cpp supports, or update the app",
    ),
    (
        re.compile(
            r"(tensor '[^']*' data is not within the file bounds|file is truncated|failed to read tensor|unexpectedly reached end of file)"
        ),
        "The model file is truncated or corrupt ({0})",
        "Download the file again; the app verifies downloads so this does not happen twice",
    ),
    (
        re.compile(
            r"(failed to allocate [^\n]*|out of memory|cudaMalloc failed[^\n]*|ggml_backend_[a-z_]*alloc[^\n]*failed)",
            re.I,
        ),
        "The engine ran out of memory while loading or running the model ({0})",
        "Choose a smaller quantization, fewer GPU layers, or a smaller context",
    ),
    (
        re.compile(
            r"(invalid magic characters[^\n]*|not a gguf file|failed to load model from [^\n]*|gguf_init_from_file[^\n]*failed[^\n]*)",
            re.I,
        ),
        "llama.cpp could not read the model file ({0})",
        "Check that the file is a complete GGUF model",
    ),
]


@dataclass(frozen=True)
class EngineEndpoint:
    """Where a running engine listens."""

    base_url: str  # e.g. http://127.0.0.1:43121/v1
    api_key: str
    pid: int
    info: dict[str, object]


def check_model_file(path: str) -> None:
    """Fail fast with a clear message before starting an engine for a bad path."""
    if not path:
        raise ModelFileError("No model file was given", "Pass --model PATH, or choose a model in the app")
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelFileError(
            f"No model file at {p}", "Check the path, or download a model with 'dscoder models download'"
        )
    if p.is_dir():
        raise ModelFileError(f"{p} is a folder, not a model file", "Pass the path of a .gguf file")
    try:
        with p.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ModelFileError(f"Cannot read {p}: {exc.strerror}", "Check the file's permissions") from exc
    if magic != GGUF_MAGIC:
        raise ModelFileError(f"{p.name} is not a GGUF model file", "Use a .gguf file made for llama.cpp")
    # A truncated or corrupt file is diagnosed by the engine when llama.cpp fails to load it
    # (app/engine/model_file.py, with both sizes): parsing the whole header here would cost
    # seconds on every start.


def engine_command() -> list[str]:
    """The command that starts an engine: this Python, or the frozen bundle in engine mode."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--engine"]
    return [sys.executable, "-m", "app.engine.main"]


def _set_parent_death_signal() -> None:
    # Runs in the child between fork and exec (Linux only): die with the parent.
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def explain_death(returncode: int | None, log_tail: str) -> EngineError:
    """An EngineError naming why the engine stopped, from its exit status and log."""
    for pattern, what, todo in _LOG_CAUSES:
        match = pattern.search(log_tail)
        if match:
            return EngineError(what.format(*(match.groups() or (match.group(0),))), todo, detail=log_tail)
    if returncode is not None and returncode < 0:
        sig = -returncode
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        hint = " (the system may have run out of memory)" if sig == signal.SIGKILL else ""
        return EngineError(f"The engine was killed by signal {name}{hint}", "Restart the engine", detail=log_tail)
    last = next((line for line in reversed(log_tail.splitlines()) if line.strip()), "")
    return EngineError(
        f"The engine stopped unexpectedly (exit code {returncode})" + (f": {last.strip()[:200]}" if last else ""),
        "Restart the engine; the log has details",
        detail=log_tail,
    )


@dataclass
class _Announcements:
    """What the engine said on stdout while starting: its ready line or its failure."""

    ready: dict[str, Any] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)


class EngineSupervisor:
    """One engine child process for one set of load options."""

    def __init__(
        self,
        options: LoadOptions,
        *,
        ready_timeout: float = 300.0,
        log_path: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.options = options
        self.ready_timeout = ready_timeout
        self.host = host
        self.port = port
        self.log_path = log_path or paths.log_dir() / "engine.log"
        self.api_key = secrets.token_urlsafe(24)
        self.keyless = False  # let other programs in without the key (a loopback address only)
        self.process: subprocess.Popen[bytes] | None = None
        self.endpoint: EngineEndpoint | None = None
        self._stdout_lines: deque[str] = deque(maxlen=200)
        self._lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------
    def start(self, cancel: threading.Event | None = None) -> EngineEndpoint:
        """Start the engine and wait until it serves; raise EngineError on any failure."""
        check_model_file(self.options.model_path)
        self.stop()
        self.process = self._spawn()
        announced = _Announcements()
        self._reader = threading.Thread(
            target=self._read_stdout, args=(self.process, announced), name="engine-stdout", daemon=True
        )
        self._reader.start()
        self._wait_for(announced.done, cancel)
        if announced.failed:
            self._reap()
            failed = announced.failed
            kind = ModelFileError if failed.get("kind") == "ModelFileError" else EngineError
            raise kind(failed.get("what", "The engine failed to start"), failed.get("todo", ""), detail=self.log_tail())
        if not announced.ready:
            code = self._reap()
            raise explain_death(code, self.log_tail())
        port = int(announced.ready["port"])
        # The window talks to its engine on loopback, whichever address it listens on.
        local = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        host = f"[{local}]" if ":" in local else local
        self.endpoint = EngineEndpoint(
            f"http://{host}:{port}/v1", self.api_key, self.process.pid, dict(announced.ready.get("info") or {})
        )
        return self.endpoint

    def _spawn(self) -> subprocess.Popen[bytes]:
        """The engine process, its stderr into the log file, its stdout for the announcements."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_start = 0
        cmd = [*engine_command(), *self.options.to_argv(), "--host", self.host, "--port", str(self.port)]
        cmd.append("--watch-stdin")
        if self.keyless:
            cmd.append("--keyless-loopback")
        env = dict(os.environ, DSCODER_ENGINE_API_KEY=self.api_key, PYTHONUNBUFFERED="1")
        env = {**engine_malloc_env(), **env}  # the user's own MALLOC_* settings win
        log.info("starting engine: %s", " ".join(cmd))
        with self.log_path.open("wb") as log_file:
            return subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log_file,
                env=env,
                preexec_fn=_set_parent_death_signal if sys.platform.startswith("linux") else None,
                start_new_session=False,
            )

    def _read_stdout(self, proc: subprocess.Popen[bytes], announced: _Announcements) -> None:
        """On the reader thread: keep the engine's stdout lines, catch its ready or failed line."""
        assert proc.stdout is not None
        try:
            for raw in proc.stdout:
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                self._stdout_lines.append(line)
                if line.startswith(READY_MARK):
                    announced.ready.update(json.loads(line[len(READY_MARK) :]))
                    announced.done.set()
                elif line.startswith(FAILED_MARK):
                    announced.failed.update(json.loads(line[len(FAILED_MARK) :]))
                    announced.done.set()
        finally:
            proc.stdout.close()
            announced.done.set()

    def _wait_for(self, done: threading.Event, cancel: threading.Event | None) -> None:
        """Until the engine announced itself or ended; a cancel or the ready timeout stops it."""
        deadline = time.monotonic() + self.ready_timeout
        while not done.wait(0.05):
            if cancel is not None and cancel.is_set():
                self.stop()
                raise CancelledError("Loading the model was cancelled")
            if time.monotonic() > deadline:
                self.stop()
                raise EngineError(
                    f"The engine did not become ready within {self.ready_timeout:.0f} s",
                    "The model may be too large for this machine; try a smaller one",
                    detail=self.log_tail(),
                )

    def restart(self, cancel: threading.Event | None = None) -> EngineEndpoint:
        self.stop()
        return self.start(cancel)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the engine: close its stdin, then SIGTERM, then SIGKILL."""
        proc, self.process, self.endpoint = self.process, None, None
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()  # the engine saves its prompt states (4 s at most) and exits
            proc.wait(timeout=timeout)
        except (subprocess.TimeoutExpired, OSError):
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._join_reader()

    def _join_reader(self) -> None:
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.join(timeout=2.0)

    def _reap(self) -> int | None:
        proc = self.process
        if proc is None:
            return None
        try:
            return proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()
        finally:
            self.process = None
            if proc.stdin:
                proc.stdin.close()
            self._join_reader()

    # -- state -------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def death(self) -> EngineError | None:
        """If the engine has died since it started, why; None while it runs (or was stopped)."""
        proc = self.process
        if proc is None:
            return None
        code = proc.poll()
        if code is None:
            return None
        return explain_death(code, self.log_tail())

    def log_tail(self, lines: int = 30) -> str:
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(0, os.SEEK_END)
                size = handle.tell()
                handle.seek(max(0, size - 16384))
                text = handle.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> EngineSupervisor:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
