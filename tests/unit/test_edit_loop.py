"""The loop with a scripted model and real test runs (pytest in a temporary folder): it
passes on round 2 after a failing round 1, stops on a round that changes nothing, stops
after N feedback rounds, sends the conversation so far plus the failures, and resends a
file only where it changed beyond the model's own edit. A feedback round whose answer
fails asks fresh tries (the first request with the failures, none of the failed
answers) and keeps the one the tests rank best."""

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
        self.attempts: list[int] = []
        self.stop_after = stop_after

    def answer(
        self, messages: Sequence[Message], stop: threading.Event, *, feedback: bool = False, attempt: int = 0
    ) -> ModelAnswer:
        self.requests.append([dict(m) for m in messages])
        self.attempts.append(attempt)
        if self.stop_after is not None and len(self.requests) >= self.stop_after:
            stop.set()  # the user's Stop while this answer streams
        return ModelAnswer(self.answers.pop(0), prompt_tokens=100, completion_tokens=20, cached_tokens=90)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path)


def pytest_run(folder: str) -> TestRun:
    return run_tests(COMMAND, folder, 60)


def make_loop(project: Path, model: ScriptedModel, rounds: int = 2, tries: int = 0, **kwargs: object) -> EditLoop:
    """The loop on the median project; no fresh tries unless asked (most tests here are
    about the conversation's round)."""
    settings: dict[str, object] = {"test_command": COMMAND, "run_tests": pytest_run, **kwargs}
    return EditLoop(
        tries=tries,
        folder=str(project),
        files=["stats.py"],
        instruction="Fix median for an even number of values.",
        source=model,
        feedback_rounds=rounds,
        **settings,  # type: ignore[arg-type]
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
    outcome = make_loop(project, model, test_command=None, run_tests=None).run()

    assert outcome.reason == "no_edit"
    assert "no edit the app can read" in outcome.detail
    assert (project / "stats.py").read_text() == BUGGY
    assert [r.verdict for r in outcome.rounds] == ["no_edit"]


def test_a_first_answer_that_changes_nothing_is_still_tested_and_the_round_after_goes_fresh(project: Path) -> None:
    model = ScriptedModel([whole(BUGGY), whole(FIXED)])
    outcome = make_loop(project, model, tries=2).run()

    assert outcome.reason == "passed"
    assert [r.verdict for r in outcome.rounds] == ["unchanged", "passed"]
    first = outcome.rounds[0].tests
    assert first is not None and not first.passed  # the failures the fresh try is shown
    assert model.attempts == [0, 1]  # no conversation answer in round 2: it would write the same code again
    fresh = model.requests[1]
    assert [m["role"] for m in fresh] == ["system", "user"]
    assert "An earlier answer failed the tests (1 failed)" in fresh[-1]["content"]
    assert "assert 3 == 2.5" in fresh[-1]["content"]
    assert (project / "stats.py").read_text() == FIXED


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


def test_fresh_tries_follow_a_failing_conversation_answer_and_stop_at_the_first_pass(project: Path) -> None:
    model = ScriptedModel([whole(STILL_WRONG), whole(ALSO_WRONG), whole(BUGGY), whole(FIXED), whole(ALSO_WRONG)])
    statuses: list[str] = []
    outcome = make_loop(project, model, tries=3, on_status=statuses.append).run()

    assert outcome.reason == "passed"
    assert len(outcome.rounds) == 2 and outcome.rounds[1].tries == 3  # the conversation's answer and two fresh
    assert model.attempts == [0, 0, 1, 2]  # the third fresh try is never asked
    assert "Round 2 of 3 · fresh try 2 of 3" in statuses
    conversation, fresh = model.requests[1], model.requests[2]
    assert conversation[-1]["role"] == "user" and conversation[-2]["content"] == whole(STILL_WRONG)
    # A fresh try sees the first request's files and the failures, none of the answers that failed.
    assert [m["role"] for m in fresh] == ["system", "user"]
    assert fresh[-1]["content"].startswith(model.requests[0][-1]["content"])
    assert "An earlier answer failed the tests" in fresh[-1]["content"]
    assert model.requests[3] == fresh  # every try asks the same: the engine finds it warm
    assert not any(wrong in str(fresh) for wrong in ("middle = len", "sorted(values)[len"))
    assert (project / "stats.py").read_text() == FIXED
    # The conversation goes on from the kept try.
    assert outcome.messages == [*fresh, {"role": "assistant", "content": whole(FIXED)}]


def test_the_tests_keep_the_try_that_passes_the_most_and_put_the_files_back_between(project: Path) -> None:
    both_fail = "def median(values):\n    return None\n"
    model = ScriptedModel([whole(STILL_WRONG), whole(both_fail), whole(both_fail), whole(ALSO_WRONG)])
    seen: list[str] = []

    def run_and_look(folder: str) -> TestRun:
        seen.append((Path(folder) / "stats.py").read_text())
        return pytest_run(folder)

    outcome = make_loop(project, model, rounds=1, tries=2, run_tests=run_and_look).run()

    assert outcome.reason == "rounds"
    assert seen == [STILL_WRONG, both_fail, both_fail, ALSO_WRONG]  # each try tested as written, once
    kept = outcome.rounds[1]
    assert kept.tests is not None and kept.tests.counts is not None and kept.tests.counts.failed == 1
    assert (project / "stats.py").read_text() == ALSO_WRONG  # 1 test passing beats none
    assert "-    middle = len(ordered) // 2" in kept.diff  # the round's diff is against the file as it was
    assert len(outcome.undo) == 2  # one write per round: the tries that lost were taken back


def test_answers_that_all_do_worse_than_the_code_as_it_is_leave_it_and_end_the_loop(project: Path) -> None:
    broken = "def median(values):\n  return (\n"  # a syntax error: pytest collects no test at all
    model = ScriptedModel([whole(STILL_WRONG), whole(broken), whole(broken)])
    outcome = make_loop(project, model, tries=1).run()

    assert outcome.reason == "unchanged"
    assert "none of the 2 answers did better than the code as it is (1 failed)" in outcome.detail
    assert (project / "stats.py").read_text() == STILL_WRONG
    assert len(outcome.undo) == 1  # round 1's write only
