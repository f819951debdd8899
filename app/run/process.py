"""The process runner: one command, its own process group, output streamed and capped,
a timeout, Stop, and no process left behind (reaper.py says how they are found).

Used by the Run panel (a command the user typed or confirmed) and, with `SandboxLimits`,
for code a model wrote (sandbox.py). Qt-free: the caller passes a `threading.Event` to
stop and a callback for the output; `run_process` blocks until everything is over.

stdout and stderr share one pipe, so their lines keep the order the program wrote them.
POSIX only (Linux, macOS): on Windows a run reports that it cannot start.
"""

from __future__ import annotations

import atexit
import codecs
import enum
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

from app.run.environment import run_environment
from app.run.output import HEAD_BYTES, TAIL_BYTES, CappedOutput
from app.run.reaper import RUN_TOKEN_VAR, ProcessTree
from app.run.sandbox import (
    SandboxChild,
    SandboxLimits,
    SandboxSupport,
    namespace_argv,
    process_limit_enforced,
    sandbox_support,
)

DEFAULT_TIMEOUT = 600.0
_POLL_SECONDS = 0.1
_READ_BYTES = 64 * 1024
_DRAIN_SECONDS = 5.0  # reading the rest after the run, at most
EXIT_NOT_FOUND = 127  # what a POSIX shell returns for a command it cannot find

OutputCallback = Callable[[str], None]


class RunOutcome(enum.Enum):
    PASSED = "passed"  # exit code 0
    FAILED = "failed"  # another exit code, or killed by a signal it raised itself
    TIMED_OUT = "timed out"
    STOPPED = "stopped"
    NOT_FOUND = "not found"  # the command does not exist
    NOT_STARTED = "not started"  # the folder is missing, permission denied, ...


@dataclass(frozen=True)
class RunSpec:
    """What to run. A string command goes through the shell (`/bin/sh -c`), as the user typed it."""

    command: str | Sequence[str]
    cwd: str
    timeout: float = DEFAULT_TIMEOUT
    env: Mapping[str, str] | None = None  # None: the user's environment without the app's secrets
    sandbox: SandboxLimits | None = None  # set for model-written code; cwd is then its only writable folder
    head_bytes: int = HEAD_BYTES
    tail_bytes: int = TAIL_BYTES
    kill_grace: float = 0.5  # seconds between SIGTERM and SIGKILL when stopped or timed out

    @property
    def display(self) -> str:
        return self.command if isinstance(self.command, str) else shlex.join(self.command)


@dataclass(frozen=True)
class RunResult:
    command: str
    outcome: RunOutcome
    exit_code: int | None  # None when it never started or was killed by us
    seconds: float
    output: str  # capped: head, a marker saying how much was left out, tail
    output_bytes: int  # everything it wrote
    omitted_bytes: int
    message: str = ""  # one line for the user when it did not pass
    network_isolated: bool = False  # sandbox: a network namespace cut it
    writes_confined: bool = False  # sandbox: everything but its folder was read-only
    processes_limited: bool = False  # sandbox: the process budget was enforced (sandbox.process_limit_enforced)
    limits: SandboxLimits | None = field(default=None)

    @property
    def passed(self) -> bool:
        return self.outcome is RunOutcome.PASSED


