"""A failed test run's output, as compact as a small model reads it best: the first
failure whole but without the test runner's noise, then a line for another failure.

pytest, unittest and node's TAP reporter are recognised (and any Python traceback);
for each failure block the lines that say nothing to the model are dropped: the caret
lines under an expression, pytest's "_ _ _" frame separators, rules, TAP's timings and
codes, the runner's own stack frames. Paths inside the tested folder are made relative,
and where a frame names a line of a file in the folder that the output does not quote
(node's stack), that line is quoted. What a block says twice is said once: the test's
name where its code names it, a comparison's diff under a line that shows both values,
a "where" line that repeats the assertion's call, an argument the test's code wrote, a
TAP error's diff beside its "expected:" and "actual:". A test file that did not load
(node) shows the error node printed before its block.

A Qwen2.5-Coder-0.5B shown pytest's whole output mostly wrote its last answer again; the
compact failure also keeps the feedback turn small, so that round 2 evaluates little
beyond it: the turn is all it evaluates (issue 21's benchmark: at most 20% of its prompt).

Qt-free.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.run.ansi import strip_ansi

# Where one failure's report starts, and its name: pytest's "____ test_even ____" (its
# FAILURES and ERRORS sections), unittest's "FAIL: test_x (module.Class.test_x)" (under a
# line of "="), node --test's TAP "not ok 2 - name".
BLOCK_STARTS = (
    re.compile(r"^_{3,} (.+?) _{3,}$"),
    re.compile(r"^(?:FAIL|ERROR): (\S+)"),
    re.compile(r"^\s*not ok \d+\b(?: - (.+))?"),
)
# Where the list of failures ends and the run's summary begins: pytest's short summary,
# unittest's rule before "Ran N tests", TAP's plan before its counts.
_PYTEST_SUMMARY = re.compile(r"^=+ short test summary info =+$")
_UNITTEST_SUMMARY_RULE = re.compile(r"^-{20,}$")
_UNITTEST_RAN = re.compile(r"^Ran \d+ tests?")
_TAP_PLAN = re.compile(r"^1\.\.\d+$")
_UNITTEST_RULE = re.compile(r"^={20,}$")
_TRACEBACK = re.compile(r"^Traceback \(most recent call last\):$")
# Lines that tell the model nothing, anywhere in the output: the test runner's own stack
# frames and timings.
NOISE = re.compile(r"node:internal/|\(node:async_hooks|^\s*node:async_hooks|^\s*duration_ms: |^# Subtest: ")
# ... and inside a failure block: carets under an expression, frame separators, rules,
# section banners, TAP's YAML markers and codes.
_BLOCK_NOISE = re.compile(
    r"^\s*[\^~]+\s*$"  # Python 3.11's carets
    r"|^(?:_ ){5,}_?\s*$"  # pytest's separator between frames
    r"|^[-=]{20,}$"  # rules
    r"|^=+ (?:FAILURES|ERRORS) =+$"
    r"|^\s*(?:---|\.\.\.)\s*$"  # TAP's YAML block
    r"|^\s*(?:failureType|code|stack|location): "  # TAP: what kind of failure, not which; the stack has the place
    r"|^Traceback \(most recent call last\):$"
    r"|^E\s*$|^E\s+\?|^E\s+Use -vv? to get more diff|^E\s+Full diff:|^E\s+Omitting \d+ identical"  # pytest's diff
    r"|^\? "  # unittest's diff markers
    r"|^\s*(?:name|operator|exitCode|signal): "  # TAP: the assertion's kind; how a test file's process ended
    r"|^\S+:\d+:\s*$"  # pytest: the location of a frame whose error is in a later frame
    r"|^\s*\?\?\?$"  # pytest: a frame without source
)
# pytest's short frames outside the folder (its own import machinery, the standard
# library): "/usr/lib/python3.11/importlib/__init__.py:126: in import_module" and the
# indented code lines under it.
_OUTSIDE_FRAME = re.compile(r"^(?:/|<frozen )\S*:\d+: in \S+$")
_FRAME_SEPARATOR = re.compile(r"^(?:_ ){5,}_?\s*$")  # pytest's line between two frames
# In a frame after the test's: its arguments ("values = []"), the failing line, the
# error, the location ("stats.py:3: ZeroDivisionError").
_FRAME_KEEP = re.compile(r"^(?:\w+ = |>|E |\S+:\d+: )")
_ARGUMENT = re.compile(r"^\w+ = (.+)$")
# The test's own location under its error ("test_x.py:5: AssertionError"): the model has
# not seen the test file, and the error line above says what it is.
_TEST_LOCATION = re.compile(r"^\S+:\d+: [A-Z]\w*$")
# A comparison's diff: pytest's "E   - expected" / "E   + actual" (not its "+  where"
# lines, which say where a value came from) and unittest's "- x" / "+ y". The line of the
# comparison shows both sides already, unless pytest or unittest shortened it.
_PYTEST_DIFF = re.compile(r"^E\s+[-+] (?!\s*(?:where|and) )")
_UNITTEST_DIFF = re.compile(r"^[-+] ")
_COMPARISON = re.compile(r"^(?:E\s+(?:AssertionError: )?assert |AssertionError: ).+ (?:==|!=) .+$")
_SHORTENED = re.compile(r"\.\.\.|\[\d+ chars\]")
# TAP: an error's text in a YAML block ("error: |-" and the lines under it), a stack frame
# ("TestContext.<anonymous> (vowels.test.js:6:10)"), and what says that a test file's
# process failed rather than a test in it.
# "AssertionError: " before a comparison that says what failed: the comparison is the news.
_ASSERTION_PREFIX = re.compile(r"^(E\s+)?AssertionError: (?=assert |.+ (?:==|!=) )")
# pytest's "+  where 3 = area(2)": where a value in the assertion came from; said already
# when the assertion's own line shows that call.
_PYTEST_WHERE = re.compile(r"^E\s+\+\s+where \S.* = (.+)$")
_TAP_ERROR_BLOCK = re.compile(r"^(\s*)error: [|>]-?$")
_TAP_ACTUAL = re.compile(r"^\s*actual:")
_STACK_FRAME = re.compile(r"^(\s*)(?:at )?(?:async )?\S+(?: \[as \w+\])? \(([^()\s]+:\d+:\d+)\)$")
_TAP_FILE_FAILED = re.compile(r"^\s*exitCode: ")
_TAP_DIAGNOSTIC = re.compile(r"^# (?!Node\.js v|tests |pass |fail )(.*)$")
# A failure's telling line: pytest's "E ..." lines, an exception line, TAP's error.
_PYTEST_ERROR = re.compile(r"^E\s+(.*)$")
_EXCEPTION = re.compile(r"^(?:[A-Za-z_][\w.]*(?:Error|Exception|Failure)|AssertionError)\b.*$")
_TAP_ERROR = re.compile(r"^\s*error: (.*)$")
# A frame that names a line of a JavaScript or TypeScript file: "at f (a/b.js:12:5)".
_JS_FRAME = re.compile(r"([\w./@-]+\.(?:[cm]?js|jsx|ts|tsx)):(\d+):\d+")
OTHER_FAILURES_SHOWN = 1  # lines after the first failure, each for the failures with one error
NAMES_PER_LINE = 6
LINE_MAX_CHARS = 120


@dataclass(frozen=True)
class FailureBlocks:
    """The failure reports found in an output, and its summary."""

    blocks: list[list[str]]
    summary: list[str]
    preamble: list[str] = field(default_factory=list)  # the lines before the first failure


def clean_output(output: str, folder: str | None = None) -> list[str]:
    """The output's lines without colours, noise lines and the folder's absolute path."""
    text = strip_ansi(output).replace("\r\n", "\n").strip("\n")
    if folder:
        for root in dict.fromkeys((str(Path(folder)), str(Path(folder).resolve()))):
            text = text.replace(root.rstrip("/") + "/", "")
    return [line for line in text.splitlines() if not NOISE.search(line)]


def _summary_start(lines: Sequence[str]) -> int:
    for index, line in enumerate(lines):
        if _PYTEST_SUMMARY.match(line) or _TAP_PLAN.match(line):
            return index
        if _UNITTEST_SUMMARY_RULE.match(line) and index + 1 < len(lines) and _UNITTEST_RAN.match(lines[index + 1]):
            return index
    return len(lines)


def failure_blocks(lines: Sequence[str]) -> FailureBlocks:
    """Each failure's report (its lines), and the summary after them."""
    summary_at = _summary_start(lines)
    starts = [i for i in range(summary_at) if any(p.match(lines[i]) for p in BLOCK_STARTS)]
    if not starts:
        starts = [i for i in range(summary_at) if _TRACEBACK.match(lines[i])]
    blocks: list[list[str]] = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else summary_at
        blocks.append(list(lines[start:end]))
    preamble = list(lines[: starts[0]]) if starts else []
    if blocks and any(_TAP_FILE_FAILED.match(line) for line in blocks[0]):
        blocks[0] = [blocks[0][0], *_diagnostics(preamble), *blocks[0][1:]]
    return FailureBlocks(blocks, list(lines[summary_at:]), preamble)


