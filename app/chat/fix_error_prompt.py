""" "Fix this error": find the file:line references in a pasted error and build a chat
prompt that shows the code lines they point to.

The references are read by app.run.locations (the Run panel's links use it too): Python tracebacks (`File "x.py", line 12, in f`), gcc/clang and
most compilers and linters (`x.c:12:5: error: ...`), rustc (`--> src/main.rs:12:5`),
Node.js stacks (`at f (/app/x.js:12:5)`, `file:///app/x.mjs:3:7`), TypeScript's
`x.ts(12,5): error TS...`. Frames in installed libraries (site-packages,
node_modules, /usr/lib, rustlib, <frozen ...>) are kept in the list but shown only
when nothing of the user's own code is referenced.

Qt-free: the caller passes a function that reads a file's current text (an open
editor's unsaved text first, then the disk).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.chat.code_prompts import fenced
from app.editor.textfile import language, language_id_for_path
from app.run.locations import parse_locations

TextReader = Callable[[str], "str | None"]

MAX_REFERENCES = 4
LINES_AROUND = 4  # lines shown each side of the line an error points to
MAX_ERROR_CHARS = 6000

_LIBRARY_MARKERS = (
    "site-packages",
    "dist-packages",
    "node_modules",
    "/usr/lib",
    "/usr/include",
    "rustlib",
    "<frozen",
    "<string>",
    "node:internal",
    "/lib/python",
)


@dataclass(frozen=True)
class ErrorLocation:
    path: str
    line: int  # 1-based
    column: int | None = None
    kind: str = "compiler"  # which format matched
    where: str = ""  # the function, when the format names it

    @property
    def in_library(self) -> bool:
        return any(marker in self.path for marker in _LIBRARY_MARKERS)


def parse_error_locations(error_text: str) -> list[ErrorLocation]:
    """Every file:line reference in `error_text`, in the order they appear, without repeats
    (read by the Run panel's parser, app.run.locations)."""
    seen: set[tuple[str, int]] = set()
    result: list[ErrorLocation] = []
    for printed in parse_locations(error_text):
        if printed.line is None or (printed.path, printed.line) in seen:
            continue  # a pytest id names a test, not a line
        seen.add((printed.path, printed.line))
        result.append(ErrorLocation(printed.path, printed.line, printed.column, printed.kind, printed.where))
    return result


def relevant_locations(locations: Sequence[ErrorLocation], limit: int = MAX_REFERENCES) -> list[ErrorLocation]:
    """The references worth showing: the user's own code, the one nearest the error first.

    A Python traceback lists the innermost frame last, so it is reversed; compilers
    and Node list the error's own position first.
    """
    ordered = list(reversed(locations)) if locations and locations[0].kind == "python" else list(locations)
    own = [loc for loc in ordered if not loc.in_library]
    return (own or ordered)[:limit]


@dataclass(frozen=True)
class CodeExcerpt:
    path: str
    first_line: int  # 1-based
    lines: tuple[str, ...]
    marked: frozenset[int]  # 1-based lines the error points at
    language: str


@dataclass(frozen=True)
class FixPrompt:
    prompt: str
    locations: tuple[ErrorLocation, ...]  # every reference found
    excerpts: tuple[CodeExcerpt, ...]  # the code shown
    missing: tuple[str, ...]  # referenced files that could not be read


def _excerpts(
    locations: Sequence[ErrorLocation], read: TextReader, lines_around: int
) -> tuple[list[CodeExcerpt], list[str]]:
    by_path: dict[str, list[ErrorLocation]] = {}
    for loc in locations:
        by_path.setdefault(loc.path, []).append(loc)
    excerpts: list[CodeExcerpt] = []
    missing: list[str] = []
    for path, locs in by_path.items():
        text = read(path)
        if text is None:
            missing.append(path)
            continue
        lines = text.splitlines()
        windows: list[list[int]] = []
        for line in sorted({loc.line for loc in locs}):
            lo, hi = max(1, line - lines_around), min(len(lines), line + lines_around)
            if lo > hi:
                continue
            if windows and lo <= windows[-1][1] + 1:  # overlapping: one excerpt
                windows[-1][1] = max(windows[-1][1], hi)
                windows[-1].append(line)
            else:
                windows.append([lo, hi, line])
        lang = language_id_for_path(path, lines[0] if lines else "")
        for lo, hi, *marked in windows:
            excerpts.append(CodeExcerpt(path, lo, tuple(lines[lo - 1 : hi]), frozenset(marked), lang))
    return excerpts, missing


def _render(excerpt: CodeExcerpt) -> str:
    width = len(str(excerpt.first_line + len(excerpt.lines) - 1))
    body = "\n".join(
        f"{'>' if n in excerpt.marked else ' '} {n:>{width}} | {line}"
        for n, line in enumerate(excerpt.lines, start=excerpt.first_line)
    )
    last = excerpt.first_line + len(excerpt.lines) - 1
    title = f"`{excerpt.path}`, lines {excerpt.first_line}–{last} (marked with >):"
    return f"{title}\n\n{fenced(body, language(excerpt.language).fence)}"


def build_fix_prompt(
    error_text: str, read: TextReader, *, lines_around: int = LINES_AROUND, max_references: int = MAX_REFERENCES
) -> FixPrompt:
    """The chat message for "Fix this error": the error, then the code it points to."""
    error_text = error_text.strip("\n")
    shown_error = (
        error_text
        if len(error_text) <= MAX_ERROR_CHARS
        else (error_text[: MAX_ERROR_CHARS // 3] + "\n[…]\n" + error_text[-2 * MAX_ERROR_CHARS // 3 :])
    )
    locations = parse_error_locations(error_text)
    chosen = relevant_locations(locations, max_references)
    excerpts, missing = _excerpts(chosen, read, lines_around)
    parts = [
        "Fix this error. Explain the cause briefly, then show the corrected code.",
        "",
        fenced(shown_error, "text"),
    ]
    if excerpts:
        parts += ["", "The code it points to:"]
        for excerpt in excerpts:
            parts += ["", _render(excerpt)]
    if missing:
        parts += ["", "Not available: " + ", ".join(f"`{p}`" for p in missing) + "."]
    return FixPrompt("\n".join(parts), tuple(locations), tuple(excerpts), tuple(missing))


def disk_reader(base_dir: str | None = None, open_texts: dict[str, str] | None = None) -> TextReader:
    """A reader that prefers open editors' text (by real path, or by path suffix for the
    relative paths compilers print) and falls back to the file on disk under `base_dir`."""
    open_texts = {os.path.realpath(p): t for p, t in (open_texts or {}).items()}

    def read(path: str) -> str | None:
        candidates = [path] if os.path.isabs(path) else [os.path.join(base_dir or os.getcwd(), path), path]
        for candidate in candidates:
            real = os.path.realpath(candidate)
            if real in open_texts:
                return open_texts[real]
        tail = "/" + path.replace("\\", "/").lstrip("./")
        for real, text in open_texts.items():
            if real.replace("\\", "/").endswith(tail):
                return text
        for candidate in candidates:
            try:
                with open(candidate, encoding="utf-8", errors="replace") as handle:
                    return handle.read()
            except OSError:
                continue
        return None

    return read
