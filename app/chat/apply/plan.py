"""Where a chat answer's code block goes in a file: the plan the Apply dialog and
`dscoder apply` show, and the check that the result still parses.

In order: a block that is the whole file rewritten (it has every definition, import
and statement of the file) becomes the file's diff; a block of whole definitions is
applied by syntax (app.chat.apply.syntax); anything else (a fragment, a language
without a grammar) is matched line by line (app.chat.apply.hunks), and the plan says
why it had to fall back. Qt-free.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import replace

from app.chat.apply.block import BlockCode, read_block
from app.chat.apply.hunks import ApplyPlan, Hunk, apply_hunks, line_hunks, plan_apply, split_lines
from app.chat.apply.syntax import SyntaxPlan, plan_by_syntax
from app.editor import textfile
from app.syntax.definitions import outline
from app.syntax.errors import SyntaxProblem, new_problems
from app.syntax.imports import IMPORT_TYPES, import_statements, top_level_nodes
from app.syntax.languages import Source, grammar_for, parse

_COMMENTS = frozenset({"comment", "line_comment", "block_comment"})


def clean_block(block: str) -> str:
    """The block without surrounding blank lines and without the indentation all its lines share."""
    return textwrap.dedent(block.strip("\r\n")).rstrip() + "\n" if block.strip() else ""


def _is_whole_file(file: Source, block: Source) -> bool:
    """The block has every definition, import and other statement of the file."""
    file_defs = outline(file)
    if not file_defs:
        return False
    block_keys = {d.key for d in outline(block)}
    if any(d.key not in block_keys for d in file_defs):
        return False
    block_imports = {s.key for s in import_statements(block)}
    if any(s.key not in block_imports for s in import_statements(file)):
        return False
    covered = [(d.doc_start_line, d.end_line) for d in file_defs]
    block_text = " ".join(block.text.split())
    for node in top_level_nodes(file):
        row = node.start_point[0]
        if node.type in IMPORT_TYPES or node.type in _COMMENTS or any(a <= row < b for a, b in covered):
            continue
        if " ".join(file.lines[row].split()) not in block_text:
            return False
    return True


def plan_code_block(
    current: str, block: str, *, language_id: str, path: str = "", cursor_line: int | None = None
) -> ApplyPlan:
    """How `block` applies to `current` (a file in `language_id`).

    `cursor_line` is the 0-based line of the cursor when the user placed it in this
    file, None otherwise: only then does code that has no better place go there.
    """
    code = clean_block(block)
    grammar = grammar_for(language_id, path)
    if not code:
        return ApplyPlan("region", (0, 0), (), grammar=grammar)
    file_source, block_source = parse(current, grammar), parse(code, grammar)
    if file_source is None or block_source is None:
        name = textfile.language(language_id).name
        reason = f"{name} has no parser here, so the code was matched line by line"
    elif _is_whole_file(file_source, block_source):
        file_lines = split_lines(current)
        hunks = line_hunks(file_lines, split_lines(code), 0)
        labelled = tuple(
            replace(h, what="Changes the file", why="the answer is the whole file, rewritten") for h in hunks
        )
        return ApplyPlan("whole", (0, len(file_lines)), labelled, grammar=grammar)
    else:
        block_code = read_block(code, file_source.grammar)
        planned = (
            plan_by_syntax(file_source, block_code, cursor_line) if isinstance(block_code, BlockCode) else block_code
        )
        if isinstance(planned, SyntaxPlan):
            return _syntax_plan(planned, grammar)
        reason = f"{planned}, so it was matched line by line"
    fuzzy = plan_apply(current, code, cursor_line)
    if fuzzy.kind == "insert":
        where = "the cursor" if cursor_line is not None else "the end of the file (the cursor is not in this file)"
        reason = f"{reason}; no part of the file matches it, so it goes at {where}"
    return replace(fuzzy, fallback_reason=reason, grammar=grammar)


def _syntax_plan(planned: SyntaxPlan, grammar: str | None) -> ApplyPlan:
    hunks = planned.hunks
    region = (min((h.start for h in hunks), default=0), max((h.end for h in hunks), default=0))
    return ApplyPlan("syntax", region, hunks, 1.0, planned.unplaced, planned.notes, grammar)


def result_problems(current: str, hunks: Iterable[Hunk], grammar: str | None) -> list[SyntaxProblem]:
    """Syntax errors the file would have after `hunks` that it does not have now."""
    return new_problems(current, apply_hunks(current, hunks), grammar)


def placed_by_syntax(plan: ApplyPlan) -> bool:
    """Every definition went where its syntax says (what `dscoder apply` exits 0 for)."""
    return plan.kind in ("syntax", "whole") and not plan.fallback_reason


def hunk_where(hunk: Hunk) -> str:
    first, last = hunk.start + 1, max(hunk.end, hunk.start + 1)
    if hunk.end == hunk.start:
        return f"at line {first}"
    return f"line {first}" if first == last else f"lines {first}–{last}"


def describe_hunk(hunk: Hunk) -> str:
    """One line for a hunk: what it does, where, and why there."""
    what = hunk.what or ("Inserts code" if hunk.end == hunk.start else "Changes code")
    return f"{what}, {hunk_where(hunk)}" + (f" ({hunk.why})" if hunk.why else "")
