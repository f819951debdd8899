"""`dscoder apply FILE BLOCK_FILE [--line N] [--diff]`: where a code block goes in a file.

The same plan as the chat's Apply button (app.chat.apply.plan), for scripts and
editors. It never writes FILE: it prints the new text, or with --diff a unified diff.
Exit codes: 0 every definition was placed by syntax; 1 it could only fall back (line
matching, or an insertion at the cursor or the end), with the reason on stderr; 2 bad
usage. Hunks the dialog would leave unticked (code outside any definition) are not
applied; stderr says so.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from app.chat.apply.hunks import apply_hunks
from app.chat.apply.plan import describe_hunk, placed_by_syntax, plan_code_block, result_problems
from app.editor import textfile
from app.utils.errors import DscoderError


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return textfile.read_text_file(path).text
    except OSError as exc:
        raise DscoderError(f"Cannot read {path}: {exc.strerror}", "Check the path") from exc


def run(args: argparse.Namespace) -> int:
    if args.line is not None and args.line < 1:
        print("dscoder apply: --line counts from 1", file=sys.stderr)
        return 2
    current, block = _read(args.file), _read(args.block)
    first_line = current.split("\n", 1)[0]
    language = args.language or textfile.language_id_for_path(args.file, first_line)
    cursor = args.line - 1 if args.line is not None else None
    plan = plan_code_block(current, block, language_id=language, path=args.file, cursor_line=cursor)
    chosen = [hunk for hunk in plan.hunks if hunk.selected]
    result = apply_hunks(current, chosen)
    if args.diff:
        name = Path(args.file).name
        diff = difflib.unified_diff(
            current.splitlines(keepends=True), result.splitlines(keepends=True), f"a/{name}", f"b/{name}"
        )
        sys.stdout.writelines(diff)
    else:
        sys.stdout.write(result)
    sys.stdout.flush()
    for hunk in plan.hunks:
        if not hunk.selected:
            print(f"dscoder apply: not applied: {describe_hunk(hunk)}", file=sys.stderr)
    for note in plan.notes:
        print(f"dscoder apply: {note}", file=sys.stderr)
    for problem in result_problems(current, chosen, plan.grammar):
        print(f"dscoder apply: the result does not parse: {problem.describe()}", file=sys.stderr)
    if placed_by_syntax(plan):
        return 0
    print(f"dscoder apply: {plan.fallback_reason}", file=sys.stderr)
    return 1
