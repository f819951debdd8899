"""A file's import statements, and merging a code block's imports into them.

Merging adds what the file lacks and nothing it has: a Python `from m import c` joins
the file's `from m import a, b` line, a Go import joins the file's `import ( ... )`
list, and any other new import goes after the file's last one (or, in a file with
none, after its preamble: shebang, module docstring, package clause, header guard).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from app.syntax.languages import TRANSPARENT, Source

IMPORT_TYPES = frozenset(
    {
        "import_statement",  # python, javascript, typescript
        "import_from_statement",
        "future_import_statement",
        "preproc_include",  # c, c++
        "using_declaration",
        "use_declaration",  # rust
        "extern_crate_declaration",
        "import_declaration",  # go, java
        "using_directive",  # c#
    }
)
# What may come before a file's first import.
_PREAMBLE = frozenset(
    {"comment", "line_comment", "block_comment", "package_clause", "package_declaration", "inner_attribute_item"}
)
MAX_MERGED_LINE = 100
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class ImportStatement:
    start_line: int
    end_line: int  # exclusive
    text: str
    node_type: str
    module: str = ""  # python `from` imports: the module
    names: tuple[str, ...] = ()  # python `from` imports: the imported names; go: the specs

    @property
    def key(self) -> str:
        return _WHITESPACE.sub(" ", self.text).strip()


@dataclass(frozen=True)
class LineEdit:
    """Replace lines [start, end) with `lines`; start == end inserts before line `start`."""

    start: int
    end: int
    lines: tuple[str, ...]
    note: str


def top_level_nodes(source: Source) -> Iterator[Node]:
    """The file's top-level nodes, looking inside header guards and extern "C" blocks."""

    def walk(parent: Node) -> Iterator[Node]:
        for node in parent.named_children:
            if node.type in TRANSPARENT:
                body = node.child_by_field_name("body")
                yield from walk(body if body is not None else node)
            else:
                yield node

    yield from walk(source.root)


def _statement(node: Node, source: Source) -> ImportStatement:
    module = ""
    names: tuple[str, ...] = ()
    if node.type == "import_from_statement":
        module_node = node.child_by_field_name("module_name")
        module = source.node_text(module_node) if module_node is not None else ""
        names = tuple(source.node_text(n) for n in node.children_by_field_name("name"))
    elif node.type == "import_statement" and source.grammar in ("javascript", "typescript", "tsx"):
        clause = next((c for c in node.named_children if c.type == "import_clause"), None)
        named = [c for c in clause.named_children] if clause is not None else []
        if len(named) == 1 and named[0].type == "named_imports":  # import { a, b } from "m"
            origin = node.child_by_field_name("source")
            module = source.node_text(origin) if origin is not None else ""
            names = tuple(source.node_text(c) for c in named[0].named_children if c.type == "import_specifier")
    elif node.type == "import_declaration" and source.grammar == "go":
        names = tuple(source.node_text(spec) for spec in _go_specs(node))
    return ImportStatement(node.start_point[0], source.end_row(node), source.node_text(node), node.type, module, names)


def _go_specs(node: Node) -> list[Node]:
    specs = [c for c in node.named_children if c.type == "import_spec"]
    for group in (c for c in node.named_children if c.type == "import_spec_list"):
        specs.extend(c for c in group.named_children if c.type == "import_spec")
    return specs


def import_statements(source: Source) -> list[ImportStatement]:
    return [_statement(node, source) for node in top_level_nodes(source) if node.type in IMPORT_TYPES]


def first_import_line(source: Source) -> int:
    """Where a file without imports gets its first one: after its preamble."""
    line = 0
    nodes = list(top_level_nodes(source))
    for index, node in enumerate(nodes):
        is_docstring = index == 0 and source.grammar == "python" and _is_string_statement(node)
        if node.type in _PREAMBLE or is_docstring or node.type == "preproc_def" and index <= 1:
            line = source.end_row(node)
            continue
        break
    return line


def _is_string_statement(node: Node) -> bool:
    if node.type == "string":
        return True
    return node.type == "expression_statement" and [c.type for c in node.named_children] == ["string"]


def _merged_line(statement: ImportStatement, names: list[str]) -> str | None:
    """The file's `from m import a, b` (or `import { a, b } from "m"`) line with `names`
    added, when it is a plain single line."""
    text = statement.text.rstrip("\n")
    if "\n" in text or "#" in text or "//" in text:
        return None
    every = ", ".join((*statement.names, *names))
    if statement.node_type == "import_from_statement":
        merged = None if "(" in text else f"{text.split(' import ', 1)[0]} import {every}"
    else:
        merged = re.sub(r"\{[^}]*\}", lambda _: "{ " + every + " }", text, count=1)
    return merged if merged is not None and len(merged) <= MAX_MERGED_LINE else None


def merge_imports(file: Source, block: Source) -> list[LineEdit]:
    """Edits that bring the block's imports the file lacks into the file."""
    have = import_statements(file)
    keys = {statement.key for statement in have}
    from_lines = {s.module: s for s in have if s.module}
    go_group = next((s for s in have if s.node_type == "import_declaration" and "(" in s.text), None)
    go_have = {name for s in have for name in s.names}
    edits: list[LineEdit] = []
    added: list[str] = []
    for wanted in import_statements(block):
        if wanted.key in keys:
            continue
        if wanted.module and wanted.module in from_lines:
            target = from_lines[wanted.module]
            missing = [name for name in wanted.names if name not in target.names]
            if not missing:
                continue
            merged = _merged_line(target, missing)
            if merged is not None:
                edits.append(
                    LineEdit(
                        target.start_line, target.end_line, (merged,), f"the file imports from {wanted.module} here"
                    )
                )
                continue
        if file.grammar == "go" and wanted.names:
            missing = [name for name in wanted.names if name not in go_have]
            if not missing:
                continue
            if go_group is not None:
                indent = (
                    _indent_of(file.lines[go_group.start_line + 1])
                    if go_group.end_line - go_group.start_line > 2
                    else "\t"
                )
                edits.append(
                    LineEdit(
                        go_group.end_line - 1,
                        go_group.end_line - 1,
                        tuple(indent + m for m in missing),
                        "into the file's import list",
                    )
                )
                go_have.update(missing)
                continue
            added.extend(f"import {name}" for name in missing)
            continue
        added.extend(wanted.text.rstrip("\n").split("\n"))
    if added:
        edits.append(_insert_new(file, have, added))
    return edits


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _insert_new(file: Source, have: list[ImportStatement], lines: list[str]) -> LineEdit:
    if have:
        at = max(statement.end_line for statement in have)
        indent = _indent_of(file.lines[have[-1].start_line])
        return LineEdit(
            at, at, tuple(indent + line if line else line for line in lines), "after the file's last import"
        )
    at = first_import_line(file)
    block = list(lines)
    if at > 0 and file.lines[at - 1].strip():
        block.insert(0, "")
    if at < len(file.lines) and file.lines[at].strip():
        block.append("")
    return LineEdit(at, at, tuple(block), "at the top of the file, after its preamble")
