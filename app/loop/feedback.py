"""What a failed test run tells the model: the output trimmed to a budget, the first
failure first, and the files that changed beyond the model's own edit.

A test run's output starts with what the model needs least (progress dots, the
platform line) and can run to megabytes; the model needs the first failure whole and
a line for each other failure. `trim_failures` finds the failure blocks
(app.loop.failures: pytest, unittest, node's TAP reporter, any Python traceback) and
keeps them compact; output it does not recognise is kept as its head and its tail.

Qt-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.edits.prompt import file_format, files_prompt
from app.edits.workspace import EditScope, FileSnapshot
from app.loop.failures import (
    OTHER_FAILURES_SHOWN,
    block_error,
    clean_output,
    compact_block,
    failure_blocks,
    failure_lines,
)

# About 1,100 tokens of output: enough for two or three failures with their tracebacks,
# small beside a 4,096-token context that also holds the files and the conversation.
FEEDBACK_MAX_CHARS = 4000
CHARS_PER_TOKEN = 3  # code and test output tokenize denser than prose: a cautious ratio
FIRST_FAILURE_SHARE = 0.6  # of the budget, at most, for the first failure


@dataclass(frozen=True)
class TrimmedOutput:
    text: str
    failures_found: int  # failure blocks recognised
    failures_shown: int  # of those, how many the text holds: the first whole, the others as a line each
    cut: bool  # whether anything was left out


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


def trim_failures(output: str, max_chars: int = FEEDBACK_MAX_CHARS, folder: str | None = None) -> TrimmedOutput:
    """The test output within `max_chars`: the first failure without the runner's noise,
    then a line for each other failure while they fit. What the run's summary says (the
    counts) is the feedback's first line, so it is left out when failures were found, as
    is everything before the first failure. `folder`: the tested folder, whose path is
    made relative."""
    lines = clean_output(output, folder)
    found = failure_blocks(lines)
    if not found.blocks:
        text = "\n".join(lines)
        return TrimmedOutput(_head_and_tail(text, max_chars), 0, 0, len(text) > max_chars)
    first = compact_block(found.blocks[0], folder)
    first = _cut(first, max(200, int(max_chars * FIRST_FAILURE_SHARE)))
    parts = [first]
    room = max_chars - len(first) - 80
    shown = 1
    others = failure_lines(found.blocks[1:], block_error(found.blocks[0]))
    for line, failures in others[:OTHER_FAILURES_SHOWN]:
        if len(line) + 1 > room:
            break
        parts.append(line if shown > 1 else f"\nAlso failing:\n{line}")
        room -= len(line) + 1
        shown += failures
    left = len(found.blocks) - shown
    if left:
        parts.append(f"… ({left} more failure{'s' if left != 1 else ''})")
    return TrimmedOutput("\n".join(parts), len(found.blocks), shown, bool(left) or first.endswith("left out)"))


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


def _answer_ask(scope: EditScope | None) -> str:
    """The closing ask: which files to fix, in which format (the files' own, as in round 1)."""
    if scope is None or not scope.editable:
        return "Fix the code; answer with edits in the same format as before."
    whole = [f.path for f in scope.editable if not f.exists or file_format(f) == "whole"]
    blocks = [f.path for f in scope.editable if f.exists and file_format(f) != "whole"]
    how = []
    if whole:
        how.append(f"{' and '.join(whole)} whole again")
    if blocks:
        how.append(f"SEARCH/REPLACE blocks for {' and '.join(blocks)}")
    return f"Fix the code; answer with {' and '.join(how)}."


def feedback_message(
    result_line: str,
    output: TrimmedOutput,
    resent: Sequence[FileSnapshot] = (),
    scope: EditScope | None = None,
) -> str:
    """The user turn of a feedback round: the failures, the files to see again, the ask."""
    fence = "```"
    while fence in output.text:
        fence += "`"
    parts = [f"{result_line}:\n{fence}\n{output.text}\n{fence}"]
    if resent and scope is not None:
        again = EditScope(scope.workspace, tuple(resent))
        names = ", ".join(f.path for f in resent)
        parts.append(
            f"{names} {'is' if len(resent) == 1 else 'are'} not as your edit left {'it' if len(resent) == 1 else 'them'}"
            f" (part of the edit was left out, or the file changed since). The current text:\n\n{files_prompt(again)}"
        )
    parts.append(_answer_ask(scope))
    return "\n\n".join(parts)
