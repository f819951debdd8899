"""The loop run to its end without a person in it (`dscoder edit`, the benchmark): ask,
apply, test, and feed the failures back, round after round.

Each round sends the conversation so far (the first request with its files, every
answer, every feedback) plus the new failure output, so the engine finds all but the
new turn in its warm prompt state and evaluates only that. A file is sent again only
where its text is not what the model's own edit left. When that answer still fails,
fresh tries follow and the tests keep the best (app.loop.tries); a first answer that
changes nothing is tested all the same, so the next round has failures to show.

Qt-free. The model is any `AnswerSource`: `ClientAnswers` for an OpenAI-compatible
client (the local engine or a remote server), a scripted one in tests.
"""

from __future__ import annotations

import difflib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from app.edits.changeset import ChangeSet, build_changeset, parse_for
from app.edits.prompt import Message, edit_messages, retry_message
from app.edits.workspace import EditScope
from app.edits.writing import UndoRecord, undo_change, write_changeset
from app.llm.client import OpenAIClient
from app.llm.stream import CancelToken
from app.loop.feedback import (
    budget_chars,
    changed_beyond_edit,
    feedback_message,
    trim_failures,
)
from app.loop.rounds import FEEDBACK_TEMPERATURE, LoopProgress, StopReason, TestRun, feedback_sampling
from app.loop.tries import DEFAULT_FEEDBACK_TRIES, Try, best_try, fresh_request, rebased, run_rank
from app.protocol.options import SamplingParams
from app.utils.errors import DscoderError

MISMATCH_RETRIES = 1  # as in the window: the model is shown its mismatched SEARCH blocks once per round


@dataclass(frozen=True)
class ModelAnswer:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens the engine did not evaluate (its warm prompt state)
    seconds: float = 0.0
    finish_reason: str | None = None

    @property
    def evaluated_tokens(self) -> int:
        return max(0, self.prompt_tokens - self.cached_tokens)


class AnswerSource(Protocol):
    def answer(
        self, messages: Sequence[Message], stop: threading.Event, *, feedback: bool = False, attempt: int = 0
    ) -> ModelAnswer:
        """The model's answer to `messages`; `feedback`: an answer to the failures of a round;
        `attempt`: which fresh try of the round (each samples with a seed of its own)."""
        ...


class ClientAnswers:
    """Answers streamed from an OpenAI-compatible client; `stop` ends the stream."""

    def __init__(
        self,
        client: OpenAIClient,
        params: SamplingParams | None = None,
        feedback_temperature: float = FEEDBACK_TEMPERATURE,
    ) -> None:
        self.client = client
        self.params = params or SamplingParams()
        self.feedback_temperature = feedback_temperature

    def answer(
        self, messages: Sequence[Message], stop: threading.Event, *, feedback: bool = False, attempt: int = 0
    ) -> ModelAnswer:
        started = time.monotonic()
        token = CancelToken()
        parts: list[str] = []
        stats = None
        params = self.params
        if feedback:
            params = feedback_sampling(params, self.feedback_temperature, attempt)
        for event in self.client.stream_chat(messages, params, token):
            if stop.is_set():
                token.cancel()
                break
            parts.append(event.text)
            if event.stats is not None:
                stats = event.stats
        usage = stats.usage if stats is not None else {}
        details = usage.get("prompt_tokens_details") or {}
        cached = usage.get("cached_tokens", details.get("cached_tokens", 0) if isinstance(details, dict) else 0)
        return ModelAnswer(
            text="".join(parts),
            prompt_tokens=stats.prompt_tokens if stats else 0,
            completion_tokens=stats.completion_tokens if stats else 0,
            cached_tokens=int(cached or 0),
            seconds=time.monotonic() - started,
            finish_reason=stats.finish_reason if stats else "cancelled",
        )


TestRunner = Callable[[str], TestRun]  # the folder -> the run of the test command there

# What became of one round, for the benchmark and the CLI's summary: why the model's
# answer did not pass. The order is the path a round takes.
RoundVerdict = Literal[
    "no_edit",  # the answer held no edit the app could parse
    "mismatch",  # its edits matched nothing in the files (or were refused), the retry included
    "unchanged",  # its edits leave every file as it was
    "timeout",  # applied; the test run timed out
    "failed",  # applied; the tests fail
    "passed",  # applied; the tests pass
    "applied",  # applied; no test run
]


@dataclass
class RoundRecord:
    number: int
    answers: list[ModelAnswer] = field(default_factory=list)  # two when the mismatch retry was asked
    changeset: ChangeSet | None = None
    diff: str = ""  # what was written, as a unified diff
    written: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # edits the app could not make, for the user
    tests: TestRun | None = None
    seconds: float = 0.0
    tries: int = 1  # the answers the tests chose from (a feedback round's conversation answer and fresh tries)

    @property
    def prompt_tokens(self) -> int:
        return sum(a.prompt_tokens for a in self.answers)

    @property
    def verdict(self) -> RoundVerdict:
        changeset = self.changeset
        if changeset is None or changeset.empty:
            kinds = {p.kind for p in changeset.problems} if changeset is not None else {"unparsed"}
            if kinds & {"mismatch", "ambiguous", "refused"}:
                return "mismatch"
            return "no_edit" if "unparsed" in kinds else "unchanged"
        if self.tests is None:
            return "applied"
        if self.tests.passed:
            return "passed"
        return "timeout" if self.tests.timed_out else "failed"

    @property
    def evaluated_tokens(self) -> int:
        return sum(a.evaluated_tokens for a in self.answers)


