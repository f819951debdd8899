"""The fast tier's promise: a test not marked `slow` starts no process.

tests/conftest.py wraps each phase (set-up, call, tear-down) of such a test in `guard_process_starts`,
which replaces every way Python starts a process with one that records the attempt and raises. The
test then fails with a message that says what to do, even when the code under test catches the
exception (a hardware probe that treats any failure as "no GPU", say)."""

from __future__ import annotations

import multiprocessing.process
import os
import subprocess
import traceback
from collections.abc import Callable, Generator
from typing import Any

import pytest

SLOW_MARKER = "slow"

# Fixtures that start a process (the engine, the GPU probe child) or need the real model: a test
# using one belongs to the slow tier without saying so itself.
PROCESS_FIXTURES = frozenset({"tiny_engine", "slow_prompt_model", "real_model_path"})
# Folders whose every test drives a real engine process.
SLOW_FOLDERS = ("e2e",)

_OS_STARTERS = (
    "fork",
    "forkpty",
    "posix_spawn",
    "posix_spawnp",
    "system",
    "spawnv",
    "spawnve",
    "spawnvp",
    "spawnvpe",
)


class ProcessStartInFastTier(RuntimeError):
    """Raised where a fast-tier test tries to start a process."""


def belongs_to_slow_tier(item: pytest.Item) -> bool:
    """Whether the test is slow by where it lives or by the fixtures it uses."""
    if item.path.parent.name in SLOW_FOLDERS:
        return True
    return bool(PROCESS_FIXTURES.intersection(getattr(item, "fixturenames", ())))


def mark_slow_tier(items: list[pytest.Item]) -> None:
    """Add the `slow` marker to tests that start a process through a fixture or their folder."""
    for item in items:
        if item.get_closest_marker(SLOW_MARKER) is None and belongs_to_slow_tier(item):
            item.add_marker(SLOW_MARKER)


def _refusal(what: str, attempts: list[str]) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(f"{what} from {_caller()}")
        raise ProcessStartInFastTier(_message(attempts[-1:]))

    return refuse


def _caller() -> str:
    """The innermost frame of the project (app/ or tests/) that asked for the process."""
    for frame in reversed(traceback.extract_stack()):
        in_project = f"{os.sep}app{os.sep}" in frame.filename or f"{os.sep}tests{os.sep}" in frame.filename
        if in_project and frame.filename != __file__:
            return f"{frame.filename}:{frame.lineno} ({frame.name})"
    return "outside the project"


def _message(attempts: list[str]) -> str:
    return (
        f"this test started a process ({'; '.join(dict.fromkeys(attempts))}) but is in the fast tier: "
        f"mark it `@pytest.mark.{SLOW_MARKER}` (or its module with `pytestmark`), or fake the process at the edge"
    )


def guard_process_starts(item: pytest.Item) -> Generator[None, Any, Any]:
    """A pytest hook wrapper body: run one phase of a fast-tier test with process starts refused."""
    if item.get_closest_marker(SLOW_MARKER) is not None:
        return (yield)
    attempts: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        # _execute_child, not __init__: Popen.__del__ then finds the attributes __init__ sets first.
        patch.setattr(subprocess.Popen, "_execute_child", _refusal("subprocess.Popen", attempts))
        patch.setattr(multiprocessing.process.BaseProcess, "start", _refusal("multiprocessing", attempts))
        for name in _OS_STARTERS:
            if hasattr(os, name):
                patch.setattr(os, name, _refusal(f"os.{name}", attempts))
        try:
            result = yield
        except KeyboardInterrupt:
            raise
        except BaseException:
            if not attempts:
                raise
            result = None  # the refusal's own failure: replaced by the clearer one below
    if attempts:
        pytest.fail(_message(attempts), pytrace=False)
    return result
