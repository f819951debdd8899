"""The loop with a scripted model and real test runs (pytest in a temporary folder): it
passes on round 2 after a failing round 1, stops on a round that changes nothing, stops
after N feedback rounds, sends the conversation so far plus the failures, and resends a
file only where it changed beyond the model's own edit."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from app.edits.prompt import Message
from app.loop.driver import EditLoop, ModelAnswer
from app.loop.rounds import TestRun, run_tests
from tests.helpers.median_project import ALSO_WRONG, BUGGY, FIXED, STILL_WRONG, whole, write_project
from tests.helpers.median_project import TEST_COMMAND as COMMAND

pytestmark = pytest.mark.slow  # every test runs pytest in a child process


class ScriptedModel:
    """Answers in turn; records the messages of every request."""

    def __init__(self, answers: Sequence[str], stop_after: int | None = None) -> None:
        self.answers = list(answers)
        self.requests: list[list[Message]] = []
        self.stop_after = stop_after

    def answer(self, messages: Sequence[Message], stop: threading.Event, *, feedback: bool = False) -> ModelAnswer:
        self.requests.append([dict(m) for m in messages])
        if self.stop_after is not None and len(self.requests) >= self.stop_after:
            stop.set()  # the user's Stop while this answer streams
        return ModelAnswer(self.answers.pop(0), prompt_tokens=100, completion_tokens=20, cached_tokens=90)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path)


def pytest_run(folder: str) -> TestRun:
    return run_tests(COMMAND, folder, 60)


def make_loop(project: Path, model: ScriptedModel, rounds: int = 2, **kwargs: object) -> EditLoop:
    return EditLoop(
        folder=str(project),
        files=["stats.py"],
        instruction="Fix median for an even number of values.",
        source=model,
        test_command=COMMAND,
        run_tests=pytest_run,
        feedback_rounds=rounds,
        **kwargs,  # type: ignore[arg-type]
    )


def test_passes_on_round_two_after_a_failing_first_round(project: Path) -> None:
    model = ScriptedModel([whole(STILL_WRONG), whole(FIXED)])
    statuses: list[str] = []
    outcome = make_loop(project, model, on_status=statuses.append).run()

    assert outcome.reason == "passed"
    assert [r.number for r in outcome.rounds] == [1, 2]
    assert (project / "stats.py").read_text() == FIXED
    first, second = model.requests
    # Round 2 resends the conversation so far unchanged (the warm prompt), then the failures.
    assert second[: len(first)] == first
    assert second[len(first)] == {"role": "assistant", "content": whole(STILL_WRONG)}
    feedback = second[-1]["content"]
    assert second[-1]["role"] == "user"
    assert "test_even" in feedback and "assert 3 == 2.5" in feedback
    assert "stats.py (editable" not in feedback  # the file is as the model's edit left it: not resent
    assert outcome.rounds[0].tests is not None and not outcome.rounds[0].tests.passed
    assert statuses[-1] == "Round 2 of 3 · tests: 1 failed → 2 passed"
    assert outcome.changed == ["stats.py"]
    assert outcome.test_exit_code == 0


def test_stops_at_a_round_that_changes_nothing(project: Path) -> None:
    model = ScriptedModel([whole(STILL_WRONG), whole(STILL_WRONG), whole(FIXED)])
    outcome = make_loop(project, model).run()

    assert outcome.reason == "unchanged"
    assert len(outcome.rounds) == 2
    assert len(model.requests) == 2
    assert [r.verdict for r in outcome.rounds] == ["failed", "unchanged"]
    assert (project / "stats.py").read_text() == STILL_WRONG


def test_stops_after_n_feedback_rounds(project: Path) -> None:
    wrong_each_time = [
        whole(STILL_WRONG),
        whole(BUGGY),
        whole(ALSO_WRONG),
        whole(FIXED),
    ]
    model = ScriptedModel(wrong_each_time)
    outcome = make_loop(project, model, rounds=2).run()

    assert outcome.reason == "rounds"
    assert [r.verdict for r in outcome.rounds] == ["failed", "failed", "failed"]
    assert len(outcome.rounds) == 3  # the first try and N = 2 feedback rounds
    assert len(model.requests) == 3
    assert outcome.progress.status() == "Round 3 of 3 · tests: 1 failed → 1 failed"


def test_one_shot_is_rounds_zero(project: Path) -> None:
    model = ScriptedModel([whole(STILL_WRONG), whole(FIXED)])
    outcome = make_loop(project, model, rounds=0).run()

    assert outcome.reason == "rounds"
    assert len(model.requests) == 1


def test_a_file_changed_beyond_the_models_edit_is_sent_again(project: Path) -> None:
    def run_then_user_edits(folder: str) -> TestRun:
        run = pytest_run(folder)
        path = Path(folder) / "stats.py"
        path.write_text("# a note the user added\n" + path.read_text())
        return run

    model = ScriptedModel([whole(STILL_WRONG), whole(FIXED)])
    loop = make_loop(project, model)
    loop.run_tests = run_then_user_edits
    loop.run()

    feedback = model.requests[1][-1]["content"]
    assert "stats.py is not as your edit left it" in feedback
    assert "# a note the user added" in feedback


def test_stop_ends_the_loop_before_the_change_is_tested(project: Path) -> None:
    model = ScriptedModel([whole(STILL_WRONG)], stop_after=1)
    outcome = make_loop(project, model).run()

    assert outcome.reason == "stopped"
    assert (project / "stats.py").read_text() == BUGGY  # nothing written after Stop


def test_a_first_answer_without_an_edit_applies_nothing(project: Path) -> None:
    model = ScriptedModel(["I think you should sort the list first."])
    outcome = make_loop(project, model).run()

    assert outcome.reason == "no_edit"
    assert "no edit the app can read" in outcome.detail
    assert (project / "stats.py").read_text() == BUGGY
    assert [r.verdict for r in outcome.rounds] == ["no_edit"]


def test_the_feedback_turn_is_the_failure_without_what_it_says_twice(project: Path) -> None:
    """Round 2 evaluates its new turn only (issue 21: at most 20% of its prompt), so the turn
    says each thing once: the failures counted (no exit code), the test's code and the
    assertion with both values, not the test's name again, its location or pytest's diff."""
    model = ScriptedModel([whole(STILL_WRONG), whole(FIXED)])
    make_loop(project, model).run()

    assert model.requests[1][-1]["content"] == (
        "1 failed:\n"
        "```\n"
        "    def test_even():\n"
        ">       assert median([4, 1, 3, 2]) == 2.5\n"
        "E       assert 3 == 2.5\n"
        "```\n\n"
        "Fix the code; answer with stats.py whole again."
    )
