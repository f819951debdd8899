"""Scripted engines for the quality check: answers that are HumanEval's canonical solutions
(a perfect model), garbage (a broken one), or a stream that never ends (a stuck one).

Each is a `respond(path, body)` for `RecordingOpenAIServer` (tests/helpers/fake_openai.py):
the check talks to it over HTTP as to any remote engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.models.quality.holes import Hole, multi_line_hole, single_line_hole
from app.models.quality.problems import Problem

GARBAGE = "lorem ipsum ) ( this is not code"
RUN_ON = "\n\n\ndef another_function():\n    return None\n" * 20


class CanonicalCoder:
    """Answers each chat question with the problem's canonical function, and each hole with
    its canonical middle (found by the request's prefix and suffix windows)."""

    def __init__(self, problems: Sequence[Problem], run_past_the_hole: bool = False) -> None:
        """`run_past_the_hole`: each middle goes on into a new function, as models do, for the
        editor's stop rules to cut."""
        self.problems = list(problems)
        self.run_past_the_hole = run_past_the_hole
        self.holes: list[Hole] = [
            hole for p in problems for hole in (single_line_hole(p), multi_line_hole(p)) if hole is not None
        ]

    def __call__(self, path: str, body: dict[str, Any]) -> str:
        if path.endswith("/chat/completions"):
            question = body["messages"][-1]["content"]
            problem = next(p for p in self.problems if p.prompt in question)
            return f"Here is the function:\n```python\n{problem.prompt}{problem.canonical_solution}```\n"
        prefix, suffix = body["prompt"], body.get("suffix", "")
        # The window may cut the file's ends: the hole whose ends hold the request's, the closest fit.
        fits = [h for h in self.holes if h.prefix.endswith(prefix) and h.suffix.startswith(suffix)]
        middle = min(fits, key=lambda h: len(h.prefix) - len(prefix) + len(h.suffix) - len(suffix)).middle
        return middle + RUN_ON if self.run_past_the_hole else middle


def garbage(_path: str, _body: dict[str, Any]) -> str:
    return GARBAGE


def endless(_path: str, _body: dict[str, Any]) -> str:
    return "x = 1\n" * 10_000
