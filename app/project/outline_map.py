"""The project map itself: per file, its definitions with their signatures.

`build_map` walks a folder off the GUI thread (it checks a JobControl between files,
so it can be cancelled, and reports progress); `ProjectMap.update_file` re-reads one
file after a save and changes only that file's entries. The map is shared between the
builder's thread and its readers, so its entries sit behind a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.project.files import MAX_FILE_BYTES, is_ignored, source_files
from app.syntax.definitions import Definition, outline
from app.syntax.languages import grammar_for_path, parse
from app.utils.jobs import JobControl, Progress


@dataclass(frozen=True)
class Symbol:
    name: str  # qualified: "Stack.push"
    kind: str  # app.syntax.definitions kinds: function, type, impl, namespace, variable, declaration
    signature: str
    line: int  # 0-based
    depth: int  # 0 top-level, 1 a member...


@dataclass(frozen=True)
class FileOutline:
    path: str  # relative to the map's root, with "/"
    symbols: tuple[Symbol, ...]
    modified: float  # the file's mtime when it was read


def _symbols(definitions: tuple[Definition, ...] | list[Definition], depth: int = 0) -> list[Symbol]:
    found: list[Symbol] = []
    for definition in definitions:
        if definition.kind == "variable" and depth > 0:
            continue  # fields crowd the map; their class's signature says enough
        found.append(
            Symbol(definition.qualified_name, definition.kind, definition.signature, definition.start_line, depth)
        )
        found.extend(_symbols(definition.members, depth + 1))
    return found


def outline_file(root: Path, path: Path) -> FileOutline | None:
    """The outline of one file, or None when it cannot be read or parsed."""
    grammar = grammar_for_path(path.name)
    try:
        stat = path.stat()
        if stat.st_size > MAX_FILE_BYTES:
            return None
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    source = parse(text, grammar)
    if source is None:
        return None
    relative = path.relative_to(root).as_posix()
    return FileOutline(relative, tuple(_symbols(outline(source))), stat.st_mtime)


class ProjectMap:
    """The outlines of a folder's files, by relative path."""

    def __init__(self, root: Path, files: dict[str, FileOutline] | None = None) -> None:
        self.root = root
        self._files: dict[str, FileOutline] = dict(files or {})
        self._lock = threading.Lock()

    def files(self) -> list[FileOutline]:
        with self._lock:
            return [self._files[key] for key in sorted(self._files)]

    def get(self, relative: str) -> FileOutline | None:
        with self._lock:
            return self._files.get(relative)

    def __len__(self) -> int:
        with self._lock:
            return len(self._files)

    def update_file(self, path: str | Path) -> bool:
        """Re-read one file (after a save, a rename or a delete); True when its entry changed."""
        absolute = Path(path).resolve()
        try:
            relative = absolute.relative_to(self.root).as_posix()
        except ValueError:
            return False
        fresh = None
        if absolute.is_file() and not is_ignored(self.root, absolute):
            fresh = outline_file(self.root, absolute)
        with self._lock:
            old = self._files.get(relative)
            if fresh is None:
                self._files.pop(relative, None)
            else:
                self._files[relative] = fresh
        return old != fresh


def build_map(
    root: str | Path,
    control: JobControl | None = None,
    progress: Progress | None = None,
    on_file: Callable[[FileOutline], None] | None = None,
) -> ProjectMap:
    """Outline every source file under `root`; raises CancelledError when `control` is cancelled."""
    base = Path(root).resolve()
    paths = list(source_files(base, control))
    files: dict[str, FileOutline] = {}
    for done, path in enumerate(paths, start=1):
        if control is not None:
            control.raise_if_stopped()
        found = outline_file(base, path)
        if found is not None:
            files[found.path] = found
            if on_file is not None:
                on_file(found)
        if progress is not None:
            progress(done, len(paths))
    return ProjectMap(base, files)
