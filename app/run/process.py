"""The process runner: one command, its own process group, output streamed and capped,
a timeout, Stop, and no process left behind (reaper.py says how they are found).

Used by the Run panel (a command the user typed or confirmed) and, with `SandboxLimits`,
for code a model wrote (sandbox.py). Qt-free: the caller passes a `threading.Event` to
stop and a callback for the output; `run_process` blocks until everything is over.

stdout and stderr share one pipe, so their lines keep the order the program wrote them.
"""

from __future__ import annotations

import atexit
import codecs
import enum
import os
import re
import shlex
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from app.run.environment import run_environment
from app.run.output import HEAD_BYTES, TAIL_BYTES, CappedOutput
from app.run.reaper import RUN_TOKEN_VAR, ProcessTree
from app.run.sandbox import SandboxChild, SandboxLimits, SandboxSupport, namespace_argv, sandbox_support

DEFAULT_TIMEOUT = 600.0
_POLL_SECONDS = 0.1
_READ_BYTES = 64 * 1024
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
    network_isolated: bool = False
    writes_confined: bool = False
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

    `on_output` gets the output as text, in chunks, as it arrives (from a reader thread).
    `support` overrides what `sandbox_support()` found (tests force the weaker path).
    """
    started = time.monotonic()
    token = uuid.uuid4().hex
    env = _environment(spec, token)
    if spec.sandbox is not None and support is None:
        support = sandbox_support()
    isolated = spec.sandbox is not None and support is not None and support.namespaces

    def finish(outcome: RunOutcome, exit_code: int | None, output: CappedOutput, message: str = "") -> RunResult:
        return RunResult(
            command=spec.display,
            outcome=outcome,
            exit_code=exit_code,
            seconds=time.monotonic() - started,
            output=output.text(),
            output_bytes=output.total_bytes,
            omitted_bytes=output.omitted_bytes,
            message=message,
            network_isolated=isolated,
            writes_confined=isolated,
            limits=spec.sandbox,
        )

    captured = CappedOutput(spec.head_bytes, spec.tail_bytes)
    if not os.path.isdir(spec.cwd):
        return finish(RunOutcome.NOT_STARTED, None, captured, f"The folder {spec.cwd} does not exist")
    missing = _missing_program(spec.command, env, spec.cwd)
    if missing is not None:
        return finish(RunOutcome.NOT_FOUND, None, captured, not_found_message(missing))
    child = SandboxChild(spec.sandbox, support) if spec.sandbox is not None and support is not None else None
    try:
        return _run_started(spec, env, child, support, captured, finish, on_output, stop, started)
    finally:
        if child is not None:
            child.close()


def _run_started(
    spec: RunSpec,
    env: dict[str, str],
    child: SandboxChild | None,
    support: SandboxSupport | None,
    captured: CappedOutput,
    finish: Callable[..., RunResult],
    on_output: OutputCallback | None,
    stop: threading.Event | None,
    started: float,
) -> RunResult:
    try:
        process = subprocess.Popen(
            _argv(spec, support),
            cwd=spec.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=child.setup if child is not None else None,  # noqa: PLW1509 - system calls only
        )
    except FileNotFoundError:
        program = spec.command if isinstance(spec.command, str) else spec.command[0]
        return finish(RunOutcome.NOT_FOUND, None, captured, not_found_message(str(program)))
    except OSError as error:
        return finish(RunOutcome.NOT_STARTED, None, captured, f"Could not start the command: {error.strerror}")

    tree = ProcessTree(process.pid, env[RUN_TOKEN_VAR])
    _active.add(tree)
    assert process.stdout is not None
    reader = threading.Thread(
        target=_read_output, args=(process.stdout, captured, on_output), name="run-output", daemon=True
    )
    reader.start()
    outcome: RunOutcome | None = None
    deadline = started + spec.timeout
    try:
        while process.poll() is None:
            if stop is not None and stop.wait(_POLL_SECONDS):
                outcome = RunOutcome.STOPPED
            elif stop is None:
                time.sleep(_POLL_SECONDS)
            if outcome is None and time.monotonic() >= deadline:
                outcome = RunOutcome.TIMED_OUT
            if outcome is not None:
                break
            tree.poll()
    finally:
        tree.kill(grace=spec.kill_grace if outcome is not None else 0)  # whatever is left, also after a normal exit
        process.wait()
        _active.discard(tree)
        reader.join(timeout=5)
    code = process.returncode
    if outcome is RunOutcome.TIMED_OUT:
        return finish(outcome, None, captured, f"Stopped after the timeout of {spec.timeout:g} s")
    if outcome is RunOutcome.STOPPED:
        return finish(outcome, None, captured, "Stopped")
    if code == 0:
        return finish(RunOutcome.PASSED, 0, captured)
    if code == EXIT_NOT_FOUND and isinstance(spec.command, str):
        said = _SHELL_NOT_FOUND.search(captured.text())
        if said:
            return finish(RunOutcome.NOT_FOUND, code, captured, not_found_message(said.group("program")))
    message = f"Exited with code {code}" if code > 0 else f"Killed by signal {-code}"
    return finish(RunOutcome.FAILED, code, captured, message)


def _read_output(pipe: object, captured: CappedOutput, on_output: OutputCallback | None) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    fd = pipe.fileno()  # type: ignore[attr-defined]
    while True:
        try:
            data = os.read(fd, _READ_BYTES)
        except OSError:
            break
        if not data:
            break
        captured.add(data)
        if on_output is not None:
            text = decoder.decode(data)
            if text:
                on_output(text)
    if on_output is not None:
        rest = decoder.decode(b"", final=True)
        if rest:
            on_output(rest)
    pipe.close()  # type: ignore[attr-defined]
