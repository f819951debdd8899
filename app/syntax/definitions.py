"""The definitions in a parsed file: functions, methods, classes, structs, impls,
constants, with their names, kinds, line ranges and signatures, members nested in
their containers.

One table of tree-sitter node types covers the grammars (Python, JavaScript,
TypeScript, C, C++, Rust, Go, Java, C#): the node names rarely collide, and where they
do (`method_declaration` in Go and Java) the kind is the same. Kinds are coarse on
purpose, so that a method given alone in a chat answer matches the method in its class:

- "function": functions, methods, constructors, arrow functions bound to a name
- "type": classes, structs, enums, interfaces, traits, unions, type aliases
- "impl": Rust impl blocks (named by their type, and trait)
- "namespace": C++ namespaces, Rust modules, TypeScript namespaces
- "variable": module- or class-level constants, fields and assignments
- "declaration": a prototype without a body (C/C++ declarations, Rust trait methods)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tree_sitter import Node

from app.syntax.languages import TRANSPARENT, Source

_KINDS: dict[str, str] = {
    # functions and methods
    "function_definition": "function",
    "function_declaration": "function",
    "generator_function_declaration": "function",
    "method_definition": "function",
    "method_declaration": "function",
    "constructor_declaration": "function",
    "function_item": "function",
    "local_function_statement": "function",
    # types
    "class_definition": "type",
    "class_declaration": "type",
    "abstract_class_declaration": "type",
    "class_specifier": "type",
    "struct_specifier": "type",
    "union_specifier": "type",
    "enum_specifier": "type",
    "interface_declaration": "type",
    "enum_declaration": "type",
    "record_declaration": "type",
    "struct_declaration": "type",
    "type_alias_declaration": "type",
    "type_definition": "type",
    "type_declaration": "type",
    "struct_item": "type",
    "enum_item": "type",
    "union_item": "type",
    "trait_item": "type",
    "type_item": "type",
    "impl_item": "impl",
    # namespaces
    "namespace_definition": "namespace",
    "namespace_declaration": "namespace",
    "mod_item": "namespace",
    "internal_module": "namespace",
    # variables and prototypes (the kind depends on the declarator: see _classify)
    "const_item": "variable",
    "static_item": "variable",
    "const_declaration": "variable",
    "var_declaration": "variable",
    "lexical_declaration": "variable",
    "variable_declaration": "variable",
    "field_declaration": "variable",
    "field_definition": "variable",
    "public_field_definition": "variable",
    "declaration": "variable",
    "assignment": "variable",
    "expression_statement": "variable",
    "function_signature_item": "declaration",
    "function_signature": "declaration",
    "macro_definition": "function",
}
# Nodes that wrap a definition and belong to its text (decorators, `export`, templates).
_WRAPPERS = frozenset({"decorated_definition", "export_statement", "template_declaration"})
# Nodes right above a definition that belong to it when they touch it.
_LEADING = frozenset({"comment", "line_comment", "block_comment", "attribute_item", "decorator"})
_FUNCTION_VALUES = frozenset(
    {"arrow_function", "function_expression", "function", "generator_function", "lambda", "func_literal"}
)
_NAME_LEAVES = frozenset(
    {
        "identifier",
        "field_identifier",
        "type_identifier",
        "qualified_identifier",
        "destructor_name",
        "operator_name",
        "property_identifier",
        "private_property_identifier",
        "scoped_identifier",
    }
)
_WHITESPACE = re.compile(r"\s+")
SIGNATURE_CHARS = 200


@dataclass(frozen=True)
class Definition:
    """One definition. Lines are 0-based; `end_line` is exclusive."""

    name: str
    kind: str
    node_type: str
    scope: tuple[str, ...]  # enclosing containers: ("Stack",) for Stack.push
    start_line: int  # first line of the definition (decorators, `export`, template included)
    end_line: int
    doc_start_line: int  # first line of the comments or attributes right above it
    signature: str  # the head up to its body, on one line
    members: tuple[Definition, ...] = ()
    container: bool = False  # it has a body of member definitions (class, impl, namespace)
    body_start_line: int = -1  # the first line of the members' body (containers only)

    @property
    def qualified_name(self) -> str:
        return ".".join((*self.scope, self.name))

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.qualified_name)


def _text(source: Source, node: Node | None) -> str:
    return source.node_text(node) if node is not None else ""


def _declarator_name(node: Node, source: Source) -> tuple[str, bool] | None:
    """The name a C/C++/Java declarator chain ends in, and whether a function declarator is on the way."""
    is_function = False
    current: Node | None = node.child_by_field_name("declarator")
    while current is not None:
        if current.type == "function_declarator":
            is_function = True
        if current.type in _NAME_LEAVES:
            return _text(source, current), is_function
        inner = current.child_by_field_name("declarator") or current.child_by_field_name("name")
        if inner is None:
            named = [c for c in current.named_children if c.type in _NAME_LEAVES]
            inner = named[0] if named else None
        current = inner
    return None


def _receiver_type(node: Node, source: Source) -> str:
    """A Go method's receiver type name: `(s *Stack[T])` -> Stack."""
    receiver = node.child_by_field_name("receiver")
    if receiver is None:
        return ""
    match = re.search(r"\*?\s*(\w+)\s*(?:\[[^\]]*\])?\s*\)\s*$", _text(source, receiver))
    return match.group(1) if match else ""


