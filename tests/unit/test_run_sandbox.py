"""The runner's limits for model-written code, each tried for real: time, memory,
processes (a fork bomb), file size, writes outside its folder, and the network (cut where
namespaces work; the weaker path, forced, says it is not cut)."""

from __future__ import annotations

import socket
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from app.run.process import RunOutcome, RunResult, RunSpec, run_process
from app.run.sandbox import SandboxLimits, SandboxSupport, process_limit_enforced, sandbox_folder, sandbox_support

pytestmark = pytest.mark.slow  # every test runs code in the sandbox
PY = sys.executable
NO_NAMESPACES = SandboxSupport.without_namespaces("forced by the test")
needs_namespaces = pytest.mark.skipif(
    not sandbox_support().namespaces, reason=f"no namespaces here: {sandbox_support().reason}"
)


DEFAULT_LIMITS = SandboxLimits()


def _sandboxed(code: str, limits: SandboxLimits = DEFAULT_LIMITS, *, timeout: float = 30, support=None) -> RunResult:
    with sandbox_folder() as folder:
        Path(folder, "solution.py").write_text(textwrap.dedent(code))
        return run_process(RunSpec([PY, "solution.py"], folder, timeout=timeout, sandbox=limits), support=support)


def test_what_the_machine_allows_is_found_and_explained():
    support = sandbox_support()
    assert support is sandbox_support()  # probed once
    assert support.namespaces or support.reason  # where they are missing, the reason is shown to the user


@pytest.mark.parametrize("support", [None, NO_NAMESPACES], ids=["namespaces", "plain"])
def test_ordinary_code_runs_and_writes_its_own_folder(support):
    result = _sandboxed(
        "import os, tempfile\nopen('out.txt', 'w').write('x')\nprint(open('out.txt').read(), os.environ['HOME'] == os.getcwd())",
        support=support,
    )
    assert result.passed, result.output
    assert result.output.strip() == "x True"


def test_cpu_time_is_limited():
    result = _sandboxed("while True: pass", SandboxLimits(cpu_seconds=1), timeout=30)
    assert result.outcome is RunOutcome.FAILED
    assert result.message == "Killed by SIGXCPU (the CPU-time limit)"
    assert result.seconds < 15


def test_the_timeout_stops_code_that_sleeps():
    result = _sandboxed("import time\ntime.sleep(60)", timeout=1)
    assert result.outcome is RunOutcome.TIMED_OUT


@pytest.mark.parametrize("support", [None, NO_NAMESPACES], ids=["namespaces", "plain"])
def test_memory_is_limited(support):
    result = _sandboxed(
        "try:\n    block = bytearray(2 * 1024**3)\nexcept MemoryError:\n    print('refused')\nelse:\n    print('allocated')",
        SandboxLimits(memory_bytes=512 * 1024**2),
        support=support,
    )
    assert result.output.strip() == "refused", result.output


@pytest.mark.parametrize("support", [None, NO_NAMESPACES], ids=["namespaces", "plain"])
def test_a_fork_bomb_is_stopped(support):
    result = _sandboxed(
        """
        import os, time
        made = 0
        try:
            for _ in range(500):
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                made += 1
        except OSError:
            print('fork refused after', made, flush=True)
        """,
        SandboxLimits(processes=16),
        timeout=20,
        support=support,
    )
    assert result.seconds < 15  # the sleeping children did not keep the run alive
    assert result.processes_limited == process_limit_enforced()
    if result.processes_limited:
        assert "fork refused after" in result.output, result.output
        assert int(result.output.split()[-1]) <= 16
    else:  # root without a pids cgroup: the kernel exempts root; the run still ends with every child killed
        assert "fork refused" not in result.output


def test_file_size_is_limited():
    result = _sandboxed(
        "try:\n    open('big', 'wb').write(b'x' * (8 * 1024**2))\nexcept OSError as e:\n    print('refused', e.errno)\nelse:\n    print('written')",
        SandboxLimits(file_size_bytes=1024**2),
    )
    # SIGXFSZ kills the process unless ignored; Python ignores it, so the write fails with EFBIG
    assert "refused" in result.output or result.outcome is RunOutcome.FAILED, result.output


@needs_namespaces
def test_writes_outside_the_folder_are_refused(tmp_path):
    target = tmp_path / "outside.txt"
    tmp_path.chmod(0o777)  # writable by anyone: only the read-only mounts stop it
    result = _sandboxed(
        f"try:\n    open({str(target)!r}, 'w').write('escaped')\nexcept OSError as e:\n    print('refused', e.strerror)\nelse:\n    print('written')"
    )
    assert result.output.startswith("refused"), result.output
    assert result.writes_confined
    assert not target.exists()


@pytest.fixture
def loopback_server():
    """A TCP server on 127.0.0.1 that answers 'hello' to whoever connects."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            with connection:
                connection.sendall(b"hello")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    server.close()


CONNECT = """
import socket
try:
    with socket.create_connection(("127.0.0.1", {port}), timeout=3) as s:
        print("connected", s.recv(5).decode())
except OSError as e:
    print("no network:", e.strerror or e)
"""


@needs_namespaces
def test_the_network_is_cut(loopback_server):
    result = _sandboxed(CONNECT.format(port=loopback_server))
    assert result.network_isolated
    assert result.output.startswith("no network"), result.output


def test_without_namespaces_the_network_is_not_cut_and_the_result_says_so(loopback_server):
    result = _sandboxed(CONNECT.format(port=loopback_server), support=NO_NAMESPACES)
    assert not result.network_isolated and not result.writes_confined
    assert result.output.strip() == "connected hello"


def test_a_sandbox_folder_is_removed_after_use():
    with sandbox_folder() as folder:
        Path(folder, "x").write_text("x")
    assert not Path(folder).exists()