@dataclass
class LoopOutcome:
    reason: StopReason
    rounds: list[RoundRecord]
    progress: LoopProgress
    messages: list[Message]
    detail: str = ""  # why it stopped, when that needs more than the reason
    undo: list[UndoRecord] = field(default_factory=list)  # one per round that wrote

    @property
    def passed(self) -> bool:
        return self.reason == "passed"

    @property
    def changed(self) -> list[str]:
        seen: dict[str, None] = {}
        for record in self.rounds:
            seen.update(dict.fromkeys(record.written))
        return list(seen)

    @property
    def prompt_tokens(self) -> int:
        return sum(r.prompt_tokens for r in self.rounds)

    @property
    def completion_tokens(self) -> int:
        return sum(a.completion_tokens for r in self.rounds for a in r.answers)

    @property
    def test_exit_code(self) -> int | None:
        runs = [r.tests for r in self.rounds if r.tests is not None]
        return runs[-1].exit_code if runs else None


def changeset_diff(changeset: ChangeSet) -> str:
    """The unified diff of what accepting the change writes."""
    chunks: list[str] = []
    for change in changeset.to_write:
        old = "/dev/null" if change.kind == "new" else f"a/{change.path}"
        new = "/dev/null" if change.kind == "deleted" else f"b/{change.path}"
        lines = difflib.unified_diff(
            change.old_text.splitlines(keepends=True), change.result_text().splitlines(keepends=True), old, new
        )
        chunks.append(
            "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
        )
    return "".join(chunks)


