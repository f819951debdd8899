"""Reading a chat answer's code block for apply-by-syntax: its definitions, and the code
in it that is no definition.

JavaScript, TypeScript and C# do not allow a method outside its class, and answers often
show one alone (`total(): number { ... }`): such a block is read inside a stand-in class,
and its members are taken as the block's definitions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.syntax.definitions import Definition, outline
from app.syntax.imports import IMPORT_TYPES, top_level_nodes
from app.syntax.languages import Source, parse

_IGNORED_TOP_LEVEL = frozenset({"comment", "line_comment", "block_comment", "string", "empty_statement"})
_METHODS_NEED_A_CLASS = frozenset({"javascript", "typescript", "tsx", "csharp"})
_STAND_IN = "__DscoderBlock__"
_KEEP_OUTSIDE = re.compile(r"^\s*(import\b|using\b|//|$)")


@dataclass(frozen=True)
class BlockCode:
    source: Source  # the parsed block (inside the stand-in class when `wrapped`)
    definitions: tuple[Definition, ...]  # its top-level definitions
    leftovers: tuple[tuple[int, int], ...]  # line ranges of code that is no definition
    wrapped: bool = False


def _leftovers(block: Source, definitions: Sequence[Definition]) -> list[tuple[int, int]]:
    """Line ranges of the block's top-level code that is neither a definition, an import nor a comment."""
    covered = [(d.doc_start_line, d.end_line) for d in definitions]
    ranges: list[tuple[int, int]] = []
    for node in top_level_nodes(block):
        if node.type in IMPORT_TYPES or node.type in _IGNORED_TOP_LEVEL:
            continue
        if node.type == "expression_statement" and [c.type for c in node.named_children] in (["string"], ["ellipsis"]):
            continue
        start = node.start_point[0]
        if any(a <= start < b for a, b in covered):
            continue
        ranges.append((start, block.end_row(node)))
    return ranges


def _in_stand_in_class(code: str, grammar: str) -> BlockCode | None:
    lines = code.split("\n")
    head = 0
    while head < len(lines) and _KEEP_OUTSIDE.match(lines[head]):
        head += 1
    wrapped = "\n".join([*lines[:head], f"class {_STAND_IN} {{", *lines[head:], "}"])
    source = parse(wrapped, grammar)
    if source is None or source.root.has_error:
        return None
    stand_in = [d for d in outline(source) if d.name == _STAND_IN]
    if len(stand_in) != 1 or not stand_in[0].members:
        return None
    members = tuple(replace(m, scope=m.scope[1:]) for m in stand_in[0].members)
    return BlockCode(source, members, (), wrapped=True)


def read_block(code: str, grammar: str) -> BlockCode | str:
    """The block's definitions, or why it has none that can be applied by syntax."""
    source = parse(code, grammar)
    if source is None:
        return "there is no parser for this language"
    if source.root.has_error:
        if grammar in _METHODS_NEED_A_CLASS:
            wrapped = _in_stand_in_class(code, grammar)
            if wrapped is not None:
                return wrapped
        return "the code block does not parse as whole definitions"
    definitions = tuple(outline(source))
    return BlockCode(source, definitions, tuple(_leftovers(source, definitions)))
