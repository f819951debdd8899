"""The languages the app knows: one entry per language, read by every feature.

Each `Language` says how to recognise a file (extensions, well-known names, shebang
interpreters), how each tool names it (the Lexilla lexer the editor colours it with,
the tree-sitter grammar that parses it, the Pygments lexer and the Markdown fence
names the chat uses), its comment syntax, the fill-in-the-middle stop rules that fit
its block structure, and how to run and test one of its files.

Adding a language is one `Language(...)` in `_BUILT_IN` (or `register()` at run time,
which tests use); nothing else lists languages. Qt-free and importing nothing from the
app, so every layer may use it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

# How a language's blocks end, which decides where a fill-in-the-middle answer stops
# (app.completion.fim): "indent" when a line dedents out of the hole's block, "brace"
# when brackets close past the hole's level; None for neither (the generic rules only).
FimClass = Literal["indent", "brace"]


@dataclass(frozen=True)
class Language:
    """One language and every name the app's tools know it by.

    `fence` is the Markdown code-fence info string the app writes for it; `fence_aliases`
    are other info strings models write for it ("py", "sh"). `line_comment` is the prefix
    that comments out one line ("" when the language has none, and `block_comment` is
    used instead). `pygments` is the Pygments lexer alias ("" for the fence name).

    `run_command` and `test_command` are shell command lines (some chain two commands with
    `&&`) with `{file}` (the file's path), `{stem}` (its name without the extension) and
    `{dir}` (its folder), to be filled with shell-quoted values and run in `{dir}`;
    `test_command_markers` are file names whose presence in a project says `test_command` is
    how that project runs its tests. `test_framework` finishes the sentence "Write unit
    tests for this code ..." ("with pytest").
    """

    id: str
    name: str
    extensions: tuple[str, ...]
    fence: str = ""
    line_comment: str = ""
    block_comment: tuple[str, str] | None = None
    file_names: tuple[str, ...] = ()  # lower case: "gemfile", ".bashrc"
    interpreters: tuple[str, ...] = ()  # shebang programs: "python", "node"
    fence_aliases: tuple[str, ...] = ()
    pygments: str = ""
    lexilla: str = ""  # "" when the editor shows it as plain text
    tree_sitter: str | None = None  # the grammar's name in tree-sitter-language-pack
    tree_sitter_by_extension: tuple[tuple[str, str], ...] = ()  # (".tsx", "tsx"): a file kind with its own grammar
    fim_class: FimClass | None = None
    test_framework: str = ""
    run_command: str | None = None
    test_command: str | None = None
    test_command_markers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.fence:
            object.__setattr__(self, "fence", self.id)
        if not self.pygments:
            object.__setattr__(self, "pygments", self.fence)


PLAIN_TEXT = "text"

_C_BLOCK = ("/*", "*/")
_BUILT_IN = (
    Language(
        "python",
        "Python",
        (".py", ".pyw", ".pyi"),
        line_comment="#",
        interpreters=("python",),
        fence_aliases=("py", "python3", "py3"),
        lexilla="python",
        tree_sitter="python",
        fim_class="indent",
        test_framework="with pytest",
        run_command="python3 {file}",
        test_command="python3 -m pytest {file}",
        test_command_markers=("pytest.ini", "conftest.py", "pyproject.toml", "setup.cfg", "tox.ini"),
    ),
    Language(
        "c",
        "C",
        (".c", ".h"),
        line_comment="//",
        block_comment=_C_BLOCK,
        lexilla="cpp",
        tree_sitter="c",
        fim_class="brace",
        test_framework="with plain assert() calls",
        run_command="cc {file} -o {dir}/{stem} && {dir}/{stem}",
    ),
    Language(
        "cpp",
        "C++",
        (".cpp", ".cc", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp", ".inl"),
        line_comment="//",
        block_comment=_C_BLOCK,
        fence_aliases=("c++", "cxx"),
        lexilla="cpp",
        tree_sitter="cpp",
        fim_class="brace",
        test_framework="with GoogleTest",
        run_command="c++ {file} -o {dir}/{stem} && {dir}/{stem}",
    ),
    Language(
        "java",
        "Java",
        (".java",),
        line_comment="//",
        block_comment=_C_BLOCK,
        lexilla="cpp",
        tree_sitter="java",
        fim_class="brace",
        test_framework="with JUnit 5",
        run_command="java {file}",  # Java 11+ runs a single source file directly
    ),
    Language(
        "javascript",
        "JavaScript",
        (".js", ".mjs", ".cjs", ".jsx"),
        line_comment="//",
        block_comment=_C_BLOCK,
        interpreters=("node",),
        fence_aliases=("js",),
        lexilla="cpp",
        tree_sitter="javascript",
        fim_class="brace",
        test_framework="with Jest",
        run_command="node {file}",
        test_command="npx jest {file}",
        test_command_markers=("package.json",),
    ),
    Language(
        "typescript",
        "TypeScript",
        (".ts", ".mts", ".cts", ".tsx"),
        line_comment="//",
        block_comment=_C_BLOCK,
        fence_aliases=("ts",),
        lexilla="cpp",
        tree_sitter="typescript",
        tree_sitter_by_extension=((".tsx", "tsx"),),
        fim_class="brace",
        test_framework="with Jest",
        run_command="npx tsx {file}",
        test_command="npx jest {file}",
        test_command_markers=("package.json",),
    ),
    Language(
        "go",
        "Go",
        (".go",),
        line_comment="//",
        block_comment=_C_BLOCK,
        fence_aliases=("golang",),
        lexilla="cpp",
        tree_sitter="go",
        fim_class="brace",
        test_framework="with the standard testing package",
        run_command="go run {file}",
        test_command="go test {dir}",
        test_command_markers=("go.mod",),
    ),
    Language(
        "rust",
        "Rust",
        (".rs",),
        line_comment="//",
        block_comment=_C_BLOCK,
        fence_aliases=("rs",),
        lexilla="rust",
        tree_sitter="rust",
        fim_class="brace",
        test_framework="as #[test] functions",
        run_command="rustc {file} -o {dir}/{stem} && {dir}/{stem}",
        test_command="cargo test",
        test_command_markers=("Cargo.toml",),
    ),
    Language(
        "csharp",
        "C#",
        (".cs", ".csx"),
        line_comment="//",
        block_comment=_C_BLOCK,
        fence_aliases=("cs", "c#"),
        lexilla="cpp",
        tree_sitter="csharp",
        fim_class="brace",
        test_framework="with xUnit",
        test_command="dotnet test",
    ),
    Language(
        "php",
        "PHP",
        (".php", ".phtml", ".php3", ".php4", ".php5", ".phps"),
        line_comment="//",
        block_comment=_C_BLOCK,
        interpreters=("php",),
        lexilla="hypertext",
        tree_sitter="php",
        fim_class="brace",
        test_framework="with PHPUnit",
        run_command="php {file}",
        test_command="vendor/bin/phpunit {file}",
        test_command_markers=("phpunit.xml", "phpunit.xml.dist"),
    ),
    Language(
        "ruby",
        "Ruby",
        (".rb", ".rake", ".gemspec", ".ru"),
        line_comment="#",
        file_names=("gemfile", "rakefile"),
        interpreters=("ruby",),
        fence_aliases=("rb",),
        lexilla="ruby",
        tree_sitter="ruby",
        test_framework="with RSpec",
        run_command="ruby {file}",
        test_command="rspec {file}",
        test_command_markers=(".rspec",),
    ),
    Language(
        "bash",
        "Bash",
        (".sh", ".bash", ".zsh", ".ksh"),
        line_comment="#",
        file_names=(".bashrc", ".bash_profile", ".profile", ".zshrc"),
        interpreters=("sh", "bash", "zsh", "ksh", "dash"),
        fence_aliases=("sh", "shell", "zsh"),
        lexilla="bash",
        tree_sitter="bash",
        fim_class="brace",
        run_command="bash {file}",
    ),
    Language("sql", "SQL", (".sql",), line_comment="--", block_comment=_C_BLOCK, lexilla="sql"),
    Language("html", "HTML", (".html", ".htm", ".xhtml"), block_comment=("<!--", "-->"), lexilla="hypertext"),
    Language("css", "CSS", (".css",), block_comment=_C_BLOCK, lexilla="css", fim_class="brace"),
    Language("json", "JSON", (".json", ".jsonc", ".json5"), lexilla="json", fim_class="brace"),
    Language(
        "yaml", "YAML", (".yaml", ".yml"), line_comment="#", fence_aliases=("yml",), lexilla="yaml", fim_class="indent"
    ),
    Language(
        "markdown",
        "Markdown",
        (".md", ".markdown", ".mdown", ".mkd"),
        block_comment=("<!--", "-->"),
        fence_aliases=("md",),
        lexilla="markdown",
    ),
    Language(PLAIN_TEXT, "Plain text", (".txt",), fence_aliases=("plaintext", "txt")),
)

LANGUAGES: dict[str, Language] = {language.id: language for language in _BUILT_IN}

# Fence names models write for what is not a file's language (a terminal session, a
# patch): the chat highlights them, the editor never opens a file as one.
OUTPUT_FENCES = ("console", "diff")


def register(language: Language) -> None:
    """Add a language (or replace the one with its id); every feature sees it at once."""
    LANGUAGES[language.id] = language
    _indexes.cache_clear()


def unregister(language_id: str) -> None:
    LANGUAGES.pop(language_id, None)
    _indexes.cache_clear()


@dataclass(frozen=True)
class _Indexes:
    by_extension: dict[str, Language]
    by_file_name: dict[str, Language]
    by_interpreter: dict[str, Language]
    by_fence: dict[str, Language]


@cache
def _indexes() -> _Indexes:
    known = list(LANGUAGES.values())
    return _Indexes(
        by_extension={ext: lang for lang in known for ext in lang.extensions},
        by_file_name={name: lang for lang in known for name in lang.file_names},
        by_interpreter={program: lang for lang in known for program in lang.interpreters},
        by_fence={name: lang for lang in known for name in (lang.id, lang.fence, *lang.fence_aliases)},
    )


def language(language_id: str) -> Language:
    """The Language for an id; an unknown id gives plain text."""
    return LANGUAGES.get(language_id) or LANGUAGES[PLAIN_TEXT]


def language_for_path(path: str | os.PathLike[str] | None, first_line: str = "") -> Language | None:
    """A file's language: by extension, then well-known name, then shebang; None when unknown."""
    indexes = _indexes()
    if path:
        name = Path(path).name.lower()
        found = indexes.by_extension.get(Path(name).suffix) or indexes.by_file_name.get(name)
        if found:
            return found
    if first_line.startswith("#!"):
        words = first_line[2:].split()
        if words:
            program = Path(words[0]).name
            if program == "env" and len(words) > 1:
                program = words[1]
            return indexes.by_interpreter.get(re.sub(r"[\d.]+$", "", program))  # python3.11 -> python
    return None


def language_id_for_path(path: str | os.PathLike[str] | None, first_line: str = "") -> str:
    """The language id for a file; plain text when unknown (and for a new, unnamed file)."""
    found = language_for_path(path, first_line)
    return found.id if found else PLAIN_TEXT


def language_for_fence(info: str) -> Language | None:
    """The language a Markdown fence's info string names ("py", "python", "C++"), if known."""
    words = info.split()
    return _indexes().by_fence.get(words[0].lower()) if words else None


def pygments_alias(info: str) -> str:
    """The Pygments lexer alias for a fence's info string: the registry's when it knows the
    language, else the info string itself (Pygments knows hundreds more)."""
    found = language_for_fence(info)
    return found.pygments if found else info


def tree_sitter_grammar(language_id: str, path: str = "") -> str | None:
    """The tree-sitter grammar for a language (some file kinds have their own: .tsx)."""
    found = LANGUAGES.get(language_id)
    if found is None:
        return None
    return dict(found.tree_sitter_by_extension).get(Path(path).suffix.lower(), found.tree_sitter)


def highlighted_fences() -> tuple[str, ...]:
    """The Pygments aliases of every language and output kind the chat highlights."""
    return tuple(dict.fromkeys([*(lang.pygments for lang in LANGUAGES.values()), *OUTPUT_FENCES]))
