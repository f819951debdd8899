"""The fast tier's guard: a test without the `slow` marker that starts a process fails, naming
the line that started it; tests that start processes through fixtures or their folder are slow."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.process_guard import SLOW_MARKER, ProcessStartInFastTier, guard_process_starts, mark_slow_tier


class FakeItem:
    """The parts of a pytest item the guard reads."""

    def __init__(self, path: str = "tests/unit/test_x.py", fixtures: tuple[str, ...] = (), slow: bool = False) -> None:
        self.path = Path(path)
        self.fixturenames = fixtures
        self.markers = [SLOW_MARKER] if slow else []

    def get_closest_marker(self, name: str) -> str | None:
        return name if name in self.markers else None

    def add_marker(self, name: str) -> None:
        self.markers.append(name)


def start_in_a_guarded_phase(start) -> str:
    """Run `start` as a fast-tier test phase would; the failure message the phase ends with."""
    phase = guard_process_starts(FakeItem())
    next(phase)
    with pytest.raises(ProcessStartInFastTier):
        start()
    with pytest.raises(pytest.fail.Exception) as failure:
        phase.send(None)
    return str(failure.value)


@pytest.mark.parametrize(
    "start",
    [
        lambda: subprocess.run(["true"], check=False),
        lambda: multiprocessing.get_context("spawn").Process(target=print).start(),
        lambda: os.fork(),
        lambda: os.posix_spawn("/bin/true", ["true"], {}),
    ],
    ids=["subprocess", "multiprocessing", "fork", "posix_spawn"],
)
def test_a_fast_test_that_starts_a_process_fails_and_names_the_line(start):
    message = start_in_a_guarded_phase(start)
    assert "fast tier" in message and "@pytest.mark.slow" in message
    assert "test_process_guard.py" in message  # where the process was asked for


def test_a_refusal_the_code_swallows_still_fails_the_test():
    phase = guard_process_starts(FakeItem())
    next(phase)
    try:
        subprocess.run(["nvidia-smi"], check=False)
    except RuntimeError:  # as a hardware probe does: a failure means "no GPU"
        pass
    with pytest.raises(pytest.fail.Exception, match="subprocess.Popen from .*test_process_guard.py"):
        phase.send(None)


def test_the_slow_tier_is_marked_by_folder_and_by_process_fixtures():
    items = [
        FakeItem("tests/e2e/test_engine.py"),
        FakeItem("tests/gui/test_x.py", fixtures=("qtbot", "tiny_engine")),
        FakeItem("tests/unit/test_x.py", fixtures=("real_model_path",)),
        FakeItem("tests/unit/test_x.py", fixtures=("tmp_path", "tiny_models")),  # writes files only
    ]
    mark_slow_tier(items)  # type: ignore[arg-type]
    assert [bool(item.get_closest_marker(SLOW_MARKER)) for item in items] == [True, True, True, False]
