"""Runs a problem's test on the model's code, in the sandbox for model-written code.

The one adapter between the quality check and the process runner (app/run: issue 18's
runner, with the limits of app/run/sandbox.py): the check only calls `run_test` and reads
`isolation_text`. Each program runs as `python -I solution.py` in a fresh temporary folder
(its working directory, HOME and TMPDIR), with limits on CPU seconds, memory, processes and
file size, in new user, network, mount and PID namespaces where the system allows them
(no network, every other folder read-only, every process killed with the first), a
timeout, and its whole process group killed at the end. Where the namespaces are not
allowed, the network is not cut and writes elsewhere are stopped only by the user's own
permissions: `isolation_text()` says so, and the Benchmarks tab shows it.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass

from app.run.process import RunSpec, run_process
from app.run.sandbox import SandboxLimits, process_limit_enforced, sandbox_folder, sandbox_support
from app.utils.units import duration

TEST_TIMEOUT_S = 10.0  # HumanEval's tests run in well under a second; a loop without end runs into this
SCRIPT = "solution.py"


@dataclass(frozen=True)
class TestLimits:
    __test__ = False  # not a pytest class

    timeout_s: float = TEST_TIMEOUT_S
    cpu_seconds: int = 10
    memory_bytes: int = 1024 * 1024 * 1024
    processes: int = 64
    file_size_bytes: int = 16 * 1024 * 1024

    def sandbox(self) -> SandboxLimits:
        return SandboxLimits(self.cpu_seconds, self.memory_bytes, self.processes, self.file_size_bytes)


@dataclass(frozen=True)
class TestRun:
    __test__ = False

    passed: bool
    outcome: str  # "passed", "failed", "timed out", "stopped", ...
    output: str  # the last part of what it wrote (why it failed)
    seconds: float


def network_namespace_available() -> bool:
    """Whether the answers' code runs without network here (the runner's namespaces work)."""
    return sandbox_support().namespaces


def isolation_text() -> str:
    """The runner's isolation in one paragraph, for the benchmark page and the docs."""
    limits = TestLimits()
    support = sandbox_support()
    processes = (
        f"{limits.processes} processes"
        if process_limit_enforced()
        else "no process limit (this system gives none to root), only the timeout"
    )
    text = (
        f"Model-written code runs in a separate process with {duration(limits.timeout_s)} to finish, "
        f"{limits.cpu_seconds} CPU seconds, {limits.memory_bytes // 2**20} MB of memory, {processes} and "
        f"{limits.file_size_bytes // 2**20} MB per file, in a fresh temporary folder; its whole process group "
        "is killed at the end. "
    )
    if support.namespaces:
        return text + "It has no network, and every folder but its own is read-only (Linux namespaces)."
    return text + (
        f"The network is NOT cut and writes elsewhere are stopped only by your own file permissions: {support.reason}."
    )


def run_test(program: str, limits: TestLimits | None = None, stop: threading.Event | None = None) -> TestRun:
    """Run `program` (the model's code and the problem's test) to its end; passed when it exits 0."""
    limits = limits or TestLimits()
    with sandbox_folder("dscoder-check-") as folder:
        with open(os.path.join(folder, SCRIPT), "w", encoding="utf-8") as handle:
            handle.write(program)
        spec = RunSpec([sys.executable, "-I", SCRIPT], cwd=folder, timeout=limits.timeout_s, sandbox=limits.sandbox())
        result = run_process(spec, stop=stop)
    return TestRun(result.passed, result.outcome.value, (result.output or result.message)[-2000:], result.seconds)