def _single_child(node: Node, types: Sequence[str]) -> Node | None:
    found = [c for c in node.named_children if c.type in types]
    return found[0] if len(found) == 1 else None


def _classify(node: Node, source: Source) -> tuple[str, str, tuple[str, ...]] | None:
    """(kind, name, scope from a qualified name) for a definition node, None for anything else."""
    kind = _KINDS.get(node.type)
    if kind is None:
        return None
    node_type = node.type
    scope: tuple[str, ...] = ()
    name = ""
    if node_type == "impl_item":
        trait, target = node.child_by_field_name("trait"), node.child_by_field_name("type")
        name = f"{_text(source, trait)} for {_text(source, target)}" if trait else _text(source, target)
    elif node_type in ("expression_statement", "assignment"):
        assignment = node if node_type == "assignment" else _single_child(node, ("assignment",))
        left = assignment.child_by_field_name("left") if assignment is not None else None
        if left is None or left.type != "identifier":
            return None
        name = _text(source, left)
    elif node_type in ("lexical_declaration", "variable_declaration"):
        declarator = _single_child(node, ("variable_declarator",))
        if declarator is None:
            return None
        name = _text(source, declarator.child_by_field_name("name"))
        value = declarator.child_by_field_name("value")
        if value is not None and value.type in _FUNCTION_VALUES:
            kind = "function"
    elif node_type in ("type_declaration", "const_declaration", "var_declaration"):
        spec = _single_child(node, ("type_spec", "type_alias", "const_spec", "var_spec"))
        if spec is None:
            return None
        name = _text(source, spec.child_by_field_name("name"))
    elif node_type == "method_declaration" and source.grammar == "go":
        name = _text(source, node.child_by_field_name("name"))
        receiver = _receiver_type(node, source)
        scope = (receiver,) if receiver else ()
    elif node_type in ("function_definition", "declaration", "field_declaration", "type_definition") and (
        node.child_by_field_name("declarator") is not None
    ):
        found = _declarator_name(node, source)
        if found is None:
            return None
        name, is_function = found
        if node_type == "declaration" or (node_type == "field_declaration" and is_function):
            kind = "declaration" if is_function else "variable"
    else:
        name = _text(source, node.child_by_field_name("name") or node.child_by_field_name("property"))
        if not name and node_type in ("struct_specifier", "class_specifier", "union_specifier", "enum_specifier"):
            return None  # an anonymous struct is part of a typedef or a declaration
    if node_type in ("struct_specifier", "class_specifier", "union_specifier", "enum_specifier") and (
        node.child_by_field_name("body") is None
    ):
        return None  # `struct P;` or `struct P p;`: a use, not the definition
    if not name:
        return None
    if "::" in name and kind in ("function", "declaration"):  # int Stack::size() { ... }
        *outer, name = name.split("::")
        scope = tuple(part for part in outer if part)
    return kind, name, scope