def _diagnostics(preamble: Sequence[str]) -> list[str]:
    """What node printed before a test file that failed to load (its TAP block says only
    "test failed"): the uncaught error, its code line and its frames, as comments."""
    found = (_TAP_DIAGNOSTIC.match(line) for line in preamble)
    return ["  " + match.group(1) for match in found if match and match.group(1).strip()]


def _title(line: str) -> str:
    for start in BLOCK_STARTS:
        header = start.match(line)
        if header and header.group(1):
            return header.group(1).strip()
    return line.strip()


def _quote_js_lines(lines: list[str], folder: str | None) -> list[str]:
    """After each frame that names a line of a file in the folder, that line of code."""
    if not folder:
        return lines
    out: list[str] = []
    quoted: set[tuple[str, int]] = set()
    for line in lines:
        out.append(line)
        frame = _JS_FRAME.search(line)
        if frame is None or line.lstrip().startswith("location:"):
            continue
        path, number = frame.group(1), int(frame.group(2))
        source = Path(folder) / path
        if (path, number) in quoted or path.startswith("/") or not source.is_file():
            continue
        try:
            code = source.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        if 0 < number <= len(code):
            quoted.add((path, number))
            out.append(f"      > {code[number - 1].strip()}")
    return out


def _pytest_frames(block: Sequence[str]) -> list[str]:
    """pytest's frames: the first (the test, whose code says what is expected) whole; of
    the frames after it the arguments, the failing line, the error and the location (the
    model has the code of those files)."""
    kept: list[str] = []
    frame = 0
    test_source = ""  # the test's code, where an argument's value may be written already
    for line in block:
        argument = _ARGUMENT.match(line)
        if _FRAME_SEPARATOR.match(line):
            frame += 1
        elif frame == 0 and _TEST_LOCATION.match(line):
            continue
        elif frame == 0:
            kept.append(line)
            test_source += line.replace('"', "'") + "\n"
        elif argument and argument.group(1).replace('"', "'") in test_source:
            continue
        elif _FRAME_KEEP.match(line):
            kept.append(line)
    return kept


