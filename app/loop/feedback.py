"""What a failed test run tells the model: the output trimmed to a budget, the first
failure first, and the files that changed beyond the model's own edit.

A test run's output starts with what the model needs least (progress dots, the
platform line) and can run to megabytes; the model needs the first failure whole, the
summary, and then as many other failures as fit. `trim_failures` finds the failure
blocks of pytest, unittest and node's TAP reporter (and any Python traceback); output
it does not recognise is kept as its head and its tail.

Qt-free.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.edits.prompt import files_prompt
from app.edits.workspace import EditScope, FileSnapshot
from app.run.ansi import strip_ansi

# About 1,100 tokens of output: enough for two or three failures with their tracebacks,
# small beside a 4,096-token context that also holds the files and the conversation.
FEEDBACK_MAX_CHARS = 4000
CHARS_PER_TOKEN = 3  # code and test output tokenize denser than prose: a cautious ratio
FIRST_FAILURE_SHARE = 0.6  # of the budget, at most, for the first failure
SUMMARY_LINES = 12  # from the end of the output: the counts and the list of failed tests

# Where one failure's report starts.
_BLOCK_STARTS = (
    re.compile(r"^_{3,} .+ _{3,}$"),  # pytest: "____ test_even ____" (FAILURES and ERRORS sections)
    re.compile(r"^(?:FAIL|ERROR): \S"),  # unittest: under a line of "="
    re.compile(r"^\s*not ok \d+\b"),  # node --test, TAP
)
# Where the list of failures ends and the run's summary begins: pytest's short summary,
# unittest's rule before "Ran N tests", TAP's plan before its counts.
_PYTEST_SUMMARY = re.compile(r"^=+ short test summary info =+$")
_UNITTEST_SUMMARY_RULE = re.compile(r"^-{20,}$")
_UNITTEST_RAN = re.compile(r"^Ran \d+ tests?")
_TAP_PLAN = re.compile(r"^1\.\.\d+$")
_UNITTEST_RULE = re.compile(r"^={20,}$")
# Lines that tell the model nothing: the test runner's own stack frames and timings.
_NOISE = re.compile(r"node:internal/|\(node:async_hooks|^\s*node:async_hooks|^\s*duration_ms: |^# Subtest: ")
_TRACEBACK = re.compile(r"^Traceback \(most recent call last\):$")


@dataclass(frozen=True)
class TrimmedOutput:
    text: str
    failures_found: int  # failure blocks recognised
    failures_shown: int  # of those, how many the text holds whole or cut
    cut: bool  # whether anything was left out


def _summary_start(lines: Sequence[str]) -> int:
    for index, line in enumerate(lines):
        if _PYTEST_SUMMARY.match(line) or _TAP_PLAN.match(line):
            return index
        if _UNITTEST_SUMMARY_RULE.match(line) and index + 1 < len(lines) and _UNITTEST_RAN.match(lines[index + 1]):
            return index
    return len(lines)


def _failure_blocks(lines: Sequence[str]) -> tuple[list[tuple[int, int]], int]:
    """The (start, end) line spans of each failure's report, and where the summary starts."""
    summary = _summary_start(lines)
    starts = [i for i in range(summary) if any(p.match(lines[i]) for p in _BLOCK_STARTS)]
    if not starts:
        starts = [i for i in range(summary) if _TRACEBACK.match(lines[i])]
    spans: list[tuple[int, int]] = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else summary
        if n + 1 < len(starts) and end > 0 and _UNITTEST_RULE.match(lines[end - 1]):
            end -= 1  # unittest's "=====" belongs to the next block
        spans.append((start, end))
    return spans, summary


def _cut(text: str, limit: int) -> str:
    """`text` within `limit` characters: its start, and a line saying how much is left out."""
    if len(text) <= limit:
        return text
    keep = max(0, limit - 40)
    return text[:keep].rstrip() + f"\n… ({len(text) - keep:,} more characters left out)"