def _signature(node: Node, source: Source) -> str:
    body = node.child_by_field_name("body")
    end = body.start_byte if body is not None else node.end_byte
    text = source.data[node.start_byte : end].decode("utf-8", errors="replace")
    if body is None:
        text = text.split("\n", 1)[0]
    text = _WHITESPACE.sub(" ", text).strip().rstrip("{").rstrip()
    return text if len(text) <= SIGNATURE_CHARS else text[: SIGNATURE_CHARS - 1] + "…"


def _unwrap(node: Node) -> Node:
    """The definition inside decorators, `export` and `template<...>`."""
    while node.type in _WRAPPERS:
        inner = node.child_by_field_name("definition") or node.child_by_field_name("declaration")
        if inner is None:
            candidates = [c for c in node.named_children if c.type in _KINDS or c.type in _WRAPPERS]
            inner = candidates[-1] if candidates else None
        if inner is None:
            return node
        node = inner
    return node


def _doc_start(outer: Node, source: Source) -> int:
    """The first line of the comments and attributes directly above `outer`."""
    start = outer.start_point[0]
    previous = outer.prev_named_sibling
    while previous is not None and previous.type in _LEADING and source.end_row(previous) >= start:
        row, column = previous.start_point
        if source.lines[row][:column].strip():  # a trailing comment of the line above
            break
        start = row
        previous = previous.prev_named_sibling
    return start


def _members_body(node: Node) -> Node | None:
    body = node.child_by_field_name("body")
    if body is None or node.type not in _CONTAINERS:
        return None
    return body


_CONTAINERS = frozenset(
    {
        "class_definition",
        "class_declaration",
        "abstract_class_declaration",
        "class_specifier",
        "struct_specifier",
        "interface_declaration",
        "record_declaration",
        "struct_declaration",
        "impl_item",
        "trait_item",
        "mod_item",
        "namespace_definition",
        "namespace_declaration",
        "internal_module",
    }
)


def _definitions_in(parent: Node, source: Source, scope: tuple[str, ...]) -> Iterator[Definition]:
    for outer in parent.named_children:
        if outer.type in TRANSPARENT:
            body = outer.child_by_field_name("body")
            yield from _definitions_in(body if body is not None else outer, source, scope)
            continue
        node = _unwrap(outer)
        found = _classify(node, source)
        if found is None:
            continue
        kind, name, qualified_scope = found
        body = _members_body(node)
        inner_scope = (*scope, *qualified_scope)
        members: tuple[Definition, ...] = ()
        if body is not None:
            member_scope = (*inner_scope, name) if kind != "impl" else (*inner_scope, _impl_type(node, source))
            members = tuple(_definitions_in(body, source, member_scope))
        yield Definition(
            name=name,
            kind=kind,
            node_type=node.type,
            scope=inner_scope,
            start_line=outer.start_point[0],
            end_line=source.end_row(outer),
            doc_start_line=_doc_start(outer, source),
            signature=_signature(node, source),
            members=members,
            container=body is not None,
            body_start_line=body.start_point[0] if body is not None else -1,
        )


def _impl_type(node: Node, source: Source) -> str:
    """The type an impl block is for, without generics: `impl<T> Stack<T>` -> Stack."""
    target = _text(source, node.child_by_field_name("type"))
    return re.sub(r"<.*", "", target).split("::")[-1]


def outline(source: Source) -> list[Definition]:
    """The file's top-level definitions, each with its members."""
    return list(_definitions_in(source.root, source, ()))


def flatten(definitions: Sequence[Definition]) -> Iterator[Definition]:
    """Every definition, containers before their members, in file order."""
    for definition in definitions:
        yield definition
        yield from flatten(definition.members)


def enclosing(definitions: Sequence[Definition], line: int) -> Definition | None:
    """The innermost definition that contains `line`."""
    for definition in definitions:
        if definition.start_line <= line < definition.end_line:
            inner = enclosing(definition.members, line)
            return inner or definition
    return None
