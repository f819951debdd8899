"""The process runner with real subprocesses: exit codes, streamed and capped output,
timeout, Stop (with a descendant that left the process group), the environment."""

from __future__ import annotations

import os
import sys
import textwrap
import threading
import time

import psutil
import pytest

from app.run.environment import run_environment
from app.run.output import CappedOutput, FeedBatch, OutputFeed
from app.run.process import RunOutcome, RunSpec, run_process, stop_all_runs

PY = sys.executable


def _py(code: str) -> list[str]:
    return [PY, "-c", textwrap.dedent(code)]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# A child that leaves the run's session (setsid), writes its pid and sleeps: the orphan
# a naive killpg would leave behind.
ESCAPER = """
import os, sys, time
pid_file = sys.argv[1]
root = os.getpid()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:  # double fork: reparented to init before anyone polls
        with open(pid_file, "w") as f:
            f.write(f"{root} {os.getpid()}")
        time.sleep(60)
        os._exit(0)
    os._exit(0)
time.sleep(60)
"""


@pytest.mark.slow
def test_a_passing_command_reports_exit_code_time_and_ordered_output(tmp_path):
    chunks: list[str] = []
    result = run_process(
        RunSpec(
            _py("import sys\nprint('out 1', flush=True)\nprint('err 2', file=sys.stderr, flush=True)\nprint('out 3')"),
            str(tmp_path),
        ),
        on_output=chunks.append,
    )
    assert result.outcome is RunOutcome.PASSED and result.passed
    assert result.exit_code == 0
    assert result.output.splitlines() == ["out 1", "err 2", "out 3"]  # stderr merged in order
    assert "".join(chunks) == result.output
    assert 0 < result.seconds < 30


@pytest.mark.slow
def test_a_failing_shell_command_reports_its_exit_code(tmp_path):
    result = run_process(RunSpec("echo failing; exit 3", str(tmp_path)))
    assert result.outcome is RunOutcome.FAILED
    assert result.exit_code == 3
    assert result.message == "Exited with code 3"
    assert result.output == "failing\n"


@pytest.mark.parametrize("command", ["no-such-tool-xyz --verbose", ["no-such-tool-xyz"], "cd . && no-such-tool-xyz"])
@pytest.mark.slow
def test_a_command_that_does_not_exist_says_so_in_one_line(tmp_path, command):
    result = run_process(RunSpec(command, str(tmp_path)))
    assert result.outcome is RunOutcome.NOT_FOUND
    assert result.message == "The command 'no-such-tool-xyz' was not found: install it or change the command"
    assert "\n" not in result.message


@pytest.mark.slow
def test_a_missing_folder_is_not_started(tmp_path):
    result = run_process(RunSpec("true", str(tmp_path / "gone")))
    assert result.outcome is RunOutcome.NOT_STARTED
    assert "does not exist" in result.message


@pytest.mark.slow
def test_the_timeout_kills_the_whole_group(tmp_path):
    pid_file = tmp_path / "child.pid"
    code = f"import subprocess, sys, time\np = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\nopen({str(pid_file)!r}, 'w').write(str(p.pid))\ntime.sleep(60)"
    started = time.monotonic()
    result = run_process(RunSpec(_py(code), str(tmp_path), timeout=1.5))
    assert result.outcome is RunOutcome.TIMED_OUT
    assert "timeout of 1.5 s" in result.message
    assert time.monotonic() - started < 10
    assert not _alive(int(pid_file.read_text()))


@pytest.mark.slow
def test_stop_kills_every_descendant_including_one_that_called_setsid(tmp_path):
    pid_file = tmp_path / "escaper.pid"
    stop = threading.Event()
    results = []
    worker = threading.Thread(
        target=lambda: results.append(
            run_process(RunSpec([PY, "-c", ESCAPER, str(pid_file)], str(tmp_path)), stop=stop)
        )
    )
    worker.start()
    deadline = time.monotonic() + 20
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    root, escaper = map(int, pid_file.read_text().split())
    assert _alive(escaper)
    assert os.getpgid(escaper) != root and os.getsid(escaper) != root  # it left the run's group and session
    stop.set()
    worker.join(timeout=20)
    assert results[0].outcome is RunOutcome.STOPPED
    assert not _alive(escaper)