def _without_repeated_values(block: Sequence[str]) -> list[str]:
    """The block without what it says twice: a comparison's diff where the comparison's line
    shows both sides whole ("assert 'ab' == 'a_b'" needs no "- a_b" and "+ ab" under it), a
    shortened comparison that an explanation follows, a "where" line that repeats the
    assertion's call, "AssertionError: " before a comparison, a frame's function name."""
    at = next((n for n, line in enumerate(block) if _COMPARISON.match(line)), -1)
    whole = at >= 0 and not _SHORTENED.search(block[at])
    # pytest's comparison of long values, shortened ("['1', '2', 'F..., 'Fizz', ...] == [...]"),
    # says little that the explanation under it ("At index 14 diff: ...") does not.
    explained = any(
        line.startswith("E") and line[1:].strip() and not _BLOCK_NOISE.match(line) for line in block[at + 1 :]
    )
    cut_at = at if at >= 0 and not whole and block[at].startswith("E") and explained else -1
    source = next((line for line in block if line.startswith(">")), "").replace('"', "'")
    kept: list[str] = []
    for n, line in enumerate(block):
        where = _PYTEST_WHERE.match(line)
        if n == cut_at or (whole and (_PYTEST_DIFF.match(line) or _UNITTEST_DIFF.match(line))):
            continue
        if where and where.group(1).replace('"', "'") in source:
            continue
        frame = _STACK_FRAME.match(line)
        kept.append(f"{frame.group(1)}at {frame.group(2)}" if frame else _ASSERTION_PREFIX.sub(r"\1", line))
    return kept


