"""Fill-in-the-middle holes cut from HumanEval's canonical solutions.

Each problem's file is its prompt followed by its canonical solution; one hole of each
kind is cut from the solution's lines:

- **single-line**: one line's code, from after its indentation to its end;
- **multi-line**: two to four consecutive lines, from after the first one's indentation
  to the end of the last.

The cursor sits where the hole starts, at the end of its line once the hole is cut, as
when a user has typed a line's indentation and waits for the editor's suggestion.

Only holes the editor's stop rules (app/completion/fim.py) can give back whole are used:
the canonical middle passed through the rules must come out unchanged (a block that
dedents below its first line, or repeats the line after the hole, would be cut there).
Among those the choice is fixed by a checksum of the task id, so every run and every
machine cuts the same holes. Problems whose solution is one line have no multi-line hole.

These are not the published HumanEval-FIM protocol (other spans, other prompts, other
stop rules): their pass@1 compares quantizations and models with each other on this
app's completion path, not with a paper's figure.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from app.completion.fim import filter_middle
from app.models.quality.problems import Problem

MULTI_LINE_SPANS = (2, 3, 4)


@dataclass(frozen=True)
class Hole:
    task_id: str
    prefix: str  # the file before the hole
    middle: str  # the canonical code that was cut out
    suffix: str  # the file after it

    @property
    def text_without_hole(self) -> str:
        return self.prefix + self.suffix

    @property
    def cursor(self) -> int:
        return len(self.prefix)


def _line_spans(text: str) -> list[tuple[int, int, int]]:
    """(start of code, end of line, line number) of each non-blank line of `text`."""
    spans = []
    offset = 0
    for number, line in enumerate(text.split("\n")):
        if line.strip():
            spans.append((offset + len(line) - len(line.lstrip()), offset + len(line), number))
        offset += len(line) + 1
    return spans


def _expressible(prefix: str, middle: str, suffix: str) -> bool:
    return filter_middle(prefix, suffix, middle, "python") == middle


def _pick(task_id: str, holes: list[Hole]) -> Hole | None:
    return holes[zlib.crc32(task_id.encode()) % len(holes)] if holes else None


def _holes(problem: Problem, spans: tuple[int, ...]) -> list[Hole]:
    text = problem.prompt + problem.canonical_solution
    base = len(problem.prompt)
    lines = _line_spans(problem.canonical_solution)
    found = []
    for index, (start, _, first_number) in enumerate(lines):
        for span in spans:
            last = index + span - 1
            # consecutive lines only (blank lines between code lines are fine inside a span)
            if last >= len(lines) or lines[last][2] - first_number >= span * 2:
                continue
            end = lines[last][1]
            hole = Hole(problem.task_id, text[: base + start], text[base + start : base + end], text[base + end :])
            if _expressible(hole.prefix, hole.middle, hole.suffix):
                found.append(hole)
    return found


def single_line_hole(problem: Problem) -> Hole | None:
    return _pick(problem.task_id, _holes(problem, (1,)))


def multi_line_hole(problem: Problem) -> Hole | None:
    return _pick(problem.task_id, _holes(problem, MULTI_LINE_SPANS))