def _head_and_tail(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = max(0, limit // 2 - 30)
    return text[:half].rstrip() + f"\n… ({len(text) - 2 * half:,} characters left out) …\n" + text[-half:].lstrip()


def trim_failures(output: str, max_chars: int = FEEDBACK_MAX_CHARS) -> TrimmedOutput:
    """The test output within `max_chars`: the first failure, more failures while they fit,
    then the summary. What comes before the first failure (progress dots, the platform
    line, section rules) is left out when failures were found."""
    text = strip_ansi(output).replace("\r\n", "\n").strip("\n")
    lines = [line for line in text.splitlines() if not _NOISE.search(line)]
    spans, summary_at = _failure_blocks(lines)
    if not spans:
        cut = len(text) > max_chars
        return TrimmedOutput(_head_and_tail(text, max_chars), 0, 0, cut)
    summary_lines = lines[summary_at:] if summary_at < len(lines) else lines[-SUMMARY_LINES:]
    summary = _head_and_tail("\n".join(summary_lines[-SUMMARY_LINES * 2 :]), max_chars // 4)
    first = "\n".join(lines[spans[0][0] : spans[0][1]]).strip("\n")
    first = _cut(first, max(200, int(max_chars * FIRST_FAILURE_SHARE)))
    parts = [first]
    room = max_chars - len(first) - len(summary) - 80
    shown = 1
    for start, end in spans[1:]:
        block = "\n".join(lines[start:end]).strip("\n")
        if len(block) > room:
            break
        parts.append(block)
        room -= len(block) + 1
        shown += 1
    if shown < len(spans):
        parts.append(f"… ({len(spans) - shown} more failure{'s' if len(spans) - shown != 1 else ''} left out)")
    parts.append(summary)
    return TrimmedOutput("\n\n".join(parts), len(spans), shown, shown < len(spans) or first.endswith("left out)"))


def budget_chars(context_size: int | None, tokens_in_use: int, answer_tokens: int) -> int:
    """How many characters of output fit: FEEDBACK_MAX_CHARS, or less when the context is
    nearly full (what the conversation holds and the next answer's room stay free)."""
    if not context_size:
        return FEEDBACK_MAX_CHARS
    free_tokens = context_size - tokens_in_use - answer_tokens
    return max(400, min(FEEDBACK_MAX_CHARS, free_tokens * CHARS_PER_TOKEN))


def changed_beyond_edit(scope: EditScope, expected: dict[str, str]) -> list[FileSnapshot]:
    """The scope's files (read again now) whose text is not what the model's own edit
    left: the review left some of it out, or something else wrote the file since.
    `expected` maps each editable path to the text the model believes it has."""
    changed: list[FileSnapshot] = []
    for snapshot in scope.editable:
        believed = expected.get(snapshot.path)
        if believed is not None and snapshot.text != believed:
            changed.append(snapshot)
    return changed


def feedback_message(
    command: str,
    result_line: str,
    output: TrimmedOutput,
    resent: Sequence[FileSnapshot] = (),
    scope: EditScope | None = None,
) -> str:
    """The user turn of a feedback round: the failures, the files to see again, the ask."""
    fence = "```"
    while fence in output.text:
        fence += "`"
    notes = [
        n
        for n in ("the first failure first" if output.failures_shown > 1 else "", "trimmed" if output.cut else "")
        if n
    ]
    said = f" ({', '.join(notes)})" if notes else ""
    parts = [
        f"I applied your edit and ran the tests with `{command}`: {result_line}.",
        f"The output{said}:\n{fence}text\n{output.text}\n{fence}",
    ]
    if resent and scope is not None:
        again = EditScope(scope.workspace, tuple(resent))
        names = ", ".join(f.path for f in resent)
        parts.append(
            f"{names} {'is' if len(resent) == 1 else 'are'} not as your edit left {'it' if len(resent) == 1 else 'them'}"
            f" (part of the edit was left out, or the file changed since). The current text:\n\n{files_prompt(again)}"
        )
    parts.append("Fix the code so that the tests pass. Answer with edits in the same format as before.")
    return "\n\n".join(parts)