@dataclass
class EditLoop:
    """One instruction, worked on until the tests pass or the rounds run out."""

    folder: str
    files: list[str]  # editable, relative to `folder`
    instruction: str
    source: AnswerSource
    test_command: str | None = None
    run_tests: TestRunner | None = None
    feedback_rounds: int = 2
    tries: int = DEFAULT_FEEDBACK_TRIES  # fresh tries per feedback round after the conversation's answer fails
    read: Sequence[str] = ()
    context_size: int | None = None
    answer_tokens: int = 1024
    stop: threading.Event = field(default_factory=threading.Event)
    on_round: Callable[[RoundRecord, LoopProgress], None] | None = None
    on_status: Callable[[str], None] | None = None

    def _status(self, progress: LoopProgress, doing: str = "") -> None:
        if self.on_status is not None:
            self.on_status(progress.status(doing))

    def run(self) -> LoopOutcome:
        progress = LoopProgress(self.feedback_rounds)
        scope = EditScope.read(self.folder, self.files, self.read)
        first_scope = scope  # the files as the first request showed them: the fresh tries show them again
        believed = {f.path: f.text for f in scope.editable}  # each file as the model last saw or wrote it
        messages: list[Message] = edit_messages(self.instruction, scope)
        outcome = LoopOutcome("rounds", [], progress, messages)
        testing = bool(self.test_command) and self.run_tests is not None
        while True:
            if self.stop.is_set():
                outcome.reason = "stopped"
                return outcome
            record = RoundRecord(progress.begin_round())
            outcome.rounds.append(record)
            started = time.monotonic()
            self._status(progress, "asking the model")
            tested: TestRun | None = None
            note = ""
            if record.number == 1:
                changeset = self._ask(scope, messages, record)
            else:
                previous = outcome.rounds[-2]
                kept = self._tries(scope, first_scope, messages, record, previous, progress)
                changeset, tested, note = kept.changeset, kept.tests, kept.note
            record.changeset = changeset
            record.problems = [p.message for p in changeset.problems] + ([note] if note else [])
            if self.stop.is_set():
                outcome.reason = "stopped"
                return outcome
            # A first answer that changes nothing still gets its test run, where there is
            # one: the failures are what the feedback round shows the model.
            if changeset.empty and not (record.number == 1 and testing):
                outcome.reason = "no_edit" if progress.round == 1 else "unchanged"
                outcome.detail = "; ".join(record.problems)
                record.seconds = time.monotonic() - started
                self._report(record, progress)
                return outcome
            if not changeset.empty:
                try:
                    undo = write_changeset(changeset)
                except DscoderError as error:
                    outcome.reason, outcome.detail = "refused", str(error)
                    return outcome
                outcome.undo.append(undo)
                record.diff = changeset_diff(changeset)
                record.written = undo.paths
                believed.update({c.path: c.new_text for c in changeset.changes if c.kind != "deleted"})
                self.files.extend(c.path for c in changeset.changes if c.kind == "new" and c.path not in self.files)
            if not testing:
                record.seconds = time.monotonic() - started
                self._report(record, progress)
                outcome.reason = "applied"
                return outcome
            self._status(progress, "running the tests")
            assert self.run_tests is not None
            record.tests = tested if tested is not None else self.run_tests(self.folder)
            record.seconds = time.monotonic() - started
            reason = progress.after_tests(record.tests)
            if reason == "rounds" and changeset.empty:  # one shot, and its answer changed nothing
                reason, outcome.detail = "no_edit", "; ".join(record.problems)
            if self.stop.is_set():
                reason = "stopped"
            self._report(record, progress)
            if reason is not None:
                outcome.reason = reason
                return outcome
            scope = EditScope.read(self.folder, self.files, self.read)
            messages.append({"role": "user", "content": self._feedback(record, scope, believed)})

    def _report(self, record: RoundRecord, progress: LoopProgress) -> None:
        self._status(progress)
        if self.on_round is not None:
            self.on_round(record, progress)

    def _ask(self, scope: EditScope, messages: list[Message], record: RoundRecord) -> ChangeSet:
        """One answer (and the mismatch retry), added to the conversation, as one change."""
        answer = self.source.answer(messages, self.stop, feedback=record.number > 1)
        record.answers.append(answer)
        messages.append({"role": "assistant", "content": answer.text})
        parsed = parse_for(scope, answer.text)
        changeset = build_changeset(scope, parsed)
        for _ in range(MISMATCH_RETRIES):
            retry = changeset.retry_prompt()
            if not retry or self.stop.is_set():
                break
            messages.append(retry_message(retry))
            again = self.source.answer(messages, self.stop, feedback=record.number > 1)
            record.answers.append(again)
            messages.append({"role": "assistant", "content": again.text})
            changeset = build_changeset(scope, parse_for(scope, again.text), earlier=parsed)
        return changeset

    def _tries(
        self,
        scope: EditScope,
        first_scope: EditScope,
        messages: list[Message],
        record: RoundRecord,
        previous: RoundRecord,
        progress: LoopProgress,
    ) -> Try:
        """A feedback round's answer: the conversation's, then fresh tries while none passes
        (app.loop.tries); the one the tests rank best, its test run with it. `messages`
        becomes the conversation that asked for it."""
        assert previous.tests is not None and self.run_tests is not None
        tries: list[Try] = []
        if (previous.changeset is not None and not previous.changeset.empty) or not self.tries:
            # After an answer that changed nothing the conversation is skipped: shown its
            # own unchanged code, the model writes it again.
            answered = self._ask(scope, messages, record)
            tries.append(self._tested(Try(list(messages), answered)))
        if self.tries and not self.stop.is_set() and not any(t.passed for t in tries):
            # The fresh request is the first one and the failures; the last round's first
            # request was at least as long, so the failures fit beside it.
            in_use = previous.answers[0].prompt_tokens if previous.answers else 0
            budget = budget_chars(self.context_size, in_use, self.answer_tokens)
            fresh = fresh_request(self.instruction, first_scope, previous.tests, budget, self.folder)
            for attempt in range(1, self.tries + 1):
                if self.stop.is_set():
                    break
                self._status(progress, f"fresh try {attempt} of {self.tries}")
                answer = self.source.answer(fresh, self.stop, feedback=True, attempt=attempt)
                record.answers.append(answer)
                conversation = [*fresh, {"role": "assistant", "content": answer.text}]
                made = rebased(build_changeset(first_scope, parse_for(first_scope, answer.text)), scope)
                tries.append(self._tested(Try(conversation, made)))
                if tries[-1].passed:
                    break
        if not tries:  # stopped before any answer
            return Try(list(messages), build_changeset(scope, ""))
        kept = best_try(tries)
        record.tries = len(tries)
        if not kept.changeset.empty and kept.rank() > run_rank(previous.tests):
            # Every answer did worse than the code as it is: keep the files, end the loop.
            return Try(
                list(messages),
                ChangeSet(scope, [], []),
                note=f"none of the {len(tries)} answers did better than the code as it is"
                f" ({previous.tests.describe()}); the files were kept as they were",
            )
        messages[:] = kept.messages
        return kept

    def _tested(self, attempt: Try) -> Try:
        """The try with the test run of its change; the files are put back after it."""
        if attempt.changeset.empty or self.stop.is_set():
            return attempt
        assert self.run_tests is not None
        try:
            undo = write_changeset(attempt.changeset)
        except DscoderError:
            return attempt  # left untested: it ranks after every tested change
        try:
            attempt.tests = self.run_tests(self.folder)
        finally:
            undo_change(undo, overwrite=True)
        return attempt

    def _feedback(self, record: RoundRecord, scope: EditScope, believed: dict[str, str]) -> str:
        assert record.tests is not None
        last = record.answers[-1]
        budget = budget_chars(self.context_size, last.prompt_tokens + last.completion_tokens, self.answer_tokens)
        resent = changed_beyond_edit(scope, believed)
        believed.update({f.path: f.text for f in resent})  # the model sees them now
        trimmed = trim_failures(record.tests.output, budget, self.folder)
        return feedback_message(record.tests.result_line(exit_code=False), trimmed, resent, scope)
