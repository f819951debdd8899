"""Syntax errors as tree-sitter reports them: ERROR nodes (text it could not parse) and
MISSING nodes (a token it had to assume, such as a closing brace)."""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from app.syntax.languages import Source, parse


@dataclass(frozen=True)
class SyntaxProblem:
    line: int  # 0-based
    missing: str  # the token tree-sitter had to assume ("}"), or "" for unparsable text

    def describe(self) -> str:
        where = f"line {self.line + 1}"
        return f"missing “{self.missing}” at {where}" if self.missing else f"unparsable code at {where}"


def syntax_problems(source: Source, limit: int = 50) -> list[SyntaxProblem]:
    """The error and missing nodes of a parsed text, in order, at most `limit`."""
    problems: list[SyntaxProblem] = []
    if not source.root.has_error:
        return problems
    stack: list[Node] = [source.root]
    while stack and len(problems) < limit:
        node = stack.pop()
        if node.is_missing:
            problems.append(SyntaxProblem(node.start_point[0], node.type))
            continue
        if node.is_error:
            problems.append(SyntaxProblem(node.start_point[0], ""))
            continue
        stack.extend(child for child in reversed(node.children) if child.has_error or child.is_missing)
    return sorted(problems, key=lambda p: p.line)


def new_problems(before: str, after: str, grammar: str | None) -> list[SyntaxProblem]:
    """Errors `after` has beyond those `before` had (none when there is no grammar).

    Compared by count, since the lines move: the answer is the problems of `after`
    when it has more of them than `before`, otherwise none."""
    old, new = parse(before, grammar), parse(after, grammar)
    if old is None or new is None:
        return []
    found = syntax_problems(new)
    return found if len(found) > len(syntax_problems(old)) else []
