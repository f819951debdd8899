"""Runs a problem's test on the model's code, in the sandbox for model-written code.

The one adapter between the quality check and the process runner: the check only calls
`run_test` and reads `isolation_text`.

The runner (issue 18's process runner) was not on main when the check was written, so
this module holds a minimal one with the same limits, to be replaced by a call to it:

- a separate Python process (`-I`: isolated mode, no user site, no PYTHON* variables),
  in its own session, so its whole process group is killed at the end (SIGKILL) and on a
  timeout;
- resource limits set in the child before the code runs: CPU seconds, address space,
  processes (RLIMIT_NPROC; not enforced for root), file size, no core files;
- a fresh temporary folder as its working directory, HOME and TMPDIR, removed after;
  writes elsewhere are limited only by the user's own permissions;
- no network where `unshare --net` can make a network namespace (a user namespace with
  the user mapped to root, then the network one); otherwise the code can reach the
  network, and `isolation_text()` says so.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

try:
    import resource
except ImportError:  # Windows: no rlimits
    resource = None  # type: ignore[assignment]

TEST_TIMEOUT_S = 10.0  # HumanEval's tests run in well under a second; a loop without end runs into this
_UNSHARE = ("unshare", "--user", "--map-root-user", "--net")


@dataclass(frozen=True)
class TestLimits:
    __test__ = False  # not a pytest class

    timeout_s: float = TEST_TIMEOUT_S
    cpu_seconds: int = 10
    memory_bytes: int = 1024 * 1024 * 1024
    processes: int = 64
    file_size_bytes: int = 16 * 1024 * 1024


@dataclass(frozen=True)
class TestRun:
    __test__ = False

    passed: bool
    outcome: str  # "passed", "failed", "timed out", "stopped"
    output: str  # the last lines of what it wrote (why it failed)
    seconds: float


@functools.cache
def network_namespace_available() -> bool:
    """Whether `unshare` can give a child its own (empty) network namespace here; tried once."""
    if shutil.which("unshare") is None:
        return False
    try:
        done = subprocess.run([*_UNSHARE, "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def isolation_text() -> str:
    """The runner's isolation in one paragraph, for the benchmark page and the docs."""
    limits = TestLimits()
    network = (
        "no network (a new network namespace)"
        if network_namespace_available()
        else "network NOT cut: this system does not allow a new network namespace, so the code could reach the network"
    )
    return (
        f"Model-written code runs in a separate process with {limits.timeout_s:.0f} s to finish, "
        f"{limits.cpu_seconds} CPU seconds, {limits.memory_bytes // 2**20} MB of memory, "
        f"{limits.processes} processes and {limits.file_size_bytes // 2**20} MB per file; its working folder is a "
        f"fresh temporary folder (writes elsewhere are stopped only by your own file permissions); {network}; "
        "its whole process group is killed at the end."
    )


def _limit_child(limits: TestLimits) -> None:
    """In the child between fork and exec: only system calls."""
    if resource is None:
        return
    for which, value in (
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_AS, limits.memory_bytes),
        (resource.RLIMIT_NPROC, limits.processes),
        (resource.RLIMIT_FSIZE, limits.file_size_bytes),
        (resource.RLIMIT_CORE, 0),
    ):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(which, (value, value))


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def run_test(program: str, limits: TestLimits | None = None, stop: threading.Event | None = None) -> TestRun:
    """Run `program` (the model's code and the problem's test) to its end; passed when it exits 0."""
    limits = limits or TestLimits()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dscoder-check-") as folder:
        script = os.path.join(folder, "solution.py")
        with open(script, "w", encoding="utf-8") as handle:
            handle.write(program)
        argv = [sys.executable, "-I", script]
        if network_namespace_available():
            argv = [*_UNSHARE, *argv]
        env = {"PATH": os.environ.get("PATH", ""), "HOME": folder, "TMPDIR": folder, "LANG": "C.UTF-8"}
        # Output goes to a file (capped by the file-size limit), not a pipe a stuck child could hold open.
        with open(os.path.join(folder, "output.txt"), "w+b") as output_file:
            process = subprocess.Popen(
                argv,
                cwd=folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=functools.partial(_limit_child, limits),
            )
            try:
                outcome = _wait(process, limits.timeout_s, stop)
            finally:
                _kill_group(process)  # whatever it left running, also when Ctrl+C ends the wait
            output_file.seek(max(0, os.fstat(output_file.fileno()).st_size - 2000))
            tail = output_file.read().decode("utf-8", "replace")
        if outcome is None:
            outcome = "passed" if process.returncode == 0 else "failed"
    return TestRun(outcome == "passed", outcome, tail, time.monotonic() - started)


def _wait(process: subprocess.Popen[bytes], timeout_s: float, stop: threading.Event | None) -> str | None:
    """None when it ended by itself; "timed out" or "stopped" when it was killed."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            process.wait(timeout=0.05)
            return None
        except subprocess.TimeoutExpired:
            pass
        if stop is not None and stop.is_set():
            _kill_group(process)
            process.wait()
            return "stopped"
        if time.monotonic() >= deadline:
            _kill_group(process)
            process.wait()
            return "timed out"
