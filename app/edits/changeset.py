"""A model's answer as one reviewable change: per file, its old and new text as hunks.

`build_changeset` checks every edit against the limits (inside the folder, an editable
file, text) and against the file (SEARCH blocks found once), and collects what it
refused: `Problem`s say what happened for the user and, for blocks that did not match,
what to tell the model (`retry_prompt`). The review toggles hunks and confirms
deletions on the `FileChange`s; app.edits.writing writes the accepted part.

Qt-free.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from app.edits.formats import NO_EDIT_MESSAGE, Edit, ParsedAnswer, parse_answer
from app.edits.hunks import Hunk, apply_hunks, line_hunks, split_lines
from app.edits.matching import Ambiguous, Found, Mismatch, find_block
from app.edits.workspace import EditRefused, EditScope, FileSnapshot
from app.utils.errors import DscoderError

ChangeKind = Literal["new", "changed", "deleted"]
ProblemKind = Literal["unparsed", "refused", "mismatch", "ambiguous"]


@dataclass(frozen=True)
class Problem:
    """An edit the app could not make. `message` is for the user; `feedback` (for a
    block that matched nowhere or twice) is what to tell the model when asking again."""

    kind: ProblemKind
    path: str
    message: str
    feedback: str = ""


@dataclass
class FileChange:
    """One file's change. The review sets `accepted` (one flag per hunk) and, for a
    deletion, `confirmed`; `result_text` is the file as the accepted hunks leave it."""

    path: str  # relative to the folder
    kind: ChangeKind
    old_text: str
    new_text: str
    hunks: tuple[Hunk, ...]
    source: FileSnapshot  # the file as read (exists=False for a new file)
    accepted: list[bool] = field(default_factory=list)
    confirmed: bool = False  # a deletion happens only when the user confirmed it

    def __post_init__(self) -> None:
        if not self.accepted:
            self.accepted = [True] * len(self.hunks)

    @property
    def accepted_hunks(self) -> list[Hunk]:
        return [hunk for hunk, on in zip(self.hunks, self.accepted, strict=True) if on]

    @property
    def will_write(self) -> bool:
        """Whether accepting the review writes (or deletes) this file."""
        if self.kind == "deleted":
            return self.confirmed
        return any(self.accepted)

    def result_text(self) -> str:
        if self.kind == "new":
            return self.new_text if any(self.accepted) else ""
        if self.kind == "deleted":
            return "" if self.confirmed else self.old_text
        return apply_hunks(self.old_text, self.accepted_hunks)


@dataclass
class ChangeSet:
    """Every file an answer changes, and the edits that were refused."""

    scope: EditScope
    changes: list[FileChange]
    problems: list[Problem]

    @property
    def empty(self) -> bool:
        return not self.changes

    def change_for(self, path: str) -> FileChange | None:
        return next((c for c in self.changes if c.path == path), None)

    @property
    def to_write(self) -> list[FileChange]:
        return [c for c in self.changes if c.will_write]

    def unified_diff(self) -> str:
        """What Accept would write, as one unified diff (for `dscoder edit` and logs)."""
        return "".join(file_diff(change) for change in self.to_write)

    def retry_prompt(self) -> str:
        """What to send the model once, automatically, when some blocks did not match;
        "" when there is nothing to ask."""
        feedback = [p.feedback for p in self.problems if p.feedback]
        if not feedback:
            return ""
        return (
            "\n\n".join(feedback) + "\n\nAnswer again with only the blocks that failed, each SEARCH part copying the "
            "file's current lines exactly (the edits that matched are kept)."
        )


def file_diff(change: FileChange) -> str:
    """One file's accepted change as a unified diff; /dev/null stands for the missing side
    of a new or deleted file."""
    old_name = "/dev/null" if change.kind == "new" else f"a/{change.path}"
    new_name = "/dev/null" if change.kind == "deleted" and change.confirmed else f"b/{change.path}"
    lines = difflib.unified_diff(
        split_lines(change.old_text), split_lines(change.result_text()), old_name, new_name, lineterm=""
    )
    return "".join(line + "\n" for line in lines)


def _fenced(lines: Sequence[str]) -> str:
    return "```\n" + "\n".join(lines) + "\n```"


def _mismatch_problem(path: str, result: Mismatch) -> Problem:
    if not result.search:
        text = f"The SEARCH block for {path} is empty"
        return Problem("mismatch", path, text, text + "; copy the lines to replace into it.")
    where = f"lines {result.closest_start + 1}–{result.closest_start + len(result.closest)}"
    message = f"A SEARCH block for {path} matches no lines of the file (the closest are {where})"
    feedback = (
        f"Your SEARCH block for {path} did not match:\n{_fenced(result.search)}\n"
        f"The closest lines in {path} ({where}) are:\n{_fenced(result.closest)}"
    )
    return Problem("mismatch", path, message, feedback)


def _ambiguous_problem(path: str, result: Ambiguous) -> Problem:
    places = " and ".join(f"line {start + 1}" for start in result.starts)
    message = f"A SEARCH block for {path} matches in {len(result.starts)} places ({places}), so it was not applied"
    feedback = (
        f"Your SEARCH block for {path} matches in more than one place ({places}):\n{_fenced(result.search)}\n"
        "Include more lines around the change so that it matches only once."
    )
    return Problem("ambiguous", path, message, feedback)


class _Builder:
    def __init__(self, scope: EditScope) -> None:
        self.scope = scope
        self.problems: list[Problem] = []
        self.lines: dict[str, list[str]] = {}  # the new lines of each file, edits applied in order
        self.sources: dict[str, FileSnapshot] = {}
        self.deleted: set[str] = set()

    def refuse(self, path: str, error: DscoderError) -> None:
        self.problems.append(Problem("refused", path, str(error)))

    def target(self, edit: Edit) -> FileSnapshot | None:
        """The file an edit may change, or None (the refusal recorded)."""
        try:
            relative = self.scope.match_name(edit.path)
        except EditRefused as error:
            self.refuse(edit.path, error)
            return None
        editable = self.scope.editable_file(relative)
        if editable is not None:
            return editable
        known = self.scope.known_file(relative)
        if known is not None and not known.is_text:
            self.refuse(relative, EditRefused(f"{relative} is read-only: {known.read_only_reason}"))
            return None
        try:
            snapshot = known or self.scope.workspace.read(relative)
        except EditRefused as error:  # a folder, an unreadable file
            self.refuse(relative, error)
            return None
        if snapshot.exists or edit.kind != "whole":
            self.refuse(
                relative,
                EditRefused(
                    f"The answer changes {relative}, which was not attached as editable; it was left alone",
                    "Attach the file to the question (the current file or @file) and ask again",
                ),
            )
            return None
        return snapshot  # a new file inside the folder

    def add(self, edit: Edit) -> None:
        snapshot = self.target(edit)
        if snapshot is None:
            return
        path = snapshot.path
        self.sources[path] = snapshot
        if edit.kind == "delete":
            if snapshot.exists:
                self.deleted.add(path)
            return
        self.deleted.discard(path)
        if edit.kind == "whole":
            self.lines[path] = split_lines(edit.replace)
            return
        current = self.lines.setdefault(path, split_lines(snapshot.text))
        result = find_block(current, split_lines(edit.search), split_lines(edit.replace))
        if isinstance(result, Found):
            current[result.start : result.end] = list(result.replace)
        elif isinstance(result, Ambiguous):
            self.problems.append(_ambiguous_problem(path, result))
        elif not snapshot.exists and not result.search:  # an empty SEARCH on a new file creates it
            current[:] = split_lines(edit.replace)
        else:
            self.problems.append(_mismatch_problem(path, result))

    def changes(self) -> list[FileChange]:
        changes: list[FileChange] = []
        for path, snapshot in self.sources.items():
            if path in self.deleted:
                old = split_lines(snapshot.text)
                hunk = Hunk(0, len(old), tuple(old), ())
                changes.append(FileChange(path, "deleted", snapshot.text, "", (hunk,), snapshot))
                continue
            if path not in self.lines:
                continue
            new_lines = self.lines[path]
            if not snapshot.exists:
                text = "\n".join(new_lines) + "\n" if new_lines else ""
                hunk = Hunk(0, 0, (), tuple(new_lines))
                changes.append(FileChange(path, "new", "", text, (hunk,), snapshot))
                continue
            hunks = tuple(line_hunks(split_lines(snapshot.text), new_lines, 0))
            if hunks:
                new_text = apply_hunks(snapshot.text, hunks)
                changes.append(FileChange(path, "changed", snapshot.text, new_text, hunks, snapshot))
        return changes


def build_changeset(
    scope: EditScope, answer: str | ParsedAnswer, *, earlier: str | ParsedAnswer | None = None
) -> ChangeSet:
    """The change an answer makes to the scope's files; refused edits are `problems`.

    `earlier` is the first answer when `answer` is the model's retry after a mismatch:
    its edits apply first, and its blocks that did not match are not reported again
    (the retry answered them; a retry block that fails is reported itself).
    """
    builder = _Builder(scope)
    if earlier is not None:
        for edit in _parsed(earlier, scope).edits:
            builder.add(edit)
        builder.problems = [p for p in builder.problems if p.kind == "refused"]
    parsed = _parsed(answer, scope)
    builder.problems.extend(Problem("unparsed", "", text) for text in parsed.problems)
    for edit in parsed.edits:
        builder.add(edit)
    changes = builder.changes()
    if parsed.empty and not changes and not builder.problems:
        builder.problems.append(Problem("unparsed", "", NO_EDIT_MESSAGE))
    return ChangeSet(scope, changes, builder.problems)


def parse_for(scope: EditScope, answer: str) -> ParsedAnswer:
    """Parse an answer knowing the scope's editable files (their bare names, the sole file)."""
    known = [f.path for f in scope.editable]
    return parse_answer(answer, known, sole_file=known[0] if len(known) == 1 else None)


def _parsed(answer: str | ParsedAnswer, scope: EditScope) -> ParsedAnswer:
    return parse_for(scope, answer) if isinstance(answer, str) else answer
