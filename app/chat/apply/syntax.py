"""Applying a code block by syntax: each definition in the block replaces the definition
of the same kind and name in the file, or goes next to its nearest sibling.

What Continue and Void do, with tree-sitter: line matching cannot recognise a stub
(`def f(x): pass`), a function whose body changed completely, or a method given
without its class. Here both texts are parsed, and for each top-level definition of
the block (see app.syntax.definitions for the kinds):

- the same kind and name in the file: it is replaced (a method given alone is found
  inside its class; a class given with some of its methods has those replaced or
  added one by one, keeping the others);
- not in the file: it goes after the definition that precedes it in the block, or
  before the one that follows it, or at the end of its class, or next to the
  definitions it uses or that use it, or after the file's last definition: never
  above the imports. Only a file without any definition leaves no place to choose:
  then it goes at the cursor when the user placed it in the file, else at the end;
- the block's imports are merged into the file's (app.syntax.imports).

Every definition and the imports give separate hunks, accepted or rejected one by one.
A block that is not whole definitions (a few lines from inside a function) returns the
reason instead of a plan, and the caller falls back to line matching.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.chat.apply.block import BlockCode
from app.chat.apply.hunks import Hunk, line_hunks
from app.edits.indentation import already_in, indent_of, indent_unit, shift_to
from app.syntax.definitions import Definition, flatten, outline
from app.syntax.imports import merge_imports
from app.syntax.languages import Source

_REAL_KINDS = frozenset({"function", "type", "impl", "namespace"})
_CLOSING = ("}", ")", "]", "end")
_STUB = re.compile(
    r"^\s*(pass|\.\.\.|return;?|return None|todo!\(\)|unimplemented!\(\)|//.*|#.*|/\*.*|\*.*|\{\s*\}|\}|"
    r"throw .*;|raise NotImplementedError.*|panic\(.*\)|return 0;?)\s*$"
)
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_PLACEHOLDER = re.compile(r"^\s*(#|//|/\*)\s*\.\.\.|\.\.\.\s*(existing|rest|unchanged)", re.IGNORECASE | re.MULTILINE)
_SINGLE_CLASS_LANGUAGES = frozenset({"java", "csharp"})


@dataclass
class _Edit:
    start: int
    end: int
    lines: list[str]
    what: str
    why: str
    selected: bool = True
    split: bool = False  # show as several hunks (a whole class rewritten)


@dataclass(frozen=True)
class SyntaxPlan:
    hunks: tuple[Hunk, ...]
    notes: tuple[str, ...]
    unplaced: str  # why a definition could only go to the cursor or the end ("" when none)


_TYPE_WORDS = ("class", "struct", "enum", "union", "trait", "interface", "record")


def _describe(definition: Definition) -> str:
    """ "function area", "method Stack.push", "class Stack", "impl Display for Point"."""
    if definition.kind == "type":
        words = definition.node_type.replace("abstract_", "").split("_")
        kind = words[0] if words[0] in _TYPE_WORDS else "type"
    else:
        kind = {
            "function": "method" if definition.scope else "function",
            "variable": "field" if definition.scope else "definition",
        }.get(definition.kind, definition.kind)
    return f"{kind} {definition.qualified_name}"


def _is_stub(definition: Definition, lines: Sequence[str]) -> bool:
    body = [line for line in lines[definition.start_line + 1 : definition.end_line] if line.strip(" \t}]);")]
    head = lines[definition.start_line]
    if not body:
        return head.rstrip().endswith(("{}", "{ }", ": ...", ": pass", "...", "pass")) or "{" in head
    return len(body) <= 2 and all(_STUB.match(line) for line in body)


class _Planner:
    def __init__(self, file: Source, block: Source, cursor_line: int | None) -> None:
        self.file, self.block = file, block
        self.lines = file.lines
        self.cursor_line = cursor_line
        self.top = outline(file)
        self.flat = list(flatten(self.top))
        self.unit = indent_unit(self.lines)
        self.edits: list[_Edit] = []
        self.notes: list[str] = []
        self.unplaced: list[str] = []
        self.claimed: set[tuple[int, int]] = set()
        # id(block definition) -> where it is in the file: (end line, indentation, file container, name)
        self.located: dict[int, tuple[int, str, Definition | None, str]] = {}
        self.parents = {id(m): d for d in self.flat for m in d.members}
        # Definitions that are not members of a type: top-level, or inside namespaces.
        self.free = [d for d in self.flat if self.parents.get(id(d)) is None or self.parents[id(d)].kind == "namespace"]

    # --- matching -----------------------------------------------------------------

    def _match(self, wanted: Definition, container: Definition | None) -> Definition | None:
        pool = container.members if container is not None else self.flat
        same = [d for d in pool if d.kind == wanted.kind and d.name == wanted.name]
        same = [d for d in same if (d.start_line, d.end_line) not in self.claimed]
        if container is None:
            exact = [d for d in same if d.qualified_name == wanted.qualified_name]
            suffix = [d for d in same if d.qualified_name.endswith("." + wanted.qualified_name)]
            nested = [d for d in same if not wanted.scope and wanted.kind in ("function", "variable")]
            same = exact or suffix or nested
        if len(same) <= 1:
            return same[0] if same else None
        text = self._block_text(wanted)
        return max(same, key=lambda d: difflib.SequenceMatcher(None, self._file_text(d), text).ratio())

    def _file_text(self, definition: Definition) -> str:
        return "\n".join(line.strip() for line in self.lines[definition.start_line : definition.end_line])

    def _block_text(self, definition: Definition) -> str:
        return "\n".join(line.strip() for line in self.block.lines[definition.start_line : definition.end_line])

    def _block_lines(self, definition: Definition, with_doc: bool = True) -> list[str]:
        start = definition.doc_start_line if with_doc else definition.start_line
        return list(self.block.lines[start : definition.end_line])

    # --- placing ------------------------------------------------------------------

    def place(
        self, wanted: Definition, siblings: Sequence[Definition], index: int, container: Definition | None
    ) -> None:
        target = self._match(wanted, container)
        if target is None:
            self._insert(wanted, siblings, index, container)
            return
        self.claimed.add((target.start_line, target.end_line))
        parent = self.parents.get(id(target))
        self.located[id(wanted)] = (
            target.end_line,
            indent_of(self.lines[target.start_line]),
            parent,
            _describe(target),
        )
        if wanted.container and target.container and wanted.members and not self._complete(wanted, target):
            self._header(wanted, target)
            for i, member in enumerate(wanted.members):
                self.place(member, wanted.members, i, target)
            return
        self._replace(wanted, target)

    def _complete(self, wanted: Definition, target: Definition) -> bool:
        """The block's class has every member the file's has and no "..." placeholder."""
        have = {(m.kind, m.name) for m in wanted.members}
        if any((m.kind, m.name) not in have for m in target.members):
            return False
        return not _PLACEHOLDER.search("\n".join(self._block_lines(wanted)))

    def _header(self, wanted: Definition, target: Definition) -> None:
        """A class whose head changed (`class Stack(Base)`): that line, with the file's own wrapper words."""
        old = self.lines[target.start_line]
        if wanted.signature == target.signature or target.signature not in " ".join(old.split()):
            return
        line = " ".join(old.split()).replace(target.signature, wanted.signature)
        self.edits.append(
            _Edit(
                target.start_line,
                target.start_line + 1,
                [indent_of(old) + line],
                f"Changes the head of {_describe(target)}",
                f"the file defines it at line {target.start_line + 1}",
            )
        )

    def _replace(self, wanted: Definition, target: Definition) -> None:
        with_doc = wanted.doc_start_line < wanted.start_line
        start = target.doc_start_line if with_doc else target.start_line
        new = shift_to(self._block_lines(wanted, with_doc), indent_of(self.lines[target.start_line]))
        if [line.rstrip() for line in self.lines[start : target.end_line]] == [line.rstrip() for line in new]:
            self.notes.append(f"{_describe(target)} is already the same as in the answer.")
            return
        where = f"line {target.start_line + 1}"
        parent = self.parents.get(id(target))
        if parent is not None and not wanted.scope:
            why = f"found inside {_describe(parent)} at {where}"
        elif _is_stub(target, self.lines):
            why = f"the file has a stub of it at {where}"
        else:
            why = f"the file defines it at {where}"
        self.edits.append(
            _Edit(start, target.end_line, new, f"Replaces {_describe(target)}", why, split=wanted.container)
        )

    def _insert(
        self, wanted: Definition, siblings: Sequence[Definition], index: int, container: Definition | None
    ) -> None:
        found = self._anchor(wanted, siblings, index, container)
        body = self._block_lines(wanted)
        what = f"Adds {_describe(wanted)}"
        if found is None:
            at, why = self._unplaced_position(wanted)
            lines = shift_to(body, "")
            if at == len(self.lines) and self.lines and self.lines[-1].strip():
                lines = ["", *lines]
            self.edits.append(_Edit(at, at, lines, what, why))
            self.located[id(wanted)] = (at, "", None, _describe(wanted))
            return
        at, after, indent, why, owner = found
        if owner is not None and wanted.kind == "function" and not wanted.scope:
            what = f"Adds method {owner.qualified_name}.{wanted.name}"
        separation = [""] * self._separation(owner)
        lines = shift_to(body, indent)
        if after:
            follows = self.lines[at] if at < len(self.lines) else ""
            tail = separation if follows.strip() and not follows.strip().startswith(_CLOSING) else []
            lines = [*separation, *lines, *tail]
        else:
            lines = [*lines, *separation]
        self.edits.append(_Edit(at, at, lines, what, why))
        self.located[id(wanted)] = (at, indent, owner, what.removeprefix("Adds "))

    def _anchor(
        self, wanted: Definition, siblings: Sequence[Definition], index: int, container: Definition | None
    ) -> tuple[int, bool, str, str, Definition | None] | None:
        """(line, inserting after something, indentation, why, the file container) for a new definition."""
        indent = self._member_indent(container) if container is not None else ""
        for previous in reversed(siblings[:index]):
            if id(previous) in self.located:
                end, previous_indent, owner, name = self.located[id(previous)]
                return end, True, previous_indent, f"after {name}, as in the answer", owner
        for following in siblings[index + 1 :]:
            target = self._match(following, container)
            if target is not None:
                return self._before(target, f"before {_describe(target)}, as in the answer")
        if container is not None:
            return self._end_of(container), True, indent, f"at the end of {_describe(container)}", container
        if wanted.scope:
            scope = ".".join(wanted.scope)
            related = [d for d in self.top if d.qualified_name == scope or d.qualified_name.startswith(scope + ".")]
            if related:
                last = max(related, key=lambda d: d.end_line)
                return last.end_line, True, "", f"after {_describe(last)}, with the rest of {scope}", None
        if self.file.grammar in _SINGLE_CLASS_LANGUAGES and wanted.kind == "function":
            classes = [d for d in self.top if d.container and d.kind == "type"]
            if len(classes) == 1:
                owner_class = classes[0]
                return (
                    self._end_of(owner_class),
                    True,
                    self._member_indent(owner_class),
                    f"at the end of {_describe(owner_class)}, the file's class",
                    owner_class,
                )
        return self._related(wanted)

    def _related(self, wanted: Definition) -> tuple[int, bool, str, str, Definition | None] | None:
        free = [d for d in self.free if d.kind != "namespace" and (d.kind != "variable" or wanted.kind == "variable")]
        used = set(_IDENTIFIER.findall(self._block_text(wanted))) - {wanted.name}
        uses = [d for d in free if d.name in used]
        if uses:
            last = max(uses, key=lambda d: d.end_line)
            return self._after(last, f"after {_describe(last)}, which it uses")
        callers = [d for d in free if re.search(rf"\b{re.escape(wanted.name)}\b", self._file_text(d))]
        if callers:
            first = min(callers, key=lambda d: d.start_line)
            return self._before(first, f"before {_describe(first)}, which uses it")
        same_kind = [d for d in free if d.kind == wanted.kind] or free
        if same_kind:
            last = max(same_kind, key=lambda d: d.end_line)
            return self._after(last, f"after {_describe(last)}, the file's last {wanted.kind}")
        return None

    def _before(self, sibling: Definition, why: str) -> tuple[int, bool, str, str, Definition | None]:
        return (
            sibling.doc_start_line,
            False,
            indent_of(self.lines[sibling.start_line]),
            why,
            self.parents.get(id(sibling)),
        )

    def _after(self, sibling: Definition, why: str) -> tuple[int, bool, str, str, Definition | None]:
        return sibling.end_line, True, indent_of(self.lines[sibling.start_line]), why, self.parents.get(id(sibling))

    def _unplaced_position(self, wanted: Definition) -> tuple[int, str]:
        reason = f"the file has no definitions to put {wanted.name} next to"
        self.unplaced.append(reason)
        if self.cursor_line is not None:
            at = max(0, min(self.cursor_line, len(self.lines)))
            return at, f"at the cursor (line {at + 1}): {reason}"
        return len(self.lines), f"at the end of the file: {reason}, and the cursor is not in this file"

    def _unplaced_position_for_code(self) -> tuple[int, str]:
        """Where code that is no definition is offered (unticked): the cursor, else the end."""
        if self.cursor_line is not None:
            at = max(0, min(self.cursor_line, len(self.lines)))
            return at, f"not a definition, so offered at the cursor (line {at + 1}), unticked"
        return len(self.lines), "not a definition, so offered at the end of the file, unticked"

    def _end_of(self, container: Definition) -> int:
        last = container.end_line - 1
        if self.lines[last].strip().startswith(_CLOSING) and last > container.start_line:
            return last
        return container.end_line

    def _member_indent(self, container: Definition) -> str:
        if container.members:
            return indent_of(self.lines[container.members[0].start_line])
        return indent_of(self.lines[container.start_line]) + self.unit

    def _separation(self, container: Definition | None) -> int:
        """Blank lines between siblings in the file (the most common count), or the language's habit."""
        siblings = container.members if container is not None else self.top
        gaps: dict[int, int] = {}
        for before, after in zip(siblings, siblings[1:], strict=False):
            between = self.lines[before.end_line : after.doc_start_line]
            if between and all(not line.strip() for line in between) and len(between) <= 3:
                gaps[len(between)] = gaps.get(len(between), 0) + 1
        if gaps:
            return max(gaps, key=lambda gap: (gaps[gap], -gap))
        return 2 if self.file.grammar == "python" and container is None else 1

    # --- the plan -----------------------------------------------------------------

    def hunks(self) -> list[Hunk]:
        hunks: list[Hunk] = []
        for edit in sorted(self.edits, key=lambda e: (e.start, e.end)):
            old = self.lines[edit.start : edit.end]
            if edit.split:
                parts = line_hunks(old, edit.lines, edit.start)
                for n, part in enumerate(parts, start=1):
                    label = edit.what if len(parts) == 1 else f"{edit.what} (part {n} of {len(parts)})"
                    hunks.append(Hunk(part.start, part.end, part.old_lines, part.new_lines, label, edit.why))
                continue
            hunks.append(_trimmed(edit, old))
        return hunks


