"""The source files of a folder, honouring its .gitignore files (with `pathspec`, which
implements git's matching rules), skipping what never belongs in a map (VCS folders,
virtual environments, dependencies, huge or binary files)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pathspec

from app.editor import textfile
from app.syntax.languages import grammar_for_path
from app.utils.jobs import JobControl

ALWAYS_SKIPPED = frozenset(
    {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache", ".ruff_cache"}
)
MAX_FILE_BYTES = 512 * 1024
MAX_FILES = 20_000
# Text files without an extension the editor knows, still worth naming with @file.
TEXT_NAMES = frozenset({"makefile", "dockerfile", "readme", "license", "changelog", ".gitignore", ".env.example"})


def _spec_for(folder: Path) -> pathspec.PathSpec | None:
    ignore = folder / ".gitignore"
    try:
        lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _ignored(path: Path, is_dir: bool, specs: list[tuple[Path, pathspec.PathSpec]]) -> bool:
    """Git's rule: the deepest .gitignore that decides wins; checked from the root down."""
    ignored = False
    for base, spec in specs:
        relative = path.relative_to(base).as_posix() + ("/" if is_dir else "")
        result = spec.check_file(relative)
        if result.include is not None:
            ignored = bool(result.include)
    return ignored


def is_ignored(root: Path, path: Path) -> bool:
    """Whether `path` (a file under `root`) is left out of the map."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return True
    if any(part in ALWAYS_SKIPPED for part in parts[:-1]):
        return True
    specs: list[tuple[Path, pathspec.PathSpec]] = []
    folder = root
    for index, part in enumerate(parts):
        spec = _spec_for(folder)
        if spec is not None:
            specs.append((folder, spec))
        current = folder / part
        if _ignored(current, index < len(parts) - 1, specs):
            return True
        folder = current
    return False


def has_grammar(name: str) -> bool:
    return grammar_for_path(name) is not None


def is_text_name(name: str) -> bool:
    """Whether a file is text the editor shows (by its name): what `@file` offers."""
    return textfile.language_id_for_path(name) != "text" or name.lower().endswith(".txt") or name.lower() in TEXT_NAMES


def source_files(
    root: Path, control: JobControl | None = None, wanted: Callable[[str], bool] = has_grammar
) -> Iterator[Path]:
    """Files under `root` whose name is `wanted` (by default: a grammar can parse them), not
    ignored, in a stable order."""
    stack: list[tuple[Path, list[tuple[Path, pathspec.PathSpec]]]] = [(root, [])]
    count = 0
    while stack:
        folder, inherited = stack.pop()
        if control is not None:
            control.raise_if_stopped()
        specs = list(inherited)
        spec = _spec_for(folder)
        if spec is not None:
            specs.append((folder, spec))
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        folders = []
        for entry in entries:
            path = Path(entry.path)
            is_dir = entry.is_dir(follow_symlinks=False)
            if is_dir and entry.name in ALWAYS_SKIPPED or _ignored(path, is_dir, specs):
                continue
            if is_dir:
                folders.append((path, specs))
            elif entry.is_file(follow_symlinks=False) and wanted(entry.name):
                if entry.stat().st_size <= MAX_FILE_BYTES:
                    count += 1
                    yield path
                    if count >= MAX_FILES:
                        return
        stack.extend(reversed(folders))