class _ActiveRuns:
    """Runs in flight, so that quitting the app kills them too (atexit, or the window's shutdown)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._trees: set[ProcessTree] = set()

    def add(self, tree: ProcessTree) -> None:
        with self._lock:
            self._trees.add(tree)

    def discard(self, tree: ProcessTree) -> None:
        with self._lock:
            self._trees.discard(tree)

    def kill_all(self) -> None:
        with self._lock:
            trees = list(self._trees)
        for tree in trees:
            tree.kill(grace=0)


_active = _ActiveRuns()
atexit.register(_active.kill_all)


def stop_all_runs() -> None:
    """Kill every run in flight at once, without waiting for their threads (app quit)."""
    _active.kill_all()


def _missing_program(command: str | Sequence[str], env: Mapping[str, str], cwd: str) -> str | None:
    """The program's name when the command's first word is a program that is not there."""
    if isinstance(command, str):
        try:
            words = shlex.split(command)
        except ValueError:
            return None
        if not words or any(ch in command for ch in ";&|<>()$`") or "=" in words[0]:
            return None  # shell syntax: let the shell decide (it exits 127)
        if words[0] in _SHELL_BUILTINS:
            return None
    else:
        words = list(command)
    program = words[0] if words else ""
    if not program:
        return None
    if os.sep in program:
        return None if os.path.exists(os.path.join(cwd, program)) else program
    return None if shutil.which(program, path=env.get("PATH", os.defpath)) else program


# dash: "sh: 1: tool: not found"; bash: "bash: line 1: tool: command not found"
_SHELL_NOT_FOUND = re.compile(r"(?m)^\S*sh: (?:line )?\d+: (?P<program>[^:\n]+): (?:command )?not found$")
_SHELL_BUILTINS = frozenset(
    "cd exit export set unset true false test [ echo printf exec eval read source . : command type ulimit".split()
)


def not_found_message(program: str) -> str:
    return f"The command '{program}' was not found: install it or change the command"


def _argv(spec: RunSpec, support: SandboxSupport | None) -> list[str]:
    argv = ["/bin/sh", "-c", spec.command] if isinstance(spec.command, str) else list(spec.command)
    if spec.sandbox is not None and support is not None and support.namespaces:
        argv = namespace_argv(spec.cwd, spec.sandbox.processes) + argv
    return argv


def _environment(spec: RunSpec, token: str) -> dict[str, str]:
    """The run's environment: the user's (or the spec's), its token; a sandbox's HOME and TMPDIR in its folder."""
    env = dict(spec.env) if spec.env is not None else run_environment()
    if spec.sandbox is not None:
        env.update(HOME=spec.cwd, TMPDIR=spec.cwd, TMP=spec.cwd, TEMP=spec.cwd, PYTHONDONTWRITEBYTECODE="1")
    env[RUN_TOKEN_VAR] = token
    return env


def run_process(
    spec: RunSpec,
    *,
    on_output: OutputCallback | None = None,
    stop: threading.Event | None = None,
    support: SandboxSupport | None = None,
) -> RunResult:
    """Run `spec` to its end: exit, timeout or `stop` set. Blocks; call it off the GUI thread.

    `on_output` gets the output as text, in chunks, as it arrives (on the calling thread).
    `support` overrides what `sandbox_support()` found (tests force the weaker path).
    """
    if spec.sandbox is not None and support is None:
        support = sandbox_support()
    return _Run(spec, support if spec.sandbox is not None else None).run(on_output, stop)


class _Run:
    """One run's state, from the checks before it starts to its result."""

    def __init__(self, spec: RunSpec, support: SandboxSupport | None) -> None:
        self.spec = spec
        self.support = support
        self.isolated = support is not None and support.namespaces
        self.started = time.monotonic()
        self.env = _environment(spec, uuid.uuid4().hex)
        self.captured = CappedOutput(spec.head_bytes, spec.tail_bytes)

    def finish(self, outcome: RunOutcome, exit_code: int | None, message: str = "") -> RunResult:
        return RunResult(
            command=self.spec.display,
            outcome=outcome,
            exit_code=exit_code,
            seconds=time.monotonic() - self.started,
            output=self.captured.text(),
            output_bytes=self.captured.total_bytes,
            omitted_bytes=self.captured.omitted_bytes,
            message=message,
            network_isolated=self.isolated,
            writes_confined=self.isolated,
            processes_limited=self.spec.sandbox is not None and process_limit_enforced(),
            limits=self.spec.sandbox,
        )

    def run(self, on_output: OutputCallback | None, stop: threading.Event | None) -> RunResult:
        spec = self.spec
        if os.name != "posix":  # process groups, select on pipes and rlimits are POSIX; not built for Windows yet
            return self.finish(RunOutcome.NOT_STARTED, None, "Running commands from the app needs Linux or macOS")
        if not os.path.isdir(spec.cwd):
            return self.finish(RunOutcome.NOT_STARTED, None, f"The folder {spec.cwd} does not exist")
        missing = _missing_program(spec.command, self.env, spec.cwd)
        if missing is not None:
            return self.finish(RunOutcome.NOT_FOUND, None, not_found_message(missing))
        child = SandboxChild(spec.sandbox, self.support) if spec.sandbox and self.support else None
        try:
            process = subprocess.Popen(
                _argv(spec, self.support),
                cwd=spec.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=child.setup if child is not None else None,  # noqa: PLW1509 - system calls only
            )
        except FileNotFoundError:
            program = spec.command if isinstance(spec.command, str) else spec.command[0]
            return self.finish(RunOutcome.NOT_FOUND, None, not_found_message(str(program)))
        except OSError as error:
            return self.finish(RunOutcome.NOT_STARTED, None, f"Could not start the command: {error.strerror}")
        try:
            outcome = self._wait(process, on_output, stop)
        finally:
            if child is not None:
                child.close()
        return self._result(outcome, process.returncode)

    def _wait(
        self, process: subprocess.Popen[bytes], on_output: OutputCallback | None, stop: threading.Event | None
    ) -> RunOutcome | None:
        """Until it exits (None), is stopped or times out, reading its output meanwhile (on this
        thread: the pipe is polled with a timeout); then nothing of it is left."""
        tree = ProcessTree(process.pid, self.env[RUN_TOKEN_VAR])
        _active.add(tree)
        assert process.stdout is not None
        reader = _PipeReader(process.stdout, self.captured, on_output)
        outcome: RunOutcome | None = None
        deadline = self.started + self.spec.timeout
        next_poll = 0.0
        try:
            while True:
                reader.read_for(_POLL_SECONDS)
                if process.poll() is not None:
                    break
                if stop is not None and stop.is_set():
                    outcome = RunOutcome.STOPPED
                    break
                now = time.monotonic()
                if now >= deadline:
                    outcome = RunOutcome.TIMED_OUT
                    break
                if now >= next_poll:  # not once per chunk: a chatty run would make this a busy scan
                    tree.poll()
                    next_poll = now + _POLL_SECONDS
        finally:
            try:
                tree.kill(grace=self.spec.kill_grace if outcome is not None else 0)  # also leftovers of a normal exit
            finally:
                process.kill()  # the first process, whatever happened above (a no-op once it is reaped)
                process.wait()
                _active.discard(tree)
                reader.drain(_DRAIN_SECONDS)
        return outcome

    def _result(self, outcome: RunOutcome | None, code: int) -> RunResult:
        if outcome is RunOutcome.TIMED_OUT:
            return self.finish(outcome, None, f"Stopped after the timeout of {self.spec.timeout:g} s")
        if outcome is RunOutcome.STOPPED:
            return self.finish(outcome, None, "Stopped")
        if code == 0:
            return self.finish(RunOutcome.PASSED, 0)
        if code == EXIT_NOT_FOUND and isinstance(self.spec.command, str):
            said = _SHELL_NOT_FOUND.search(self.captured.text())
            if said:
                return self.finish(RunOutcome.NOT_FOUND, code, not_found_message(said.group("program")))
        if self.isolated and code - 128 in _LIMIT_SIGNAL_NUMBERS:
            code = 128 - code  # the namespace's shell reported a signal as 128 + N
        message = f"Exited with code {code}" if code > 0 else f"Killed by {_signal_name(-code)}"
        return self.finish(RunOutcome.FAILED, code, message)


_LIMIT_SIGNALS = {"SIGXCPU": "the CPU-time limit", "SIGXFSZ": "the file-size limit"}
# Deaths the namespace's shell reports as 128 + N: the limits' signals, and SIGKILL.
_LIMIT_SIGNAL_NUMBERS = frozenset(
    int(getattr(signal, name)) for name in (*_LIMIT_SIGNALS, "SIGKILL") if hasattr(signal, name)
)


def _signal_name(number: int) -> str:
    try:
        name = signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
    return f"{name} ({_LIMIT_SIGNALS[name]})" if name in _LIMIT_SIGNALS else name


class _PipeReader:
    """The run's output pipe, read without a thread: `select` waits for data with a timeout."""

    def __init__(self, pipe: IO[bytes], captured: CappedOutput, on_output: OutputCallback | None) -> None:
        self._pipe = pipe
        self._fd = pipe.fileno()
        os.set_blocking(self._fd, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._fd, selectors.EVENT_READ)
        self._captured = captured
        self._on_output = on_output
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.closed = False

    def read_for(self, seconds: float) -> None:
        """Wait up to `seconds` for output and take all there is; at end of file, just wait."""
        if self.closed:
            time.sleep(seconds)
            return
        if not self._selector.select(seconds):
            return
        while True:
            try:
                data = os.read(self._fd, _READ_BYTES)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._close()
                return
            self._captured.add(data)
            if self._on_output is not None:
                text = self._decoder.decode(data)
                if text:
                    self._on_output(text)

    def drain(self, seconds: float) -> None:
        """After the run: what is left in the pipe, until its end (every writer is dead by now)."""
        deadline = time.monotonic() + seconds
        while not self.closed and time.monotonic() < deadline:
            self.read_for(0.05)
        self._close()

    def _close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._on_output is not None:
            rest = self._decoder.decode(b"", final=True)
            if rest:
                self._on_output(rest)
        self._selector.close()
        self._pipe.close()
