"""Editor colour palettes, light and dark.

A palette names colours by role (keyword, string, comment...), not by lexer style:
`lexers.py` maps each lexer's styles to these roles, so one palette colours every
language. The colours follow VS Code's Light+ and Dark+ themes, which most developers
know by sight.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RoleStyle:
    """How one role is drawn: a "#rrggbb" colour and optional weight and slant."""

    fore: str
    bold: bool = False
    italic: bool = False
    back: str | None = None


@dataclass(frozen=True)
class EditorTheme:
    name: str
    background: str
    foreground: str
    caret: str
    caret_line: str
    selection: str
    margin_background: str
    margin_foreground: str
    indent_guide: str
    whitespace: str
    brace_match_fore: str
    brace_match_back: str
    brace_bad: str
    find_match: str  # indicator for "find all" matches
    roles: dict[str, RoleStyle] = field(default_factory=dict)

    def role(self, name: str) -> RoleStyle:
        return self.roles.get(name) or RoleStyle(self.foreground)


# Role names used by lexers.py. "default" is the plain text colour.
ROLES = (
    "default",
    "comment",
    "doc_comment",
    "keyword",
    "keyword2",
    "function",
    "string",
    "number",
    "operator",
    "preprocessor",
    "tag",
    "attribute",
    "variable",
    "constant",
    "regex",
    "escape",
    "error",
    "heading",
    "emphasis",
    "strong",
    "code",
    "link",
    "quote",
)

LIGHT = EditorTheme(
    name="light",
    background="#ffffff",
    foreground="#1f1f1f",
    caret="#000000",
    caret_line="#f2f6fc",
    selection="#add6ff",
    margin_background="#f7f7f7",
    margin_foreground="#6e7681",
    indent_guide="#d3d3d3",
    whitespace="#c0c0c0",
    brace_match_fore="#1f1f1f",
    brace_match_back="#c9e4c9",
    brace_bad="#e51400",
    find_match="#f5c84c",
    roles={
        "default": RoleStyle("#1f1f1f"),
        "comment": RoleStyle("#008000", italic=True),
        "doc_comment": RoleStyle("#007a3d", italic=True),
        "keyword": RoleStyle("#0000ff"),
        "keyword2": RoleStyle("#267f99"),
        "function": RoleStyle("#795e26"),
        "string": RoleStyle("#a31515"),
        "number": RoleStyle("#098658"),
        "operator": RoleStyle("#383838"),
        "preprocessor": RoleStyle("#af00db"),
        "tag": RoleStyle("#800000"),
        "attribute": RoleStyle("#e50000"),
        "variable": RoleStyle("#001080"),
        "constant": RoleStyle("#0070c1"),
        "regex": RoleStyle("#811f3f"),
        "escape": RoleStyle("#ee0000"),
        "error": RoleStyle("#e51400", back="#fde7e9"),
        "heading": RoleStyle("#0451a5", bold=True),
        "emphasis": RoleStyle("#1f1f1f", italic=True),
        "strong": RoleStyle("#1f1f1f", bold=True),
        "code": RoleStyle("#a31515", back="#f3f3f3"),
        "link": RoleStyle("#0070c1"),
        "quote": RoleStyle("#008000"),
    },
)

DARK = EditorTheme(
    name="dark",
    background="#1e1e1e",
    foreground="#d4d4d4",
    caret="#aeafad",
    caret_line="#2a2d2e",
    selection="#264f78",
    margin_background="#1e1e1e",
    margin_foreground="#858585",
    indent_guide="#404040",
    whitespace="#505050",
    brace_match_fore="#ffffff",
    brace_match_back="#3a5a3a",
    brace_bad="#f44747",
    find_match="#8a6d1c",
    roles={
        "default": RoleStyle("#d4d4d4"),
        "comment": RoleStyle("#6a9955", italic=True),
        "doc_comment": RoleStyle("#6a9955", italic=True),
        "keyword": RoleStyle("#569cd6"),
        "keyword2": RoleStyle("#4ec9b0"),
        "function": RoleStyle("#dcdcaa"),
        "string": RoleStyle("#ce9178"),
        "number": RoleStyle("#b5cea8"),
        "operator": RoleStyle("#d4d4d4"),
        "preprocessor": RoleStyle("#c586c0"),
        "tag": RoleStyle("#569cd6"),
        "attribute": RoleStyle("#9cdcfe"),
        "variable": RoleStyle("#9cdcfe"),
        "constant": RoleStyle("#4fc1ff"),
        "regex": RoleStyle("#d16969"),
        "escape": RoleStyle("#d7ba7d"),
        "error": RoleStyle("#f44747", back="#3b1d1d"),
        "heading": RoleStyle("#569cd6", bold=True),
        "emphasis": RoleStyle("#d4d4d4", italic=True),
        "strong": RoleStyle("#d4d4d4", bold=True),
        "code": RoleStyle("#ce9178", back="#2d2d2d"),
        "link": RoleStyle("#4fc1ff"),
        "quote": RoleStyle("#6a9955"),
    },
)

THEMES: dict[str, EditorTheme] = {LIGHT.name: LIGHT, DARK.name: DARK}


def theme(name: str) -> EditorTheme:
    """The palette for "light" or "dark"; anything else gives light."""
    return THEMES.get(name, LIGHT)


def bgr(colour: str) -> int:
    """ "#rrggbb" as the 0xBBGGRR integer Scintilla's colour messages take."""
    value = int(colour.lstrip("#"), 16)
    return ((value & 0xFF) << 16) | (value & 0xFF00) | ((value >> 16) & 0xFF)


def abgr(colour: str, alpha: int = 0xFF) -> int:
    """ "#rrggbb" plus alpha as the 0xAABBGGRR integer of SCI_SETELEMENTCOLOUR."""
    return (alpha << 24) | bgr(colour)