def _tap_error_in_a_line(block: Sequence[str]) -> list[str]:
    """A TAP block whose "expected:" and "actual:" show the values: its error's text (a
    YAML block that says them again as a diff) cut to its first line, on the "error:" line."""
    if not any(_TAP_ACTUAL.match(line) for line in block):
        return list(block)
    kept: list[str] = []
    error_indent = -1  # inside the error's text, while lines are indented deeper than its key
    for line in block:
        if error_indent >= 0 and (not line.strip() or len(line) - len(line.lstrip()) > error_indent):
            if kept[-1].endswith("error:") and line.strip():
                kept[-1] += " " + line.strip()
            continue
        error = _TAP_ERROR_BLOCK.match(line)
        error_indent = len(error.group(1)) if error else -1
        kept.append(f"{error.group(1)}error:" if error else line)
    return kept


def _without_outside_frames(block: Sequence[str]) -> list[str]:
    kept: list[str] = []
    outside = False
    for line in block:
        if _OUTSIDE_FRAME.match(line):
            outside = True
        elif outside and line.startswith((" ", "\t")):
            continue
        else:
            outside = False
            kept.append(line)
    return kept


def compact_block(block: Sequence[str], folder: str | None = None) -> str:
    """One failure's report without the noise: its name, the code, the error."""
    block = _tap_error_in_a_line(_without_repeated_values(_without_outside_frames(_pytest_frames(block))))
    title = _title(block[0])
    body = [line for line in block[1:] if not _BLOCK_NOISE.match(line) and line.strip()]
    # The title goes where the next line names the test already ("def test_x():", unittest's
    # "File ..., in test_x").
    named = bool(body) and re.search(rf"\b{re.escape(title)}\b", body[0]) is not None
    lines = _quote_js_lines(body if named else [title, *body], folder)
    return "\n".join(line.rstrip() for line in lines if line.strip())


def block_error(block: Sequence[str]) -> str:
    """What went wrong in a failure, in a line ("assert 3 == 2"), or ""."""
    pytest = [m.group(1).strip() for m in (_PYTEST_ERROR.match(line) for line in block) if m]
    if pytest:
        return _ASSERTION_PREFIX.sub("", pytest[0])  # the assertion; the lines after it are its diff
    errors = [_tap_error(block, n) for n, line in enumerate(block) if _TAP_ERROR.match(line)]
    errors = errors or [line.strip() for line in block[1:] if _EXCEPTION.match(line.strip())]
    return _ASSERTION_PREFIX.sub("", errors[-1]) if errors else ""


def _tap_error(block: Sequence[str], at: int) -> str:
    """TAP's error at line `at`: on that line, or under it when it is a YAML block ("error: |-")."""
    match = _TAP_ERROR.match(block[at])
    error = match.group(1).strip() if match else ""
    if error in ("|-", "|", ">-", ">"):
        error = next((line.strip() for line in block[at + 1 :] if line.strip()), "")
    return error


def failure_lines(blocks: Sequence[Sequence[str]], shown_error: str = "") -> list[tuple[str, int]]:
    """A line for each failure, its name and what went wrong ("test_x: assert 3 == 2"),
    with how many failures it stands for: failures with the same error share one line
    ("test_a, test_b: NotImplementedError"); those with `shown_error` (the first failure's,
    shown whole) say "the same error"."""
    names: dict[str, list[str]] = {}
    for block in blocks:
        names.setdefault(block_error(block), []).append(_title(block[0]))
    lines: list[tuple[str, int]] = []
    for error, titles in names.items():
        named = ", ".join(titles[:NAMES_PER_LINE])
        if len(titles) > NAMES_PER_LINE:
            named += f" and {len(titles) - NAMES_PER_LINE} more"
        line = f"{named}: {'the same error' if error == shown_error else error}" if error else named
        lines.append((line if len(line) <= LINE_MAX_CHARS else line[: LINE_MAX_CHARS - 1] + "…", len(titles)))
    return lines
