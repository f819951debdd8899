"""The code in a chat answer: what the check runs for a problem.

Models answer in many shapes: one fenced block, several (an example call after the
function), prose with the code unfenced, the whole function or only its body. The
answer is turned into one program that defines the problem's function:

- fenced blocks first, a block that defines the function before the others; with no
  fence, the whole answer;
- a block that defines the function is appended to the problem's prompt, so the prompt's
  imports and helper functions stay (the answer's definition replaces the prompt's);
- a block that does not is taken as the function's body and indented under the prompt.

The first candidate that Python parses wins; None when nothing parses (the problem
scores 0 and the check goes on).
"""

from __future__ import annotations

import ast
import re
import textwrap

from app.models.quality.problems import Problem

_FENCE_RE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _defines(code: str, name: str) -> bool:
    return re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.MULTILINE) is not None


def _candidates(answer: str, entry_point: str) -> list[str]:
    blocks = [m.group(2) for m in _FENCE_RE.finditer(answer) if m.group(1).lower() in ("", "python", "py", "python3")]
    if not blocks:
        return [answer]
    return sorted(blocks, key=lambda block: not _defines(block, entry_point))


def program_from_answer(problem: Problem, answer: str) -> str | None:
    """The problem's prompt completed by the answer's code, or None when no code parses."""
    for code in _candidates(answer, problem.entry_point):
        code = code.strip("\n")
        if not code.strip():
            continue
        if _defines(code, problem.entry_point):
            program = f"{problem.prompt}\n{textwrap.dedent(code)}\n"
        else:
            body = textwrap.indent(textwrap.dedent(code), "    ")
            program = f"{problem.prompt}{body}\n"
        if _parses(program):
            return program
    return None