def _trimmed(edit: _Edit, old: Sequence[str]) -> Hunk:
    """The edit without the lines it leaves as they are at its start and end."""
    new = list(edit.lines)
    start, end = edit.start, edit.end
    old_list = list(old)
    while old_list and new and old_list[0].rstrip() == new[0].rstrip() and len(old_list) > 1 and len(new) > 1:
        old_list.pop(0)
        new.pop(0)
        start += 1
    while old_list and new and old_list[-1].rstrip() == new[-1].rstrip() and len(old_list) > 1 and len(new) > 1:
        old_list.pop()
        new.pop()
        end -= 1
    return Hunk(start, end, tuple(old_list), tuple(new), edit.what, edit.why, edit.selected)


def plan_by_syntax(file: Source, block: BlockCode, cursor_line: int | None) -> SyntaxPlan | str:
    """Hunks that apply `block` to `file` by syntax, or why the block cannot be applied so."""
    definitions = block.definitions
    planner = _Planner(file, block.source, cursor_line)
    if not any(d.kind in _REAL_KINDS for d in definitions):
        if block.leftovers or not definitions:
            return "the code block is not a whole definition"
        if any(planner._match(d, None) is None for d in definitions):
            return "the code block's names are not definitions of this file"
    for index, definition in enumerate(definitions):
        planner.place(definition, definitions, index, None)
    for edit in merge_imports(file, block.source):
        added = ", ".join(line.strip() for line in edit.lines if line.strip())
        what = f"Merges {added}" if edit.end > edit.start else f"Adds {added}"
        planner.edits.append(_Edit(edit.start, edit.end, list(edit.lines), what, edit.note))
    if block.leftovers:
        first, last = block.leftovers[0][0], block.leftovers[-1][1]
        loose = list(block.source.lines[first:last])
        if already_in(loose, file.lines):
            planner.notes.append(f"The code outside any definition ({_lines(first, last)}) is already in the file.")
        else:
            at, why = planner._unplaced_position_for_code()
            what = f"Code outside any definition ({_lines(first, last)} of the answer)"
            planner.edits.append(_Edit(at, at, loose, what, why, selected=False))
    return SyntaxPlan(tuple(planner.hunks()), tuple(planner.notes), "; ".join(planner.unplaced))


def _lines(first: int, end: int) -> str:
    return f"line {first + 1}" if end - first <= 1 else f"lines {first + 1}–{end}"