@pytest.mark.slow
def test_a_normal_exit_leaves_no_daemon_behind(tmp_path):
    pid_file = tmp_path / "daemon.pid"
    daemonizing = ESCAPER.rsplit("time.sleep(60)", 1)[0] + "time.sleep(0.5)\n"  # the run itself ends quickly
    result = run_process(RunSpec([PY, "-c", daemonizing, str(pid_file)], str(tmp_path)))
    assert result.outcome is RunOutcome.PASSED
    assert not _alive(int(pid_file.read_text().split()[1]))


@pytest.mark.slow
def test_stop_all_runs_kills_runs_in_flight(tmp_path):
    pid_file = tmp_path / "escaper.pid"
    results = []
    worker = threading.Thread(
        target=lambda: results.append(run_process(RunSpec([PY, "-c", ESCAPER, str(pid_file)], str(tmp_path))))
    )
    worker.start()
    deadline = time.monotonic() + 20
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    stop_all_runs()  # what quitting the app does
    worker.join(timeout=20)
    assert not worker.is_alive()
    assert results[0].outcome is RunOutcome.FAILED  # killed by a signal it did not expect
    assert not _alive(int(pid_file.read_text().split()[1]))


@pytest.mark.slow
def test_huge_output_is_capped_head_and_tail(tmp_path):
    code = "import sys\nw = sys.stdout.write\nw('FIRST\\n')\nfor i in range(200000): w('x' * 99 + '\\n')\nw('LAST\\n')"
    result = run_process(RunSpec(_py(code), str(tmp_path), head_bytes=64 * 1024, tail_bytes=64 * 1024))
    assert result.passed
    assert result.output_bytes == 6 + 200000 * 100 + 5
    assert result.output.startswith("FIRST\n") and result.output.endswith("LAST\n")
    assert result.omitted_bytes == result.output_bytes - 128 * 1024
    assert f"… {result.omitted_bytes:,} bytes left out …" in result.output
    assert len(result.output) < 140 * 1024


def test_capped_output_keeps_everything_under_the_cap():
    capped = CappedOutput(head_bytes=4, tail_bytes=4)
    for piece in (b"ab", b"cd", b"ef"):
        capped.add(piece)
    assert capped.text() == "abcdef" and capped.omitted_bytes == 0
    capped.add(b"ghijklmnop")
    assert capped.omitted_bytes == 16 - 8
    assert capped.text().startswith("abcd") and capped.text().endswith("mnop")


@pytest.mark.slow
def test_the_environment_leaves_out_the_apps_secrets(tmp_path, monkeypatch):
    for name in ("HF_TOKEN", "OPENAI_API_KEY", "DSCODER_ENGINE_API_KEY", "DSCODER_REMOTE_TOKEN"):
        monkeypatch.setenv(name, "secret-value")
    monkeypatch.setenv("MY_OWN_VAR", "kept")
    env = run_environment()
    assert "MY_OWN_VAR" in env and "DSCODER_HOME" in env
    result = run_process(
        RunSpec(
            _py(
                "import os\nprint(sorted(k for k, v in os.environ.items() if v == 'secret-value'))\nprint(os.environ['MY_OWN_VAR'])"
            ),
            str(tmp_path),
        )
    )
    assert result.output.splitlines() == ["[]", "kept"]


def test_the_output_feed_keeps_the_head_and_a_rolling_tail():
    feed = OutputFeed(head_chars=5, tail_chars=4)
    assert feed.take() is None
    feed.write("abc")
    assert feed.take() == FeedBatch("abc", None, 0)
    feed.write("defghij")
    assert feed.take() == FeedBatch("de", "fghij"[-4:], 1)
    for _ in range(1000):
        feed.write("0123456789")
    batch = feed.take()
    assert batch is not None and batch.head == "" and batch.tail == "6789"
    assert batch.omitted_chars == 5 + 10_000 - 4
