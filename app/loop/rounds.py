"""The rounds of the loop and their test runs: what one run of the test command says, how
far the loop is, and its status line.

Round 1 is the first try; the feedback rounds after it number at most N (`--rounds N` in
the CLI, the Auto setting in the window: the same meaning in both). With N = 2 the
status of the second round reads "Round 2 of 3 · tests: 3 failed → 1 failed".

Qt-free. The window runs the tests through its Run panel and hands the result here; the
CLI runs them with `run_tests`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Literal

from app.protocol.options import SamplingParams
from app.run.process import RunOutcome, RunResult, RunSpec, run_process
from app.run.summary import TestCounts, parse_test_counts

DEFAULT_FEEDBACK_ROUNDS = 2
# A feedback round samples at least this warm: greedy decoding, shown its failures, mostly
# wrote its last answer again (Qwen2.5-Coder-0.5B on the benchmark's tasks), and a round
# that changes nothing ends the loop. The seed keeps a run repeatable. The window and
# `dscoder edit` both answer feedback with `feedback_sampling`.
FEEDBACK_TEMPERATURE = 0.6
FEEDBACK_SEED = 1
STATUS_SEPARATOR = " · "

StopReason = Literal[
    "passed",  # the tests pass
    "applied",  # no test command: the edit was applied, nothing to run
    "stopped",  # the user's Stop (or Ctrl+C)
    "unchanged",  # a round changed nothing
    "no_edit",  # the first answer had no edit the app could apply
    "rounds",  # the last feedback round still fails
    "not_run",  # the test command could not run (not found, folder missing)
    "refused",  # the change could not be written (a file changed on disk, a write failed)
]


@dataclass(frozen=True)
class TestRun:
    """One run of the test command, as the loop sees it."""

    __test__ = False  # not a pytest test class, despite the name

    command: str
    passed: bool
    exit_code: int | None
    counts: TestCounts | None
    output: str
    message: str  # RunResult's line when it did not pass: not found, timed out, the exit code
    seconds: float
    ran: bool = True  # False: the command never started (not found, no folder)
    timed_out: bool = False

    @classmethod
    def from_result(cls, result: RunResult) -> TestRun:
        ran = result.outcome not in (RunOutcome.NOT_FOUND, RunOutcome.NOT_STARTED)
        counts = parse_test_counts(result.output) if ran else None
        return cls(
            command=result.command,
            passed=result.passed,
            exit_code=result.exit_code,
            counts=counts,
            output=result.output,
            message=result.message,
            seconds=result.seconds,
            ran=ran,
            timed_out=result.outcome is RunOutcome.TIMED_OUT,
        )

    def describe(self) -> str:
        """ "3 failed", "5 passed", or what happened when there are no counts."""
        if self.counts is not None and (self.counts.failed or self.passed):
            return self.counts.describe()
        if self.passed:
            return "passed"
        return self.message[:1].lower() + self.message[1:] if self.message else "failed"

    def result_line(self, exit_code: bool = True) -> str:
        """For the CLI: "exit code 1, 2 failed, 1 passed"; for the model (`exit_code`
        False) "2 failed" where the tests counted failures: the failures follow, and each
        token of the feedback turn is evaluated (issue 21)."""
        if not self.ran:
            return self.message
        if not exit_code and self.counts is not None and self.counts.failed and not self.timed_out:
            return f"{self.counts.failed} failed"
        parts = [f"exit code {self.exit_code}" if self.exit_code is not None else self.message]
        if self.counts is not None:
            if self.counts.failed:
                parts.append(f"{self.counts.failed} failed")
            if self.counts.passed:
                parts.append(f"{self.counts.passed} passed")
        return ", ".join(p for p in parts if p)


def feedback_sampling(
    params: SamplingParams, temperature: float = FEEDBACK_TEMPERATURE, attempt: int = 0
) -> SamplingParams:
    """The sampling of a feedback round's answer: the user's, at least `temperature` warm, seeded.
    Each `attempt` (a round's fresh tries, app.loop.tries) has a seed of its own, so the
    tries of one request differ."""
    if params.temperature >= temperature:
        if not attempt:
            return params
        return replace(params, seed=(params.seed if params.seed is not None else FEEDBACK_SEED) + attempt)
    return replace(params, temperature=temperature, seed=FEEDBACK_SEED + attempt)


def run_tests(command: str, folder: str, timeout: float, stop: threading.Event | None = None) -> TestRun:
    """Run the test command in `folder` (its own process group, capped output, the timeout)."""
    return TestRun.from_result(run_process(RunSpec(command, folder, timeout=timeout), stop=stop))


@dataclass
class LoopProgress:
    """How far the loop is: the round, and the test runs so far."""

    feedback_rounds: int = DEFAULT_FEEDBACK_ROUNDS  # N
    round: int = 0  # 1-based; 0 before the first answer
    runs: list[TestRun] = field(default_factory=list)

    @property
    def total_rounds(self) -> int:
        return self.feedback_rounds + 1

    @property
    def rounds_left(self) -> int:
        """Feedback rounds that may still follow the current one."""
        return max(0, self.total_rounds - self.round)

    def begin_round(self) -> int:
        self.round += 1
        return self.round

    def record(self, run: TestRun) -> None:
        self.runs.append(run)

    def after_tests(self, run: TestRun) -> StopReason | None:
        """Record the round's test run; the reason to stop, or None to go on with feedback."""
        self.record(run)
        if run.passed:
            return "passed"
        if not run.ran:
            return "not_run"
        return "rounds" if self.rounds_left == 0 else None

    def tests_text(self) -> str:
        """ "tests: 3 failed → 1 failed" (the last two runs), or "" before any run."""
        if not self.runs:
            return ""
        now = self.runs[-1].describe()
        if len(self.runs) == 1:
            return f"tests: {now}"
        return f"tests: {self.runs[-2].describe()} → {now}"

    def status(self, doing: str = "") -> str:
        """ "Round 2 of 3 · tests: 3 failed → 1 failed", or with what is happening now."""
        parts = [f"Round {max(1, self.round)} of {self.total_rounds}"]
        tests = self.tests_text() if not doing else ""
        parts.extend(p for p in (doing, tests) if p)
        return STATUS_SEPARATOR.join(parts)


STOP_TEXTS: dict[StopReason, str] = {
    "passed": "the tests pass",
    "applied": "the edit was applied (no test command was given)",
    "stopped": "stopped",
    "unchanged": "the answer changed nothing",
    "no_edit": "no edit could be applied",
    "rounds": "the tests still fail after the last round",
    "not_run": "the test command could not run",
    "refused": "the change could not be written",
}
