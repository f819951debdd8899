"""A feedback round's tries: the answer in the conversation, then fresh tries, and the
tests choose.

Measured on the edit-loop benchmark (Qwen2.5-Coder-0.5B, 25 tasks), shown its failures
in the conversation a small model mostly writes its last answer again, or another that
fails: in three releases of feedback wording, formats and temperatures, the rounds
rescued no task. The answer already in the conversation outweighs the failures. Asked
afresh (the first request, the failures of the last answer under it, and none of the
answers that failed) at the feedback temperature, each try with its own seed, it writes
different answers, and running the tests on each picks one that passes: 8 → 13 of 25
with five tries (tests/bench/edit_loop.py; the README has the figures).

The conversation's answer goes first (the warm prompt, the model's own context); the
fresh tries come only when it fails, and stop at the first pass. Every try shares the
fresh request, so the engine evaluates it once and the later tries find it warm.

Qt-free: the driver (`dscoder edit`, the benchmark) runs the tries.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.edits.changeset import ChangeSet, build_changeset
from app.edits.formats import Edit, ParsedAnswer
from app.edits.prompt import Message, edit_messages
from app.edits.workspace import EditScope
from app.loop.feedback import trim_failures
from app.loop.rounds import TestRun

# Fresh tries after the conversation's answer fails, per feedback round. Five rescued 5 of
# the 17 tasks the first try failed (three rescued 2, one 1; the same benchmark). Each is
# one answer and one test run, and they stop at the first pass.
DEFAULT_FEEDBACK_TRIES = 5


def run_rank(run: TestRun) -> tuple[int, int, int]:
    """Lower is better: a pass, then more tests passing, then more tests run. An answer that
    breaks the module's import runs fewer (pytest counts one collection error where three
    tests failed before), so fewer failures alone would rank it first. A timeout, or a run
    whose counts could not be read, ranks after any count."""
    if run.passed:
        return (0, 0, 0)
    if run.counts is None or run.timed_out:
        return (1, 1, 0)
    passed = run.counts.passed or 0
    return (1, -passed, -(passed + run.counts.failed))


@dataclass
class Try:
    """One answer of a round, applied, tested and taken back."""

    messages: list[Message]  # the conversation that asked for it, its answer last
    changeset: ChangeSet
    tests: TestRun | None = None  # the run of the tests with this answer's change; None: nothing to test
    note: str = ""  # why the round keeps no change, for the user

    @property
    def passed(self) -> bool:
        return self.tests is not None and self.tests.passed

    def rank(self) -> tuple[int, int, int]:
        """As `run_rank`; a try that changes nothing (or was not tested) after every change."""
        if self.changeset.empty or self.tests is None:
            return (2, 0, 0)
        return run_rank(self.tests)


def best_try(tries: list[Try]) -> Try:
    """The try the round keeps: the best rank, the earliest among equals (the conversation's
    answer before a fresh one)."""
    return min(tries, key=Try.rank)


def fresh_request(instruction: str, first_scope: EditScope, tests: TestRun, budget: int, folder: str) -> list[Message]:
    """The first request again (its files as they were then), with what failed under it."""
    trimmed = trim_failures(tests.output, budget, folder)
    fence = "```"
    while fence in trimmed.text:
        fence += "`"
    messages = edit_messages(instruction, first_scope)
    request = messages[-1]
    note = (
        f"An earlier answer failed the tests ({tests.result_line(exit_code=False)}):\n{fence}\n{trimmed.text}\n{fence}"
    )
    messages[-1] = {"role": request["role"], "content": f"{request['content']}\n\n{note}"}
    return messages


def rebased(fresh: ChangeSet, scope: EditScope) -> ChangeSet:
    """A fresh try's change to the files as the first request showed them (`fresh.scope`),
    as a change to the files as they are now (`scope`): each of those files becomes, whole,
    what the try leaves it; the try's own text, or the first one where it did not touch it.
    A deletion is left out (it needs the user's confirmation, which no try has)."""
    edits: list[Edit] = []
    for original in fresh.scope.editable:
        change = fresh.change_for(original.path)
        if change is not None and change.kind == "deleted":
            continue
        if change is not None:
            edits.append(Edit("whole", original.path, replace=change.result_text()))
        elif original.exists:
            edits.append(Edit("whole", original.path, replace=original.text))
    shown = {f.path for f in fresh.scope.editable}
    edits.extend(Edit("whole", c.path, replace=c.new_text) for c in fresh.changes if c.path not in shown)
    again = build_changeset(scope, ParsedAnswer(tuple(edits)))
    again.problems[:0] = fresh.problems
    return again
