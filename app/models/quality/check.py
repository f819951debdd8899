"""The quality check: HumanEval through the model's chat and through the editor's completion.

For each problem of the suite, in order:

1. **chat**: the problem's prompt is sent as a question through the chat endpoint (the
   model's own chat template), greedy, at most 512 tokens (DeepSeek's recommended
   length for code answers); the code is taken from the answer (extract.py);
2. **completion**: the single-line and the multi-line hole (holes.py) are filled through
   the editor's own path: the FIM window of app/completion/context.py, the engine's
   completion API and app/completion/fim.py's stop rules, with the editor's token limits;
3. each program is run with the problem's test in the sandbox (sandbox.py).

pass@1 is the share of problems whose program passed (greedy decoding: one sample).
An answer that takes longer than `answer_timeout_s` is cut and fails; an answer with
nothing parseable fails; either way the check goes on. `CheckRun.cancel()` (any thread)
ends the request in flight and the check at once; the report then says `cancelled`.

Blocking and Qt-free: the CLI runs it on its main thread, the window on a worker thread.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.completion.fim import complete_middle
from app.completion.fim_window import build_completion_prompt, max_tokens_for
from app.completion.support import completion_support
from app.llm.stream import CancelToken
from app.models.quality.extract import program_from_answer
from app.models.quality.holes import Hole, multi_line_hole, single_line_hole
from app.models.quality.problems import Problem, runnable_program, suite_problems
from app.models.quality.sandbox import TestLimits, network_namespace_available, run_test
from app.protocol.options import SamplingParams
from app.utils.errors import DscoderError
from app.utils.units import duration

if TYPE_CHECKING:
    from app.llm.client import OpenAIClient

CHAT_MAX_TOKENS = 512  # DeepSeek-Coder's recommended max_new_tokens for instruct answers
ANSWER_TIMEOUT_S = 180.0  # one answer or one middle; a model stuck in a loop is cut here
STEPS = ("chat", "fim", "fim_multi_line")
LANGUAGE = "python"
CHAT_QUESTION = (
    "Complete the following Python function. Reply with the whole function in one ```python code block.\n\n"
    "```python\n{prompt}```"
)


@dataclass(frozen=True)
class CheckProgress:
    done: int  # steps finished (three per problem: chat, single-line hole, multi-line hole)
    total: int
    elapsed_s: float
    task_id: str = ""

    @property
    def time_left_s(self) -> float | None:
        """At the pace so far; None before the first step is done."""
        if self.done <= 0:
            return None
        return self.elapsed_s / self.done * max(0, self.total - self.done)


@dataclass(frozen=True)
class ProblemOutcome:
    task_id: str
    chat: bool | None  # None: not run
    fim: bool | None
    fim_multi_line: bool | None  # None also when the problem has no multi-line hole
    notes: tuple[str, ...] = ()  # "chat: no code in the answer", "fim: timed out", ...


@dataclass
class CheckReport:
    suite: str
    outcomes: list[ProblemOutcome] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False
    fim_skipped_reason: str = ""  # why FIM was not checked ("" when it was)
    network_isolated: bool = False
    busy: bool = False  # the load average exceeded the cores at the start or the end

    @property
    def problems(self) -> int:
        return len(self.outcomes)

    def _rate(self, part: str) -> float | None:
        results = [getattr(o, part) for o in self.outcomes if getattr(o, part) is not None]
        return sum(results) / len(results) if results else None

    @property
    def chat_pass_at_1(self) -> float | None:
        return self._rate("chat")

    @property
    def fim_pass_at_1(self) -> float | None:
        return self._rate("fim")

    @property
    def fim_multi_line_pass_at_1(self) -> float | None:
        return self._rate("fim_multi_line")

    @property
    def fim_multi_line_problems(self) -> int:
        return sum(o.fim_multi_line is not None for o in self.outcomes)


def _machine_busy() -> bool:
    try:
        return os.getloadavg()[0] > (os.cpu_count() or 1)
    except OSError:
        return False


class CheckRun:
    """One check of one model behind `client`; `run()` blocks, `cancel()` may come from any thread."""

    def __init__(
        self,
        client: OpenAIClient,
        suite: str = "quick",
        *,
        answer_timeout_s: float = ANSWER_TIMEOUT_S,
        limits: TestLimits | None = None,
        on_progress: Callable[[CheckProgress], None] | None = None,
        problems: Sequence[Problem] | None = None,
        chat_max_tokens: int = CHAT_MAX_TOKENS,
    ) -> None:
        """`problems` replaces the suite's (a test's few); the suite's name is still reported."""
        self.client = client
        self.problems: tuple[Problem, ...] = tuple(problems) if problems is not None else suite_problems(suite)
        self.suite = suite
        self.chat_max_tokens = chat_max_tokens
        self.answer_timeout_s = answer_timeout_s
        self.limits = limits or TestLimits()
        self.on_progress = on_progress
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._request: CancelToken | None = None

    def cancel(self) -> None:
        self._stop.set()
        with self._lock:
            request = self._request
        if request is not None:
            request.cancel()

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    def _fim_skip_reason(self) -> str:
        try:
            info = self.client.engine_info()
        except DscoderError:
            info = None  # a remote server without the app's info endpoint: FIM is tried as it is
        support = completion_support(info)
        return "" if support.enabled else support.reason

    def run(self) -> CheckReport:
        started = time.monotonic()
        report = CheckReport(self.suite, busy=_machine_busy(), network_isolated=network_namespace_available())
        report.fim_skipped_reason = self._fim_skip_reason()
        total = len(self.problems) * len(STEPS)
        self._progress(0, total, started, "")
        for index, problem in enumerate(self.problems):
            outcome = self._check_problem(problem, fim=not report.fim_skipped_reason)
            if self.cancelled:
                report.cancelled = True
                break
            report.outcomes.append(outcome)
            self._progress((index + 1) * len(STEPS), total, started, problem.task_id)
        report.seconds = time.monotonic() - started
        report.busy = report.busy or _machine_busy()
        return report

    def _progress(self, done: int, total: int, started: float, task_id: str) -> None:
        if self.on_progress is not None:
            self.on_progress(CheckProgress(done, total, time.monotonic() - started, task_id))

    def _check_problem(self, problem: Problem, fim: bool) -> ProblemOutcome:
        notes: list[str] = []
        chat = self._chat(problem, notes)
        single = multi = None
        if fim and not self.cancelled:
            single = self._fill(problem, single_line_hole(problem), "fim", notes)
            multi = self._fill(problem, multi_line_hole(problem), "fim_multi_line", notes)
        return ProblemOutcome(problem.task_id, chat, single, multi, tuple(notes))

    def _answer(self, stream: Callable[[CancelToken], str]) -> tuple[str, bool]:
        """(text, timed out): `stream` runs with a token that the deadline and `cancel()` both end."""
        token = CancelToken()
        expired = threading.Event()  # the deadline's own flag: complete_middle also cancels when the middle ends

        def expire() -> None:
            expired.set()
            token.cancel()

        timer = threading.Timer(self.answer_timeout_s, expire)
        timer.daemon = True
        with self._lock:
            self._request = token
        if self._stop.is_set():
            token.cancel()
        timer.start()
        try:
            text = stream(token)
        finally:
            timer.cancel()
            with self._lock:
                self._request = None
        return text, expired.is_set() and not self._stop.is_set()

    def _chat(self, problem: Problem, notes: list[str]) -> bool:
        messages = [{"role": "user", "content": CHAT_QUESTION.format(prompt=problem.prompt)}]
        params = SamplingParams(temperature=0.0, max_tokens=self.chat_max_tokens)

        def stream(token: CancelToken) -> str:
            return "".join(e.text for e in self.client.stream_chat(messages, params, token) if e.text)

        answer, timed_out = self._answer(stream)
        if timed_out:
            notes.append(f"chat: no answer within {duration(self.answer_timeout_s)}")
            return False
        program = program_from_answer(problem, answer)
        if program is None:
            notes.append("chat: no code in the answer")
            return False
        return self._passes(problem, program, "chat", notes)

    def _fill(self, problem: Problem, hole: Hole | None, part: str, notes: list[str]) -> bool | None:
        if hole is None or self.cancelled:
            return None
        # The editor's request for this cursor: its window, its token limit, its stop rules.
        prompt = build_completion_prompt(
            hole.text_without_hole, hole.cursor, path=f"humaneval_{problem.number}.py", language=LANGUAGE
        )
        params = SamplingParams(max_tokens=max_tokens_for(prompt))

        def stream(token: CancelToken) -> str:
            middle, _stats = complete_middle(self.client, prompt.prefix, prompt.suffix, LANGUAGE, params, token)
            return middle

        middle, timed_out = self._answer(stream)
        if timed_out:
            notes.append(f"{part}: no middle within {duration(self.answer_timeout_s)}")
            return False
        return self._passes(problem, hole.prefix + middle + hole.suffix, part, notes)

    def _passes(self, problem: Problem, code: str, part: str, notes: list[str]) -> bool:
        if self.cancelled:
            return False
        run = run_test(runnable_program(problem, code), self.limits, self._stop)
        if not run.passed:
            last = run.output.strip().splitlines()[-1:] or [run.outcome]
            notes.append(f"{part}: {run.outcome}: {last[0][:120]}")
        return run.passed
