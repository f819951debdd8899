"""The edit loop on the exercise tasks (tests/bench/edit_tasks), with the real test model.

Usage: python tests/bench/edit_loop.py [--tasks a,b] [--limit N] [--rounds 2] [--max-tokens 1024]
                                       [--formats] [--sizes 0,100,200] [--model PATH] [--save F]

Each task runs in a temporary copy through app.loop's EditLoop (the code `dscoder edit`
runs) against one engine for the whole run, sampling as `dscoder edit` does (round 1
greedy, the feedback rounds at FEEDBACK_TEMPERATURE with a fixed seed), the editable files
in the prompt, the tests only as failure output after a round. It reports:

- the pass rate one shot and with the feedback rounds. Round 1 of the rounds run is the
  one-shot run: the same first request, greedy (`--separate-one-shot` runs it apart too);
- the time per round (answer, apply, test run);
- round 2's prompt tokens evaluated against its prompt length (the engine's usage:
  prompt_tokens and cached_tokens, the tokens restored from its warm prompt state).
- what each round's answer did (RoundRecord.verdict): no edit the app could read, edits
  that matched nothing, edits that left the files as they were (the loop stops there),
  applied with the tests failing or timing out, passed. `--save F` writes every task's
  conversation and rounds as JSON, to read the failures.

A feedback round asks the conversation first, then, while no answer passes, up to
`--tries` fresh tries (app/loop/tries.py): the figures above count every request, and
round 2's share is given for its first request and for all of them.

Targets (issue 21): rounds raise the pass rate by at least 30% (relative); round 2
evaluates at most 20% of its prompt.

--formats measures the edit formats instead: each Python task's stub padded with
filler functions to about each of --sizes lines, asked once in the whole-file format and
once in SEARCH/REPLACE, reporting the pass rate, the answer's tokens and time of each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from app.config.sampling import CHAT_MAX_TOKENS  # noqa: E402
from app.edits import prompt as edit_prompt  # noqa: E402
from app.edits.prompt import Message  # noqa: E402
from app.llm.client import OpenAIClient  # noqa: E402
from app.llm.supervisor import EngineSupervisor  # noqa: E402
from app.loop.driver import (  # noqa: E402
    AnswerSource,
    ClientAnswers,
    EditLoop,
    LoopOutcome,
    ModelAnswer,
    RoundVerdict,
)
from app.loop.rounds import FEEDBACK_TEMPERATURE, TestRun, run_tests  # noqa: E402
from app.loop.tries import DEFAULT_FEEDBACK_TRIES  # noqa: E402
from app.protocol.options import LoadOptions, SamplingParams  # noqa: E402
from tests.bench._util import table, test_model_path  # noqa: E402
from tests.bench.edit_task_set import EditTask, load_tasks  # noqa: E402

N_CTX = 4096
TEST_TIMEOUT = 60.0


@dataclass
class TaskResult:
    task: str
    outcome: LoopOutcome
    passed_round: int | None  # the round whose tests passed
    round_seconds: list[float] = field(default_factory=list)


def _loop(
    task: EditTask,
    folder: Path,
    source: AnswerSource,
    rounds: int,
    answer_tokens: int,
    tries: int = DEFAULT_FEEDBACK_TRIES,
) -> LoopOutcome:
    command = task.test_command()

    def tests(where: str) -> TestRun:
        return run_tests(command, where, TEST_TIMEOUT)

    return EditLoop(
        folder=str(folder),
        files=list(task.files),
        instruction=task.instruction,
        source=source,
        test_command=command,
        run_tests=tests,
        feedback_rounds=rounds,
        tries=tries,
        read=task.read,
        context_size=N_CTX,
        answer_tokens=answer_tokens,
    ).run()


def run_task(
    task: EditTask, source: ClientAnswers, rounds: int, pad: int = 0, tries: int = DEFAULT_FEEDBACK_TRIES
) -> TaskResult:
    with tempfile.TemporaryDirectory(prefix=f"bench-{task.name}-") as work:
        folder = task.copy_to(Path(work) / task.name)
        if pad and task.language == "python":  # a file of a real project's size: the stub and filler functions
            stub = folder / task.files[0]
            stub.write_text(_padded(stub.read_text(), pad))
        outcome = _loop(task, folder, source, rounds, source.params.max_tokens, tries)
    passed = outcome.rounds[-1].number if outcome.passed else None
    return TaskResult(task.name, outcome, passed, [r.seconds for r in outcome.rounds])


def _warm(result: TaskResult) -> tuple[int, int, int | None] | None:
    """Round 2's first request: (evaluated, prompt, new) tokens, where `new` is what the
    conversation gained since round 1's last answer (the feedback turn); None where the
    request was a fresh try (round 1 changed nothing), which shares only the first request."""
    if len(result.outcome.rounds) < 2 or not result.outcome.rounds[1].answers:
        return None
    first = result.outcome.rounds[0]
    before = first.answers[-1]
    ask = result.outcome.rounds[1].answers[0]
    if first.changeset is None or first.changeset.empty:
        return ask.evaluated_tokens, ask.prompt_tokens, None
    return ask.evaluated_tokens, ask.prompt_tokens, ask.prompt_tokens - before.prompt_tokens - before.completion_tokens


def _task_line(r: TaskResult) -> str:
    warm = _warm(r)
    new = "a fresh try" if warm is not None and warm[2] is None else f"{warm[2] if warm else 0} new"
    tokens = f"; round 2 evaluated {warm[0]} of {warm[1]} prompt tokens ({new})" if warm else ""
    tries = [str(record.tries) for record in r.outcome.rounds[1:]]
    tokens += f"; answers per feedback round: {', '.join(tries)}" if tries else ""
    seconds = ", ".join(f"{s:.0f}" for s in r.round_seconds)
    verdicts = " → ".join(record.verdict for record in r.outcome.rounds)
    return f"{r.task}: {r.outcome.reason} after {len(r.outcome.rounds)} round(s) [{verdicts}] ({seconds} s){tokens}"


def report_verdicts(results: Sequence[TaskResult], rounds: int) -> None:
    """What became of each round: how many answers had no edit, matched nothing, changed
    nothing, were applied and failed (or timed out), or passed."""
    names: list[str] = list(get_args(RoundVerdict))
    rows = [("round", *names, "tasks")]
    for number in range(1, rounds + 2):
        verdicts = [r.outcome.rounds[number - 1].verdict for r in results if len(r.outcome.rounds) >= number]
        rows.append((str(number), *(str(verdicts.count(name)) for name in names), str(len(verdicts))))
    print("\nwhat each round's answer did (a round after a pass, no edit or no change is not run):")
    print(table(rows))


def save_transcripts(results: Sequence[TaskResult], path: str) -> None:
    """Every task's conversation and its rounds' verdicts and test output, as JSON (to read the failures)."""
    data = [
        {
            "task": r.task,
            "reason": r.outcome.reason,
            "messages": r.outcome.messages,
            "rounds": [
                {
                    "verdict": record.verdict,
                    "problems": record.problems,
                    "diff": record.diff,
                    "tests": record.tests.output if record.tests else None,
                    "tokens": [(a.prompt_tokens, a.cached_tokens, a.completion_tokens) for a in record.answers],
                }
                for record in r.outcome.rounds
            ],
        }
        for r in results
    ]
    Path(path).write_text(json.dumps(data, indent=1), encoding="utf-8")


def _percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def report_rounds(results: Sequence[TaskResult], one_shot: dict[str, bool] | None, rounds: int) -> None:
    rows = [("task", "rounds", "passed in", "stop", "s/round", "round 2 evaluated/prompt")]
    warm: list[tuple[int, int]] = []
    for r in results:
        second = r.outcome.rounds[1] if len(r.outcome.rounds) > 1 else None
        first_ask = second.answers[0] if second is not None and second.answers else None
        if first_ask is not None:
            warm.append((first_ask.evaluated_tokens, first_ask.prompt_tokens))
        ratio = f"{first_ask.evaluated_tokens}/{first_ask.prompt_tokens}" if first_ask else "-"
        rows.append(
            (
                r.task,
                str(len(r.outcome.rounds)),
                str(r.passed_round or "-"),
                r.outcome.reason,
                " ".join(f"{s:.0f}" for s in r.round_seconds),
                ratio,
            )
        )
    print(table(rows))
    n = len(results)
    first_try = sum(1 for r in results if r.passed_round == 1)
    with_rounds = sum(1 for r in results if r.passed_round is not None)
    print(f"\npass rate one shot (round 1): {first_try}/{n} = {_percent(first_try, n)}")
    if one_shot is not None:
        apart = sum(one_shot.values())
        print(f"pass rate one shot, run apart (--rounds 0): {apart}/{n} = {_percent(apart, n)}")
    print(f"pass rate with {rounds} feedback rounds: {with_rounds}/{n} = {_percent(with_rounds, n)}")
    gain = (with_rounds - first_try) / first_try if first_try else float("inf")
    print(f"relative gain: {gain * 100:+.0f}% (target: at least +30%)")
    seconds = [s for r in results for s in r.round_seconds]
    if seconds:
        print(
            f"time per round: median {statistics.median(seconds):.1f} s, "
            f"mean {statistics.mean(seconds):.1f} s, max {max(seconds):.1f} s ({len(seconds)} rounds)"
        )
    if warm:
        evaluated, prompt = sum(e for e, _ in warm), sum(p for _, p in warm)
        conversation = [w for w in (_warm(r) for r in results) if w and w[2] is not None]
        new = sum(w[2] or 0 for w in conversation)
        again = sum(w[0] for w in conversation) - new
        share = [e / p for e, p in warm if p]
        print(
            f"round 2 prompt: {evaluated} of {prompt} tokens evaluated = {_percent(evaluated, prompt)} "
            f"(per task: median {_percent(statistics.median(share), 1)}, max {_percent(max(share), 1)}; "
            "target: at most 20%)"
        )
        print(
            f"  where it was the conversation's answer ({len(conversation)} tasks): the new feedback turn {new} tokens,"
            f" evaluated again from earlier turns {again}"
        )
        whole = [a for r in results if len(r.outcome.rounds) > 1 for a in r.outcome.rounds[1].answers]
        whole_evaluated, whole_prompt = sum(a.evaluated_tokens for a in whole), sum(a.prompt_tokens for a in whole)
        print(
            f"round 2, every request (the conversation's answer and the fresh tries, {len(whole)} requests):"
            f" {whole_evaluated} of {whole_prompt} tokens evaluated = {_percent(whole_evaluated, whole_prompt)}"
        )
        tries = [r.outcome.rounds[i].tries for r in results for i in range(1, len(r.outcome.rounds))]
        if tries:
            print(
                f"answers the tests chose from per feedback round: median {statistics.median(tries):g}, max {max(tries)}"
            )


# -- the edit formats --------------------------------------------------------------------
FILLER = (
    "def helper_{i}(values, limit={i}):\n"
    '    """Keep the values below {i} and double them."""\n'
    "    kept = [value for value in values if value < limit]\n"
    "    return [value * 2 for value in kept]\n\n\n"
)


def _padded(text: str, lines: int) -> str:
    """The stub with filler functions after it, to about `lines` lines."""
    filler, i = "", 0
    while len((text + "\n\n" + filler).splitlines()) < lines:
        filler += FILLER.format(i=i)
        i += 1
    return text + ("\n\n" + filler if filler else "")


class _Counting:
    """An answer source that keeps every answer's figures."""

    def __init__(self, inner: ClientAnswers) -> None:
        self.inner = inner
        self.answers: list[ModelAnswer] = []

    def answer(
        self, messages: Sequence[Message], stop: threading.Event, *, feedback: bool = False, attempt: int = 0
    ) -> ModelAnswer:
        answer = self.inner.answer(messages, stop, feedback=feedback, attempt=attempt)
        self.answers.append(answer)
        return answer


