"""Which tree-sitter grammar parses a file, and parsing text with it.

The language registry (app.languages) names each language's grammar; a few file kinds
have their own (TypeScript's .tsx files use the TSX grammar). Grammars come pre-built from
`tree-sitter-language-pack`; a language without one gets None, and callers fall back
to line-based handling.

Text is parsed with its line endings normalised to "\\n", so a node's row is the index
of the line in `split_lines(text)` whatever the file's own line endings are.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from functools import cached_property

from tree_sitter import Node, Parser, Tree
from tree_sitter_language_pack import get_parser

from app import languages

log = logging.getLogger(__name__)

# Nodes whose children are top-level code too (header guards, extern "C" blocks).
TRANSPARENT = frozenset({"preproc_ifdef", "preproc_if", "preproc_else", "linkage_specification"})
_LINE_BREAK = re.compile(r"\r\n|\r")
_PARSE_CHUNK = 4096  # bytes handed to the parser per read
_parsers = threading.local()  # a Parser is not safe to share between threads


def grammar_for(language_id: str, path: str = "") -> str | None:
    """The grammar for a language id (and file name), or None when there is none."""
    return languages.tree_sitter_grammar(language_id, path)


def grammar_for_path(path: str) -> str | None:
    return grammar_for(languages.language_id_for_path(path), path)


def grammars() -> list[str]:
    """Every grammar the registry's languages parse with (by language, not by file kind)."""
    return sorted({lang.tree_sitter for lang in languages.LANGUAGES.values() if lang.tree_sitter})


def _parser(grammar: str) -> Parser | None:
    cache: dict[str, Parser | None] | None = getattr(_parsers, "cache", None)
    if cache is None:
        cache = _parsers.cache = {}
    if grammar not in cache:
        try:
            cache[grammar] = get_parser(grammar)  # type: ignore[arg-type]
        except (LookupError, OSError, RuntimeError) as exc:  # a grammar missing from this build
            log.warning("no tree-sitter grammar for %s: %s", grammar, exc)
            cache[grammar] = None
    return cache[grammar]


@dataclass
class Source:
    """Text parsed by one grammar: the tree, the text (with "\\n" line endings) and its lines."""

    text: str
    grammar: str
    tree: Tree
    data: bytes = field(repr=False)

    @cached_property
    def lines(self) -> list[str]:
        lines = self.text.split("\n")
        if len(lines) > 1 and lines[-1] == "":
            lines.pop()
        return [] if self.text == "" else lines

    @property
    def root(self) -> Node:
        return self.tree.root_node

    def node_text(self, node: Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", errors="replace")

    def end_row(self, node: Node) -> int:
        """The exclusive end line of a node (a node ending at column 0 ends on the line before)."""
        row, column = node.end_point
        return row if column == 0 and row > node.start_point[0] else row + 1


def parse(text: str, grammar: str | None) -> Source | None:
    """Parse `text` with a grammar; None when the grammar is None or unavailable."""
    if grammar is None:
        return None
    parser = _parser(grammar)
    if parser is None:
        return None
    normal = _LINE_BREAK.sub("\n", text)
    data = normal.encode("utf-8")
    if len(data) <= _PARSE_CHUNK:
        return Source(normal, grammar, parser.parse(data), data)
    # tree-sitter holds the GIL while it parses; reading a large text in chunks through a
    # Python callback lets the GUI thread run between them (12 ms -> 8 ms for 100 KB).
    return Source(normal, grammar, parser.parse(lambda offset, _point: data[offset : offset + _PARSE_CHUNK]), data)


def parse_language(text: str, language_id: str, path: str = "") -> Source | None:
    return parse(text, grammar_for(language_id, path))