def run_formats(tasks: Sequence[EditTask], source: ClientAnswers, sizes: Sequence[int]) -> None:
    rows = [("lines", "format", "passed", "answer tokens (median)", "answer s (median)", "mismatch retries")]
    single = [t for t in tasks if t.test != "node" and len(t.files) == 1]
    for size in sizes:
        for name, limit in (("whole", 10**6), ("search/replace", 0)):
            edit_prompt.WHOLE_FILE_MAX_LINES = limit  # type: ignore[misc]  # the format every file is asked in
            passed, tokens, seconds, retries = 0, [], [], 0
            for task in single:
                with tempfile.TemporaryDirectory(prefix="bench-format-") as work:
                    folder = task.copy_to(Path(work) / task.name)
                    stub = folder / task.files[0]
                    stub.write_text(_padded(stub.read_text(), size))
                    counting = _Counting(source)
                    outcome = _loop(task, folder, counting, 0, source.params.max_tokens)
                passed += outcome.passed
                tokens.extend(a.completion_tokens for a in counting.answers[:1])
                seconds.extend(a.seconds for a in counting.answers[:1])
                retries += len(counting.answers) > 1
            rows.append(
                (
                    str(size),
                    name,
                    f"{passed}/{len(single)}",
                    f"{statistics.median(tokens):.0f}",
                    f"{statistics.median(seconds):.1f}",
                    str(retries),
                )
            )
            print(rows[-1], flush=True)
    print(table(rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="a GGUF model (default: the test model)")
    parser.add_argument("--tasks", default="", help="comma-separated task names (default: all)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N tasks")
    parser.add_argument("--rounds", type=int, default=2, help="feedback rounds (default: 2)")
    parser.add_argument(
        "--tries",
        type=int,
        default=DEFAULT_FEEDBACK_TRIES,
        help=f"fresh tries per feedback round, as dscoder edit --tries (default: {DEFAULT_FEEDBACK_TRIES})",
    )
    parser.add_argument("--max-tokens", type=int, default=CHAT_MAX_TOKENS, help="as `dscoder edit`")
    parser.add_argument("--separate-one-shot", action="store_true", help="also run every task with --rounds 0")
    parser.add_argument("--pad", type=int, default=0, help="pad each Python stub to about this many lines")
    parser.add_argument("--formats", action="store_true", help="measure the edit formats instead")
    parser.add_argument("--sizes", default="0,100,200", help="file sizes in lines for --formats")
    parser.add_argument(
        "--feedback-temperature",
        type=float,
        default=FEEDBACK_TEMPERATURE,
        help=f"sampling in the feedback rounds (default: {FEEDBACK_TEMPERATURE}; 0: greedy like round 1)",
    )
    parser.add_argument("--save", default="", help="write every task's conversation and rounds as JSON here")
    parser.add_argument("--threads", type=int, default=0, help="engine threads (default: llama.cpp's choice)")
    args = parser.parse_args()
    tasks = load_tasks([t for t in args.tasks.split(",") if t] or None)
    if args.limit:
        tasks = tasks[: args.limit]
    model = args.model or test_model_path()
    print(f"feedback rounds sample at temperature {args.feedback_temperature} (round 1: greedy)")
    print(
        f"model: {model}\nload: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1 and 5 min), {os.cpu_count()} CPUs"
    )
    options = LoadOptions(model_path=model, n_ctx=N_CTX, n_threads=args.threads, n_threads_batch=args.threads)
    with EngineSupervisor(options) as supervisor:
        endpoint = supervisor.start()
        client = OpenAIClient(endpoint.base_url, endpoint.api_key)
        params = SamplingParams(temperature=0.0, max_tokens=args.max_tokens)
        source = ClientAnswers(client, params, feedback_temperature=args.feedback_temperature)
        started = time.monotonic()
        if args.formats:
            run_formats(tasks, source, [int(s) for s in args.sizes.split(",")])
        else:
            results: list[TaskResult] = []
            for task in tasks:
                results.append(run_task(task, source, args.rounds, args.pad, args.tries))
                print(_task_line(results[-1]), flush=True)
            one_shot: dict[str, bool] | None = None
            if args.separate_one_shot:
                one_shot = {t.name: run_task(t, source, 0).outcome.passed for t in tasks}
            report_rounds(results, one_shot, args.rounds)
            report_verdicts(results, args.rounds)
            if args.save:
                save_transcripts(results, args.save)
        client.close()
    print(f"\nwall time: {time.monotonic() - started:.0f} s; load after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
